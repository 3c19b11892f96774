/* store_json.c -- result rows to JSON by column-name conventions: one row, or every row.
 *
 * The read queries (store_sql.c) name their columns so that one generic converter gives the
 * API's JSON: the conventions are listed in store_int.h (sq_row_json). Keeping the rules in
 * one place is what keeps every endpoint's times, dates and statuses formatted alike.
 *
 * Thread: any, under st->mu. */
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "store/store_int.h"

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static json_t *j_time(int64_t t)
{
    char buf[40];
    if (t == 0)
        return json_null();
    mf_utc_format(t, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *j_time_us(int64_t us)
{
    char buf[48];
    int64_t s = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        s -= 1;
    }
    mf_utc_format(s, buf, sizeof(buf));
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == 'Z')
        snprintf(buf + n - 1, sizeof(buf) - (n - 1), ".%06lldZ", (long long)frac);
    return json_string(buf);
}

static json_t *j_date(int64_t days)
{
    char buf[16];
    int y, m, d;
    mf_days_to_date((int32_t)days, &y, &m, &d);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
    return json_string(buf);
}

static json_t *j_status(int64_t s)
{
    static const char *const names[] = { "ok", "absent", "invalid" };
    return s >= 0 && s <= 2 ? json_string(names[s]) : json_integer(s);
}

static json_t *j_blob_hex(const uint8_t *p, size_t n)
{
    char *buf = mf_malloc(n * 3 + 1);
    buf[0] = '\0';
    if (n)
        mf_hex_encode(p, n, buf, n * 3 + 1);
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

/* Value of column i by type alone. */
static json_t *j_plain(struct store *st, struct sq *q, int i)
{
    size_t n;
    const uint8_t *p;
    switch (st->ops->col_type(q, i)) {
    case SQ_INT:
        return json_integer(st->ops->col_i64(q, i));
    case SQ_REAL:
        return json_real(st->ops->col_f64(q, i));
    case SQ_TEXT:
        return json_string(st->ops->col_text(q, i));
    case SQ_BLOB:
        p = st->ops->col_blob(q, i, &n);
        return j_blob_hex(p, n);
    default:
        return json_null();
    }
}

json_t *sq_row_json(struct sq *q)
{
    struct store *st = ((struct sq_common *)q)->st;
    json_t *o = json_object();
    int nc = st->ops->ncols(q);

    for (int i = 0; i < nc; i++) {
        const char *name = st->ops->col_name(q, i);
        int null = st->ops->col_type(q, i) == SQ_NULL;
        char key[64];
        json_t *v;

        mf_strlcpy(key, name, sizeof(key));
        if (null) {
            v = json_null();
            if (ends_with(key, "_json") || ends_with(key, "_us"))
                key[strlen(key) - (ends_with(key, "_us") ? 3 : 5)] = '\0';
        } else if (ends_with(key, "_us")) {
            v = j_time_us(st->ops->col_i64(q, i));
            key[strlen(key) - 3] = '\0';
        } else if (ends_with(key, "_at") || strcmp(key, "at") == 0 || strcmp(key, "ts") == 0 ||
                   strcmp(key, "last_seen") == 0) {
            v = j_time(st->ops->col_i64(q, i));
        } else if (strcmp(key, "date") == 0) {
            v = j_date(st->ops->col_i64(q, i));
        } else if (strcmp(key, "status") == 0) {
            v = j_status(st->ops->col_i64(q, i));
        } else if (ends_with(key, "_json")) {
            v = json_loads(st->ops->col_text(q, i), JSON_DECODE_ANY, NULL);
            if (!v)
                v = json_null();
            key[strlen(key) - 5] = '\0';
        } else if (ends_with(key, "_n")) {
            /* a count whose name would otherwise read as a flag ("online_n" -> "online") */
            v = json_integer(st->ops->col_i64(q, i));
            key[strlen(key) - 2] = '\0';
        } else if (strcmp(key, "registered") == 0 || strcmp(key, "online") == 0 ||
                   strcmp(key, "is_area_meter") == 0) {
            v = json_boolean(st->ops->col_i64(q, i) != 0);
        } else {
            v = j_plain(st, q, i);
        }
        json_object_set_new(o, key, v);
    }
    return o;
}

int sq_rows_json(struct sq *q, json_t **out)
{
    json_t *arr = json_array();
    int rc;
    while ((rc = sq_step(q)) == 1)
        json_array_append_new(arr, sq_row_json(q));
    sq_reset(q);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

int sq_row1_json(struct sq *q, json_t **out)
{
    int rc = sq_step(q);
    if (rc == 1) {
        *out = sq_row_json(q);
        rc = 0;
    } else if (rc == 0) {
        rc = MF_ENOTFOUND;
    }
    sq_reset(q);
    return rc;
}
