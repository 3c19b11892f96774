/* test_web_expire.c -- the web's command expiry, one sweep at a time (web_expire_sweep,
 * src/web/web_expire.c), with the time as an argument: no thread, no clock, no waiting.
 * A web from web_new (not started) over a SQLite store in a temporary directory, [web]
 * cmd_expire_s = 600, and commands written by hand through a second store handle, created
 * at chosen times around T0 = 2026-11-26T00:00:00Z and put in every state. A sweep at now
 * expires exactly the commands still queued or sent that were created before now - 600
 * (strictly), stamps them updated_at = now with the web's reason as their answer (an answer
 * already stored is kept), and counts them; final states (answered, failed, timeout, an
 * earlier "expired") are never touched; a second sweep finds nothing; later sweeps take the
 * younger ones in turn. With every store handle busy the sweep says retry later and changes
 * nothing. (Expiry writes no audit row: it is not an operator's action; checked below.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/modcfg.h"
#include "meterflow/store.h"
#include "meterflow/web.h"
#include "web/web_int.h" /* web_expire_sweep, web_store_acquire/release */

/* The [meterflow] keys store_open reads (the real table lives in src/app). */
static const struct mf_cfg_item t_meterflow_cfg[] = {
    { "meterflow", "data_dir", MF_CFG_STR, "./var", 0, 0, NULL, "" },
    { "meterflow", "zone", MF_CFG_STR, "Asia/Shanghai", 0, 0, NULL, "" },
    MF_CFG_END,
};
static const struct mf_cfg_item *const t_tables[] = { t_meterflow_cfg, store_cfg, web_cfg,
                                                      metrics_cfg, NULL };
static const char *const t_pass[] = { NULL };

#define T0 ((int64_t)1795651200) /* 2026-11-26T00:00:00Z */
#define E 600                    /* [web] cmd_expire_s */
#define TERM 0x44030001u

struct rig {
    char dir[40];
    struct mf_config *cfg;
    struct store *st; /* the test's own handle (the web has its pool) */
    struct web *web;
};

