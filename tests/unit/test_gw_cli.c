/* test_gw_cli.c -- `meterflow decode` as a black box: runs the binary of the same build
 * flavour (build/<flavour>/meterflow, next to this test's directory) on public vectors and
 * hand-built frames and checks the public JSON names and values with jansson. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gw_vectors.h"
#include "harness.h"

static char bin[PATH_MAX];

static int find_bin(void)
{
    ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 1);
    char *slash;
    if (n <= 0)
        return -1;
    bin[n] = '\0';
    for (int k = 0; k < 2; k++) { /* strip "/test_gw_cli" and "/tests" */
        slash = strrchr(bin, '/');
        if (!slash)
            return -1;
        *slash = '\0';
    }
    if (strlen(bin) + 16 >= sizeof bin)
        return -1;
    memcpy(bin + strlen(bin), "/meterflow", 11);
    return access(bin, X_OK);
}

/* Run `meterflow decode ARGS` (stdin from `input` when given); returns the exit status and
 * the parsed JSON lines in out[] (caller decrefs). */
static int run(const char *args, const char *input, json_t **out, int max, int *nout)
{
    char cmd[PATH_MAX + 8192], line[65536];
    char tmp[] = "/tmp/mf-decode-in.XXXXXX";
    FILE *p;
    int st, fd = -1;

    *nout = 0;
    if (input) {
        fd = mkstemp(tmp);
        if (fd < 0 || write(fd, input, strlen(input)) != (ssize_t)strlen(input))
            return -1;
        close(fd);
        snprintf(cmd, sizeof cmd, "%s decode %s < %s 2>/dev/null", bin, args, tmp);
    } else {
        snprintf(cmd, sizeof cmd, "%s decode %s 2>/dev/null", bin, args);
    }
    p = popen(cmd, "r");
    if (!p)
        return -1;
    while (fgets(line, sizeof line, p) && *nout < max) {
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        if (!j)
            mf_test_fail(__FILE__, __LINE__, "not JSON: %.200s", line);
        else
            out[(*nout)++] = j;
    }
    st = pclose(p);
    if (input)
        unlink(tmp);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static json_t *path(json_t *j, const char *a, const char *b)
{
    json_t *x = json_object_get(j, a);
    return b ? json_object_get(x, b) : x;
}

static json_t *unit0(json_t *j)
{
    return json_array_get(json_object_get(j, "units"), 0);
}

static json_t *data0(json_t *j, const char *name)
{
    return json_object_get(json_object_get(unit0(j), "data"), name);
}

MF_TEST(cli_vectors_json_names)
{
    json_t *o[8];
    int n, i;
    char args[4096];
    CHECK_EQ_INT(find_bin(), 0);
    snprintf(args, sizeof args, "'%s' '%s' '%s' '%s'", V_LOGIN_02, V_C1_F129_RSP, V_C1_F25_RSP,
             V_EV_ERC14_01);
    CHECK_EQ_INT(run(args, NULL, o, 8, &n), 0);
    CHECK_EQ_INT(n, 4);
    if (n != 4)
        goto out;
    /* login with ACD=1 and EC */
    CHECK(json_is_true(json_object_get(o[0], "ok")));
    CHECK_STR(json_string_value(json_object_get(o[0], "terminal")), "2449-5845");
    CHECK_STR(json_string_value(json_object_get(o[0], "dir")), "up");
    CHECK_EQ_INT(json_integer_value(json_object_get(o[0], "msa")), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(o[0], "prm")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(o[0], "fc")), 9);
    CHECK_EQ_INT(json_integer_value(json_object_get(o[0], "afn")), 2);
    CHECK_EQ_INT(json_integer_value(path(o[0], "seq", "con")), 1);
    CHECK_EQ_INT(json_integer_value(path(o[0], "seq", "pseq")), 0);
    CHECK_EQ_INT(json_integer_value(path(o[0], "seq", "fir")), 1);
    CHECK_EQ_INT(json_integer_value(path(o[0], "seq", "tpv")), 0);
    CHECK_EQ_INT(json_integer_value(path(o[0], "ec", "ec1")), 28);
    CHECK_EQ_INT(json_integer_value(path(o[0], "ec", "ec2")), 4);
    CHECK(json_is_null(json_object_get(o[0], "tp")));
    CHECK_EQ_INT(json_integer_value(json_object_get(unit0(o[0]), "fn")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(unit0(o[0]), "pn")), 0);
    CHECK(json_is_string(json_object_get(unit0(o[0]), "name")));
    /* F129: energies in kWh, tariffs as a list with nulls, ISO time */
    CHECK_STR(json_string_value(data0(o[1], "reading_time")), "2018-08-28T16:18:00");
    CHECK_EQ_INT(json_integer_value(data0(o[1], "tariff_count")), 4);
    CHECK_NEAR(json_number_value(data0(o[1], "total_kwh")), 0.01, 1e-12);
    CHECK_EQ_INT(json_array_size(data0(o[1], "tariffs_kwh")), 4);
    CHECK(json_is_null(json_array_get(data0(o[1], "tariffs_kwh"), 0)));
    CHECK(json_is_null(json_object_get(o[1], "ec")));
    CHECK_EQ_INT(json_integer_value(path(o[1], "tp", "pfc")), 2);
    CHECK_EQ_INT(json_integer_value(path(o[1], "seq", "fir")), 0);
    /* F25: units in the names, absent -> null */
    CHECK_NEAR(json_number_value(data0(o[2], "ua_v")), 242.7, 1e-9);
    CHECK_NEAR(json_number_value(data0(o[2], "pf_pct")), 100.0, 1e-9);
    CHECK_NEAR(json_number_value(data0(o[2], "ia_a")), 0.0, 1e-12);
    CHECK_NEAR(json_number_value(data0(o[2], "p_kw")), 0.0, 1e-12);
    CHECK(json_is_null(data0(o[2], "ub_v")));
    CHECK(json_object_get(json_object_get(unit0(o[2]), "data"), "invalid") == NULL);
    /* events */
    json_t *ev = json_array_get(data0(o[3], "events"), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(ev, "erc")), 14);
    CHECK_EQ_INT(json_integer_value(json_object_get(ev, "le")), 10);
    CHECK_STR(json_string_value(json_object_get(ev, "off_time")), "2010-07-31T14:40:00");
    CHECK_STR(json_string_value(json_object_get(ev, "on_time")), "2010-08-03T11:31:00");
