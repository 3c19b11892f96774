/* sec_imp.c -- the impersonation detector of include/meterflow/sec.h: per terminal, the
 * current and the previous peer address of its logins and the count of "returns" (a login
 * from the previous address) in the current window.
 *
 * Table: open addressing (linear probing) on the terminal key, grown by doubling while the
 * load is over 1/2, never past max_terminals entries; entries are never removed (a terminal
 * seen once keeps its slot: the registry bounds the set in allow-list mode, max_terminals
 * otherwise). Addresses are kept as 16 bytes (IPv4 as v4-mapped IPv6).
 * Pure; thread: one caller at a time (the worker's consumer thread). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/sec.h"

struct imp_ent {
    uint32_t term;
    uint8_t used, has_prev;
    uint32_t returns;
    int64_t win_start_s, last_hit_s; /* last_hit_s: INT64_MIN before the first report */
    uint8_t cur[16], prev[16];
};

struct sec_imp {
    int64_t window_s;
    uint32_t min_returns;
    size_t max_terminals;
    struct imp_ent *v;
    size_t cap, n;               /* slots (power of two), used */
    size_t untracked;
};

/* "a.b.c.d:port", "v6:port" (the front's format: no brackets, so the port is always the
 * part after the last colon) or "[v6]:port" into 16 bytes. 0 or -1. */
static int peer_addr(const char *peer, uint8_t out[16])
{
    char s[64];
    size_t n = strlen(peer);
    struct in_addr a4;

    if (n == 0 || n >= sizeof(s))
        return -1;
    memcpy(s, peer, n + 1);
    char *colon = strrchr(s, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    char *a = s;
    if (a[0] == '[' && (n = strlen(a)) > 1 && a[n - 1] == ']') {
        a[n - 1] = '\0';
        a++;
    }
    if (inet_pton(AF_INET, a, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xFF;
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, a, out) == 1 ? 0 : -1;
}

static void addr_text(const uint8_t a[16], char *out, size_t len)
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
    if (memcmp(a, mapped, 12) == 0)
        inet_ntop(AF_INET, a + 12, out, (socklen_t)len);
    else
        inet_ntop(AF_INET6, a, out, (socklen_t)len);
}

static size_t slot_of(uint32_t term, size_t cap)
{
    return (size_t)((term * 2654435761u) & (uint32_t)(cap - 1));
}

static struct imp_ent *find(struct imp_ent *v, size_t cap, uint32_t term)
{
    size_t i = slot_of(term, cap);
    while (v[i].used && v[i].term != term)
        i = (i + 1) & (cap - 1);
    return &v[i];
}

static void grow(struct sec_imp *d)
{
    size_t cap = d->cap * 2;
    struct imp_ent *v = mf_calloc(cap, sizeof(*v));
    for (size_t i = 0; i < d->cap; i++)
        if (d->v[i].used)
            *find(v, cap, d->v[i].term) = d->v[i];
    free(d->v);
    d->v = v;
    d->cap = cap;
}

struct sec_imp *sec_imp_new(int64_t window_s, uint32_t min_returns, size_t max_terminals)
{
    struct sec_imp *d = mf_calloc(1, sizeof(*d));
    d->window_s = window_s > 0 ? window_s : 1;
    d->min_returns = min_returns ? min_returns : 1;
    d->max_terminals = max_terminals ? max_terminals : 1;
    d->cap = 1024;
    d->v = mf_calloc(d->cap, sizeof(*d->v));
    return d;
}

/* The entry of term, created if there is room; NULL when the table is full. */
static struct imp_ent *entry(struct sec_imp *d, uint32_t term, int *fresh)
{
    struct imp_ent *e = find(d->v, d->cap, term);
    *fresh = 0;
    if (e->used)
        return e;
    if (d->n >= d->max_terminals) {
        d->untracked++;
        return NULL;
    }
    if ((d->n + 1) * 2 > d->cap) {
        grow(d);
        e = find(d->v, d->cap, term);
    }
    memset(e, 0, sizeof(*e));
    e->used = 1;
    e->term = term;
    e->last_hit_s = INT64_MIN;
    d->n++;
    *fresh = 1;
    return e;
}

int sec_imp_login(struct sec_imp *d, uint32_t term, const char *peer, int64_t now_s,
                  struct sec_imp_hit *hit)
{
    uint8_t a[16];
    int fresh;

    if (!peer || peer_addr(peer, a) != 0)
        return MF_EINVAL;
    struct imp_ent *e = entry(d, term, &fresh);
    if (!e)
        return 0;
    if (fresh) {
        memcpy(e->cur, a, 16);
        e->win_start_s = now_s;
        return 0;
    }
    if (memcmp(e->cur, a, 16) == 0)
        return 0; /* the same address again: a reconnect, not a switch */
    if (now_s - e->win_start_s > d->window_s) {
        e->win_start_s = now_s;
        e->returns = 0;
    }
    if (e->has_prev && memcmp(e->prev, a, 16) == 0)
        e->returns++;
    memcpy(e->prev, e->cur, 16);
    memcpy(e->cur, a, 16);
    e->has_prev = 1;
    if (e->returns < d->min_returns)
        return 0;
    if (e->last_hit_s != INT64_MIN && now_s - e->last_hit_s <= d->window_s)
        return 0; /* reported within the window: once per window */
    e->last_hit_s = now_s;
    addr_text(e->cur, hit->cur, sizeof(hit->cur));
    addr_text(e->prev, hit->prev, sizeof(hit->prev));
    hit->returns = e->returns;
    hit->since_s = e->win_start_s;
    return 1;
}

size_t sec_imp_untracked(const struct sec_imp *d)
{
    return d->untracked;
}

void sec_imp_free(struct sec_imp *d)
{
    if (!d)
        return;
    free(d->v);
    free(d);
}
