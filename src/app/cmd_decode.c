/* cmd_decode.c -- `meterflow decode`: 376.1 hex frames (arguments, or one per line on stdin)
 * to one JSON object per frame (jansson), for field and protocol engineers.
 *
 * The JSON names are a public interface (scripts and tests read them): ok, error,
 * terminal, msa, dir, prm, fc, afn, seq{tpv,fir,fin,con,pseq}, ec, tp, units[{pn, fn, name,
 * data}]. `data` is produced by walking the generic decoded-unit model (gw3761_data.h) --
 * there is no per-Fn code here: numbers print as JSON numbers in the unit their name ends
 * with (_kwh, _v, _a, _kw, _pct ...), times as ISO-8601 local time strings, absent fields
 * as null, invalid ones as null plus an entry in `invalid`; lists (tariffs, curve points)
 * as arrays; record lists (meters, items) and events as arrays of objects; forwarded DL/T
 * 645 frames as a `dlt645` object.
 * Exit status: 0 when every frame decoded completely, 1 otherwise, 2 on usage errors.
 * Thread: main thread only. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "meterflow/dlt645.h"
#include "meterflow/gw3761.h"
#include "meterflow/gw3761_data.h"

#define LINE_MAX_BYTES (GW_FRAME_MAX * 3u + 64u)

struct dec_opts {
    size_t pw_len;
    int pw_forced;
};

static json_t *jstr_time(const struct gw_time *t, unsigned fmt)
{
    char s[40];
    switch (fmt) {
    case 20:
        snprintf(s, sizeof s, "%04u-%02u-%02u", t->year, t->mon, t->day);
        break;
    case 21:
        snprintf(s, sizeof s, "%04u-%02u", t->year, t->mon);
        break;
    case 16: /* day and time, no month/year on the wire */
        snprintf(s, sizeof s, "---%02uT%02u:%02u:%02u", t->day, t->hour, t->min, t->sec);
        break;
    case 17:
        snprintf(s, sizeof s, "--%02u-%02uT%02u:%02u:00", t->mon, t->day, t->hour, t->min);
        break;
    case 18:
        snprintf(s, sizeof s, "---%02uT%02u:%02u:00", t->day, t->hour, t->min);
        break;
    case 19:
        snprintf(s, sizeof s, "%02u:%02u:%02u", t->hour, t->min, t->sec);
        break;
    case 24:
        snprintf(s, sizeof s, "---%02uT%02u:00:00", t->day, t->hour);
        break;
    default:
        snprintf(s, sizeof s, "%04u-%02u-%02uT%02u:%02u:%02u", t->year, t->mon, t->day, t->hour,
                 t->min, t->sec);
        break;
    }
    return json_string(s);
}

static json_t *jhex(const uint8_t *p, size_t n)
{
    static const char dig[] = "0123456789ABCDEF";
    char *s = mf_malloc(2 * n + 1);
    json_t *j;
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = dig[p[i] >> 4];
        s[2 * i + 1] = dig[p[i] & 15u];
    }
    s[2 * n] = '\0';
    j = json_string(s);
    free(s);
    return j;
}

static json_t *jnum(int64_t m, int8_t exp)
{
    if (exp >= 0 && exp <= 6) {
        int64_t v = m;
        for (int k = 0; k < exp; k++)
            v *= 10;
        return json_integer(v);
    }
    return json_real(gw_num_to_double(m, exp));
}

static json_t *jdlt645(const uint8_t *p, size_t n);

/* JSON of one value's payload (OK status only). */
static json_t *jvalue(const struct gw_value *v)
{
    char a[16];
    switch (v->kind) {
    case GW_VK_NUM:
        return jnum(v->u.i, v->exp);
    case GW_VK_TIME:
        return jstr_time(&v->u.t, v->fmt);
    case GW_VK_INT:
        return json_integer(v->u.i);
    case GW_VK_ADDR:
        snprintf(a, sizeof a, "%012lld", (long long)v->u.i);
        return json_string(a);
    case GW_VK_TEXT: {
        char t[256];
        size_t n = MF_MIN((size_t)v->len, sizeof(t) - 1);
        /* cppcheck 2.x wrongly concludes n < 1 from MF_MIN over a uint16_t len. */
        /* cppcheck-suppress knownConditionTrueFalse */
        for (size_t i = 0; i < n; i++)
            t[i] = v->u.p[i] >= 0x20 && v->u.p[i] < 0x7F ? (char)v->u.p[i] : '?';
        t[n] = '\0';
        return json_string(t);
    }
    default:
        return jhex(v->u.p, v->len);
    }
}