out:
    for (i = 0; i < n; i++)
        json_decref(o[i]);
}

MF_TEST(cli_stdin_645_invalid_and_errors)
{
    json_t *o[8];
    int n, i;
    char in[4096];
    CHECK_EQ_INT(find_bin(), 0);
    /* stdin: spaces removed from one frame, a comment line, the 645 forwarding answer, an
     * EF-filled F25 (invalid list) and a frame with a bad checksum */
    snprintf(in, sizeof in,
             "# comment\n"
             "683A003A0068E949244558000270000001001C048616\n"
             "%s\n"
             "68 3E 01 3E 01 68 88 03 44 01 00 00 0C 60 01 01 01 03 47 16 28 08 18 EF EF EF "
             "EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF "
             "EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF EF "
             "EF EF EF EF EF EF EF C9 16\n"
             "68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E1 16\n",
             V_FWD_READ_RSP);
    CHECK_EQ_INT(run("", in, o, 8, &n), 1); /* one frame fails: exit 1 */
    CHECK_EQ_INT(n, 4);
    if (n != 4)
        goto out;
    CHECK(json_is_true(json_object_get(o[0], "ok")));
    json_t *d645 = data0(o[1], "dlt645");
    CHECK_STR(json_string_value(json_object_get(d645, "addr")), "151230011061");
    CHECK_STR(json_string_value(json_object_get(d645, "di")), "00010000");
    CHECK_NEAR(json_number_value(path(d645, "data", "fwd_active_total_kwh")), 6.78, 1e-9);
    CHECK_EQ_INT(json_integer_value(data0(o[1], "port")), 31);
    /* EF filler: null + listed as invalid */
    CHECK(json_is_null(data0(o[2], "ua_v")));
    json_t *inv = data0(o[2], "invalid");
    CHECK(json_is_array(inv) && json_array_size(inv) == 23);
    CHECK_STR(json_string_value(json_array_get(inv, 0)), "p_kw");
    /* bad checksum */
    CHECK(json_is_false(json_object_get(o[3], "ok")));
    CHECK_STR(json_string_value(json_object_get(o[3], "error")), "bad checksum");
out:
    for (i = 0; i < n; i++)
        json_decref(o[i]);
}

