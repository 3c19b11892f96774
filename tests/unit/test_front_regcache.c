/* tsan: yes */
/* test_front_regcache.c -- the front's registry cache (src/front/front_regcache.c): logins
 * answered from memory, and never from an entry the master data or the store's event
 * counters have left behind.
 *
 * Two sources: a fake one (an array behind a mutex, counting the queries, with a hook that
 * runs "during" a query to play a concurrent change at the worst moment) and the real
 * SQLite store (store_terminal_login_get / store_terminal_logins_iter, wired as in
 * src/app/cmd_run.c). The last test hammers the cache from several threads (TSan).
 * Thread: main, plus the threads of the last test. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/front.h"
#include "meterflow/gw3761.h"
#include "meterflow/store.h"

/* ---- the fake source ---- */

#define NROWS 64
struct fake {
    pthread_mutex_t mu;
    struct front_reg_row rows[NROWS];
    int present[NROWS];
    int one_calls, all_calls, fail;
    /* called once, inside the next load (after the rows were read), then cleared */
    void (*during)(struct fake *fk);
    struct front_regcache *rg;
};

static uint32_t key_of(int i)
{
    return gw_terminal_key(0x4403, (uint16_t)(i + 1));
}

static void fake_set(struct fake *fk, int i, int registered, int ec1)
{
    pthread_mutex_lock(&fk->mu);
    fk->present[i] = 1;
    fk->rows[i] = (struct front_reg_row){ key_of(i), 1, (uint8_t)registered, 0, 0,
                                          (int16_t)ec1 };
    pthread_mutex_unlock(&fk->mu);
}

static void fake_del(struct fake *fk, int i)
{
    pthread_mutex_lock(&fk->mu);
    fk->present[i] = 0;
    pthread_mutex_unlock(&fk->mu);
}

static void fake_during(struct fake *fk)
{
    pthread_mutex_lock(&fk->mu);
    void (*d)(struct fake *) = fk->during;
    fk->during = NULL;
    pthread_mutex_unlock(&fk->mu);
    if (d)
        d(fk);
}

static int fake_one(void *opaque, uint32_t key, struct front_reg_row *out)
{
    struct fake *fk = opaque;
    pthread_mutex_lock(&fk->mu);
    fk->one_calls++;
    int fail = fk->fail;
    memset(out, 0, sizeof(*out));
    out->key = key;
    out->ec1 = -1;
    for (int i = 0; i < NROWS; i++)
        if (fk->present[i] && fk->rows[i].key == key)
            *out = fk->rows[i];
    pthread_mutex_unlock(&fk->mu);
    fake_during(fk);
    return fail ? MF_ERETRY : 0;
}

static int fake_all(void *opaque, front_reg_emit_fn emit, void *ctx)
{
    struct fake *fk = opaque;
    struct front_reg_row copy[NROWS];
    int n = 0;
    pthread_mutex_lock(&fk->mu);
    fk->all_calls++;
    for (int i = 0; i < NROWS; i++)
        if (fk->present[i])
            copy[n++] = fk->rows[i];
    pthread_mutex_unlock(&fk->mu);
    fake_during(fk);
    for (int i = 0; i < n; i++)
        if (emit(ctx, &copy[i]) != 0)
            break;
    return 0;
}

static struct front_regcache *fake_cache(struct fake *fk, size_t max, int reload_ms)
{
    char err[128];
    struct front_reg_src src = { fake_one, fake_all, fk };
    pthread_mutex_init(&fk->mu, NULL);
    fk->rg = front_regcache_new(&src, max, reload_ms);
    CHECK_EQ_INT(front_regcache_start(fk->rg, err, sizeof(err)), 0);
    return fk->rg;
}

static void fake_fini(struct fake *fk)
{
    front_regcache_free(fk->rg);
    pthread_mutex_destroy(&fk->mu);
}

static struct front_term_info look(struct front_regcache *rg, int i)
{
    struct front_term_info ti;
    memset(&ti, 0xAB, sizeof(ti));
    uint32_t k = key_of(i);
    CHECK_EQ_INT(front_regcache_lookup(rg, (uint16_t)(k >> 16), (uint16_t)(k & 0xFFFF), &ti), 0);
    return ti;
}

static int one_calls(struct fake *fk)
{
    pthread_mutex_lock(&fk->mu);
    int n = fk->one_calls;
    pthread_mutex_unlock(&fk->mu);
    return n;
}

