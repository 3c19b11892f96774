/* front_regcache.c -- the registry cache: every terminal's login answer (registered, login
 * answer, PW length, last processed EC1) in one open-addressing table, so that a login is a
 * hash lookup instead of store queries on the I/O thread (which, with the database across a
 * network, bounded a master to ~1 / (2 x RTT) logins per second).
 *
 * Sources of truth and how the table follows them:
 *  - A full load (front_regcache_start, then every reload_ms on the reload thread) builds a
 *    new table from src.load_all and swaps it in. While every row fits (<= max_entries) the
 *    table is "complete": a terminal absent from it has no row, answered without a query.
 *  - Changes made in this process call front_regcache_invalidate (one terminal: its entry is
 *    marked stale, the next login loads it with src.load_one) or _invalidate_all (the whole
 *    table is distrusted, every login loads, until a reload that started after the call).
 *  - The store's EC1 advances are told by front_regcache_ec_advance after their commit; the
 *    entry moves forward only (store rule: (new - old) mod 256 in 1..127).
 *
 * The ordering hazard: a load (one row or all) reads the store while changes go on. Every
 * change takes a stamp from rg->seq (under rg->mu) and records it in its entry (inv_seq,
 * ec_seq); a load notes rg->seq before it queries. A change whose stamp is newer than that
 * may be missing from what the load read, so when the load's result is stored: a newer
 * invalidation keeps (or makes) the entry stale, a newer EC1 replaces the one read. A
 * change with an older stamp committed before the load's query began, which therefore saw it.
 * So the entry's EC1 is never ahead of the store's and lags it at most by the commits whose
 * notice is on its way (the worker tells right after each commit).
 *
 * Memory: the table doubles up to the first power of two >= 2 x max_entries slots of 24
 * bytes (262,144 entries: 12 MiB), plus the table being built during a reload.
 * Thread: new/start/stop/free on one thread; lookup on the I/O threads; invalidate and
 * ec_advance from the web's and the worker's threads; the reload on its own thread. rg->mu
 * guards the table; no store call is made while it is held. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front/front_int.h"
#include "meterflow/gw3761.h"

#define E_USED 0x01u
#define E_FOUND 0x02u
#define E_REG 0x04u
#define E_F3 0x08u
#define E_STALE 0x10u

struct rg_ent {
    uint32_t key;
    int16_t ec1;
    uint8_t bits;    /* E_* */
    uint8_t pw_len;
    uint64_t inv_seq; /* stamp of the last invalidation, 0 none */
    uint64_t ec_seq;  /* stamp of the last ec_advance, 0 none */
};

struct rg_tab {
    struct rg_ent *e;
    size_t nslots; /* power of two, or 0 */
    size_t n;
};

struct front_regcache {
    struct front_reg_src src;
    size_t max;
    int reload_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct rg_tab tab;
    int loaded;           /* tab came from a full load */
    int complete;         /* tab holds every row of master data */
    uint64_t seq;         /* change stamps */
    uint64_t tab_seq;     /* rg->seq when the load that built tab began */
    uint64_t all_inv_seq; /* stamp of the last invalidate_all */
    int kick, stop, running;
    pthread_t thr;
    struct front_regcache_stats st;
};

/* ---- the table (caller holds rg->mu, or owns the table alone) ---- */

static size_t slot_of(uint32_t key, size_t nslots)
{
    return (size_t)((key * 2654435761u) ^ (key >> 16)) & (nslots - 1);
}

static struct rg_ent *tab_find(const struct rg_tab *t, uint32_t key)
{
    if (!t->nslots)
        return NULL;
    for (size_t s = slot_of(key, t->nslots);; s = (s + 1) & (t->nslots - 1)) {
        struct rg_ent *e = &t->e[s];
        if (!(e->bits & E_USED))
            return NULL;
        if (e->key == key)
            return e;
    }
}

static void tab_grow(struct rg_tab *t, size_t nslots)
{
    struct rg_tab nt = { mf_calloc(nslots, sizeof(struct rg_ent)), nslots, 0 };
    for (size_t i = 0; i < t->nslots; i++) {
        if (!(t->e[i].bits & E_USED))
            continue;
        size_t s = slot_of(t->e[i].key, nslots);
        while (nt.e[s].bits & E_USED)
            s = (s + 1) & (nslots - 1);
        nt.e[s] = t->e[i];
        nt.n++;
    }
    free(t->e);
    *t = nt;
}

