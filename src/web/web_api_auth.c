/* web_api_auth.c -- /api/health, /api/login, /api/logout, /api/me and the admin's user
 * management (/api/users). Every user change is audited; passwords and tokens never are.
 *
 * Login order matters: the rate limit is checked before any password work (a locked-out
 * attacker costs us no Argon2id), and an unknown user is verified against a dummy hash so
 * that "no such user" and "wrong password" take the same time and give the same answer.
 *
 * Thread: HTTP pool threads (handlers of web_routes). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "meterflow/store.h"
#include "web/web_int.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 256

static int64_t now_s(void)
{
    return (int64_t)(mf_now_us() / 1000000u);
}

int web_h_health(struct web_req *req)
{
    return web_reply(req, 200, json_pack("{s:s, s:s}", "status", "ok", "service", "meterflow"));
}

static void set_session_cookie(struct web_req *req, const char *tok, int64_t max_age)
{
    snprintf(req->set_cookie[0], sizeof(req->set_cookie[0]),
             "mf_session=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s", tok,
             (long long)max_age, req->web->cookie_secure ? "; Secure" : "");
}

/* Check name/password against the store with the same cost for every outcome. 1 ok. */
static int check_password(struct web_req *req, const char *name, const char *pw,
                          struct store_user *user, int *store_rc)
{
    int ok;
    *store_rc = store_user_get(req->st, name, user);
    web_hash_enter(req->web);
    if (*store_rc == 0) {
        ok = web_password_verify(user->hash, pw);
    } else {
        (void)web_password_verify(req->web->dummy_hash, pw);
        ok = 0;
    }
    web_hash_leave(req->web);
    return ok && *store_rc == 0;
}

int web_h_login(struct web_req *req)
{
    char err[128], akey[80], ukey[80], tok[WEB_TOKEN_HEX + 1], hash_hex[65];
    const char *name = NULL, *pw = NULL;
    struct store_user user;
    uint8_t hash[32];
    uint64_t now = mf_now_us();
    int rc, ok;

    json_t *body = web_json_object_parse(req->body.data, req->body.len, err, sizeof(err));
    if (!body)
        return web_error(req, 400, "%s", err);
    if (web_json_str(body, "username", 64, &name) != 0 ||
        web_json_str(body, "password", PASSWORD_MAX, &pw) != 0 || !web_username_ok(name)) {
        json_decref(body);
        return web_error(req, 400, "username and password (strings) are required");
    }
    snprintf(akey, sizeof(akey), "a:%s", req->peer);
    snprintf(ukey, sizeof(ukey), "u:%s", name);
    if (web_ratelimit_blocked(req->web->rl_addr, akey, now) ||
        web_ratelimit_blocked(req->web->rl_user, ukey, now)) {
        __atomic_add_fetch(&req->web->login_limited, 1, __ATOMIC_RELAXED);
        mf_warn("web", "login of '%s' from %s refused: too many failures", name, req->peer);
        json_decref(body);
        return web_error(req, 429, "too many failed logins; try again later");
    }
    ok = check_password(req, name, pw, &user, &rc);
    if (rc != 0 && rc != MF_ENOTFOUND) {
        json_decref(body);
        return web_store_error(req, rc, "user");
    }
    if (!ok) {
        web_ratelimit_fail(req->web->rl_addr, akey, now);
        web_ratelimit_fail(req->web->rl_user, ukey, now);
        __atomic_add_fetch(&req->web->login_failed, 1, __ATOMIC_RELAXED);
        mf_strlcpy(req->user, name, sizeof(req->user));
        web_audit(req, "login.failed", name, NULL);
        json_decref(body);
        return web_error(req, 401, "wrong user name or password");
    }
    json_decref(body);
    web_ratelimit_clear(req->web->rl_user, ukey);
    web_token_new(tok, hash);
    sodium_bin2hex(hash_hex, sizeof(hash_hex), hash, sizeof(hash));
    int64_t exp = now_s() + req->web->session_ttl_s;
    rc = store_token_put(req->st, hash_hex, user.name, now_s(), exp);
    if (rc != 0)
        return web_store_error(req, rc, "session");
    __atomic_add_fetch(&req->web->login_ok, 1, __ATOMIC_RELAXED);
    mf_strlcpy(req->user, user.name, sizeof(req->user));
    web_audit(req, "login", user.name, NULL);
    set_session_cookie(req, tok, req->web->session_ttl_s);
    web_token_csrf(hash, req->csrf);
    char exp_text[32];
    mf_utc_format(exp, exp_text, sizeof(exp_text));
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:s}", "token", tok, "csrf", req->csrf,
                            "user", user.name, "role", user.role, "expires_at", exp_text);
    sodium_memzero(tok, sizeof(tok));
    return web_reply(req, 200, out);
}

