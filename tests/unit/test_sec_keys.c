/* test_sec_keys.c -- the PW key file (src/sec/sec_keys.c) and the [security] provider
 * (src/sec/sec_pw.c) without a front: parsing (good forms, every refused form, errors that
 * name file:line and never quote a value), lookup with and without `default`, the file
 * checks (group/world permissions, not a regular file, over the size cap, missing), the
 * configuration errors that stop start-up, a reload that replaces the keys or keeps the old
 * ones, and the HMAC against RFC 4231's published test vector. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/common.h"
#include "meterflow/config.h"
#include "meterflow/front.h"
#include "meterflow/modcfg.h"
#include "meterflow/sec.h"

static int parse(const char *text, int mode, struct sec_keys *k, char *err, size_t len)
{
    return sec_keys_parse(text, strlen(text), mode, "keys.txt", k, err, len);
}

MF_TEST(keys_parse_good_file)
{
    struct sec_keys k;
    char err[256] = "";
    const char *text = "# comment\n"
                       "\n"
                       "   \t\n"
                       "0171-0822 A1B2C3D4E5F60718293A4B5C6D7E8F90\r\n"
                       "  4403-00ff\t0102\n"
                       "default 00000000000000000000000000000009\n"
                       "9999-FFFF 11"; /* last line without newline */
    CHECK_EQ_INT(parse(text, SEC_PW_FILE, &k, err, sizeof(err)), 0);
    CHECK_EQ_INT(k.n, 3);
    CHECK_EQ_INT(k.has_default, 1);
    /* terminal key = A1 << 16 | A2 (A1 BCD digits as hex: 0x0171, A2 0x0822) */
    const struct sec_key *e = sec_keys_find(&k, 0x01710822u);
    CHECK(e != NULL && e->len == 16 && e->b[0] == 0xA1 && e->b[15] == 0x90);
    e = sec_keys_find(&k, 0x440300FFu); /* lower-case hex in the id is accepted */
    CHECK(e != NULL && e->len == 2 && e->b[0] == 1 && e->b[1] == 2);
    e = sec_keys_find(&k, 0x9999FFFFu);
    CHECK(e != NULL && e->len == 1 && e->b[0] == 0x11);
    e = sec_keys_find(&k, 0x12340001u); /* not listed: the default */
    CHECK(e == &k.def && e->len == 16 && e->b[15] == 9);
    sec_keys_fini(&k);

    CHECK_EQ_INT(parse("0171-0822 0102\n", SEC_PW_FILE, &k, err, sizeof(err)), 0);
    CHECK(sec_keys_find(&k, 0x12340001u) == NULL); /* no default: nothing */
    sec_keys_fini(&k);
    CHECK_EQ_INT(parse("", SEC_PW_FILE, &k, err, sizeof(err)), 0); /* empty file: no keys */
    CHECK_EQ_INT(k.n, 0);
    sec_keys_fini(&k);
}