MF_TEST(logins_answered_from_memory_after_the_first_load)
{
    struct fake fk = { 0 };
    fake_set(&fk, 0, 1, 12);
    fake_set(&fk, 1, 0, -1);
    fk.rows[1].pw_len = 2;
    fk.rows[0].confirm_f3 = 1;
    struct front_regcache *rg = fake_cache(&fk, 1000, 0);
    struct front_term_info ti = look(rg, 0);
    CHECK_EQ_INT(ti.known, 1);
    CHECK_EQ_INT(ti.confirm_f3, 1);
    CHECK_EQ_INT(ti.last_ec1, 12);
    ti = look(rg, 1); /* a row, not registered */
    CHECK_EQ_INT(ti.known, 0);
    CHECK_EQ_INT(ti.pw_len, 2);
    CHECK_EQ_INT(ti.last_ec1, -1);
    ti = look(rg, 7); /* no row: the table is complete, so no query */
    CHECK_EQ_INT(ti.known, 0);
    CHECK_EQ_INT(ti.last_ec1, -1);
    CHECK_EQ_INT(one_calls(&fk), 0);
    struct front_regcache_stats st;
    front_regcache_stats_get(rg, &st);
    CHECK_EQ_INT((int)st.hits, 3);
    CHECK_EQ_INT((int)st.entries, 2);
    CHECK_EQ_INT((int)st.complete, 1);
    fake_fini(&fk);
}

MF_TEST(deleted_or_disabled_terminal_is_refused_on_the_next_login)
{
    struct fake fk = { 0 };
    fake_set(&fk, 0, 1, 5);
    fake_set(&fk, 1, 1, 5);
    struct front_regcache *rg = fake_cache(&fk, 1000, 0);
    CHECK_EQ_INT(look(rg, 0).known, 1);
    CHECK_EQ_INT(look(rg, 1).known, 1);
    fake_del(&fk, 0);         /* DELETE /api/terminals/... */
    fake_set(&fk, 1, 0, 5);   /* PUT registered = false */
    front_regcache_invalidate(rg, key_of(0));
    front_regcache_invalidate(rg, key_of(1));
    struct front_term_info ti = look(rg, 0);
    CHECK_EQ_INT(ti.known, 0);
    CHECK_EQ_INT(ti.last_ec1, -1);
    CHECK_EQ_INT(look(rg, 1).known, 0);
    CHECK_EQ_INT(one_calls(&fk), 2);
    CHECK_EQ_INT(look(rg, 0).known, 0); /* and then from memory again */
    CHECK_EQ_INT(one_calls(&fk), 2);
    /* a new terminal registered here is seen at once (absent no longer means "no row") */
    fake_set(&fk, 2, 1, -1);
    front_regcache_invalidate(rg, key_of(2));
    CHECK_EQ_INT(look(rg, 2).known, 1);
    fake_fini(&fk);
}

MF_TEST(a_change_made_elsewhere_is_seen_after_a_reload)
{
    struct fake fk = { 0 };
    fake_set(&fk, 0, 1, -1);
    struct front_regcache *rg = fake_cache(&fk, 1000, 0);
    CHECK_EQ_INT(look(rg, 0).known, 1);
    fake_set(&fk, 0, 0, -1); /* `meterflow import` in another process: nobody tells us */
    fake_set(&fk, 3, 1, -1);
    CHECK_EQ_INT(look(rg, 0).known, 1); /* stale until the reload: the documented bound */
    CHECK_EQ_INT(front_regcache_reload(rg), 0);
    CHECK_EQ_INT(look(rg, 0).known, 0);
    CHECK_EQ_INT(look(rg, 3).known, 1);
    fake_fini(&fk);
}

static int wait_reloads(struct front_regcache *rg, uint64_t n)
{
    struct front_regcache_stats st;
    for (int i = 0; i < 5000; i++) { /* 5 s deadline */
        front_regcache_stats_get(rg, &st);
        if (st.reloads >= n)
            return 1;
        usleep(1000);
    }
    return 0;
}

MF_TEST(an_import_here_distrusts_the_table_until_the_kicked_reload)
{
    struct fake fk = { 0 };
    fake_set(&fk, 0, 1, -1);
    struct front_regcache *rg = fake_cache(&fk, 1000, 0); /* reload only when kicked */
    CHECK_EQ_INT(look(rg, 0).known, 1);
    fake_set(&fk, 0, 0, -1);
    front_regcache_invalidate_all(rg); /* a terminals CSV import through the web */
    /* until the reload lands, every login asks the source: never the old answer */
    CHECK_EQ_INT(look(rg, 0).known, 0);
    CHECK(wait_reloads(rg, 2));
    int calls = one_calls(&fk);
    CHECK_EQ_INT(look(rg, 0).known, 0);
    CHECK_EQ_INT(one_calls(&fk), calls); /* from memory again */
    fake_fini(&fk);
}