int web_h_logout(struct web_req *req)
{
    char hash_hex[65];
    sodium_bin2hex(hash_hex, sizeof(hash_hex), req->token_hash, 32);
    int rc = store_token_delete(req->st, hash_hex);
    if (rc != 0 && rc != MF_ENOTFOUND)
        return web_store_error(req, rc, "session");
    web_audit(req, "logout", req->user, NULL);
    snprintf(req->set_cookie[0], sizeof(req->set_cookie[0]),
             "mf_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
             req->web->cookie_secure ? "; Secure" : "");
    return web_reply(req, 200, json_pack("{s:b}", "ok", 1));
}

int web_h_me(struct web_req *req)
{
    return web_reply(req, 200,
                     json_pack("{s:s, s:s, s:s, s:s}", "user", req->user, "role",
                               web_role_name(req->role), "csrf", req->csrf, "auth",
                               req->via_cookie ? "cookie" : "bearer"));
}

/* ---- users (admin) ------------------------------------------------------------------------ */

int web_h_users_list(struct web_req *req)
{
    json_t *out = NULL;
    int rc = store_users_json(req->st, &out);
    if (rc != 0)
        return web_store_error(req, rc, "users");
    return web_reply(req, 200, json_pack("{s:o}", "items", out));
}

/* Hash pw (length-checked) into out. 0 or a 400/500 set on req. */
static int hash_new_password(struct web_req *req, const char *pw, char *out, size_t outlen)
{
    if (strlen(pw) < PASSWORD_MIN)
        return web_error(req, 400, "password: at least %d characters", PASSWORD_MIN);
    web_hash_enter(req->web);
    int rc = web_password_hash(pw, out, outlen);
    web_hash_leave(req->web);
    return rc == 0 ? 0 : web_error(req, 500, "password hashing failed");
}

int web_h_user_create(struct web_req *req)
{
    char err[128], hash[STORE_HASH_MAX];
    const char *name = NULL, *role = NULL, *pw = NULL;
    struct store_user old;
    int rc;

    json_t *body = web_json_object_parse(req->body.data, req->body.len, err, sizeof(err));
    if (!body)
        return web_error(req, 400, "%s", err);
    if (web_json_str(body, "name", 64, &name) != 0 || !web_username_ok(name) ||
        web_json_str(body, "role", 16, &role) != 0 || web_role_parse(role) < 0 ||
        web_json_str(body, "password", PASSWORD_MAX, &pw) != 0) {
        json_decref(body);
        return web_error(req, 400, "name ([A-Za-z0-9._-], 1..32), role (viewer|operator|admin) "
                                   "and password are required");
    }
    rc = store_user_get(req->st, name, &old);
    if (rc == 0) {
        rc = web_error(req, 409, "user '%s' already exists", name);
        json_decref(body); /* name points into body */
        return rc;
    }
    rc = hash_new_password(req, pw, hash, sizeof(hash));
    if (rc == 0) {
        rc = store_user_put(req->st, name, role, hash, now_s());
        if (rc == 0) {
            web_audit(req, "user.create", name, json_pack("{s:s}", "role", role));
            rc = web_reply(req, 201, json_pack("{s:s, s:s}", "name", name, "role", role));
        } else {
            rc = web_store_error(req, rc, "user");
        }
    }
    sodium_memzero(hash, sizeof(hash));
    json_decref(body);
    return rc;
}

