/* test_web_input.c -- the web's hand-written input parsers (src/web/web_input.c): path
 * patterns, terminal ids, integers, dates, Cookie and Authorization headers, tokens, user
 * names, JSON bodies. Expected values are written from the rules in web_int.h / docs/API.md. */
#include <string.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "web/web_int.h"

MF_TEST(path_match_literal_and_params)
{
    char p[WEB_MAX_PARAMS][WEB_PARAM_MAX];
    size_t n = 99;

    CHECK_EQ_INT(web_path_match("/api/health", "/api/health", p, &n), 1);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(web_path_match("/api/health", "/api/health/", p, &n), 0);
    CHECK_EQ_INT(web_path_match("/api/health", "/api/healthz", p, &n), 0);
    CHECK_EQ_INT(web_path_match("/api/health", "/api", p, &n), 0);
    CHECK_EQ_INT(web_path_match("/api/terminals/{tid}/points/{pn}/energy",
                                "/api/terminals/4403-0012/points/7/energy", p, &n), 1);
    CHECK_EQ_INT(n, 2);
    CHECK_STR(p[0], "4403-0012");
    CHECK_STR(p[1], "7");
    /* empty parameter segment, extra segment, missing segment */
    CHECK_EQ_INT(web_path_match("/api/terminals/{tid}", "/api/terminals/", p, &n), 0);
    CHECK_EQ_INT(web_path_match("/api/terminals/{tid}", "/api/terminals/a/b", p, &n), 0);
    CHECK_EQ_INT(web_path_match("/api/terminals/{tid}/x", "/api/terminals/a", p, &n), 0);
}

MF_TEST(path_match_param_cap)
{
    char p[WEB_MAX_PARAMS][WEB_PARAM_MAX];
    char path[200] = "/api/users/";
    size_t n;
    memset(path + 11, 'a', WEB_PARAM_MAX - 1);
    path[11 + WEB_PARAM_MAX - 1] = '\0';
    CHECK_EQ_INT(web_path_match("/api/users/{name}", path, p, &n), 1);
    CHECK_EQ_INT(strlen(p[0]), WEB_PARAM_MAX - 1);
    path[11 + WEB_PARAM_MAX - 1] = 'a';
    path[11 + WEB_PARAM_MAX] = '\0';
    CHECK_EQ_INT(web_path_match("/api/users/{name}", path, p, &n), 0);
}

MF_TEST(terminal_ids)
{
    char t[10];
    CHECK_EQ_INT(web_terminal_parse("4403-0012", t), 0);
    CHECK_STR(t, "4403-0012");
    CHECK_EQ_INT(web_terminal_parse("4403-00ab", t), 0);
    CHECK_STR(t, "4403-00AB");
    CHECK_EQ_INT(web_terminal_parse("4403-00G1", t), MF_EINVAL);
    CHECK_EQ_INT(web_terminal_parse("44A3-0012", t), MF_EINVAL); /* A1 is decimal (BCD) */
    CHECK_EQ_INT(web_terminal_parse("44030012", t), MF_EINVAL);
    CHECK_EQ_INT(web_terminal_parse("4403-00123", t), MF_EINVAL);
    CHECK_EQ_INT(web_terminal_parse("", t), MF_EINVAL);
    CHECK_EQ_INT(web_terminal_parse(NULL, t), MF_EINVAL);
}

MF_TEST(integers)
{
    int64_t v = 0;
    CHECK_EQ_INT(web_int_parse("42", 1, 100, &v), 0);
    CHECK_EQ_INT(v, 42);
    CHECK_EQ_INT(web_int_parse("-3", -5, 5, &v), 0);
    CHECK_EQ_INT(v, -3);
    CHECK_EQ_INT(web_int_parse("101", 1, 100, &v), MF_EINVAL);
    CHECK_EQ_INT(web_int_parse("0", 1, 100, &v), MF_EINVAL);
    CHECK_EQ_INT(web_int_parse("12abc", 1, 100, &v), MF_EINVAL);
    CHECK_EQ_INT(web_int_parse(" 12", 1, 100, &v), MF_EINVAL);
    CHECK_EQ_INT(web_int_parse("+12", 1, 100, &v), MF_EINVAL);
    CHECK_EQ_INT(web_int_parse("", 1, 100, &v), MF_EINVAL);
    CHECK_EQ_INT(web_int_parse("99999999999999999999", 0, INT64_MAX, &v), MF_EINVAL);
    CHECK_EQ_INT(web_int_parse("0x10", 0, 100, &v), MF_EINVAL);
}