MF_TEST(keys_parse_refuses_bad_lines_naming_the_line_not_the_value)
{
    static const struct {
        const char *text;
        int mode;
        const char *want; /* expected start of the message */
    } bad[] = {
        { "0171-0822\n", SEC_PW_FILE, "keys.txt:1: expected" },
        { "#\n0171-0822 A1B2 C3\n", SEC_PW_FILE, "keys.txt:2: expected" },
        { "0171-08G2 A1B2\n", SEC_PW_FILE, "keys.txt:1: bad terminal id" },
        { "171-0822 A1B2\n", SEC_PW_FILE, "keys.txt:1: bad terminal id" },
        { "01710822 A1B2\n", SEC_PW_FILE, "keys.txt:1: bad terminal id" },
        { "0171-0822 A1B\n", SEC_PW_FILE, "keys.txt:1: value is not 2..64" },
        { "0171-0822 A1BZ\n", SEC_PW_FILE, "keys.txt:1: value is not hex" },
        { "0171-0822 0x11\n", SEC_PW_FILE, "keys.txt:1: value is not hex" },
        { "0171-0822 A1B2C3D4E5F60718293A4B5C6D7E8F9011\n", SEC_PW_FILE,
          "keys.txt:1: a PW value is at most 16 bytes" },
        { "0171-0822 A1B2C3D4E5F60718293A4B5C6D7E8F\n", SEC_PW_HMAC,
          "keys.txt:1: an HMAC key is at least 16 bytes" },
        { "0171-0822 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF00\n",
          SEC_PW_HMAC, "keys.txt:1: value is not 2..64" },
        { "default 11\ndefault 22\n", SEC_PW_FILE, "keys.txt:2: second `default`" },
        { "0171-0822 11\n4403-0001 22\n0171-0822 33\n", SEC_PW_FILE,
          "keys.txt: terminal 0171-0822 listed twice" },
    };
    char err[256];
    struct sec_keys k;
    for (size_t i = 0; i < MF_ARRAY_LEN(bad); i++) {
        err[0] = '\0';
        int rc = parse(bad[i].text, bad[i].mode, &k, err, sizeof(err));
        if (rc != MF_EINVAL || strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
            mf_test_fail(__FILE__, __LINE__, "case %zu: rc %d, message '%s'", i, rc, err);
        CHECK(k.v == NULL && k.n == 0); /* nothing left behind */
        CHECK(strstr(err, "A1B2") == NULL && strstr(err, "A1BZ") == NULL); /* no material */
    }
    /* a line over 256 characters, and a NUL byte inside a line */
    char longline[400];
    memset(longline, 'A', sizeof(longline));
    memcpy(longline, "0171-0822 ", 10);
    longline[300] = '\n';
    longline[301] = '\0';
    CHECK_EQ_INT(parse(longline, SEC_PW_FILE, &k, err, sizeof(err)), MF_EINVAL);
    CHECK_STR(err, "keys.txt:1: line longer than 256 characters");
    static const char nul[] = "0171-0822 11\n4403-0001 2\0002\n";
    CHECK_EQ_INT(sec_keys_parse(nul, sizeof(nul) - 1, SEC_PW_FILE, "keys.txt", &k, err,
                                sizeof(err)),
                 MF_EINVAL);
    CHECK_STR(err, "keys.txt:2: NUL byte");
    /* over the size cap: refused before a byte is read (the length alone decides) */
    CHECK_EQ_INT(sec_keys_parse("", (size_t)SEC_KEYFILE_MAX + 1, SEC_PW_FILE, "keys.txt", &k,
                                err, sizeof(err)),
                 MF_EINVAL);
    CHECK_STR(err, "keys.txt: file larger than 64 MiB");
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    CHECK_EQ_INT(chmod(path, mode), 0);
}

MF_TEST(keys_load_checks_the_file)
{
    char dir[] = "/tmp/mf-keys-XXXXXX", path[64], err[512];
    struct sec_keys k;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/pw.keys", dir);

    write_file(path, "0171-0822 A1B2\n", 0600);
    CHECK_EQ_INT(sec_keys_load(path, SEC_PW_FILE, &k, err, sizeof(err)), 0);
    CHECK_EQ_INT(k.n, 1);
    sec_keys_fini(&k);
    write_file(path, "0171-0822 A1B2\n", 0400);
    CHECK_EQ_INT(sec_keys_load(path, SEC_PW_FILE, &k, err, sizeof(err)), 0);
    sec_keys_fini(&k);

    static const mode_t refused[] = { 0640, 0604, 0620, 0602, 0660, 0644, 0610 };
    for (size_t i = 0; i < MF_ARRAY_LEN(refused); i++) {
        char want[128];
        write_file(path, "0171-0822 A1B2\n", refused[i]);
        CHECK_EQ_INT(sec_keys_load(path, SEC_PW_FILE, &k, err, sizeof(err)), MF_EINVAL);
        snprintf(want, sizeof(want), "mode %04o gives group/others access", (unsigned)refused[i]);
        if (!strstr(err, want) || !strstr(err, "chmod 600") || !strstr(err, path))
            mf_test_fail(__FILE__, __LINE__, "mode %04o: '%s'", (unsigned)refused[i], err);
        CHECK(strstr(err, "A1B2") == NULL);
    }
    CHECK_EQ_INT(sec_keys_load(dir, SEC_PW_FILE, &k, err, sizeof(err)), MF_EINVAL);
    CHECK(strstr(err, "not a regular file") != NULL);
    /* a sparse file over the cap is refused from its size, unread */
    write_file(path, "", 0600);
    CHECK_EQ_INT(truncate(path, (off_t)SEC_KEYFILE_MAX + 1), 0);
    CHECK_EQ_INT(sec_keys_load(path, SEC_PW_FILE, &k, err, sizeof(err)), MF_EINVAL);
    CHECK(strstr(err, "larger than 64 MiB") != NULL);
    unlink(path);
    CHECK_EQ_INT(sec_keys_load(path, SEC_PW_FILE, &k, err, sizeof(err)), MF_ESYS);
    CHECK(strstr(err, "No such file") != NULL);
    rmdir(dir);
}

static struct mf_config *sec_config(const char *mode, const char *path)
{
    static const struct mf_cfg_item *const tables[] = { sec_cfg, NULL };
    char err[256];
    struct mf_config *cfg = mf_config_new(tables, NULL);
    CHECK_EQ_INT(mf_config_set(cfg, "security", "pw_mode", mode, "t", err, sizeof(err)), 0);
    if (path)
        CHECK_EQ_INT(mf_config_set(cfg, "security", "pw_key_file", path, "t", err, sizeof(err)),
                     0);
    return cfg;
}

MF_TEST(pw_config_errors_stop_start_up_naming_the_key)
{
    char err[512];
    struct mf_config *cfg = sec_config("zero", NULL);
    CHECK(sec_pw_new(cfg, err, sizeof(err)) == NULL);
    CHECK_STR(err, ""); /* zero: no provider, no error */
    mf_config_free(cfg);

    cfg = sec_config("file", NULL);
    CHECK(sec_pw_new(cfg, err, sizeof(err)) == NULL);
    CHECK_STR(err, "[security] pw_key_file: required when pw_mode = file");
    mf_config_free(cfg);

    char path[] = "/tmp/mf-pwcfg-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    write_file(path, "0171-0822 0011223344556677\n", 0644);
    cfg = sec_config("file", path);
    CHECK(sec_pw_new(cfg, err, sizeof(err)) == NULL);
    CHECK(strncmp(err, "[security] pw_key_file: ", 24) == 0 && strstr(err, "mode 0644"));
    mf_config_free(cfg);
    write_file(path, "0171-0822 0011223344556677\n", 0600); /* 8 bytes: too short for hmac */
    cfg = sec_config("hmac", path);
    CHECK(sec_pw_new(cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, ":1: an HMAC key is at least 16 bytes") != NULL);
    CHECK(strstr(err, "0011223344") == NULL);
    mf_config_free(cfg);

    /* an unknown mode is the config table's refusal (ENUM) */
    static const struct mf_cfg_item *const tables[] = { sec_cfg, NULL };
    cfg = mf_config_new(tables, NULL);
    CHECK(mf_config_set(cfg, "security", "pw_mode", "esam", "t", err, sizeof(err)) != 0);
    CHECK(strstr(err, "pw_mode") != NULL);
    CHECK(mf_config_set(cfg, "security", "pw_mac_len", "17", "t", err, sizeof(err)) != 0);
    mf_config_free(cfg);
    unlink(path);
}

MF_TEST(pw_reload_replaces_keys_or_keeps_the_old_ones)
{
    char path[] = "/tmp/mf-pwrl-XXXXXX", err[512];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    write_file(path, "0171-0822 0102\n", 0600);
    struct mf_config *cfg = sec_config("file", path);
    struct sec_pw *p = sec_pw_new(cfg, err, sizeof(err));
    CHECK(p != NULL);
    struct front_pw_req rq = { 0x0171, 0x0822, 5, NULL, 0 };
    uint8_t pw[16] = { 0 };
    CHECK_EQ_INT(sec_pw_fill(p, &rq, pw, 16), 0);
    CHECK(pw[0] == 1 && pw[1] == 2 && pw[2] == 0);

    size_t n = 0;
    write_file(path, "0171-0822 0304\n4403-0001 05\n", 0600);
    CHECK_EQ_INT(sec_pw_reload(p, &n, err, sizeof(err)), 0);
    CHECK_EQ_INT(n, 2);
    memset(pw, 0, sizeof(pw));
    CHECK_EQ_INT(sec_pw_fill(p, &rq, pw, 16), 0);
    CHECK(pw[0] == 3 && pw[1] == 4);

    write_file(path, "0171-0822 zz\n", 0600); /* broken: refused, the old keys stay */
    CHECK_EQ_INT(sec_pw_reload(p, &n, err, sizeof(err)), MF_EINVAL);
    CHECK(strstr(err, ":1: value is not hex") != NULL);
    memset(pw, 0, sizeof(pw));
    CHECK_EQ_INT(sec_pw_fill(p, &rq, pw, 16), 0);
    CHECK(pw[0] == 3 && pw[1] == 4);
    /* a terminal the file does not list, no default */
    struct front_pw_req other = { 0x1234, 0x0001, 5, NULL, 0 };
    CHECK_EQ_INT(sec_pw_fill(p, &other, pw, 16), MF_ENOTFOUND);
    /* a 2-byte PW terminal gets the first 2 bytes of a longer value */
    write_file(path, "0171-0822 AABBCC\n", 0600);
    CHECK_EQ_INT(sec_pw_reload(p, &n, err, sizeof(err)), 0);
    memset(pw, 0, sizeof(pw));
    CHECK_EQ_INT(sec_pw_fill(p, &rq, pw, 2), 0);
    CHECK(pw[0] == 0xAA && pw[1] == 0xBB && pw[2] == 0);
    sec_pw_free(p);
    mf_config_free(cfg);
    unlink(path);
}

/* RFC 4231 test case 2 (key "Jefe", data "what do ya want for nothing?"), as published. */
MF_TEST(hmac_sha256_rfc4231_case2)
{
    static const uint8_t want[32] = { 0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
                                      0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
                                      0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
                                      0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43 };
    const char *msg = "what do ya want for nothing?";
    uint8_t out[32], cut[6] = { 0 };
    sec_hmac_sha256((const uint8_t *)"Jefe", 4, (const uint8_t *)msg, strlen(msg), out, 32);
    CHECK_MEM(out, want, 32);
    sec_hmac_sha256((const uint8_t *)"Jefe", 4, (const uint8_t *)msg, strlen(msg), cut, 4);
    CHECK_MEM(cut, want, 4);
    CHECK(cut[4] == 0 && cut[5] == 0); /* truncation writes no more than asked */
}