/* Admins left if `name` lost its admin role (to refuse removing the last one). */
static int other_admins(struct web_req *req, const char *name)
{
    json_t *list = NULL, *u;
    size_t i;
    int n = 0;
    if (store_users_json(req->st, &list) != 0)
        return 1; /* unknown: do not block on a read failure; the write will tell */
    json_array_foreach(list, i, u)
    {
        const char *un = json_string_value(json_object_get(u, "name"));
        const char *ur = json_string_value(json_object_get(u, "role"));
        if (un && ur && strcmp(ur, "admin") == 0 && strcmp(un, name) != 0)
            n++;
    }
    json_decref(list);
    return n;
}

int web_h_user_update(struct web_req *req)
{
    char err[128], hash[STORE_HASH_MAX];
    const char *name = req->params[0], *role = NULL, *pw = NULL;
    struct store_user u;
    int rc;

    json_t *body = web_json_object_parse(req->body.data, req->body.len, err, sizeof(err));
    if (!body)
        return web_error(req, 400, "%s", err);
    if (web_json_str_opt(body, "role", 16, &role) != 0 || (role && web_role_parse(role) < 0) ||
        web_json_str_opt(body, "password", PASSWORD_MAX, &pw) != 0 || (!role && !pw)) {
        json_decref(body);
        return web_error(req, 400, "role (viewer|operator|admin) and/or password expected");
    }
    rc = store_user_get(req->st, name, &u);
    if (rc != 0) {
        json_decref(body);
        return web_store_error(req, rc, "user");
    }
    if (role && strcmp(u.role, "admin") == 0 && strcmp(role, "admin") != 0 &&
        other_admins(req, name) == 0) {
        json_decref(body);
        return web_error(req, 409, "cannot demote the last admin");
    }
    mf_strlcpy(hash, u.hash, sizeof(hash));
    rc = pw ? hash_new_password(req, pw, hash, sizeof(hash)) : 0;
    if (rc == 0) {
        rc = store_user_put(req->st, name, role ? role : u.role, hash, u.created_at);
        if (rc == 0) {
            web_audit(req, pw ? "user.passwd" : "user.role", name,
                      role ? json_pack("{s:s}", "role", role) : NULL);
            rc = web_reply(req, 200, json_pack("{s:s, s:s}", "name", name, "role",
                                               role ? role : u.role));
        } else {
            rc = web_store_error(req, rc, "user");
        }
    }
    sodium_memzero(hash, sizeof(hash));
    sodium_memzero(&u, sizeof(u));
    json_decref(body);
    return rc;
}

int web_h_user_delete(struct web_req *req)
{
    const char *name = req->params[0];
    struct store_user u;
    int rc;

    if (strcmp(name, req->user) == 0)
        return web_error(req, 409, "you cannot delete your own account");
    rc = store_user_get(req->st, name, &u);
    if (rc != 0)
        return web_store_error(req, rc, "user");
    if (strcmp(u.role, "admin") == 0 && other_admins(req, name) == 0)
        return web_error(req, 409, "cannot delete the last admin");
    rc = store_user_delete(req->st, name);
    if (rc != 0)
        return web_store_error(req, rc, "user");
    web_audit(req, "user.delete", name, NULL);
    return web_reply(req, 200, json_pack("{s:b}", "ok", 1));
}

void web_audit(struct web_req *req, const char *action, const char *target, json_t *detail)
{
    char *dj = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    struct store_audit a = {
        .at = now_s(),
        .user = req->user[0] ? req->user : "-",
        .action = action,
        .target = target,
        .detail_json = dj,
        .remote = req->peer,
    };
    struct store *st = req->st ? req->st : web_store_acquire(req->web);
    int rc = st ? store_audit_add(st, &a) : MF_ERETRY;
    if (st && st != req->st)
        web_store_release(req->web, st);
    if (rc != 0)
        mf_error("web", "audit of %s by %s not written: %s", action, a.user, mf_status_str(rc));
    free(dj);
    json_decref(detail);
}