MF_TEST(dates)
{
    int32_t d = 0;
    CHECK_EQ_INT(web_date_parse("1970-01-02", &d), 0);
    CHECK_EQ_INT(d, 1);
    CHECK_EQ_INT(web_date_parse("2024-02-29", &d), 0); /* leap year */
    CHECK_EQ_INT(d, 19782);                            /* 2024-02-29 = day 19782 */
    CHECK_EQ_INT(web_date_parse("2023-02-29", &d), MF_EINVAL);
    CHECK_EQ_INT(web_date_parse("2100-02-29", &d), MF_EINVAL);
    CHECK_EQ_INT(web_date_parse("2026-04-31", &d), MF_EINVAL);
    CHECK_EQ_INT(web_date_parse("2026-13-01", &d), MF_EINVAL);
    CHECK_EQ_INT(web_date_parse("2026-1-01", &d), MF_EINVAL);
    CHECK_EQ_INT(web_date_parse("2026-01-01T00", &d), MF_EINVAL);
}

MF_TEST(cookies)
{
    char v[70];
    CHECK_EQ_INT(web_cookie_get("mf_session=abc", "mf_session", v, sizeof(v)), 0);
    CHECK_STR(v, "abc");
    CHECK_EQ_INT(web_cookie_get("a=1; mf_session=xyz; b=2", "mf_session", v, sizeof(v)), 0);
    CHECK_STR(v, "xyz");
    CHECK_EQ_INT(web_cookie_get("a=1;mf_session=\"q\"", "mf_session", v, sizeof(v)), 0);
    CHECK_STR(v, "q");
    /* a cookie whose name merely ends or starts like ours is not ours */
    CHECK_EQ_INT(web_cookie_get("xmf_session=1; mf_sessionx=2", "mf_session", v, sizeof(v)),
                 MF_ENOTFOUND);
    CHECK_EQ_INT(web_cookie_get("", "mf_session", v, sizeof(v)), MF_ENOTFOUND);
    CHECK_EQ_INT(web_cookie_get(NULL, "mf_session", v, sizeof(v)), MF_ENOTFOUND);
    CHECK_EQ_INT(web_cookie_get("mf_session=0123456789", "mf_session", v, 5), MF_ERANGE);
}

MF_TEST(bearer)
{
    char v[70];
    CHECK_EQ_INT(web_bearer_get("Bearer abc", v, sizeof(v)), 0);
    CHECK_STR(v, "abc");
    CHECK_EQ_INT(web_bearer_get("bearer  abc ", v, sizeof(v)), 0);
    CHECK_STR(v, "abc");
    CHECK_EQ_INT(web_bearer_get("Basic dXNlcjpwdw==", v, sizeof(v)), MF_EINVAL);
    CHECK_EQ_INT(web_bearer_get("Bearer ", v, sizeof(v)), MF_EINVAL);
    CHECK_EQ_INT(web_bearer_get(NULL, v, sizeof(v)), MF_ENOTFOUND);
}

MF_TEST(tokens_and_names)
{
    char tok[WEB_TOKEN_HEX + 2];
    memset(tok, 'a', WEB_TOKEN_HEX);
    tok[WEB_TOKEN_HEX] = '\0';
    CHECK_EQ_INT(web_token_well_formed(tok), 1);
    tok[3] = 'A'; /* upper case is not what we issue */
    CHECK_EQ_INT(web_token_well_formed(tok), 0);
    tok[3] = 'a';
    tok[WEB_TOKEN_HEX] = 'a';
    tok[WEB_TOKEN_HEX + 1] = '\0';
    CHECK_EQ_INT(web_token_well_formed(tok), 0);
    CHECK_EQ_INT(web_token_well_formed(""), 0);
    CHECK_EQ_INT(web_username_ok("admin"), 1);
    CHECK_EQ_INT(web_username_ok("op.1_x-y"), 1);
    CHECK_EQ_INT(web_username_ok(""), 0);
    CHECK_EQ_INT(web_username_ok("a b"), 0);
    CHECK_EQ_INT(web_username_ok("abcdefghijabcdefghijabcdefghijabc"), 0); /* 33 */
    CHECK_EQ_INT(web_role_parse("operator"), WEB_ROLE_OPERATOR);
    CHECK_EQ_INT(web_role_parse("root"), -1);
    CHECK_STR(web_role_name(WEB_ROLE_ADMIN), "admin");
}