static int rig_open(struct rig *r, const char *handles)
{
    char err[256] = "";
    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/mf-test-wexp-XXXXXX");
    CHECK(mkdtemp(r->dir) != NULL);
    mf_clock_set_zone("Asia/Shanghai");
    r->cfg = mf_config_new(t_tables, t_pass);
    CHECK_EQ_INT(mf_config_set(r->cfg, "meterflow", "data_dir", r->dir, "test", err,
                               sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_set(r->cfg, "web", "cmd_expire_s", "600", "test", err, sizeof(err)),
                 0);
    CHECK_EQ_INT(mf_config_set(r->cfg, "web", "store_handles", handles, "test", err,
                               sizeof(err)), 0);
    r->st = store_open(r->cfg, err, sizeof(err));
    CHECK(r->st != NULL);
    r->web = r->st ? web_new(r->cfg, NULL, err, sizeof(err)) : NULL;
    CHECK(r->web != NULL);
    if (!r->web)
        fprintf(stderr, "web_new: %s\n", err);
    return r->st && r->web ? 0 : -1;
}

static void rig_close(struct rig *r)
{
    char cmd[96];
    web_free(r->web);
    store_close(r->st);
    mf_config_free(r->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
    CHECK_EQ_INT(system(cmd), 0);
}

/* A command created at `at`, then (unless state is queued) moved to state at at + 1 with
 * answer (NULL: none). Gives its id. */
static int64_t cmd_at(struct store *st, int64_t at, uint8_t state, const char *answer)
{
    struct store_command c = { TERM, 0x05, "{\"fn\":31}", "op", at };
    int64_t id = 0;
    CHECK_EQ_INT(store_command_create(st, &c, &id), 0);
    if (state != STORE_CMD_QUEUED) {
        struct store_cmd_result r = { id, state, 1, answer, at + 1 };
        CHECK_EQ_INT(store_command_update(st, &r), 0);
    }
    return id;
}

/* Check one command: its state, updated_at (UTC text) and answer (compact, sorted JSON text;
 * NULL: no answer). */
static void check_cmd(struct store *st, int64_t id, const char *state, const char *updated,
                      const char *answer, int line)
{
    json_t *j = NULL;
    char *a = NULL;
    if (store_command_json(st, id, &j) != 0) {
        mf_test_fail(__FILE__, line, "command %lld not found", (long long)id);
        return;
    }
    json_t *ans = json_object_get(j, "answer");
    if (ans && !json_is_null(ans))
        a = json_dumps(ans, JSON_COMPACT | JSON_SORT_KEYS);
    const char *s = json_string_value(json_object_get(j, "state"));
    const char *u = json_string_value(json_object_get(j, "updated_at"));
    if (!s || strcmp(s, state) != 0 || !u || strcmp(u, updated) != 0 ||
        (answer ? !a || strcmp(a, answer) != 0 : a != NULL))
        mf_test_fail(__FILE__, line, "command %lld: %s %s %s, expected %s %s %s", (long long)id,
                     s ? s : "(null)", u ? u : "(null)", a ? a : "(none)", state, updated,
                     answer ? answer : "(none)");
    free(a);
    json_decref(j);
}
#define CHECK_CMD(st, id, state, updated, answer) check_cmd(st, id, state, updated, answer, __LINE__)

/* The answer the web writes (web_expire.c), written out by hand. */
#define REASON                                                                                 \
    "{\"detail\":\"not finished within cmd_expire_s = 600 s (no front holding the terminal"   \
    " answered)\",\"error\":\"expired\"}"

static long long count_state(struct store *st, const char *state)
{
    struct store_command_filter cf = { .state = state };
    json_t *j = NULL;
    long long n = -1;
    if (store_commands_json(st, &cf, &j) == 0)
        n = (long long)json_integer_value(json_object_get(j, "total"));
    json_decref(j);
    return n;
}

MF_TEST(sweep_expires_exactly_the_stale_open_commands)
{
    struct rig r;
    if (rig_open(&r, "2") != 0)
        return;
    struct store *st = r.st;
    /* stale (created before T0 - E): taken by the sweep at T0 */
    int64_t q_old = cmd_at(st, T0 - E - 1, STORE_CMD_QUEUED, NULL);
    int64_t s_old = cmd_at(st, T0 - 3600, STORE_CMD_SENT, NULL);
    int64_t s_ans = cmd_at(st, T0 - 3600, STORE_CMD_SENT, "{\"part\":1}");
    /* final states, as old as can be: never touched */
    int64_t answered = cmd_at(st, T0 - 86400, STORE_CMD_ANSWERED, "{\"v\":7}");
    int64_t failed = cmd_at(st, T0 - 86400, STORE_CMD_FAILED, "{\"error\":\"denied\"}");
    int64_t tmo = cmd_at(st, T0 - 86400, STORE_CMD_TIMEOUT, NULL);
    int64_t exp0 = cmd_at(st, T0 - 86400, STORE_CMD_EXPIRED, "{\"error\":\"earlier\"}");
    /* young: created at or after T0 - E */
    int64_t q_edge = cmd_at(st, T0 - E, STORE_CMD_QUEUED, NULL);
    int64_t s_young = cmd_at(st, T0 - E + 1, STORE_CMD_SENT, NULL);
    int64_t q_young = cmd_at(st, T0 - 1, STORE_CMD_QUEUED, NULL);

    int64_t n = -1;
    CHECK_EQ_INT(web_expire_sweep(r.web, T0, &n), 0);
    CHECK_EQ_INT(n, 3);
    CHECK_CMD(st, q_old, "expired", "2026-11-26T00:00:00Z", REASON);
    CHECK_CMD(st, s_old, "expired", "2026-11-26T00:00:00Z", REASON);
    CHECK_CMD(st, s_ans, "expired", "2026-11-26T00:00:00Z", "{\"part\":1}");
    CHECK_CMD(st, answered, "answered", "2026-11-25T00:00:01Z", "{\"v\":7}");
    CHECK_CMD(st, failed, "failed", "2026-11-25T00:00:01Z", "{\"error\":\"denied\"}");
    CHECK_CMD(st, tmo, "timeout", "2026-11-25T00:00:01Z", NULL);
    CHECK_CMD(st, exp0, "expired", "2026-11-25T00:00:01Z", "{\"error\":\"earlier\"}");
    CHECK_CMD(st, q_edge, "queued", "2026-11-25T23:50:00Z", NULL);
    CHECK_CMD(st, s_young, "sent", "2026-11-25T23:50:02Z", NULL);
    CHECK_CMD(st, q_young, "queued", "2026-11-25T23:59:59Z", NULL);

    n = -1; /* a second sweep at the same time (another web process) finds nothing */
    CHECK_EQ_INT(web_expire_sweep(r.web, T0, &n), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_CMD(st, q_old, "expired", "2026-11-26T00:00:00Z", REASON);

    n = -1; /* one second later the cut passes the command created at T0 - E, only it */
    CHECK_EQ_INT(web_expire_sweep(r.web, T0 + 1, &n), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_CMD(st, q_edge, "expired", "2026-11-26T00:00:01Z", REASON);
    CHECK_CMD(st, s_young, "sent", "2026-11-25T23:50:02Z", NULL);
    CHECK_CMD(st, q_young, "queued", "2026-11-25T23:59:59Z", NULL);

    n = -1; /* E seconds after T0 the last two are stale too */
    CHECK_EQ_INT(web_expire_sweep(r.web, T0 + E, &n), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_CMD(st, s_young, "expired", "2026-11-26T00:10:00Z", REASON);
    CHECK_CMD(st, q_young, "expired", "2026-11-26T00:10:00Z", REASON);
    CHECK_CMD(st, q_old, "expired", "2026-11-26T00:00:00Z", REASON); /* not re-stamped */

    CHECK_EQ_INT(count_state(st, "expired"), 7);
    CHECK_EQ_INT(count_state(st, "answered"), 1);
    CHECK_EQ_INT(count_state(st, "failed"), 1);
    CHECK_EQ_INT(count_state(st, "timeout"), 1);
    CHECK_EQ_INT(count_state(st, "queued"), 0);
    CHECK_EQ_INT(count_state(st, "sent"), 0);
    json_t *au = NULL; /* expiry is not an operator's action: no audit row */
    struct store_audit_filter af = { .pg = { 1, 50 } }; /* any user, action, time */
    CHECK_EQ_INT(store_audit_json(st, &af, &au), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(au, "total")), 0);
    json_decref(au);
    rig_close(&r);
}

/* Every handle of the web's pool busy: the sweep gives up after its wait (about 2 s) with
 * MF_ERETRY and changes nothing; once the handle is back the same sweep expires it. */
MF_TEST(sweep_with_the_pool_busy_retries_later)
{
    struct rig r;
    if (rig_open(&r, "1") != 0)
        return;
    int64_t id = cmd_at(r.st, T0 - 3600, STORE_CMD_QUEUED, NULL);
    struct store *held = web_store_acquire(r.web);
    CHECK(held != NULL);
    int64_t n = 0;
    CHECK_EQ_INT(web_expire_sweep(r.web, T0, &n), MF_ERETRY);
    CHECK_EQ_INT(n, 0);
    CHECK_CMD(r.st, id, "queued", "2026-11-25T23:00:00Z", NULL);
    web_store_release(r.web, held);
    CHECK_EQ_INT(web_expire_sweep(r.web, T0, &n), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_CMD(r.st, id, "expired", "2026-11-26T00:00:00Z", REASON);
    rig_close(&r);
}
