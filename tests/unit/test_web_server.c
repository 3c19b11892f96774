/* tsan: yes */
/* test_web_server.c -- the web in-process: web_new/web_start on port 0 with a SQLite store in
 * a temporary directory, then several client threads at once (login, GET /api/me, lists,
 * writes without the role, /metrics), so the thread pool, the store-handle pool, the hash
 * gate, the rate limiter and the counters run concurrently (also under TSan). Expected
 * statuses come from docs/API.md. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/modcfg.h"
#include "meterflow/store.h"
#include "meterflow/web.h"

/* The [meterflow] keys store_open reads (the real table lives in src/app). */
static const struct mf_cfg_item t_meterflow_cfg[] = {
    { "meterflow", "data_dir", MF_CFG_STR, "./var", 0, 0, NULL, "" },
    { "meterflow", "zone", MF_CFG_STR, "Asia/Shanghai", 0, 0, NULL, "" },
    MF_CFG_END,
};
static const struct mf_cfg_item *const t_tables[] = { t_meterflow_cfg, store_cfg, web_cfg,
                                                      metrics_cfg, NULL };
static const char *const t_pass[] = { NULL };

static uint16_t g_port;

/* One HTTP/1.0 exchange; returns the status and copies the body into out. */
static int http(const char *method, const char *path, const char *auth, const char *body,
                char *out, size_t outlen)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(g_port) };
    char req[1024], resp[16384];
    size_t have = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(fd);
        return -1;
    }
    int len = snprintf(req, sizeof(req),
                       "%s %s HTTP/1.0\r\nHost: x\r\n%s%s%sContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       method, path, auth ? "Authorization: Bearer " : "", auth ? auth : "",
                       auth ? "\r\n" : "", body ? strlen(body) : 0, body ? body : "");
    if (write(fd, req, (size_t)len) != len) {
        close(fd);
        return -1;
    }
    while (have < sizeof(resp) - 1 && (n = read(fd, resp + have, sizeof(resp) - 1 - have)) > 0)
        have += (size_t)n;
    close(fd);
    resp[have] = '\0';
    char *b = strstr(resp, "\r\n\r\n");
    if (out)
        mf_strlcpy(out, b ? b + 4 : "", outlen);
    return have > 12 ? (int)strtol(resp + 9, NULL, 10) : -1;
}

struct client {
    pthread_t th;
    int id;
    int ok; /* number of answers with the expected status */
};

static void *client_run(void *arg)
{
    struct client *c = arg;
    char body[8192], tok[80];
    int st = http("POST", "/api/login", NULL, "{\"username\":\"viewer\",\"password\":\"viewer-pass\"}",
                  body, sizeof(body));
    char *t = strstr(body, "\"token\":\"");
    if (st != 200 || !t)
        return NULL;
    mf_strlcpy(tok, t + 9, 65);
    c->ok++;
    for (int i = 0; i < 10; i++) {
        c->ok += http("GET", "/api/me", tok, NULL, body, sizeof(body)) == 200;
        c->ok += http("GET", "/api/terminals?page_size=5", tok, NULL, body, sizeof(body)) == 200;
        c->ok += http("POST", "/api/commands", tok,
                      "{\"terminal\":\"4403-0001\",\"type\":\"read_current\"}", body,
                      sizeof(body)) == 403; /* a viewer never commands */
        c->ok += http("GET", "/metrics", NULL, NULL, NULL, 0) == 200;
    }
    /* wrong passwords from everyone at once: the limiter's table is shared */
    c->ok += http("POST", "/api/login", NULL, "{\"username\":\"viewer\",\"password\":\"nope-nope\"}",
                  body, sizeof(body)) >= 401;
    return NULL;
}

