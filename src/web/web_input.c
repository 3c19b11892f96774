/* web_input.c -- the hand-written parsers of HTTP input: path patterns and parameters,
 * terminal ids, integers and dates from query strings, the Cookie and Authorization headers,
 * JSON body validation (field types and ranges).
 *
 * Invariants: every parser is bounded by its output size and by the NUL of its input; none
 * allocates from a length it read (JSON bodies arrive already capped by the route's
 * max_body). Nothing here logs or touches libmicrohttpd, so tests/fuzz/fuzz_web_input.c
 * drives it directly.
 *
 * Thread: pure functions, any thread. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "web/web_int.h"

static const char *const role_names[] = { "none", "viewer", "operator", "admin" };

const char *web_role_name(int role)
{
    if (role < 0 || role > WEB_ROLE_ADMIN)
        return "none";
    return role_names[role];
}

int web_role_parse(const char *name)
{
    for (int r = WEB_ROLE_VIEWER; r <= WEB_ROLE_ADMIN; r++)
        if (name && strcmp(name, role_names[r]) == 0)
            return r;
    return -1;
}

/* Length of the segment starting at s (up to '/' or NUL). */
static size_t seg_len(const char *s)
{
    size_t n = 0;
    while (s[n] && s[n] != '/')
        n++;
    return n;
}

int web_path_match(const char *pattern, const char *path, char params[][WEB_PARAM_MAX],
                   size_t *nparams)
{
    const char *p = pattern, *u = path;
    size_t np = 0;

    for (;;) {
        if (*p != *u)
            return 0;
        if (*p == '\0')
            break;
        /* both at '/' (or both at the same literal char): step to the segment */
        p++;
        u++;
        size_t pl = seg_len(p), ul = seg_len(u);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (ul == 0 || ul >= WEB_PARAM_MAX || np >= WEB_MAX_PARAMS)
                return 0;
            memcpy(params[np], u, ul);
            params[np][ul] = '\0';
            np++;
        } else if (pl != ul || memcmp(p, u, pl) != 0) {
            return 0;
        }
        p += pl;
        u += ul;
    }
    *nparams = np;
    return 1;
}

int web_terminal_parse(const char *s, char out[10])
{
    if (!s || strlen(s) != 9 || s[4] != '-')
        return MF_EINVAL;
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)s[i]))
            return MF_EINVAL;
    for (int i = 5; i < 9; i++)
        if (!isxdigit((unsigned char)s[i]))
            return MF_EINVAL;
    for (int i = 0; i < 9; i++)
        out[i] = (char)toupper((unsigned char)s[i]);
    out[9] = '\0';
    return 0;
}

int web_int_parse(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s || strlen(s) > 20)
        return MF_EINVAL;
    if (!(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
        return MF_EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return MF_EINVAL;
    *out = (int64_t)v;
    return 0;
}

int web_date_parse(const char *s, int32_t *days)
{
    return mf_date_parse(s, days); /* src/common/clock.c: shared with the simulator */
}

int web_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *s = header;

    if (!header || outlen == 0)
        return MF_ENOTFOUND;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ';')
            s++;
        const char *start = s;
        while (*s && *s != ';')
            s++;
        /* [start, s) is one "name=value" pair */
        size_t plen = (size_t)(s - start);
        if (plen > nl && memcmp(start, name, nl) == 0 && start[nl] == '=') {
            const char *v = start + nl + 1;
            size_t vl = plen - nl - 1;
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                v++;
                vl -= 2;
            }
            if (vl >= outlen)
                return MF_ERANGE;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 0;
        }
    }
    return MF_ENOTFOUND;
}

int web_bearer_get(const char *header, char *out, size_t outlen)
{
    if (!header)
        return MF_ENOTFOUND;
    if (strncasecmp(header, "Bearer ", 7) != 0)
        return MF_EINVAL;
    const char *t = header + 7;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    while (n > 0 && t[n - 1] == ' ')
        n--;
    if (n == 0)
        return MF_EINVAL;
    if (n >= outlen)
        return MF_ERANGE;
    memcpy(out, t, n);
    out[n] = '\0';
    return 0;
}

int web_token_well_formed(const char *tok)
{
    size_t i;
    for (i = 0; tok[i]; i++)
        if (i >= WEB_TOKEN_HEX || !(isdigit((unsigned char)tok[i]) ||
                                    (tok[i] >= 'a' && tok[i] <= 'f')))
            return 0;
    return i == WEB_TOKEN_HEX;
}

int web_username_ok(const char *name)
{
    size_t i;
    for (i = 0; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        if (i >= 32 || !(isalnum(c) || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return i > 0;
}

json_t *web_json_object_parse(const uint8_t *body, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j;

    if (len == 0) {
        mf_strlcpy(err, "empty body: a JSON object is expected", errlen);
        return NULL;
    }
    /* JSON_REJECT_DUPLICATES: {"role":"viewer","role":"admin"} must not pass a check made on
     * the first value and act on the second. Depth is capped by jansson (2048). */
    j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        snprintf(err, errlen, "invalid JSON at line %d column %d", je.line, je.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        mf_strlcpy(err, "a JSON object is expected", errlen);
        return NULL;
    }
    return j;
}

int web_json_str_opt(json_t *obj, const char *key, size_t maxlen, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > maxlen ||
        strlen(json_string_value(v)) != json_string_length(v)) /* no embedded NUL */
        return MF_EINVAL;
    *out = json_string_value(v);
    return 0;
}

int web_json_str(json_t *obj, const char *key, size_t maxlen, const char **out)
{
    const char *s = NULL;
    if (web_json_str_opt(obj, key, maxlen, &s) != 0 || !s)
        return MF_EINVAL;
    *out = s;
    return 0;
}

int web_json_int_opt(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return MF_EINVAL;
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return MF_EINVAL;
    *out = (int64_t)i;
    return 0;
}