MF_TEST(ec1_advanced_by_the_worker_is_seen_and_never_goes_back)
{
    struct fake fk = { 0 };
    fake_set(&fk, 0, 1, 10);
    fake_set(&fk, 1, 1, 250);
    struct front_regcache *rg = fake_cache(&fk, 1000, 0);
    CHECK_EQ_INT(look(rg, 0).last_ec1, 10);
    front_regcache_ec_advance(rg, key_of(0), 14);
    CHECK_EQ_INT(look(rg, 0).last_ec1, 14);
    front_regcache_ec_advance(rg, key_of(0), 12); /* an older batch redelivered: ignored */
    CHECK_EQ_INT(look(rg, 0).last_ec1, 14);
    front_regcache_ec_advance(rg, key_of(0), -1);
    front_regcache_ec_advance(rg, key_of(0), 300);
    CHECK_EQ_INT(look(rg, 0).last_ec1, 14);
    front_regcache_ec_advance(rg, key_of(1), 3); /* wraps: 250 -> 3 is 9 ahead mod 256 */
    CHECK_EQ_INT(look(rg, 1).last_ec1, 3);
    /* a terminal the table did not hold (row made by the EC upsert): loaded once, with it */
    fake_set(&fk, 5, 0, 40);
    front_regcache_ec_advance(rg, key_of(5), 40);
    struct front_term_info ti = look(rg, 5);
    CHECK_EQ_INT(ti.last_ec1, 40); /* its counter, as the store has it */
    CHECK_EQ_INT(ti.known, 0);     /* registered = 0 */
    CHECK_EQ_INT(one_calls(&fk), 1);
    fake_fini(&fk);
}

/* the worker commits EC1 = 33 while a login's query (which read 20) is in flight */
static void commit_ec_33(struct fake *fk)
{
    fake_set(fk, 0, 1, 33);
    front_regcache_ec_advance(fk->rg, key_of(0), 33);
}

/* the web disables terminal 0 while the query (which read "registered") is in flight */
static void disable_0(struct fake *fk)
{
    fake_set(fk, 0, 0, 20);
    front_regcache_invalidate(fk->rg, key_of(0));
}

MF_TEST(changes_during_a_single_load_are_not_overwritten_by_it)
{
    struct fake fk = { 0 };
    fake_set(&fk, 0, 1, 20);
    struct front_regcache *rg = fake_cache(&fk, 1000, 0);
    front_regcache_invalidate(rg, key_of(0)); /* force the next login to load */
    fk.during = commit_ec_33;
    CHECK_EQ_INT(look(rg, 0).last_ec1, 33); /* merged forward, not the 20 it read */
    CHECK_EQ_INT(look(rg, 0).last_ec1, 33);
    front_regcache_invalidate(rg, key_of(0));
    fk.during = disable_0;
    CHECK_EQ_INT(look(rg, 0).known, 1); /* this login raced the change: it read before it */
    CHECK_EQ_INT(look(rg, 0).known, 0); /* but the entry stayed stale: the next one loads */
    fake_fini(&fk);
}

MF_TEST(changes_during_a_full_reload_survive_the_swap)
{
    struct fake fk = { 0 };
    fake_set(&fk, 0, 1, 20);
    struct front_regcache *rg = fake_cache(&fk, 1000, 0);
    fk.during = commit_ec_33;
    CHECK_EQ_INT(front_regcache_reload(rg), 0);
    CHECK_EQ_INT(look(rg, 0).last_ec1, 33);
    fk.during = disable_0;
    CHECK_EQ_INT(front_regcache_reload(rg), 0);
    CHECK_EQ_INT(look(rg, 0).known, 0);
    CHECK_EQ_INT(one_calls(&fk), 1);
    fake_fini(&fk);
}

