/* store_access.c -- the one shape of the store's read accessors, written once: take the lock
 * (st_enter: PostgreSQL reconnects there), get the catalogue statement, bind its parameters,
 * read the first row (st_read_row), every row as JSON (st_read_rows) or a count and a page
 * of a list (st_read_page), reset, leave. An accessor is then its binder (values in statement
 * order) and its taker (the row's columns into the caller's C values); the writers' loop,
 * st_write_rows (store_write.c), is the same idea for writes.
 *
 * The terminal-text buffer t lives here, in the helper's frame, because bound text is
 * borrowed until the statement is reset (SQLite binds it SQLITE_STATIC): a binder that
 * formats a terminal key into t (sq_term) cannot let it go out of scope too early.
 *
 * Thread: any; each helper takes st->mu for the whole statement. */
#include "store/store_int.h"

int st_take_json(struct sq *q, void *out)
{
    *(json_t **)out = sq_row_json(q);
    return 0;
}

void st_bind_term(struct sq *q, const void *args, char *t)
{
    sq_term(q, *(const uint32_t *)args, t);
}

void st_bind_i64_2(struct sq *q, const void *args, char *t)
{
    const int64_t *v = args;
    (void)t; /* no terminal parameter */
    sq_i64(q, v[0]);
    sq_i64(q, v[1]);
}

int st_read_row(struct store *st, int id, st_bind_fn bind, const void *args, st_take_fn take,
                void *out)
{
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    struct sq *q = sq_get(st, id);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        /* bound without a copy: t must outlive the step, not only the binder's block */
        /* cppcheck-suppress variableScope */
        char t[12];
        if (bind)
            bind(q, args, t);
        rc = sq_step(q);
        if (rc == 1)
            rc = take(q, out);
        else if (rc == 0)
            rc = MF_ENOTFOUND;
        sq_reset(q);
    }
    st_leave(st);
    return rc;
}

int st_read_rows(struct store *st, int id, st_bind_fn bind, const void *args, json_t **out)
{
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    *out = NULL;
    struct sq *q = sq_get(st, id);
    if (!q) {
        rc = MF_EFATAL;
    } else {
        /* bound without a copy: t must outlive the step, not only the binder's block */
        /* cppcheck-suppress variableScope */
        char t[12];
        if (bind)
            bind(q, args, t);
        rc = sq_rows_json(q, out);
    }
    st_leave(st);
    return rc;
}

/* A page request normalised: page >= 1, 1 <= size <= 1000 (50 when not given). */
static void page_norm(const struct store_page *in, int *page, int *size)
{
    *page = in && in->page > 0 ? in->page : 1;
    *size = in && in->page_size > 0 ? in->page_size : 50;
    if (*size > 1000)
        *size = 1000;
    if (*page > 1000000)
        *page = 1000000;
}

/* The count, under the lock. */
static int page_total(struct store *st, int qcount, st_bind_fn bind, const void *args,
                      int64_t *total)
{
    char t[12];
    struct sq *q = sq_get(st, qcount);
    int rc;
    if (!q)
        return MF_EFATAL;
    bind(q, args, t);
    rc = sq_step(q);
    if (rc == 1) {
        *total = sq_col_i64(q, 0);
        rc = 0;
    }
    sq_reset(q);
    return rc;
}

int st_read_page(struct store *st, int qcount, int qlist, int capped, st_bind_fn bind,
                 const void *args, const struct store_page *pg, json_t **out)
{
    char t[12];
    int page, size;
    int64_t total = 0;
    json_t *items = NULL;
    struct sq *q;
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    *out = NULL;
    page_norm(pg, &page, &size);
    if ((rc = page_total(st, qcount, bind, args, &total)) != 0)
        goto out;
    if ((q = sq_get(st, qlist)) == NULL) {
        rc = MF_EFATAL;
        goto out;
    }
    bind(q, args, t);
    sq_i64(q, size);
    sq_i64(q, (int64_t)(page - 1) * size);
    if ((rc = sq_rows_json(q, &items)) != 0)
        goto out;
    *out = json_object();
    json_object_set_new(*out, "items", items);
    json_object_set_new(*out, "total", json_integer(total));
    json_object_set_new(*out, "page", json_integer(page));
    json_object_set_new(*out, "page_size", json_integer(size));
    if (capped)
        json_object_set_new(*out, "total_capped", json_boolean(total > STORE_COUNT_CAP));
out:
    st_leave(st);
    return rc;
}