/* Note an invalid field: "name" or "name[index]". */
static void note_invalid(json_t *inv, const struct gw_value *v)
{
    char s[96];
    if (v->index)
        snprintf(s, sizeof s, "%s[%u]", v->name, v->index);
    else
        snprintf(s, sizeof s, "%s", v->name);
    json_array_append_new(inv, json_string(s));
}

static json_t *jvalue_st(const struct gw_value *v, json_t *inv)
{
    if (v->status == GW_VS_INVALID)
        note_invalid(inv, v);
    return v->status == GW_VS_OK ? jvalue(v) : json_null();
}

static void set_scalar(json_t *obj, const struct gw_value *v, json_t *inv)
{
    json_object_set_new(obj, v->name, jvalue_st(v, inv));
    if (v->kind == GW_VK_DLT645 && v->status == GW_VS_OK)
        json_object_set_new(obj, "dlt645", jdlt645(v->u.p, v->len));
}

/* Walk vals[i .. end) into obj: scalars, lists (same name, index > 0) or, with `list`,
 * records grouped by index. */
static void walk_values(const struct gw_value *vals, size_t i, size_t end, const char *list,
                        json_t *obj, json_t *inv)
{
    while (i < end) {
        const struct gw_value *v = &vals[i];
        if (v->index == 0) {
            set_scalar(obj, v, inv);
            i++;
        } else if (list) {
            json_t *arr = json_array();
            while (i < end && vals[i].index != 0) {
                uint16_t idx = vals[i].index;
                json_t *rec = json_object();
                while (i < end && vals[i].index == idx)
                    set_scalar(rec, &vals[i++], inv);
                json_array_append_new(arr, rec);
            }
            json_object_set_new(obj, list, arr);
        } else {
            json_t *arr = json_array();
            const char *name = v->name;
            while (i < end && vals[i].index != 0 && strcmp(vals[i].name, name) == 0)
                json_array_append_new(arr, jvalue_st(&vals[i++], inv));
            json_object_set_new(obj, name, arr);
        }
    }
}

static json_t *jdlt645(const uint8_t *p, size_t n)
{
    struct dlt645_frame f;
    struct gw_value vals[64];
    json_t *o = json_object(), *data = json_object(), *inv = json_array();
    uint64_t addr;
    int old;
    uint32_t d;
    size_t nv;

    if (dlt645_decode(p, n, &f) != 0) {
        json_object_set_new(o, "ok", json_false());
        json_object_set_new(o, "error", json_string("not a valid DL/T 645 frame"));
        json_decref(data);
        json_decref(inv);
        return o;
    }
    json_object_set_new(o, "ok", json_true());
    if (dlt645_addr_to_u64(f.addr, &addr) == 0) {
        char a[16];
        snprintf(a, sizeof a, "%012llu", (unsigned long long)addr);
        json_object_set_new(o, "addr", json_string(a));
    } else {
        json_object_set_new(o, "addr", jhex(f.addr, 6));
    }
    json_object_set_new(o, "c", json_integer(f.c));
    json_object_set_new(o, "dir", json_string(f.dir ? "up" : "down"));
    json_object_set_new(o, "func", json_integer(f.func));
    json_object_set_new(o, "abnormal", json_boolean(f.abnormal));
    json_object_set_new(o, "more", json_boolean(f.more));
    d = dlt645_di(&f, &old);
    json_object_set_new(o, "version", json_string(old ? "1997" : "2007"));
    if (d) {
        char di[12];
        snprintf(di, sizeof di, old ? "%04X" : "%08X", d);
        json_object_set_new(o, "di", json_string(di));
    } else {
        json_object_set_new(o, "di", json_null());
    }
    nv = dlt645_values(&f, vals, MF_ARRAY_LEN(vals));
    walk_values(vals, 0, nv, NULL, data, inv);
    if (json_array_size(inv))
        json_object_set_new(data, "invalid", inv);
    else
        json_decref(inv);
    json_object_set_new(o, "data", data);
    return o;
}