/* The entry of key, inserted (zeroed but for key, ec1 = -1) if absent and fewer than max
 * are held; NULL when full. *fresh = 1 when inserted. */
static struct rg_ent *tab_put(struct rg_tab *t, uint32_t key, size_t max, int *fresh)
{
    struct rg_ent *e = tab_find(t, key);
    *fresh = 0;
    if (e)
        return e;
    if (t->n >= max)
        return NULL;
    if ((t->n + 1) * 2 > t->nslots) /* load factor <= 1/2 keeps probes short */
        tab_grow(t, t->nslots ? t->nslots * 2 : 1024);
    size_t s = slot_of(key, t->nslots);
    while (t->e[s].bits & E_USED)
        s = (s + 1) & (t->nslots - 1);
    e = &t->e[s];
    memset(e, 0, sizeof(*e));
    e->key = key;
    e->ec1 = -1;
    e->bits = E_USED;
    t->n++;
    *fresh = 1;
    return e;
}

static void ent_set_row(struct rg_ent *e, const struct front_reg_row *r)
{
    e->bits = (uint8_t)((e->bits & (E_USED | E_STALE)) | (r->found ? E_FOUND : 0) |
                        (r->found && r->registered ? E_REG : 0) |
                        (r->found && r->confirm_f3 ? E_F3 : 0));
    e->pw_len = r->found ? r->pw_len : 0;
    e->ec1 = r->found ? r->ec1 : -1;
}

static void ent_row(const struct rg_ent *e, struct front_reg_row *r)
{
    r->key = e->key;
    r->found = (uint8_t)!!(e->bits & E_FOUND);
    r->registered = (uint8_t)!!(e->bits & E_REG);
    r->confirm_f3 = (uint8_t)!!(e->bits & E_F3);
    r->pw_len = e->pw_len;
    r->ec1 = e->ec1;
}

/* The store's rule for an event pointer: new replaces old when it is 1..127 ahead mod 256. */
static int16_t ec_forward(int16_t old, int16_t nw)
{
    if (nw < 0)
        return old;
    if (old < 0)
        return nw;
    int d = (nw - old + 256) % 256;
    return d >= 1 && d <= 127 ? nw : old;
}

static void row_info(const struct front_reg_row *r, struct front_term_info *info)
{
    memset(info, 0, sizeof(*info));
    info->known = r->found && r->registered;
    info->confirm_f3 = r->found && r->confirm_f3;
    info->pw_len = r->found ? r->pw_len : 0;
    info->last_ec1 = r->found ? r->ec1 : -1;
}

/* ---- lookups ---- */

/* The table may answer: it came from a full load begun after the last invalidate_all. */
static int tab_trusted(const struct front_regcache *rg)
{
    return rg->loaded && rg->all_inv_seq <= rg->tab_seq;
}

/* Store a row that a load_one begun at stamp s read (rg->mu held); *r becomes the answer. */
static void merge_loaded(struct front_regcache *rg, struct front_reg_row *r, uint64_t s)
{
    int fresh;
    /* Keep nothing while the table is distrusted (an import), nor over a table whose load
     * began after this one (it read the store later). */
    if (!tab_trusted(rg) || rg->all_inv_seq > s || rg->tab_seq > s)
        return;
    struct rg_ent *e = tab_put(&rg->tab, r->key, rg->max, &fresh);
    if (!e)
        return; /* full: this terminal is looked up each time (the table is not complete) */
    /* An EC1 told after s was committed after the load began: it wins over what the load
     * read (which may be older: comparing them by the mod-256 rule is only safe while they
     * are less than 128 apart, and a slow load can be further behind than that). */
    int16_t newer_ec = e->ec_seq > s ? e->ec1 : -1;
    ent_set_row(e, r);
    if (e->inv_seq <= s)
        e->bits &= (uint8_t)~E_STALE; /* else a change came in during the load: load again */
    if (newer_ec >= 0) {
        if (!r->found) /* the row appeared after the query (the EC upsert) */
            e->bits |= E_STALE | E_FOUND;
        e->ec1 = newer_ec;
    }
    if (r->found)
        r->ec1 = e->ec1;
}

