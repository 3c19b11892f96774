/* web_auth.c -- who is asking and may they: password hashes, session tokens, CSRF, the login
 * rate limiter, and web_auth_check (run for every routed request before its handler).
 *
 * Tokens: 32 random bytes (randombytes_buf) sent as 64 lower-case hex digits, in the
 * `mf_session` cookie (panel: HttpOnly, SameSite=Strict, Secure under TLS) or as
 * `Authorization: Bearer` (scripts). The store keeps only BLAKE2b(token) (crypto_generichash),
 * so a copy of the database cannot be replayed as sessions.
 * CSRF: a cookie-authenticated write must carry X-CSRF-Token = BLAKE2b keyed MAC of the token
 * (the panel learns it from /api/login or /api/me); a cross-site page can make the browser
 * send the cookie but can read neither the cookie nor that value. Bearer requests need no
 * CSRF token: browsers never attach an Authorization header by themselves.
 * Rate limit: failures counted per client address and per user name in fixed tables with a
 * window; a key with max failures in the window is refused (429) before any hash is done.
 *
 * Secrets never reach the log: not passwords, not tokens, not hashes.
 * Thread: any (the rate limiter has its own mutex). */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/log.h"
#include "meterflow/store.h"
#include "web/web_int.h"

/* ---- rate limiter ------------------------------------------------------------------------- */

struct rl_slot {
    char key[80];
    uint32_t failures;
    uint64_t window_start_us;
};

struct web_ratelimit {
    pthread_mutex_t mu;
    struct rl_slot *slots;
    size_t n;
    uint32_t max_failures;
    uint64_t window_us;
};

struct web_ratelimit *web_ratelimit_new(size_t slots, int max_failures, int window_s)
{
    struct web_ratelimit *rl = mf_calloc(1, sizeof(*rl));
    pthread_mutex_init(&rl->mu, NULL);
    rl->slots = mf_calloc(slots, sizeof(*rl->slots));
    rl->n = slots;
    rl->max_failures = (uint32_t)max_failures;
    rl->window_us = (uint64_t)window_s * 1000000u;
    return rl;
}

void web_ratelimit_free(struct web_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    free(rl);
}

static uint64_t key_hash(const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *key; key++)
        h = (h ^ (uint8_t)*key) * 1099511628211ull;
    return h;
}

/* The slot of key (probing 8 slots), or the stalest of those 8 to reuse. Caller locks. */
static struct rl_slot *rl_find(struct web_ratelimit *rl, const char *key, uint64_t now_us,
                               int create)
{
    size_t base = (size_t)(key_hash(key) % rl->n);
    struct rl_slot *victim = NULL;

    for (size_t i = 0; i < 8; i++) {
        struct rl_slot *s = &rl->slots[(base + i) % rl->n];
        if (s->key[0] && strcmp(s->key, key) == 0)
            return s;
        if (!victim || s->window_start_us < victim->window_start_us)
            victim = s;
    }
    if (!create)
        return NULL;
    mf_strlcpy(victim->key, key, sizeof(victim->key));
    victim->failures = 0;
    victim->window_start_us = now_us;
    return victim;
}

int web_ratelimit_blocked(struct web_ratelimit *rl, const char *key, uint64_t now_us)
{
    int blocked = 0;
    pthread_mutex_lock(&rl->mu);
    struct rl_slot *s = rl_find(rl, key, now_us, 0);
    if (s && now_us - s->window_start_us < rl->window_us)
        blocked = s->failures >= rl->max_failures;
    pthread_mutex_unlock(&rl->mu);
    return blocked;
}

void web_ratelimit_fail(struct web_ratelimit *rl, const char *key, uint64_t now_us)
{
    pthread_mutex_lock(&rl->mu);
    struct rl_slot *s = rl_find(rl, key, now_us, 1);
    if (now_us - s->window_start_us >= rl->window_us) {
        s->failures = 0;
        s->window_start_us = now_us;
    }
    s->failures++;
    pthread_mutex_unlock(&rl->mu);
}

void web_ratelimit_clear(struct web_ratelimit *rl, const char *key)
{
    pthread_mutex_lock(&rl->mu);
    struct rl_slot *s = rl_find(rl, key, 0, 0);
    if (s)
        memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&rl->mu);
}

/* ---- passwords and tokens ----------------------------------------------------------------- */