static json_t *junit(const struct gw_decoded *dec, const struct gw_unit *un)
{
    static const char *const st[] = {"ok", "unknown_fn", "truncated", "cap"};
    json_t *u = json_object(), *data = json_object(), *inv = json_array();

    json_object_set_new(u, "pn", json_integer(un->pn));
    json_object_set_new(u, "fn", json_integer(un->fn));
    json_object_set_new(u, "name", json_string(un->name));
    if (un->status != GW_US_OK)
        json_object_set_new(u, "status", json_string(st[un->status & 3u]));
    walk_values(dec->vals, un->first, (size_t)un->first + un->nval, un->list, data, inv);
    if (un->nev) {
        json_t *evs = json_array();
        for (unsigned e = un->first_ev; e < (unsigned)un->first_ev + un->nev; e++) {
            const struct gw_event *ev = &dec->events[e];
            json_t *eo = json_object();
            json_object_set_new(eo, "erc", json_integer(ev->erc));
            json_object_set_new(eo, "le", json_integer(ev->le));
            /* an event's fields carry the record number as index: print them flat */
            for (unsigned k = ev->first; ev->typed && k < (unsigned)ev->first + ev->nval; k++)
                set_scalar(eo, &dec->vals[k], inv);
            if (!ev->typed)
                json_object_set_new(eo, "raw", jhex(ev->raw, ev->le));
            json_array_append_new(evs, eo);
        }
        json_object_set_new(data, "events", evs);
    }
    if (json_array_size(inv))
        json_object_set_new(data, "invalid", inv);
    else
        json_decref(inv);
    json_object_set_new(u, "data", data);
    return u;
}

/* Why a frame is rejected, in words (the codec only says "invalid"). */
static const char *why_bad(const uint8_t *b, size_t n)
{
    size_t l1;
    unsigned s = 0;
    if (n < GW_FRAME_MIN)
        return "frame shorter than 20 bytes";
    if (b[0] != 0x68 || b[5] != 0x68)
        return "no 68 start bytes at offsets 0 and 5";
    if (b[1] != b[3] || b[2] != b[4])
        return "the two L fields differ";
    if ((b[1] & 3u) != 2u)
        return "protocol identifier is not 2 (not 376.1)";
    l1 = (size_t)((b[1] | b[2] << 8) >> 2);
    if (l1 + 8u != n)
        return "length does not match L (truncated or trailing bytes)";
    for (size_t i = 6; i < n - 2; i++)
        s += b[i];
    if ((uint8_t)s != b[n - 2])
        return "bad checksum";
    if (b[n - 1] != 0x16)
        return "bad end byte (not 16)";
    return "AUX field longer than the frame (wrong PW length?)";
}

static json_t *jheader(const struct gw_frame *fr)
{
    json_t *o = json_object(), *seq = json_object();
    char term[GW_TERMINAL_STRLEN];

    json_object_set_new(o, "ok", json_false()); /* first key; set for real at the end */
    gw_terminal_format(fr->addr.a1, fr->addr.a2, term);
    json_object_set_new(o, "terminal", json_string(term));
    json_object_set_new(o, "msa", json_integer(fr->addr.msa));
    json_object_set_new(o, "group", json_boolean(fr->addr.group));
    json_object_set_new(o, "dir", json_string(fr->dir ? "up" : "down"));
    json_object_set_new(o, "prm", json_integer(fr->prm));
    json_object_set_new(o, "fc", json_integer(fr->fc));
    json_object_set_new(o, fr->dir ? "acd" : "fcb", json_integer(fr->fcb_acd));
    json_object_set_new(o, "afn", json_integer(fr->afn));
    json_object_set_new(seq, "tpv", json_integer(fr->seq.tpv));
    json_object_set_new(seq, "fir", json_integer(fr->seq.fir));
    json_object_set_new(seq, "fin", json_integer(fr->seq.fin));
    json_object_set_new(seq, "con", json_integer(fr->seq.con));
    json_object_set_new(seq, "pseq", json_integer(fr->seq.pseq));
    json_object_set_new(o, "seq", seq);
    if (fr->has_ec)
        json_object_set_new(o, "ec", json_pack("{s:i,s:i}", "ec1", fr->ec1, "ec2", fr->ec2));
    else
        json_object_set_new(o, "ec", json_null());
    if (fr->has_tp) {
        char t[16];
        snprintf(t, sizeof t, "%02u:%02u:%02u", fr->tp.hour, fr->tp.min, fr->tp.sec);
        json_object_set_new(o, "tp", json_pack("{s:i,s:o,s:i,s:i}", "pfc", fr->tp.pfc, "time",
                                               fr->tp.valid ? json_string(t) : json_null(),
                                               "day", fr->tp.day, "delay_min",
                                               fr->tp.delay_min));
    } else {
        json_object_set_new(o, "tp", json_null());
    }
    if (fr->pw)
        json_object_set_new(o, "pw", jhex(fr->pw, fr->pw_len));
    return o;
}