MF_TEST(json_bodies)
{
    char err[128];
    const char *s = NULL;
    int64_t i = 0;
    const char *ok = "{\"username\":\"a\",\"n\":5}";
    json_t *j = web_json_object_parse((const uint8_t *)ok, strlen(ok), err, sizeof(err));
    CHECK(j != NULL);
    CHECK_EQ_INT(web_json_str(j, "username", 64, &s), 0);
    CHECK_STR(s, "a");
    CHECK_EQ_INT(web_json_str(j, "missing", 64, &s), MF_EINVAL);
    CHECK_EQ_INT(web_json_str(j, "n", 64, &s), MF_EINVAL); /* wrong type */
    CHECK_EQ_INT(web_json_int_opt(j, "n", 1, 10, &i), 0);
    CHECK_EQ_INT(i, 5);
    CHECK_EQ_INT(web_json_int_opt(j, "n", 6, 10, &i), MF_EINVAL);
    CHECK_EQ_INT(web_json_str(j, "username", 0, &s), MF_EINVAL); /* over maxlen */
    json_decref(j);

    const char *dup = "{\"role\":\"viewer\",\"role\":\"admin\"}";
    CHECK(web_json_object_parse((const uint8_t *)dup, strlen(dup), err, sizeof(err)) == NULL);
    CHECK(web_json_object_parse((const uint8_t *)"[1]", 3, err, sizeof(err)) == NULL);
    CHECK(web_json_object_parse((const uint8_t *)"{", 1, err, sizeof(err)) == NULL);
    CHECK(web_json_object_parse((const uint8_t *)"", 0, err, sizeof(err)) == NULL);
    const char *nul = "{\"a\":\"x\\u0000y\"}"; /* embedded NUL must not pass as "x" */
    j = web_json_object_parse((const uint8_t *)nul, strlen(nul), err, sizeof(err));
    if (j) {
        CHECK_EQ_INT(web_json_str(j, "a", 64, &s), MF_EINVAL);
        json_decref(j);
    }
}

static int parse_cmd(const char *text, struct web_cmd_req *cr)
{
    char err[160];
    json_t *j = web_json_object_parse((const uint8_t *)text, strlen(text), err, sizeof(err));
    if (!j)
        return -100;
    int rc = web_cmd_req_parse(j, cr, err, sizeof(err));
    json_decref(j);
    return rc;
}

MF_TEST(command_bodies)
{
    struct web_cmd_req cr;
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"read_current\"}", &cr), 0);
    CHECK_EQ_INT(cr.type, WEB_CMD_READ_CURRENT);
    CHECK_EQ_INT(cr.pn, 1);
    CHECK_EQ_INT(cr.fn, 129);
    CHECK_STR(cr.terminal, "4403-0012");
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"read_daily\",\"pn\":3,"
                           "\"date\":\"1970-01-11\"}", &cr), 0);
    CHECK_EQ_INT(cr.fn, 161);
    CHECK_EQ_INT(cr.pn, 3);
    CHECK_EQ_INT(cr.date_days, 10);
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"read_curve\"}", &cr), 0);
    CHECK_EQ_INT(cr.fn, 101);
    CHECK_EQ_INT(cr.curve_points, 96);
    CHECK_EQ_INT(cr.date_days, -1);
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"meter_read\","
                           "\"meter\":\"151230011061\"}", &cr), 0);
    CHECK(cr.meter == 151230011061ull);
    CHECK_EQ_INT(cr.di, 0x00010000);
    CHECK_EQ_INT(cr.port, 31);
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"meter_read\","
                           "\"meter\":\"151230011061\",\"di\":\"02010100\",\"port\":2}", &cr), 0);
    CHECK_EQ_INT(cr.di, 0x02010100);
    CHECK_EQ_INT(cr.port, 2);
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"read_meter_config\","
                           "\"serials\":[1,2040]}", &cr), 0);
    CHECK_EQ_INT(cr.nserials, 2);
    CHECK_EQ_INT(cr.serials[1], 2040);
    /* refusals */
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"reboot\"}", &cr), MF_EINVAL);
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403\",\"type\":\"clock_sync\"}", &cr), MF_EINVAL);
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"clock_sync\",\"pn\":1}", &cr),
                 MF_EINVAL); /* a field the type does not take */
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"read_daily\","
                           "\"dat\":\"2026-01-01\"}", &cr), MF_EINVAL);
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"read_current\",\"pn\":2041}",
                           &cr), MF_EINVAL);
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"meter_read\","
                           "\"meter\":\"15123001106\"}", &cr), MF_EINVAL);
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"meter_read\","
                           "\"meter\":\"151230011061\",\"di\":\"0001000G\"}", &cr), MF_EINVAL);
    /* a non-ASCII byte (UTF-8 of U+00E9: C3 A9, negative as char) in an 8-byte DI */
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"meter_read\","
                           "\"meter\":\"151230011061\",\"di\":\"00010\\u00e90\"}", &cr),
                 MF_EINVAL);
    CHECK_EQ_INT(parse_cmd("{\"terminal\":\"4403-0012\",\"type\":\"read_meter_config\","
                           "\"serials\":[0]}", &cr), MF_EINVAL);
}