int front_regcache_lookup(void *opaque, uint16_t a1, uint16_t a2, struct front_term_info *info)
{
    struct front_regcache *rg = opaque;
    struct front_reg_row r;
    uint32_t key = gw_terminal_key(a1, a2);

    memset(&r, 0, sizeof(r));
    r.key = key;
    r.ec1 = -1;
    pthread_mutex_lock(&rg->mu);
    if (tab_trusted(rg)) {
        const struct rg_ent *e = tab_find(&rg->tab, key);
        if ((e && !(e->bits & E_STALE)) || (!e && rg->complete)) {
            if (e)
                ent_row(e, &r);
            rg->st.hits++;
            pthread_mutex_unlock(&rg->mu);
            row_info(&r, info);
            return 0;
        }
    }
    uint64_t s = rg->seq;
    pthread_mutex_unlock(&rg->mu);

    int rc = rg->src.load_one(rg->src.opaque, key, &r);
    r.key = key;
    pthread_mutex_lock(&rg->mu);
    if (rc != 0) {
        rg->st.load_errors++;
    } else {
        rg->st.loads++;
        merge_loaded(rg, &r, s);
    }
    pthread_mutex_unlock(&rg->mu);
    if (rc != 0)
        return rc;
    row_info(&r, info);
    return 0;
}

/* ---- changes ---- */

void front_regcache_invalidate(struct front_regcache *rg, uint32_t key)
{
    int fresh;
    pthread_mutex_lock(&rg->mu);
    struct rg_ent *e = tab_put(&rg->tab, key, rg->max, &fresh);
    if (e) {
        e->bits |= E_STALE;
        e->inv_seq = ++rg->seq;
    } else {
        rg->complete = 0; /* cannot remember it: absent no longer means "no row" */
    }
    pthread_mutex_unlock(&rg->mu);
}

void front_regcache_invalidate_all(struct front_regcache *rg)
{
    pthread_mutex_lock(&rg->mu);
    rg->all_inv_seq = ++rg->seq;
    rg->kick = 1;
    pthread_cond_signal(&rg->cv);
    pthread_mutex_unlock(&rg->mu);
}

void front_regcache_ec_advance(struct front_regcache *rg, uint32_t key, int ec1)
{
    int fresh;
    if (ec1 < 0 || ec1 > 255)
        return;
    pthread_mutex_lock(&rg->mu);
    struct rg_ent *e = tab_put(&rg->tab, key, rg->max, &fresh);
    if (!e) {
        rg->complete = 0;
    } else {
        if (fresh) /* a row the table did not hold: its settings are unknown here */
            e->bits |= E_STALE | E_FOUND;
        e->ec1 = ec_forward(e->ec1, (int16_t)ec1);
        e->ec_seq = ++rg->seq;
    }
    pthread_mutex_unlock(&rg->mu);
}

/* ---- full loads ---- */

struct rg_build {
    struct rg_tab t;
    size_t max;
    int overflow;
};

static int build_emit(void *ctx, const struct front_reg_row *r)
{
    struct rg_build *b = ctx;
    int fresh;
    struct rg_ent *e = tab_put(&b->t, r->key, b->max, &fresh);
    if (!e) {
        b->overflow = 1;
        return 0; /* keep reading: the rows past the cap are looked up one by one */
    }
    ent_set_row(e, r);
    return 0;
}

/* Carry the changes stamped after s0 from the old table into the new one (rg->mu held). */
static void carry_changes(struct front_regcache *rg, struct rg_build *b, uint64_t s0)
{
    const struct rg_tab *old = &rg->tab;
    int fresh;
    for (size_t i = 0; i < old->nslots; i++) {
        const struct rg_ent *o = &old->e[i];
        if (!(o->bits & E_USED) || (o->inv_seq <= s0 && o->ec_seq <= s0))
            continue;
        struct rg_ent *e = tab_put(&b->t, o->key, b->max, &fresh);
        if (!e) {
            b->overflow = 1;
            continue;
        }
        if (fresh) { /* created after the load read the table: settings unknown */
            *e = *o;
            e->bits |= E_STALE;
            continue;
        }
        if (o->inv_seq > s0) {
            e->bits |= E_STALE;
            e->inv_seq = o->inv_seq;
        }
        if (o->ec_seq > s0) { /* committed after the load began: wins (see merge_loaded) */
            e->ec1 = o->ec1;
            e->ec_seq = o->ec_seq;
        }
    }
}