int web_password_hash(const char *pw, char *out, size_t outlen)
{
    if (outlen < crypto_pwhash_STRBYTES)
        return MF_ERANGE;
    if (crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return MF_EFATAL;
    return 0;
}

int web_password_verify(const char *hash, const char *pw)
{
    return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

static void hex(const uint8_t *in, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, in, n);
}

void web_token_hash(const char *tok_hex, uint8_t hash[32])
{
    crypto_generichash(hash, 32, (const unsigned char *)tok_hex, strlen(tok_hex), NULL, 0);
}

void web_token_new(char tok_hex[WEB_TOKEN_HEX + 1], uint8_t hash[32])
{
    uint8_t raw[WEB_TOKEN_BYTES];
    randombytes_buf(raw, sizeof(raw));
    hex(raw, sizeof(raw), tok_hex);
    sodium_memzero(raw, sizeof(raw));
    web_token_hash(tok_hex, hash);
}

void web_token_csrf(const uint8_t hash[32], char csrf[WEB_TOKEN_HEX + 1])
{
    /* Keyed by the token's hash: the hash itself never leaves the server, so the CSRF value
     * cannot be derived by anyone who does not hold the token. */
    static const char ctx[] = "meterflow csrf v1";
    uint8_t mac[32];
    crypto_generichash(mac, sizeof(mac), (const unsigned char *)ctx, sizeof(ctx) - 1, hash, 32);
    hex(mac, sizeof(mac), csrf);
}

/* ---- the per-request check ---------------------------------------------------------------- */

/* Find the caller's token: Bearer first, then the cookie. 0 found, MF_ENOTFOUND none,
 * MF_EINVAL malformed. */
static int find_token(struct web_req *req, char tok[WEB_TOKEN_HEX + 1])
{
    const char *auth = web_header(req, "Authorization");
    int rc;

    if (auth) {
        rc = web_bearer_get(auth, tok, WEB_TOKEN_HEX + 1);
        if (rc != 0)
            return MF_EINVAL;
        req->via_cookie = 0;
    } else {
        rc = web_cookie_get(web_header(req, "Cookie"), "mf_session", tok, WEB_TOKEN_HEX + 1);
        if (rc == MF_ENOTFOUND)
            return MF_ENOTFOUND;
        if (rc != 0)
            return MF_EINVAL;
        req->via_cookie = 1;
    }
    return web_token_well_formed(tok) ? 0 : MF_EINVAL;
}

int web_auth_check(struct web_req *req)
{
    char tok[WEB_TOKEN_HEX + 1], hash_hex[65];
    struct store_user user;
    const struct web_route *r = req->route;
    int rc;

    rc = find_token(req, tok);
    if (rc == MF_ENOTFOUND && r->min_role == WEB_ROLE_NONE)
        return 0; /* public endpoint, anonymous caller */
    if (rc == MF_ENOTFOUND)
        return web_error(req, 401, "authentication required");
    if (rc != 0)
        return r->min_role == WEB_ROLE_NONE ? 0 : web_error(req, 401, "malformed credentials");
    web_token_hash(tok, req->token_hash);
    sodium_memzero(tok, sizeof(tok));
    hex(req->token_hash, 32, hash_hex);
    struct store *st = req->st ? req->st : web_store_acquire(req->web);
    if (!st)
        return web_error(req, 503, "store unavailable, retry later");
    rc = store_token_get(st, hash_hex, (int64_t)(mf_now_us() / 1000000u), &user);
    if (st != req->st)
        web_store_release(req->web, st);
    if (rc == MF_ENOTFOUND)
        return r->min_role == WEB_ROLE_NONE ? 0
                                            : web_error(req, 401, "invalid or expired session");
    if (rc != 0)
        return web_store_error(req, rc, "session");
    req->role = web_role_parse(user.role);
    if (req->role < 0)
        req->role = WEB_ROLE_NONE;
    mf_strlcpy(req->user, user.name, sizeof(req->user));
    web_token_csrf(req->token_hash, req->csrf);
    if (req->via_cookie && req->is_write && !(r->flags & WEB_R_NOCSRF)) {
        const char *sent = web_header(req, "X-CSRF-Token");
        if (!sent || strlen(sent) != WEB_TOKEN_HEX ||
            sodium_memcmp(sent, req->csrf, WEB_TOKEN_HEX) != 0)
            return web_error(req, 403, "CSRF token missing or wrong (send X-CSRF-Token)");
    }
    if (req->role < r->min_role)
        return web_error(req, 403, "this needs the %s role (you are %s)",
                         web_role_name(r->min_role), web_role_name(req->role));
    return 0;
}

/* ---- for `meterflow user` ----------------------------------------------------------------- */

int web_user_check(const char *name, const char *role, const char *password, char *why,
                   size_t whylen)
{
    if (name && !web_username_ok(name)) {
        mf_strlcpy(why, "user name: 1..32 of A-Z a-z 0-9 . _ -", whylen);
        return MF_EINVAL;
    }
    if (role && web_role_parse(role) < 0) {
        mf_strlcpy(why, "role: viewer, operator or admin", whylen);
        return MF_EINVAL;
    }
    if (password && (strlen(password) < 8 || strlen(password) > 256)) {
        mf_strlcpy(why, "password: 8..256 characters", whylen);
        return MF_EINVAL;
    }
    return 0;
}

int web_user_password_hash(const char *password, char *out, size_t outlen)
{
    if (sodium_init() < 0)
        return MF_EFATAL;
    return web_password_hash(password, out, outlen);
}
