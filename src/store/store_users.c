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

/* One statement, no rows, under the lock: bind with fn, run, optional changed count. */
static int bind_run(struct store *st, int id, st_bind_fn bind, const void *a, int64_t *changed)
{
    char t[12]; /* bound without a copy: lives until sq_run's reset */
    struct sq *q = sq_get(st, id);
    if (!q)
        return MF_EFATAL;
    bind(q, a, t);
    return sq_run(q, changed);
}

/* The same as a public call: takes the lock. */
static int run1(struct store *st, int id, st_bind_fn bind, const void *a, int64_t *changed)
{
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    rc = bind_run(st, id, bind, a, changed);
    st_leave(st);
    return rc;
}

/* The same in a transaction that also counts the inserted rows for /metrics. The caller
 * holds the lock. */
static int run1_counted(struct store *st, int id, st_bind_fn bind, const void *a,
                        enum st_table tab)
{
    int64_t n = 0;
    int rc = st_begin(st);
    if (rc != 0)
        return rc;
    rc = bind_run(st, id, bind, a, &n);
    if (rc == 0) {
        st_count(st, tab, n);
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

static void bind_user(struct sq *q, const void *a, char *t)
{
    const struct user_args *u = a;
    (void)t; /* no terminal parameter */
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

static int take_user(struct sq *q, void *out)
{
    struct store_user *u = out;
    memset(u, 0, sizeof(*u));
    mf_strlcpy(u->name, sq_col_text(q, 0), sizeof(u->name));
    mf_strlcpy(u->role, sq_col_text(q, 1), sizeof(u->role));
    mf_strlcpy(u->hash, sq_col_text(q, 2), sizeof(u->hash));
    u->created_at = sq_col_i64(q, 3);
    return 0;
}

static void bind_name(struct sq *q, const void *name, char *t)
{
    (void)t; /* no terminal parameter */
    sq_text(q, name ? name : "");
}

int store_user_get(struct store *st, const char *name, struct store_user *out)
{
    return st_read_row(st, Q_USER_GET, bind_name, name, take_user, out);
}

int store_user_delete(struct store *st, const char *name)
{
    int64_t n = 0;
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    if ((rc = st_begin(st)) == 0) {
        rc = bind_run(st, Q_USER_DEL_TOKENS, bind_name, name, NULL);
        if (rc == 0)
            rc = bind_run(st, Q_USER_DEL, bind_name, name, &n);
        if (rc == 0)
            rc = st_commit(st);
        else
            st_rollback(st);
    }
    st_leave(st);
    return rc == 0 && n == 0 ? MF_ENOTFOUND : rc;
}

static int take_count(struct sq *q, void *out)
{
    *(int64_t *)out = sq_col_i64(q, 0);
    return 0;
}

int store_user_count(struct store *st, int64_t *count)
{
    return st_read_row(st, Q_USER_COUNT, NULL, NULL, take_count, count);
}

/* ---- tokens ---- */

struct token_args {
    const char *hash, *user;
    int64_t created_at, expires_at;
};

static void bind_token(struct sq *q, const void *a, char *t)
{
    const struct token_args *k = a;
    (void)t; /* no terminal parameter */
    sq_text(q, k->hash);
    sq_text(q, k->user);
    sq_i64(q, k->created_at);
    sq_i64(q, k->expires_at);
}

int store_token_put(struct store *st, const char *token_hash, const char *user,
                    int64_t created_at, int64_t expires_at)
{
    struct token_args t = { token_hash, user, created_at, expires_at };
    if (!token_hash || !token_hash[0] || strlen(token_hash) >= STORE_HASH_MAX || !name_ok(user))
        return MF_EINVAL;
    return run1(st, Q_TOKEN_PUT, bind_token, &t, NULL);
}

struct token_key {
    const char *hash;
    int64_t now;
};

static void bind_token_key(struct sq *q, const void *args, char *t)
{
    const struct token_key *k = args;
    (void)t; /* no terminal parameter */
    sq_text(q, k->hash ? k->hash : "");
    sq_i64(q, k->now);
}

int store_token_get(struct store *st, const char *token_hash, int64_t now,
                    struct store_user *out)
{
    const struct token_key k = { token_hash, now };
    return st_read_row(st, Q_TOKEN_GET, bind_token_key, &k, take_user, out);
}

int store_token_delete(struct store *st, const char *token_hash)
{
    return run1(st, Q_TOKEN_DEL, bind_name, token_hash, NULL);
}

/* ---- audit ---- */

static void bind_audit(struct sq *q, const void *av, char *t)
{
    const struct store_audit *a = av;
    (void)t; /* no terminal parameter */
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

struct expire_args {
    int64_t now;
    const char *reason_json;
    int64_t before;
};

static void bind_expire(struct sq *q, const void *a, char *t)
{
    const struct expire_args *e = a;
    (void)t; /* no terminal parameter */
    sq_i64(q, e->now);
    sq_text(q, e->reason_json);
    sq_i64(q, e->before);
}

int store_commands_expire(struct store *st, int64_t before, int64_t now, const char *reason_json,
                          int64_t *n)
{
    const struct expire_args e = { now, reason_json, before };
    int64_t changed = 0;
    if (!reason_json || strlen(reason_json) > 65536)
        return MF_EINVAL;
    int rc = run1(st, Q_CMD_EXPIRE, bind_expire, &e, &changed);
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

static void bind_anom_state(struct sq *q, const void *a, char *t)
{
    const struct anom_args *x = a;
    (void)t; /* no terminal parameter */
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
