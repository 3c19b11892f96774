/* store_users.c -- users, session tokens, the audit log, commands and anomaly states: the
 * small transactional writes of the web. Each call is one statement (SQLite and PostgreSQL
 * make a single statement atomic on its own); user deletion removes the user's tokens in the
 * same transaction.
 *
 * The store never sees a password or a token: the web passes an Argon2id hash string and a
 * hash of the token.
 *
 * Thread: any; each public function takes st->mu. */
#include <string.h>

#include "store/store_int.h"

static const char *const cmd_states[] = { "queued", "sent", "answered", "failed", "timeout",
                                                 "expired" };

const char *store_cmd_state_name(int state)
{
    return state >= 0 && state < (int)MF_ARRAY_LEN(cmd_states) ? cmd_states[state] : NULL;
}

int store_cmd_state_parse(const char *name)
{
    for (size_t i = 0; name && i < MF_ARRAY_LEN(cmd_states); i++)
        if (strcmp(name, cmd_states[i]) == 0)
            return (int)i;
    return -1;
}

static int role_ok(const char *r)
{
    return r && (strcmp(r, "viewer") == 0 || strcmp(r, "operator") == 0 ||
                 strcmp(r, "admin") == 0);
}

static int name_ok(const char *s)
{
    return s && s[0] && strlen(s) < STORE_NAME_MAX;
}

/* One statement, no rows: bind with fn, run, optional changed count. */
typedef void (*bind1_fn)(struct sq *q, const void *a);

static int run1(struct store *st, int id, bind1_fn bind, const void *a, int64_t *changed)
{
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, id);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        bind(q, a);
        rc = sq_run(q, changed);
    }
    st_leave(st);
    return rc;
}

/* The same in a transaction that also counts the inserted rows for /metrics. The caller
 * holds the lock. */
static int run1_counted(struct store *st, int id, bind1_fn bind, const void *a,
                        enum st_table t)
{
    int64_t n = 0;
    int rc = st_begin(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, id);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        bind(q, a);
        rc = sq_run(q, &n);
    }
    if (rc == 0) {
        st_count(st, t, n);
        rc = st_commit(st);
    } else {
        st_rollback(st);
    }
    return rc;
}

/* ---- users ---- */

struct user_args {
    const char *name, *role, *hash;
    int64_t now;
};

static void bind_user(struct sq *q, const void *a)
{
    const struct user_args *u = a;
    sq_text(q, u->name);
    sq_text(q, u->role);
    sq_text(q, u->hash);
    sq_i64(q, u->now);
}

int store_user_put(struct store *st, const char *name, const char *role, const char *hash,
                   int64_t now)
{
    struct user_args u = { name, role, hash, now };
    if (!name_ok(name) || !role_ok(role) || !hash || strlen(hash) >= STORE_HASH_MAX)
        return MF_EINVAL;
    return run1(st, Q_USER_PUT, bind_user, &u, NULL);
}

static void user_fill(struct sq *q, struct store_user *out)
{
    memset(out, 0, sizeof(*out));
    mf_strlcpy(out->name, sq_col_text(q, 0), sizeof(out->name));
    mf_strlcpy(out->role, sq_col_text(q, 1), sizeof(out->role));
    mf_strlcpy(out->hash, sq_col_text(q, 2), sizeof(out->hash));
    out->created_at = sq_col_i64(q, 3);
}

int store_user_get(struct store *st, const char *name, struct store_user *out)
{
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, Q_USER_GET);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        sq_text(q, name ? name : "");
        rc = sq_step(q);
        if (rc == 1) {
            user_fill(q, out);
            rc = 0;
        } else if (rc == 0) {
            rc = MF_ENOTFOUND;
        }
        sq_reset(q);
    }
    st_leave(st);
    return rc;
}

int store_user_delete(struct store *st, const char *name)
{
    int64_t n = 0;
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    if ((rc = st_begin(st)) == 0) {
        struct sq *q = sq_get(st, Q_USER_DEL_TOKENS);
        rc = q ? 0 : MF_EFATAL;
        if (rc == 0) {
            sq_text(q, name ? name : "");
            rc = sq_run(q, NULL);
        }
        if (rc == 0 && (q = sq_get(st, Q_USER_DEL)) == NULL)
            rc = MF_EFATAL;
        if (rc == 0) {
            sq_text(q, name ? name : "");
            rc = sq_run(q, &n);
        }
        if (rc == 0)
            rc = st_commit(st);
        else
            st_rollback(st);
    }
    st_leave(st);
    return rc == 0 && n == 0 ? MF_ENOTFOUND : rc;
}

int store_user_count(struct store *st, int64_t *count)
{
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, Q_USER_COUNT);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        if ((rc = sq_step(q)) == 1) {
            *count = sq_col_i64(q, 0);
            rc = 0;
        }
        sq_reset(q);
    }
    st_leave(st);
    return rc;
}

/* ---- tokens ---- */

struct token_args {
    const char *hash, *user;
    int64_t created_at, expires_at;
};

static void bind_token(struct sq *q, const void *a)
{
    const struct token_args *t = a;
    sq_text(q, t->hash);
    sq_text(q, t->user);
    sq_i64(q, t->created_at);
    sq_i64(q, t->expires_at);
}

int store_token_put(struct store *st, const char *token_hash, const char *user,
                    int64_t created_at, int64_t expires_at)
{
    struct token_args t = { token_hash, user, created_at, expires_at };
    if (!token_hash || !token_hash[0] || strlen(token_hash) >= STORE_HASH_MAX || !name_ok(user))
        return MF_EINVAL;
    return run1(st, Q_TOKEN_PUT, bind_token, &t, NULL);
}

