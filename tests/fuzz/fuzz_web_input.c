/* fuzz_web_input.c -- libFuzzer target for the web's hand-written input parsing
 * (src/web/web_input.c): the input is used as a path, a query value (terminal, integer,
 * date), a Cookie header, an Authorization header and a JSON body. Besides "no crash, no
 * over-read", it checks properties: a matched path's parameters are non-empty, contain no
 * '/' and appear in the path; a parsed terminal is 9 bytes in canonical form; a cookie value
 * holds no ';'; a parsed integer is within its range.
 * Corpus: tests/fuzz/corpus/fuzz_web_input/ (replayed as a unit test outside BUILD=fuzz). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/common.h"
#include "web/web_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const patterns[] = {
    "/api/health",
    "/api/terminals/{tid}",
    "/api/terminals/{tid}/points/{pn}/energy",
    "/api/meters/{tid}/{pn}",
    "/api/users/{name}",
};

static void check_path(const char *s)
{
    char p[WEB_MAX_PARAMS][WEB_PARAM_MAX];
    size_t n;
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        if (!web_path_match(patterns[i], s, p, &n))
            continue;
        for (size_t k = 0; k < n; k++)
            if (p[k][0] == '\0' || strchr(p[k], '/') || !strstr(s, p[k]))
                abort();
    }
}

static void check_values(const char *s)
{
    char t[10], v[80];
    int64_t i;
    int32_t d;
    if (web_terminal_parse(s, t) == 0 && (strlen(t) != 9 || t[4] != '-'))
        abort();
    if (web_int_parse(s, -5, 2040, &i) == 0 && (i < -5 || i > 2040))
        abort();
    (void)web_date_parse(s, &d);
    if (web_cookie_get(s, "mf_session", v, sizeof(v)) == 0 && strchr(v, ';'))
        abort();
    if (web_bearer_get(s, v, sizeof(v)) == 0 && strlen(v) == 0)
        abort();
    (void)web_token_well_formed(s);
    (void)web_username_ok(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128];
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0'; /* libmicrohttpd hands us NUL-terminated strings */
    check_path(s);
    check_values(s);
    json_t *j = web_json_object_parse(data, size, err, sizeof(err));
    if (j) {
        struct web_cmd_req cr;
        const char *str;
        int64_t i;
        (void)web_json_str_opt(j, "username", 64, &str);
        (void)web_json_int_opt(j, "pn", 0, 2040, &i);
        (void)web_cmd_req_parse(j, &cr, err, sizeof(err));
        json_decref(j);
    }
    free(s);
    return 0;
}