MF_TEST(cli_pw_len_option)
{
    json_t *o[2];
    int n;
    static const char *f31 = "'68 6A 00 6A 00 68 4A 00 02 34 12 02 05 F1 00 00 40 03 55 30 10 "
                             "12 83 15 00 00 01 55 30 10 12 05 B9 16'";
    char args[512];
    CHECK_EQ_INT(find_bin(), 0);
    snprintf(args, sizeof args, "--pw-len 2 %s", f31);
    CHECK_EQ_INT(run(args, NULL, o, 2, &n), 0);
    CHECK_EQ_INT(n, 1);
    if (n == 1) {
        CHECK_STR(json_string_value(data0(o[0], "clock")), "2015-03-12T10:30:55");
        CHECK_STR(json_string_value(json_object_get(o[0], "pw")), "0000");
        json_decref(o[0]);
    }
    snprintf(args, sizeof args, "--pw-len 16 %s", f31);
    CHECK_EQ_INT(run(args, NULL, o, 2, &n), 1);
    if (n == 1)
        json_decref(o[0]);
    CHECK_EQ_INT(run("--bogus", NULL, o, 2, &n), 2);
}

/* AFN 0A F91 (terminal location, A.28) in JSON: signed decimal degrees plus the parts;
 * an absent coordinate is null, an invalid one null and listed. Frames written by hand
 * (C 88, A 4403-0001 MSA 1, SEQ 60, p0 F91 = 00 00 04 0B). */
MF_TEST(cli_f91_location)
{
    json_t *o[2];
    int n;
    CHECK_EQ_INT(find_bin(), 0);
    /* 5-byte layout: 116 23'29.00" E, 39 54'26.37" N */
    CHECK_EQ_INT(run("'68 5A 00 5A 00 68 88 03 44 01 00 02 0A 60 00 00 04 0B 00 29 23 16 01 "
                     "37 26 54 39 00 98 16' "
                     /* 4-byte layout: longitude absent, latitude seconds 2A non-BCD */
                     "'68 52 00 52 00 68 88 03 44 01 00 02 0A 60 00 00 04 0B EE EE EE EE "
                     "37 2A 54 39 F1 16'",
                     NULL, o, 2, &n),
                 0);
    CHECK_EQ_INT(n, 2);
    if (n != 2)
        return;
    CHECK_EQ_INT(json_integer_value(json_object_get(unit0(o[0]), "fn")), 91);
    CHECK_EQ_INT(json_integer_value(data0(o[0], "coord_bytes")), 5);
    CHECK_NEAR(json_number_value(data0(o[0], "longitude_deg")), 116.39138889, 1e-9);
    CHECK_NEAR(json_number_value(data0(o[0], "latitude_deg")), 39.907325, 1e-9);
    CHECK_EQ_INT(json_integer_value(data0(o[0], "longitude_d")), 116);
    CHECK_EQ_INT(json_integer_value(data0(o[0], "longitude_m")), 23);
    CHECK_NEAR(json_number_value(data0(o[0], "latitude_s")), 26.37, 1e-9);
    CHECK_EQ_INT(json_integer_value(data0(o[0], "latitude_f")), 0);
    CHECK_STR(json_string_value(data0(o[0], "longitude_raw")), "0029231601");
    CHECK(data0(o[0], "invalid") == NULL);

    CHECK_EQ_INT(json_integer_value(data0(o[1], "coord_bytes")), 4);
    CHECK(json_is_null(data0(o[1], "longitude_deg")));
    CHECK(json_is_null(data0(o[1], "latitude_deg")));
    CHECK_STR(json_string_value(data0(o[1], "latitude_raw")), "372A5439");
    json_t *inv = data0(o[1], "invalid");
    CHECK(json_is_array(inv) && json_array_size(inv) == 5); /* latitude_{deg,d,m,s,f} */
    CHECK_STR(json_string_value(json_array_get(inv, 0)), "latitude_deg");
    json_decref(o[0]);
    json_decref(o[1]);
}