int store_token_get(struct store *st, const char *token_hash, int64_t now,
                    struct store_user *out)
{
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, Q_TOKEN_GET);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        sq_text(q, token_hash ? token_hash : "");
        sq_i64(q, now);
        rc = sq_step(q);
        if (rc == 1) {
            user_fill(q, out);
            rc = 0;
        } else if (rc == 0) {
            rc = MF_ENOTFOUND;
        }
        sq_reset(q);
    }
    st_leave(st);
    return rc;
}

static void bind_text1(struct sq *q, const void *a)
{
    sq_text(q, a ? a : "");
}

int store_token_delete(struct store *st, const char *token_hash)
{
    return run1(st, Q_TOKEN_DEL, bind_text1, token_hash, NULL);
}

/* ---- audit ---- */

static void bind_audit(struct sq *q, const void *av)
{
    const struct store_audit *a = av;
    sq_i64(q, a->at);
    sq_text(q, a->user);
    sq_text(q, a->action);
    sq_text(q, a->target);
    sq_text(q, a->detail_json);
    sq_text(q, a->remote);
}

int store_audit_add(struct store *st, const struct store_audit *a)
{
    if (!a->action || !a->action[0] || strlen(a->action) > 64 ||
        (a->detail_json && strlen(a->detail_json) > 65536))
        return MF_EINVAL;
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    rc = run1_counted(st, Q_AUDIT_ADD, bind_audit, a, T_AUDIT);
    st_leave(st);
    return rc;
}

/* ---- commands ---- */

int store_command_create(struct store *st, const struct store_command *c, int64_t *id)
{
    /* t is bound without a copy (sq_text, SQLITE_STATIC): keep it at function scope, where
     * it outlives the step, whatever block fills it. */
    /* cppcheck-suppress variableScope */
    char t[12];
    int rc;
    if (c->request_json && strlen(c->request_json) > 65536)
        return MF_EINVAL;
    if ((rc = st_enter(st)) != 0)
        return rc;
    if ((rc = st_begin(st)) != 0) {
        st_leave(st);
        return rc;
    }
    struct sq *q = sq_get(st, Q_CMD_CREATE);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        st_term_format(c->term, t);
        sq_text(q, t);
        sq_i64(q, c->afn);
        sq_text(q, c->request_json);
        sq_text(q, c->created_by);
        sq_i64(q, c->created_at);
        rc = sq_step(q);
        if (rc == 1) {
            *id = sq_col_i64(q, 0);
            rc = 0;
        } else if (rc == 0) {
            rc = MF_EFATAL; /* RETURNING gave no row */
        }
        sq_reset(q);
    }
    if (rc == 0) {
        st_count(st, T_COMMANDS, 1);
        rc = st_commit(st);
    } else {
        st_rollback(st);
    }
    st_leave(st);
    return rc;
}

int st_cmd_result(struct store *st, const struct store_cmd_result *r, int64_t *changed);

int store_command_update(struct store *st, const struct store_cmd_result *r)
{
    int64_t n = 0;
    int rc;
    if (!store_cmd_state_name(r->state) || (r->answer_json && strlen(r->answer_json) > 65536))
        return MF_EINVAL;
    if ((rc = st_enter(st)) != 0)
        return rc;
    rc = st_cmd_result(st, r, &n);
    st_leave(st);
    return rc == 0 && n == 0 ? MF_ENOTFOUND : rc;
}

int store_commands_expire(struct store *st, int64_t before, int64_t now, const char *reason_json,
                          int64_t *n)
{
    int64_t changed = 0;
    int rc;
    if (!reason_json || strlen(reason_json) > 65536)
        return MF_EINVAL;
    if ((rc = st_enter(st)) != 0)
        return rc;
    struct sq *q = sq_get(st, Q_CMD_EXPIRE);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        sq_i64(q, now);
        sq_text(q, reason_json);
        sq_i64(q, before);
        rc = sq_run(q, &changed);
    }
    st_leave(st);
    if (n)
        *n = rc == 0 ? changed : 0;
    return rc;
}

/* ---- anomalies ---- */

struct anom_args {
    const char *state;
    int64_t id;
    const char *from; /* Q_ANOM_TRANS only */
};

static void bind_anom_state(struct sq *q, const void *a)
{
    const struct anom_args *x = a;
    sq_text(q, x->state);
    sq_i64(q, x->id);
    if (x->from)
        sq_text(q, x->from);
}

int store_anomaly_set_state(struct store *st, int64_t id, const char *state)
{
    struct anom_args a = { state, id, NULL };
    int64_t n = 0;
    if (!state || (strcmp(state, "open") != 0 && strcmp(state, "ack") != 0 &&
                   strcmp(state, "closed") != 0 && strcmp(state, "resolved") != 0))
        return MF_EINVAL;
    int rc = run1(st, Q_ANOM_STATE, bind_anom_state, &a, &n);
    return rc == 0 && n == 0 ? MF_ENOTFOUND : rc;
}

static int anom_state_ok(const char *s)
{
    return s && (strcmp(s, "open") == 0 || strcmp(s, "ack") == 0 || strcmp(s, "closed") == 0 ||
                 strcmp(s, "resolved") == 0);
}

int store_anomaly_transition(struct store *st, int64_t id, const char *from, const char *to)
{
    struct anom_args a = { to, id, from };
    int64_t n = 0;
    if (!anom_state_ok(from) || !anom_state_ok(to))
        return MF_EINVAL;
    int rc = run1(st, Q_ANOM_TRANS, bind_anom_state, &a, &n);
    return rc == 0 && n == 0 ? MF_ENOTFOUND : rc;
}