MF_TEST(concurrent_clients)
{
    char dir[] = "/tmp/mf-test-web-XXXXXX", err[256], hash[256], body[16384];
    CHECK(mkdtemp(dir) != NULL);
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    CHECK_EQ_INT(mf_config_set(cfg, "meterflow", "data_dir", dir, "test", err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "web", "port", "0", "test", err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "web", "threads", "3", "test", err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "web", "login_max_failures", "100", "test", err, sizeof(err)), 0);
    mf_clock_set_zone("Asia/Shanghai");

    struct store *st = store_open(cfg, err, sizeof(err));
    CHECK(st != NULL);
    CHECK_EQ_INT(web_user_password_hash("viewer-pass", hash, sizeof(hash)), 0);
    CHECK_EQ_INT(store_user_put(st, "viewer", "viewer", hash, 1), 0);
    struct store_terminal term = { .term = 0x44030001u, .name = "t1", .registered = 1,
                                   .login_answer = 1 };
    CHECK_EQ_INT(store_terminal_put(st, &term), 0);
    store_close(st);

    struct web *web = web_new(cfg, NULL, err, sizeof(err));
    CHECK(web != NULL);
    if (!web)
        return;
    CHECK_EQ_INT(web_start(web, err, sizeof(err)), 0);
    g_port = web_port(web);
    CHECK(g_port != 0);

    struct client cl[4];
    for (int i = 0; i < 4; i++) {
        cl[i] = (struct client){ .id = i };
        pthread_create(&cl[i].th, NULL, client_run, &cl[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(cl[i].th, NULL);
        CHECK_EQ_INT(cl[i].ok, 1 + 40 + 1);
    }
    /* the counters saw every request: 4 clients x 10 GET /api/me */
    CHECK_EQ_INT(http("GET", "/metrics", NULL, NULL, body, sizeof(body)), 200);
    CHECK(strstr(body, "meterflow_http_requests_total{route=\"me\"} 40\n") != NULL);
    CHECK(strstr(body, "meterflow_logins_total{result=\"ok\"} 4\n") != NULL);
    CHECK(strstr(body, "meterflow_logins_total{result=\"failed\"} 4\n") != NULL);
    web_stop(web);
    web_free(web);
    mf_config_free(cfg);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

/* [web] cmd_expire_s: a command left queued (its front died) ends "expired" through the
 * web's sweeper, seen over HTTP; a young one stays queued; too short an expiry for the
 * front's retries is a start-up error naming the key. Then the anomalies' state filter with
 * the analytics' "resolved". */
MF_TEST(command_expiry)
{
    char dir[] = "/tmp/mf-test-webexp-XXXXXX", err[256], hash[256], body[16384], path[64];
    CHECK(mkdtemp(dir) != NULL);
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    CHECK_EQ_INT(mf_config_set(cfg, "meterflow", "data_dir", dir, "test", err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "web", "port", "0", "test", err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "web", "cmd_timeout_ms", "1000", "test", err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "web", "cmd_retries", "1", "test", err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "web", "cmd_expire_s", "2", "test", err, sizeof(err)), 0);
    mf_clock_set_zone("Asia/Shanghai");

    struct store *st = store_open(cfg, err, sizeof(err));
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_EQ_INT(web_user_password_hash("viewer-pass", hash, sizeof(hash)), 0);
    CHECK_EQ_INT(store_user_put(st, "viewer", "viewer", hash, 1), 0);
    int64_t now = (int64_t)(mf_now_us() / 1000000u), old_id = 0, young_id = 0;
    struct store_command old = { 0x44030001u, 0x0C, "{}", "op", now - 3600 };
    struct store_command young = { 0x44030001u, 0x0C, "{}", "op", now + 3600 };
    CHECK_EQ_INT(store_command_create(st, &old, &old_id), 0);
    CHECK_EQ_INT(store_command_create(st, &young, &young_id), 0);

    /* (1 + 1) retries x 1000 ms = 2 s: an expiry of 2 s could expire a live command */
    struct web *bad = web_new(cfg, NULL, err, sizeof(err));
    CHECK(bad == NULL);
    CHECK(strstr(err, "cmd_expire_s") != NULL);
    CHECK_EQ_INT(mf_config_set(cfg, "web", "cmd_retries", "0", "test", err, sizeof(err)), 0);
    struct web *web = web_new(cfg, NULL, err, sizeof(err));
    CHECK(web != NULL);
    if (!web)
        return;
    CHECK_EQ_INT(web_start(web, err, sizeof(err)), 0);
    g_port = web_port(web);

    CHECK_EQ_INT(http("POST", "/api/login", NULL,
                      "{\"username\":\"viewer\",\"password\":\"viewer-pass\"}", body,
                      sizeof(body)), 200);
    char tok[80] = "", *t = strstr(body, "\"token\":\"");
    if (t)
        mf_strlcpy(tok, t + 9, 65);
    snprintf(path, sizeof(path), "/api/commands/%lld", (long long)old_id);
    uint64_t deadline = mf_mono_us() + 20 * 1000000u;
    int expired = 0;
    while (!expired && mf_mono_us() < deadline) {
        CHECK_EQ_INT(http("GET", path, tok, NULL, body, sizeof(body)), 200);
        expired = strstr(body, "\"state\":\"expired\"") != NULL;
        if (!expired)
            usleep(50 * 1000);
    }
    CHECK(expired);
    CHECK(strstr(body, "\"error\":\"expired\"") != NULL);
    snprintf(path, sizeof(path), "/api/commands/%lld", (long long)young_id);
    CHECK_EQ_INT(http("GET", path, tok, NULL, body, sizeof(body)), 200);
    CHECK(strstr(body, "\"state\":\"queued\"") != NULL);
    CHECK_EQ_INT(http("GET", "/api/commands?state=expired", tok, NULL, body, sizeof(body)), 200);
    CHECK(strstr(body, "\"total\":1") != NULL);
    CHECK_EQ_INT(http("GET", "/metrics", NULL, NULL, body, sizeof(body)), 200);
    CHECK(strstr(body, "meterflow_commands{state=\"expired\"} 1\n") != NULL);
    CHECK(strstr(body, "meterflow_web_commands_expired_total 1\n") != NULL);

    /* an anomaly the analytics withdrew is listed with state "resolved" (docs/API.md) */
    struct store_anomaly an[2] = {
        { "stopped", 0x44030001u, 1, NULL, now - 86400, 20781, 2, "{\"value\":0}" },
        { "stopped", 0x44030001u, 2, NULL, now - 86400, 20781, 2, "{\"value\":0}" },
    };
    struct store_batch ab = { .anomalies = an, .n_anomalies = 2 };
    CHECK_EQ_INT(store_batch_write(st, &ab), 0);
    CHECK_EQ_INT(store_anomaly_set_state(st, 1, "resolved"), 0);
    CHECK_EQ_INT(http("GET", "/api/anomalies?state=resolved", tok, NULL, body, sizeof(body)), 200);
    CHECK(strstr(body, "\"total\":1") && strstr(body, "\"state\":\"resolved\"") &&
          strstr(body, "\"pn\":1,"));
    CHECK_EQ_INT(http("GET", "/api/anomalies?state=open", tok, NULL, body, sizeof(body)), 200);
    CHECK(strstr(body, "\"total\":1") && strstr(body, "\"pn\":2,"));
    CHECK_EQ_INT(http("GET", "/api/anomalies?state=gone", tok, NULL, body, sizeof(body)), 400);
    web_stop(web);
    web_free(web);
    store_close(st);
    mf_config_free(cfg);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

/* GET /api/kpi/lineloss?worst=N (docs/API.md): the N highest rates of one date, highest
 * first, ties by area, unknown rates left out; worst with a range or an area is a 400. */
MF_TEST(lineloss_worst)
{
    char dir[] = "/tmp/mf-test-webloss-XXXXXX", err[256], hash[256], body[16384];
    CHECK(mkdtemp(dir) != NULL);
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    CHECK_EQ_INT(mf_config_set(cfg, "meterflow", "data_dir", dir, "test", err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_set(cfg, "web", "port", "0", "test", err, sizeof(err)), 0);
    mf_clock_set_zone("Asia/Shanghai");
    struct store *st = store_open(cfg, err, sizeof(err));
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_EQ_INT(web_user_password_hash("viewer-pass", hash, sizeof(hash)), 0);
    CHECK_EQ_INT(store_user_put(st, "viewer", "viewer", hash, 1), 0);
    int32_t d = mf_date_to_days(2026, 11, 25);
    struct store_line_loss ll[4] = {
        { d, "A01", 100, 95, 4, 4, STORE_LOSS_OK, 1, 0.05, 0, 0.1, 1, 1, 1, 1 },
        { d, "A03", 100, 70, 4, 4, STORE_LOSS_HIGH, 1, 0.3, 0, 0.1, 1, 1, 1, 1 },
        { d, "A02", 100, 80, 4, 4, STORE_LOSS_HIGH, 1, 0.2, 0, 0.1, 1, 1, 1, 1 },
        { d, "A04", 0, 40, 4, 2, STORE_LOSS_INCOMPLETE, 1, 0, 0, 0.1, 0, 0, 0, 1 },
    };
    struct store_batch b = { .line_loss = ll, .n_line_loss = 4 };
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    store_close(st);
    struct web *web = web_new(cfg, NULL, err, sizeof(err));
    CHECK(web != NULL);
    if (!web)
        return;
    CHECK_EQ_INT(web_start(web, err, sizeof(err)), 0);
    g_port = web_port(web);
    CHECK_EQ_INT(http("POST", "/api/login", NULL,
                      "{\"username\":\"viewer\",\"password\":\"viewer-pass\"}", body,
                      sizeof(body)), 200);
    char tok[80] = "", *t = strstr(body, "\"token\":\"");
    if (t)
        mf_strlcpy(tok, t + 9, 65);
    CHECK_EQ_INT(http("GET", "/api/kpi/lineloss?date=2026-11-25&worst=2", tok, NULL, body,
                      sizeof(body)), 200);
    char *a3 = strstr(body, "\"area\":\"A03\""), *a2 = strstr(body, "\"area\":\"A02\"");
    CHECK(a3 && a2 && a3 < a2);
    CHECK(!strstr(body, "\"A01\"") && !strstr(body, "\"A04\""));
    CHECK_EQ_INT(http("GET", "/api/kpi/lineloss?date=2026-11-25&worst=10", tok, NULL, body,
                      sizeof(body)), 200);
    CHECK(strstr(body, "\"A01\"") && !strstr(body, "\"A04\""));
    CHECK_EQ_INT(http("GET", "/api/kpi/lineloss?date=2026-11-25", tok, NULL, body,
                      sizeof(body)), 200);
    CHECK(strstr(body, "\"A04\"") != NULL); /* without worst: every area, unknown rates too */
    CHECK_EQ_INT(http("GET", "/api/kpi/lineloss?date=2026-11-25&worst=0", tok, NULL, body,
                      sizeof(body)), 400);
    CHECK_EQ_INT(http("GET", "/api/kpi/lineloss?date=2026-11-25&worst=2&area=A01", tok, NULL,
                      body, sizeof(body)), 400);
    CHECK_EQ_INT(http("GET", "/api/kpi/lineloss?from=2026-11-24&to=2026-11-25&worst=2", tok,
                      NULL, body, sizeof(body)), 400);
    web_stop(web);
    web_free(web);
    mf_config_free(cfg);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

static void t_stats(void *opaque, struct mf_buf *out)
{
    int *calls = opaque;
    char line[64];
    int n = snprintf(line, sizeof(line), "meterflow_test_calls %d\n", ++*calls);
    (void)mf_buf_append(out, line, (size_t)n);
}

/* The [metrics] endpoint of front / worker processes (web_msrv.c): GET /metrics is the
 * process's page, anything else 404 / 405; [metrics] port -1 starts nothing. */
MF_TEST(metrics_endpoint)
{
    char err[256], body[4096];
    int calls = 0, failed = 1;
    struct web_msrv *m = web_msrv_start("127.0.0.1", 0, "front", t_stats, &calls, err,
                                        sizeof(err));
    CHECK(m != NULL);
    if (!m)
        return;
    g_port = web_msrv_port(m);
    CHECK(g_port != 0);
    CHECK_EQ_INT(http("GET", "/metrics", NULL, NULL, body, sizeof(body)), 200);
    CHECK(strstr(body, "meterflow_up{role=\"front\"} 1\n") != NULL);
    CHECK(strstr(body, "meterflow_test_calls 1\n") != NULL);
    CHECK_EQ_INT(http("GET", "/metrics", NULL, NULL, body, sizeof(body)), 200);
    CHECK(strstr(body, "meterflow_metrics_scrapes_total 2\n") != NULL);
    CHECK_EQ_INT(http("GET", "/api/health", NULL, NULL, body, sizeof(body)), 404);
    CHECK_EQ_INT(http("POST", "/metrics", NULL, "{}", body, sizeof(body)), 405);
    web_msrv_stop(m);
    CHECK_EQ_INT(calls, 2);
    CHECK(web_msrv_start("not-an-ip", 0, "x", t_stats, &calls, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "listen") != NULL);

    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    CHECK(web_msrv_start_cfg(cfg, "worker", t_stats, &calls, &failed, err, sizeof(err)) == NULL);
    CHECK_EQ_INT(failed, 0); /* default port -1: no endpoint, not an error */
    CHECK_EQ_INT(mf_config_set(cfg, "metrics", "port", "0", "test", err, sizeof(err)), 0);
    m = web_msrv_start_cfg(cfg, "worker", t_stats, &calls, &failed, err, sizeof(err));
    CHECK(m != NULL && failed == 0);
    g_port = web_msrv_port(m);
    CHECK_EQ_INT(http("GET", "/metrics", NULL, NULL, body, sizeof(body)), 200);
    CHECK(strstr(body, "meterflow_up{role=\"worker\"} 1\n") != NULL);
    web_msrv_stop(m);
    web_msrv_stop(NULL);
    mf_config_free(cfg);
}