MF_TEST(over_the_cap_the_rest_are_looked_up_each_time)
{
    struct fake fk = { 0 };
    for (int i = 0; i < 10; i++)
        fake_set(&fk, i, 1, i);
    struct front_regcache *rg = fake_cache(&fk, 4, 0);
    struct front_regcache_stats st;
    front_regcache_stats_get(rg, &st);
    CHECK_EQ_INT((int)st.entries, 4);
    CHECK_EQ_INT((int)st.complete, 0);
    for (int i = 0; i < 10; i++) { /* every terminal is still known, with its EC1 */
        struct front_term_info ti = look(rg, i);
        CHECK_EQ_INT(ti.known, 1);
        CHECK_EQ_INT(ti.last_ec1, i);
    }
    CHECK_EQ_INT(one_calls(&fk), 6);
    CHECK_EQ_INT(look(rg, 40).known, 0); /* no row, but the table cannot tell: asked */
    CHECK_EQ_INT(one_calls(&fk), 7);
    fk.fail = 1;
    struct front_term_info ti;
    uint32_t k = key_of(40);
    CHECK(front_regcache_lookup(rg, (uint16_t)(k >> 16), (uint16_t)(k & 0xFFFF), &ti) != 0);
    fake_fini(&fk);
}

MF_TEST(two_hundred_thousand_terminals_fit)
{
    struct front_regcache *rg;
    struct fake fk = { 0 };
    rg = fake_cache(&fk, 262144, 0);
    for (uint32_t i = 0; i < 200000; i++)
        front_regcache_ec_advance(rg, 0x44030000u + i, 1);
    struct front_regcache_stats st;
    front_regcache_stats_get(rg, &st);
    CHECK_EQ_INT((int)st.entries, 200000);
    CHECK_EQ_INT((int)st.complete, 1);
    fake_fini(&fk);
}

/* ---- the real store as the source (as src/app/cmd_run.c wires it) ---- */

static void row_of(const struct store_terminal_login *tl, struct front_reg_row *r)
{
    memset(r, 0, sizeof(*r));
    r->key = tl->term;
    r->found = 1;
    r->registered = (uint8_t)(tl->cfg.registered != 0);
    r->confirm_f3 = tl->cfg.login_answer == 3;
    r->pw_len = (uint8_t)tl->cfg.pw_len;
    r->ec1 = (int16_t)tl->ec1;
}

static int st_one(void *opaque, uint32_t key, struct front_reg_row *out)
{
    struct store_terminal_login tl;
    int rc = store_terminal_login_get(opaque, key, &tl);
    if (rc == MF_ENOTFOUND) {
        memset(out, 0, sizeof(*out));
        out->key = key;
        out->ec1 = -1;
        return 0;
    }
    if (rc == 0)
        row_of(&tl, out);
    return rc;
}

struct st_all {
    front_reg_emit_fn emit;
    void *ctx;
};

static int st_row(void *opaque, const struct store_terminal_login *tl)
{
    struct st_all *a = opaque;
    struct front_reg_row r;
    row_of(tl, &r);
    return a->emit(a->ctx, &r);
}

static int st_all_fn(void *opaque, front_reg_emit_fn emit, void *ctx)
{
    struct st_all a = { emit, ctx };
    return store_terminal_logins_iter(opaque, st_row, &a);
}

MF_TEST(with_the_sqlite_store)
{
    char dir[] = "/tmp/mf-regc-XXXXXX", path[64], err[256];
    struct store_opts o;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/r.db", dir);
    store_opts_default(&o);
    o.sqlite_path = path;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    CHECK(st != NULL);
    if (!st)
        return;
    uint32_t k1 = gw_terminal_key(0x4403, 1), k2 = gw_terminal_key(0x4403, 2);
    struct store_terminal t = { k1, "one", NULL, NULL, 1, 2, 3 };
    CHECK_EQ_INT(store_terminal_put(st, &t), 0);
    t.term = k2;
    CHECK_EQ_INT(store_terminal_put(st, &t), 0);
    struct store_ec ec = { k1, 7, -1, 1795651200 };
    struct store_batch b = { 0 };
    b.ec = &ec;
    b.n_ec = 1;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);

    struct front_reg_src src = { st_one, st_all_fn, st };
    struct front_regcache *rg = front_regcache_new(&src, 1000, 0);
    CHECK_EQ_INT(front_regcache_start(rg, err, sizeof(err)), 0);
    struct front_term_info ti;
    CHECK_EQ_INT(front_regcache_lookup(rg, 0x4403, 1, &ti), 0);
    CHECK_EQ_INT(ti.known, 1);
    CHECK_EQ_INT(ti.confirm_f3, 1);
    CHECK_EQ_INT(ti.pw_len, 2);
    CHECK_EQ_INT(ti.last_ec1, 7);
    /* the worker commits EC1 9 (cmd_run.c's write hook tells the cache after the commit) */
    ec.ec1 = 9;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    front_regcache_ec_advance(rg, k1, 9);
    CHECK_EQ_INT(front_regcache_lookup(rg, 0x4403, 1, &ti), 0);
    CHECK_EQ_INT(ti.last_ec1, 9);
    /* deleted / disabled through the web (which tells the cache) */
    CHECK_EQ_INT(store_terminal_delete(st, k1), 0);
    front_regcache_invalidate(rg, k1);
    t.registered = 0;
    CHECK_EQ_INT(store_terminal_put(st, &t), 0);
    front_regcache_invalidate(rg, k2);
    CHECK_EQ_INT(front_regcache_lookup(rg, 0x4403, 1, &ti), 0);
    CHECK_EQ_INT(ti.known, 0);
    CHECK_EQ_INT(ti.last_ec1, -1);
    CHECK_EQ_INT(front_regcache_lookup(rg, 0x4403, 2, &ti), 0);
    CHECK_EQ_INT(ti.known, 0);
    /* and a full reload agrees */
    CHECK_EQ_INT(front_regcache_reload(rg), 0);
    CHECK_EQ_INT(front_regcache_lookup(rg, 0x4403, 1, &ti), 0);
    CHECK_EQ_INT(ti.known, 0);
    CHECK_EQ_INT(front_regcache_lookup(rg, 0x4403, 2, &ti), 0);
    CHECK_EQ_INT(ti.known, 0);
    front_regcache_free(rg);
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

