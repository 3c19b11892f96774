/* store_write_energy.c -- a batch's energy indications into energy_report / energy_extra.
 *
 * The worker hands one store_energy record per value (total = tariff 0, tariffs 1..M). The
 * schema (step 4) keeps one row per report, [terminal, pn, read_at, item], with the total and
 * tariffs 1..4 in columns v0..v4 / s0..s4; tariffs above 4 go to energy_extra, one row each.
 * So records are grouped by report first: an index of the batch's records is sorted by
 * (report key, tariff, position in the batch), and each run of equal keys becomes one row.
 *
 * Invariants: within a batch the first record of a (key, tariff) wins, as the per-value
 * table's ON CONFLICT DO NOTHING did; across batches the upsert fills only tariffs the stored
 * row lacks (store_sql.c E_UPSERT). Each key appears in at most one energy_report row per
 * statement, which PostgreSQL's DO UPDATE requires. Sorting also writes the rows in key
 * order: consecutive inserts land on the same or the next leaf page.
 *
 * Counter: T_ENERGY ("energy" in /metrics) counts rows written to energy_report (inserted,
 * or updated to fill a missing tariff) plus energy_extra rows: reports, not values; the
 * view's COUNT(*) counts values.
 *
 * Thread: the caller of store_batch_write, under st->mu. */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define E_COLS 5 /* v0..v4 */

struct e_sort {
    const struct store_energy *r;
};

static int e_key_cmp(const struct store_energy *a, const struct store_energy *b)
{
    if (a->term != b->term)
        return a->term < b->term ? -1 : 1;
    if (a->pn != b->pn)
        return a->pn < b->pn ? -1 : 1;
    if (a->read_at != b->read_at)
        return a->read_at < b->read_at ? -1 : 1;
    return a->item == b->item ? 0 : strcmp(a->item, b->item);
}

/* Key, then tariff, then position in the batch (records are one array: pointer order). */
static int e_cmp(const void *pa, const void *pb)
{
    const struct store_energy *a = ((const struct e_sort *)pa)->r;
    const struct store_energy *b = ((const struct e_sort *)pb)->r;
    int c = e_key_cmp(a, b);

    if (c != 0)
        return c;
    if (a->tariff != b->tariff)
        return a->tariff < b->tariff ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
}

/* One energy_report row from the records x[0..n) of one key (sorted by tariff). */
static int e_report_row(struct sq *q, const struct e_sort *x, size_t n, int64_t *ins)
{
    const struct store_energy *col[E_COLS] = { NULL };
    char t[12];

    for (size_t i = 0; i < n; i++)
        if (x[i].r->tariff < E_COLS && !col[x[i].r->tariff])
            col[x[i].r->tariff] = x[i].r; /* the first of each tariff */
    st_term_format(x[0].r->term, t);
    sq_text(q, t);
    sq_i64(q, x[0].r->pn);
    sq_text(q, x[0].r->item);
    sq_i64(q, x[0].r->read_at);
    for (int k = 0; k < E_COLS; k++) {
        if (col[k]) {
            sq_value(q, col[k]->value, col[k]->status);
            sq_i64(q, col[k]->status);
        } else {
            sq_null(q);
            sq_null(q);
        }
    }
    return sq_row_end(q, ins); /* t is bound by reference until the row is written */
}

/* The records of one key with tariff > 4, per value (DO NOTHING drops repeats). */
static int e_extra_rows(struct store *st, const struct e_sort *x, size_t n, int64_t *ins)
{
    struct sq *q = NULL;
    char t[12];
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct store_energy *r = x[i].r;
        if (r->tariff < E_COLS)
            continue;
        if (!q && (q = sq_get(st, Q_ENERGY_EXTRA_BULK)) == NULL)
            return MF_EFATAL;
        st_term_format(r->term, t);
        sq_text(q, t);
        sq_i64(q, r->pn);
        sq_text(q, r->item);
        sq_i64(q, r->read_at);
        sq_i64(q, r->tariff);
        sq_value(q, r->value, r->status);
        sq_i64(q, r->status);
        rc = sq_row_end(q, ins);
    }
    return rc;
}

/* Called by store_batch_write (store_write.c) with the batch's energy records. */
int st_write_energy(struct store *st, const struct store_energy *r, size_t n);
int st_write_energy(struct store *st, const struct store_energy *r, size_t n)
{
    struct sq *q = sq_get(st, Q_ENERGY_BULK);
    struct e_sort *x;
    int64_t ins = 0;
    int extra = 0;
    int rc = q ? 0 : MF_EFATAL;

    if (rc != 0)
        return rc;
    x = mf_malloc(n * sizeof(*x)); /* n <= STORE_BATCH_MAX, checked by the caller */
    for (size_t i = 0; i < n; i++) {
        x[i].r = &r[i];
        extra |= r[i].tariff >= E_COLS;
    }
    qsort(x, n, sizeof(*x), e_cmp);
    for (size_t i = 0, j; i < n && rc == 0; i = j) {
        int any = 0;
        for (j = i; j < n && e_key_cmp(x[i].r, x[j].r) == 0; j++)
            any |= x[j].r->tariff < E_COLS;
        if (any)
            rc = e_report_row(q, x + i, j - i, &ins);
    }
    if (rc == 0)
        rc = sq_flush(q, &ins);
    /* second pass: the extra statement is a different bulk statement (own arrays) */
    for (size_t i = 0, j; extra && i < n && rc == 0; i = j) {
        for (j = i; j < n && e_key_cmp(x[i].r, x[j].r) == 0; j++)
            ;
        rc = e_extra_rows(st, x + i, j - i, &ins);
    }
    if (rc == 0 && extra) {
        struct sq *qx = sq_get(st, Q_ENERGY_EXTRA_BULK);
        rc = qx ? sq_flush(qx, &ins) : MF_EFATAL;
    }
    free(x);
    st_count(st, T_ENERGY, ins);
    return rc;
}
