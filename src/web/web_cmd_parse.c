/* web_cmd_parse.c -- validation of a POST /api/commands body into struct web_cmd_req: the
 * command type, the terminal and each type's parameters with their ranges and defaults
 * (docs/API.md "Commands"). Unknown fields are refused, so a typo ("dat" for "date") is a 400
 * rather than a silently defaulted command sent to a terminal.
 *
 * Thread: pure, any thread (fuzzed by tests/fuzz/fuzz_web_input.c). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "meterflow/common.h"
#include "web/web_int.h"

static const char *const type_names[WEB_CMD_NTYPES] = {
    "read_current", "read_daily",        "read_curve", "clock_sync",
    "read_meter_config", "meter_read", "relay_trip", "relay_close",
};

/* Fields each type accepts besides "terminal" and "type". */
static const char *const type_fields[WEB_CMD_NTYPES] = {
    "pn fn", "pn fn date", "pn fn date points", "", "serials",
    "meter di port", "meter port", "meter port",
};

const char *web_cmd_type_name(int type)
{
    return type >= 0 && type < WEB_CMD_NTYPES ? type_names[type] : "?";
}

int web_cmd_type_parse(const char *name)
{
    for (int i = 0; i < WEB_CMD_NTYPES; i++)
        if (name && strcmp(name, type_names[i]) == 0)
            return i;
    return -1;
}

/* 1 if key is a whole word of the space-separated list. */
static int field_allowed(const char *list, const char *key)
{
    size_t kl = strlen(key);
    if (kl == 0) /* strstr finds "" everywhere without advancing: would never end */
        return 0;
    for (const char *p = list; (p = strstr(p, key)) != NULL; p += kl)
        if ((p == list || p[-1] == ' ') && (p[kl] == ' ' || p[kl] == '\0'))
            return 1;
    return 0;
}

static int parse_meter(json_t *body, struct web_cmd_req *out)
{
    const char *m = NULL;
    if (web_json_str(body, "meter", 12, &m) != 0 || strlen(m) != 12)
        return MF_EINVAL;
    out->meter = 0;
    for (int i = 0; i < 12; i++) {
        if (!isdigit((unsigned char)m[i]))
            return MF_EINVAL;
        out->meter = out->meter * 10 + (uint64_t)(m[i] - '0');
    }
    memcpy(out->meter_text, m, 13);
    return 0;
}

static int parse_di(json_t *body, struct web_cmd_req *out)
{
    const char *di = NULL;
    out->di = 0x00010000u; /* forward active energy total (DL/T 645-2007) */
    if (web_json_str_opt(body, "di", 8, &di) != 0)
        return MF_EINVAL;
    if (!di)
        return 0;
    if (strlen(di) != 8)
        return MF_EINVAL;
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        int c = (unsigned char)di[i]; /* a negative char is undefined for isxdigit() */
        if (!isxdigit(c))
            return MF_EINVAL;
        v = v << 4 | (uint32_t)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
    }
    out->di = v;
    return 0;
}

static int parse_serials(json_t *body, struct web_cmd_req *out)
{
    json_t *a = json_object_get(body, "serials"), *v;
    size_t i;
    out->nserials = 0;
    if (!a) {
        out->serials[out->nserials++] = 1;
        return 0;
    }
    if (!json_is_array(a) || json_array_size(a) == 0 ||
        json_array_size(a) > MF_ARRAY_LEN(out->serials))
        return MF_EINVAL;
    json_array_foreach(a, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 2040)
            return MF_EINVAL;
        out->serials[out->nserials++] = (uint16_t)json_integer_value(v);
    }
    return 0;
}

/* pn, fn, date, points with their defaults. */
static int parse_read(json_t *body, struct web_cmd_req *out, char *err, size_t errlen)
{
    static const uint16_t def_fn[] = { 129, 161, 101 };
    int64_t pn = 1, fn = def_fn[out->type <= 2 ? out->type : 0], pts = 96;
    const char *date = NULL;

    if (web_json_int_opt(body, "pn", 0, 2040, &pn) != 0 ||
        web_json_int_opt(body, "fn", 1, 248, &fn) != 0) {
        snprintf(err, errlen, "pn: 0..2040, fn: 1..248");
        return MF_EINVAL;
    }
    if (web_json_int_opt(body, "points", 1, 96, &pts) != 0) {
        snprintf(err, errlen, "points: 1..96");
        return MF_EINVAL;
    }
    if (web_json_str_opt(body, "date", 10, &date) != 0 ||
        (date && web_date_parse(date, &out->date_days) != 0)) {
        snprintf(err, errlen, "date: YYYY-MM-DD");
        return MF_EINVAL;
    }
    out->pn = (uint16_t)pn;
    out->fn = (uint16_t)fn;
    out->curve_points = (uint8_t)pts;
    return 0;
}

int web_cmd_req_parse(json_t *body, struct web_cmd_req *out, char *err, size_t errlen)
{
    const char *type = NULL, *term = NULL, *key;
    json_t *v;
    int64_t port = 31;

    memset(out, 0, sizeof(*out));
    out->date_days = -1;
    if (web_json_str(body, "type", 32, &type) != 0 ||
        (out->type = web_cmd_type_parse(type)) < 0) {
        snprintf(err, errlen, "type: read_current, read_daily, read_curve, clock_sync, "
                              "read_meter_config, meter_read, relay_trip or relay_close");
        return MF_EINVAL;
    }
    if (web_json_str(body, "terminal", 9, &term) != 0 ||
        web_terminal_parse(term, out->terminal) != 0) {
        snprintf(err, errlen, "terminal: RRRR-TTTT");
        return MF_EINVAL;
    }
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "type") != 0 && strcmp(key, "terminal") != 0 &&
            !field_allowed(type_fields[out->type], key)) {
            snprintf(err, errlen, "%s takes no field '%.32s'", type, key);
            return MF_EINVAL;
        }
    }
    switch (out->type) {
    case WEB_CMD_READ_CURRENT:
    case WEB_CMD_READ_DAILY:
    case WEB_CMD_READ_CURVE:
        return parse_read(body, out, err, errlen);
    case WEB_CMD_READ_METER_CONFIG:
        if (parse_serials(body, out) != 0) {
            snprintf(err, errlen, "serials: 1..16 integers in 1..2040");
            return MF_EINVAL;
        }
        return 0;
    case WEB_CMD_METER_READ:
    case WEB_CMD_RELAY_TRIP:
    case WEB_CMD_RELAY_CLOSE:
        if (parse_meter(body, out) != 0 || web_json_int_opt(body, "port", 1, 31, &port) != 0 ||
            parse_di(body, out) != 0) {
            snprintf(err, errlen, "meter: 12 digits; port: 1..31; di: 8 hex digits");
            return MF_EINVAL;
        }
        out->port = (uint8_t)port;
        return 0;
    default:
        return 0;
    }
}