/* ---- threads ---- */

struct hammer {
    struct fake *fk;
    int id;
    int ahead;   /* an EC1 answered ahead of what the store holds: events would be lost */
    int checked;
};

static int ec_abs; /* terminal 0's EC1 without the modulo (under fk->mu) */

static int store_abs(struct fake *fk)
{
    pthread_mutex_lock(&fk->mu);
    int v = ec_abs;
    pthread_mutex_unlock(&fk->mu);
    return v;
}

/* The worker: commits the next EC1 of terminal 0 in the store, then tells the cache. */
static void worker_step(struct fake *fk)
{
    pthread_mutex_lock(&fk->mu);
    int v = ++ec_abs % 256;
    fk->rows[0].ec1 = (int16_t)v;
    pthread_mutex_unlock(&fk->mu);
    front_regcache_ec_advance(fk->rg, key_of(0), v);
}

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    for (int n = 0; n < 20000; n++) {
        int i = n % 8;
        if (h->id == 0 && n % 3 == 0) {
            worker_step(h->fk);
            continue;
        }
        if (h->id == 1 && n % 50 == 0) { /* the web: touches terminals 1..7 */
            front_regcache_invalidate(h->fk->rg, key_of(1 + n % 7));
            continue;
        }
        if (h->id == 1 && n % 997 == 0)
            front_regcache_invalidate_all(h->fk->rg);
        int before = i == 0 ? store_abs(h->fk) : 0;
        struct front_term_info ti = look(h->fk->rg, i);
        if (i != 0)
            continue;
        int after = store_abs(h->fk);
        if (after - before > 200)
            continue; /* preempted for a long time: the modulo makes it ambiguous */
        /* the newest store value <= after that the answer can be (mod 256) */
        int x = after - ((after % 256 - ti.last_ec1 + 256) % 256);
        /* it must be one the store held during the lookup, or the one just before (a
         * commit whose notice is on its way); anything else is ahead of the store */
        if (ti.last_ec1 < 0 || x < before - 1) {
            if (h->ahead++ < 3)
                fprintf(stderr, "thread %d: store %d..%d, answered %d (as %d)\n", h->id,
                        before, after, ti.last_ec1, x);
        }
        h->checked++;
    }
    return NULL;
}

MF_TEST(threads_hammer_the_cache)
{
    struct fake fk = { 0 };
    for (int i = 0; i < 8; i++)
        fake_set(&fk, i, 1, i == 0 ? 1 : -1);
    ec_abs = 1;
    fake_cache(&fk, 1000, 1); /* reload every millisecond */
    pthread_t thr[4];
    struct hammer h[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (struct hammer){ &fk, i, 0, 0 };
        CHECK_EQ_INT(pthread_create(&thr[i], NULL, hammer_main, &h[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(thr[i], NULL);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(h[i].ahead, 0);
    CHECK(h[2].checked > 1000);
    /* quiet again: the answer is exactly the store's */
    CHECK_EQ_INT(look(fk.rg, 0).last_ec1, store_abs(&fk) % 256);
    CHECK_EQ_INT(look(fk.rg, 3).known, 1);
    fake_fini(&fk);
}