/* Decode one hex frame into a JSON object; *ok = 1 when it decoded completely. */
static json_t *decode_hex(const char *hex, const struct dec_opts *op, struct gw_decoded *dec,
                          int *ok)
{
    static uint8_t b[GW_FRAME_MAX];
    struct gw_frame fr;
    json_t *o, *units;
    int n = mf_hex_decode(hex, b, sizeof b), rc;

    *ok = 0;
    if (n < 0)
        return json_pack("{s:b,s:s}", "ok", 0, "error",
                         n == MF_ERANGE ? "frame too long" : "not hex");
    rc = gw_frame_parse(b, (size_t)n, op->pw_len, &fr);
    if (rc != 0 && !op->pw_forced && (size_t)n >= GW_FRAME_MIN &&
        gw_frame_parse(b, (size_t)n, 2, &fr) == 0 && fr.pw)
        rc = 0; /* the 2-byte PW dialect (protocol-3761.md section 4) */
    if (rc != 0)
        return json_pack("{s:b,s:s}", "ok", 0, "error", why_bad(b, (size_t)n));
    o = jheader(&fr);
    rc = gw_decode_units(&fr, dec);
    units = json_array();
    for (unsigned u = 0; u < dec->nunits; u++)
        json_array_append_new(units, junit(dec, &dec->units[u]));
    json_object_set_new(o, "units", units);
    if (rc != 0) {
        const char *why = rc == MF_EUNSUPP ? "unknown Fn: decoding stopped"
                          : rc == MF_ERANGE ? "too many values: decoding stopped"
                                            : "data unit truncated or malformed";
        json_object_set_new(o, "error", json_string(why));
        json_object_set_new(o, "rest", jhex(dec->rest, dec->rest_len));
    }
    json_object_set_new(o, "ok", json_boolean(rc == 0));
    *ok = rc == 0;
    return o;
}

static int emit(const char *hex, const struct dec_opts *op, struct gw_decoded *dec)
{
    int ok;
    json_t *o = decode_hex(hex, op, dec, &ok);
    char *s = json_dumps(o, JSON_REAL_PRECISION(15) | JSON_PRESERVE_ORDER | JSON_COMPACT);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(o);
    return ok;
}

static void help(FILE *f)
{
    fprintf(f, "usage: meterflow decode [--pw-len N] [HEX-FRAME...]\n\n"
               "Decodes Q/GDW 1376.1 frames given as hex (spaces optional) to one JSON\n"
               "object per line. Without frames on the command line, reads one frame per\n"
               "line from stdin (empty lines and lines starting with # are skipped).\n\n"
               "  --pw-len N   PW length of downlink AFN 01/04/05/06/0F/10 frames (default 16;\n"
               "               2 for the 2-byte dialect, tried automatically when 16 fails)\n"
               "Exit status: 0 all frames decoded, 1 some frame failed, 2 usage error.\n");
}

int cmd_decode(int argc, char **argv)
{
    struct dec_opts op = {GW_PW_LEN, 0};
    struct gw_decoded *dec = mf_malloc(sizeof(*dec));
    int i = 1, nfail = 0, nframes = 0;

    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            help(stdout);
            free(dec);
            return 0;
        }
        if (strcmp(argv[i], "--pw-len") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (errno || *end || v > 64) {
                fprintf(stderr, "meterflow decode: --pw-len wants 0..64\n");
                free(dec);
                return 2;
            }
            op.pw_len = v;
            op.pw_forced = 1;
            continue;
        }
        fprintf(stderr, "meterflow decode: unknown option %s\n", argv[i]);
        help(stderr);
        free(dec);
        return 2;
    }
    if (i < argc && strcmp(argv[i], "-h") == 0) {
        help(stdout);
        free(dec);
        return 0;
    }
    for (; i < argc; i++, nframes++)
        nfail += !emit(argv[i], &op, dec);
    if (nframes == 0) {
        char *line = mf_malloc(LINE_MAX_BYTES);
        while (fgets(line, (int)LINE_MAX_BYTES, stdin)) {
            size_t l = strcspn(line, "\r\n");
            line[l] = '\0';
            if (l == 0 || line[0] == '#')
                continue;
            nfail += !emit(line, &op, dec);
        }
        free(line);
    }
    free(dec);
    return nfail ? 1 : 0;
}