int front_regcache_reload(struct front_regcache *rg)
{
    struct rg_build b = { { NULL, 0, 0 }, rg->max, 0 };
    pthread_mutex_lock(&rg->mu);
    uint64_t s0 = rg->seq;
    pthread_mutex_unlock(&rg->mu);
    int rc = rg->src.load_all(rg->src.opaque, build_emit, &b);
    pthread_mutex_lock(&rg->mu);
    if (rc != 0) {
        rg->st.reload_errors++;
        pthread_mutex_unlock(&rg->mu);
        free(b.t.e);
        return rc;
    }
    carry_changes(rg, &b, s0);
    struct rg_tab old = rg->tab;
    rg->tab = b.t;
    rg->complete = !b.overflow;
    rg->tab_seq = s0;
    rg->loaded = 1;
    rg->st.reloads++;
    if (rg->all_inv_seq > s0)
        rg->kick = 1; /* an import during the load: load again */
    pthread_mutex_unlock(&rg->mu);
    free(old.e);
    return 0;
}

/* ---- lifecycle ---- */

static void *reload_main(void *arg)
{
    struct front_regcache *rg = arg;
    pthread_mutex_lock(&rg->mu);
    while (!rg->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += rg->reload_ms / 1000;
        ts.tv_nsec += (long)(rg->reload_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!rg->stop && !rg->kick && rc != ETIMEDOUT)
            rc = rg->reload_ms ? pthread_cond_timedwait(&rg->cv, &rg->mu, &ts)
                               : pthread_cond_wait(&rg->cv, &rg->mu);
        if (rg->stop)
            break;
        rg->kick = 0;
        pthread_mutex_unlock(&rg->mu);
        (void)front_regcache_reload(rg); /* on failure the old table stays (and its age) */
        pthread_mutex_lock(&rg->mu);
    }
    pthread_mutex_unlock(&rg->mu);
    return NULL;
}

struct front_regcache *front_regcache_new(const struct front_reg_src *src, size_t max_entries,
                                          int reload_ms)
{
    struct front_regcache *rg = mf_calloc(1, sizeof(*rg));
    rg->src = *src;
    rg->max = max_entries ? max_entries : 1;
    rg->reload_ms = reload_ms > 0 ? reload_ms : 0;
    pthread_mutex_init(&rg->mu, NULL);
    pthread_cond_init(&rg->cv, NULL);
    return rg;
}

int front_regcache_start(struct front_regcache *rg, char *errbuf, size_t errlen)
{
    int rc = front_regcache_reload(rg);
    if (rc != 0) {
        snprintf(errbuf, errlen, "registry cache: first load failed: %s", mf_status_str(rc));
        return rc;
    }
    if (!rg->running) { /* with reload_ms 0 it reloads only after invalidate_all */
        rg->stop = 0;
        if (pthread_create(&rg->thr, NULL, reload_main, rg) != 0) {
            snprintf(errbuf, errlen, "registry cache: cannot start the reload thread");
            return MF_ESYS;
        }
        rg->running = 1;
    }
    return 0;
}

void front_regcache_stats_get(struct front_regcache *rg, struct front_regcache_stats *out)
{
    pthread_mutex_lock(&rg->mu);
    *out = rg->st;
    out->entries = rg->tab.n;
    out->complete = (uint64_t)(rg->complete && tab_trusted(rg));
    pthread_mutex_unlock(&rg->mu);
}

void front_regcache_stop(struct front_regcache *rg)
{
    if (!rg || !rg->running)
        return;
    pthread_mutex_lock(&rg->mu);
    rg->stop = 1;
    pthread_cond_signal(&rg->cv);
    pthread_mutex_unlock(&rg->mu);
    pthread_join(rg->thr, NULL);
    rg->running = 0;
}

void front_regcache_free(struct front_regcache *rg)
{
    if (!rg)
        return;
    front_regcache_stop(rg);
    free(rg->tab.e);
    pthread_cond_destroy(&rg->cv);
    pthread_mutex_destroy(&rg->mu);
    free(rg);
}
