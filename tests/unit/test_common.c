/* test_common.c -- config tables, capped buffers, histogram, hex, calendar arithmetic. */
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/buf.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/hist.h"

static const struct mf_cfg_item t_cfg[] = {
    { "front", "port", MF_CFG_INT, "9300", 1, 65535, NULL, "port" },
    { "front", "accept_unknown", MF_CFG_BOOL, "true", 0, 0, NULL, "policy" },
    { "queue", "backend", MF_CFG_ENUM, "embedded", 0, 0, "embedded|kafka", "backend" },
    { "queue", "name", MF_CFG_STR, "x", 0, 0, NULL, "name" },
    MF_CFG_END,
};
static const struct mf_cfg_item *const t_tables[] = { t_cfg, NULL };
static const char *const t_pass[] = { "kafka", NULL };

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/mf-test-cfg-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

MF_TEST(config_defaults_and_file)
{
    char err[256] = "";
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    CHECK_EQ_INT(mf_config_int(cfg, "front", "port"), 9300);
    CHECK_EQ_INT(mf_config_bool(cfg, "front", "accept_unknown"), 1);
    char *p = write_tmp("[front]\nport = 9400\naccept_unknown = no\n[queue]\nbackend = kafka\n"
                        "[kafka]\nbootstrap.servers = 127.0.0.1:9092\nacks = all\n");
    CHECK_EQ_INT(mf_config_load_file(cfg, p, err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_int(cfg, "front", "port"), 9400);
    CHECK_EQ_INT(mf_config_bool(cfg, "front", "accept_unknown"), 0);
    CHECK_STR(mf_config_str(cfg, "queue", "backend"), "kafka");
    const char *const *k, *const *v;
    CHECK_EQ_INT(mf_config_pairs(cfg, "kafka", &k, &v), 2);
    CHECK_STR(k[1], "acks");
    CHECK_STR(v[0], "127.0.0.1:9092");
    unlink(p);
    mf_config_free(cfg);
}

MF_TEST(config_errors_name_the_key)
{
    char err[256] = "";
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    char *p = write_tmp("[front]\n\nprot = 1\n");
    CHECK(mf_config_load_file(cfg, p, err, sizeof(err)) != 0);
    CHECK(strstr(err, "prot") != NULL);
    CHECK(strstr(err, ":3") != NULL); /* line number */
    unlink(p);
    CHECK(mf_config_set(cfg, "front", "port", "70000", "t", err, sizeof(err)) == MF_ERANGE);
    CHECK(strstr(err, "port") && strstr(err, "70000"));
    CHECK(mf_config_set(cfg, "queue", "backend", "rabbit", "t", err, sizeof(err)) != 0);
    CHECK(strstr(err, "backend") != NULL);
    CHECK(mf_config_set(cfg, "nosuch", "k", "1", "t", err, sizeof(err)) != 0);
    CHECK(strstr(err, "nosuch") != NULL);
    CHECK(mf_config_set_arg(cfg, "front.port=1234", err, sizeof(err)) == 0);
    CHECK_EQ_INT(mf_config_int(cfg, "front", "port"), 1234);
    CHECK(mf_config_set_arg(cfg, "front.port", err, sizeof(err)) != 0);
    setenv("MF_FRONT_PORT", "4321", 1);
    CHECK_EQ_INT(mf_config_load_env(cfg, err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_int(cfg, "front", "port"), 4321);
    setenv("MF_FRONT_PORT", "abc", 1);
    CHECK(mf_config_load_env(cfg, err, sizeof(err)) != 0);
    CHECK(strstr(err, "MF_FRONT_PORT") != NULL);
    unsetenv("MF_FRONT_PORT");
    mf_config_free(cfg);
}

MF_TEST(buf_cap_is_enforced)
{
    struct mf_buf b;
    mf_buf_init(&b, 100);
    uint8_t chunk[60] = { 0 };
    CHECK_EQ_INT(mf_buf_append(&b, chunk, 60), 0);
    CHECK_EQ_INT(mf_buf_append(&b, chunk, 41), MF_ERANGE);
    CHECK_EQ_INT(b.len, 60);
    CHECK_EQ_INT(mf_buf_append(&b, chunk, 40), 0);
    CHECK_EQ_INT(b.len, 100);
    CHECK(b.cap <= 100);
    mf_buf_consume(&b, 30);
    CHECK_EQ_INT(b.len, 70);
    CHECK_EQ_INT(mf_buf_reserve(&b, (size_t)-1), MF_ERANGE);
    mf_buf_fini(&b);
}

MF_TEST(hist_quantiles_within_two_percent)
{
    static struct mf_hist h;
    mf_hist_reset(&h);
    for (uint64_t v = 1; v <= 100000; v++)
        mf_hist_add(&h, v);
    uint64_t p50 = mf_hist_quantile(&h, 0.5), p99 = mf_hist_quantile(&h, 0.99);
    CHECK(p50 >= 50000 && p50 <= 51000);
    CHECK(p99 >= 99000 && p99 <= 100000);
    CHECK_EQ_INT(mf_hist_quantile(&h, 1.0), 100000);
    CHECK_EQ_INT(h.count, 100000);
}

MF_TEST(hex_roundtrip_and_errors)
{
    uint8_t b[8];
    char s[32];
    CHECK_EQ_INT(mf_hex_decode("68 32 00", b, sizeof(b)), 3);
    CHECK_EQ_INT(b[0], 0x68);
    CHECK_EQ_INT(mf_hex_decode("683200", b, sizeof(b)), 3);
    CHECK_EQ_INT(mf_hex_decode("6 83", b, sizeof(b)), MF_EINVAL);
    CHECK_EQ_INT(mf_hex_decode("zz", b, sizeof(b)), MF_EINVAL);
    CHECK_EQ_INT(mf_hex_decode("00 01 02 03 04 05 06 07 08", b, sizeof(b)), MF_ERANGE);
    mf_hex_encode((const uint8_t *)"\x68\x0a", 2, s, sizeof(s));
    CHECK_STR(s, "68 0A");
}

MF_TEST(calendar_days)
{
    CHECK_EQ_INT(mf_date_to_days(1970, 1, 1), 0);
    CHECK_EQ_INT(mf_date_to_days(2000, 3, 1), 11017);
    int y, m, d;
    mf_days_to_date(mf_date_to_days(2024, 2, 29), &y, &m, &d);
    CHECK(y == 2024 && m == 2 && d == 29);
    CHECK_EQ_INT(mf_clock_set_zone("Asia/Shanghai"), 0);
    struct mf_civil c = { 2019, 7, 3, 18, 57, 0 };
    /* 18:57 in Shanghai (UTC+8) is 10:57Z */
    CHECK_EQ_INT(mf_civil_to_utc(&c),
                 (int64_t)mf_date_to_days(2019, 7, 3) * 86400 + 10 * 3600 + 57 * 60);
    int64_t t;
    CHECK_EQ_INT(mf_time_parse("2019-07-03T10:57:00Z", &t), 0);
    CHECK_EQ_INT(t, mf_civil_to_utc(&c));
    CHECK_EQ_INT(mf_time_parse("2019-07-03T18:57", &t), 0);
    CHECK_EQ_INT(t, mf_civil_to_utc(&c));
    CHECK(mf_time_parse("2019-13-03", &t) != 0);
    CHECK(mf_clock_set_zone("Nowhere/Atlantis") != 0);
}

/* mf_date_parse: exactly YYYY-MM-DD and a real date (2026-11-26 is day 20783; 2000-03-01 is
 * day 11017), anything else refused without touching the output. */
MF_TEST(date_parse_checked)
{
    int32_t d = -1;
    CHECK_EQ_INT(mf_date_parse("2026-11-26", &d), 0);
    CHECK_EQ_INT(d, 20783);
    CHECK_EQ_INT(mf_date_parse("2000-03-01", &d), 0);
    CHECK_EQ_INT(d, 11017);
    CHECK_EQ_INT(mf_date_parse("2000-02-29", &d), 0); /* divisible by 400: leap */
    CHECK_EQ_INT(d, 11016);
    CHECK_EQ_INT(mf_date_parse("1970-01-01", &d), 0);
    CHECK_EQ_INT(d, 0);
    d = -1;
    static const char *const bad[] = { "2026-02-29", "2026-04-31", "2026-11-00", "2026-00-10",
                                       "2026-13-01", "1969-12-31", "2100-01-01", "2026-1-26",
                                       "2026-11-26Z", "2026/11/26", "+026-11-26", "2026-11-2x",
                                       " 2026-11-2", "", NULL };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (mf_date_parse(bad[i], &d) != MF_EINVAL)
            mf_test_fail(__FILE__, __LINE__, "\"%s\" accepted", bad[i] ? bad[i] : "(null)");
    }
    CHECK_EQ_INT(d, -1);
}

MF_TEST(config_text_loader_counts_lines)
{
    char err[256] = "";
    struct mf_config *cfg = mf_config_new(t_tables, t_pass);
    const char text[] = "[front]\nport = 1\n\n[queue]\nbackend = rabbit\n";
    CHECK(mf_config_load_text(cfg, "mem.ini", text, sizeof(text) - 1, err, sizeof(err)) != 0);
    CHECK(strstr(err, "mem.ini:5") != NULL);
    CHECK(strstr(err, "backend") != NULL);
    CHECK_EQ_INT(mf_config_int(cfg, "front", "port"), 1);
    /* Not NUL-terminated: the loader must stop at len. */
    const char cut[] = "[front]\nport = 77XYZ";
    CHECK_EQ_INT(mf_config_load_text(cfg, "cut.ini", cut, sizeof(cut) - 4, err, sizeof(err)), 0);
    CHECK_EQ_INT(mf_config_int(cfg, "front", "port"), 77);
    mf_config_free(cfg);
}

/* mf_strerror: glibc's text for a known errno, a non-empty text for an unknown one, and a
 * one-byte buffer still gives a terminated string. */
MF_TEST(strerror_threadsafe)
{
    char b[64];
    CHECK_STR(mf_strerror(ENOENT, b, sizeof(b)), "No such file or directory");
    const char *u = mf_strerror(99999, b, sizeof(b));
    CHECK(u != NULL && u[0] != '\0');
    char one[1];
    const char *t = mf_strerror(99999, one, sizeof(one));
    CHECK(t != NULL && strlen(t) < 64);
}
