/* worker_recs.c -- records accumulated for one store batch, and the arena that keeps the
 * strings and bytes they point to.
 *
 * Invariant: every pointer inside a record in a wk_recs points into its arena or to a
 * static string, so records outlive the queue messages and frames they came from and the
 * batch can be retried after the queue batch memory is gone.
 * Thread: a wk_recs belongs to one thread (the consumer loop, or an analytics run). */
#include <stdlib.h>
#include <string.h>

#include "worker/worker_int.h"

#define WK_BLOCK_SIZE (64u * 1024u)

struct wk_block {
    struct wk_block *next;
    size_t used, cap;
    char data[];
};

char *wk_arena_dup(struct wk_arena *a, const void *p, size_t n)
{
    struct wk_block *b = a->head;
    if (!b || b->cap - b->used < n + 1) {
        size_t cap = n + 1 > WK_BLOCK_SIZE ? n + 1 : WK_BLOCK_SIZE;
        b = mf_malloc(sizeof(*b) + cap);
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    char *out = b->data + b->used;
    if (n)
        memcpy(out, p, n);
    out[n] = 0;
    b->used += n + 1;
    a->bytes += n + 1;
    return out;
}

/* Keep only the oldest (first allocated, last in the list) block, emptied. */
static void arena_reset(struct wk_arena *a)
{
    struct wk_block *b = a->head, *keep = NULL;
    while (b) {
        struct wk_block *next = b->next;
        if (!next && b->cap == WK_BLOCK_SIZE) {
            keep = b;
            keep->used = 0;
        } else {
            free(b);
        }
        b = next;
    }
    a->head = keep;
    a->bytes = 0;
}

static void arena_fini(struct wk_arena *a)
{
    while (a->head) {
        struct wk_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    a->bytes = 0;
}

static void *vec_slot(void **v, size_t *n, size_t *cap, size_t elt)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        *v = mf_realloc(*v, nc * elt);
        *cap = nc;
    }
    char *slot = (char *)*v + (*n)++ * elt;
    memset(slot, 0, elt);
    return slot;
}

#define VEC_PUSH(r, vec) ((r)->total++, vec_slot((void **)&(vec).v, &(vec).n, &(vec).cap, sizeof(*(vec).v)))

void wk_recs_init(struct wk_recs *r)
{
    memset(r, 0, sizeof(*r));
}

void wk_recs_reset(struct wk_recs *r)
{
    r->energy.n = r->instant.n = r->frozen.n = r->curve.n = r->events.n = r->ec.n = 0;
    r->clocks.n = r->versions.n = r->meter_cfg.n = r->fwd645.n = r->frames.n = 0;
    r->sessions.n = r->cmd_results.n = r->daily_use.n = r->collect.n = r->missing.n = 0;
    r->line_loss.n = r->anomalies.n = r->online.n = r->recollect.n = 0;
    r->total = 0;
    arena_reset(&r->arena);
}

void wk_recs_fini(struct wk_recs *r)
{
    free(r->energy.v);
    free(r->instant.v);
    free(r->frozen.v);
    free(r->curve.v);
    free(r->events.v);
    free(r->ec.v);
    free(r->clocks.v);
    free(r->versions.v);
    free(r->meter_cfg.v);
    free(r->fwd645.v);
    free(r->frames.v);
    free(r->sessions.v);
    free(r->cmd_results.v);
    free(r->daily_use.v);
    free(r->collect.v);
    free(r->missing.v);
    free(r->line_loss.v);
    free(r->anomalies.v);
    free(r->online.v);
    free(r->recollect.v);
    arena_fini(&r->arena);
    memset(r, 0, sizeof(*r));
}

/* Copy a string into the arena; NULL stays NULL. */
static const char *sdup(struct wk_recs *r, const char *s)
{
    return s ? wk_arena_dup(&r->arena, s, strlen(s)) : NULL;
}

static const uint8_t *bdup(struct wk_recs *r, const uint8_t *p, size_t n)
{
    return p ? (const uint8_t *)wk_arena_dup(&r->arena, p, n) : NULL;
}

/* Records whose strings are static item codes still get them copied: cheap, and it keeps
 * the invariant simple (nothing in a batch borrows from outside the arena). */
static int recs_add_values(struct wk_recs *r, const struct proc_rec *rec)
{
    switch (rec->type) {
    case PROC_REC_ENERGY: {
        struct store_energy *x = VEC_PUSH(r, r->energy);
        *x = rec->u.energy;
        x->item = sdup(r, x->item);
        return 0;
    }
    case PROC_REC_INSTANT: {
        struct store_instant *x = VEC_PUSH(r, r->instant);
        *x = rec->u.instant;
        x->quantity = sdup(r, x->quantity);
        return 0;
    }
    case PROC_REC_FROZEN: {
        struct store_frozen *x = VEC_PUSH(r, r->frozen);
        *x = rec->u.frozen;
        x->item = sdup(r, x->item);
        return 0;
    }
    case PROC_REC_CURVE: {
        struct store_curve *x = VEC_PUSH(r, r->curve);
        *x = rec->u.curve;
        x->item = sdup(r, x->item);
        return 0;
    }
    default:
        return MF_EINVAL;
    }
}

static int recs_add_terminal(struct wk_recs *r, const struct proc_rec *rec)
{
    switch (rec->type) {
    case PROC_REC_EVENT: {
        struct store_event *x = VEC_PUSH(r, r->events);
        *x = rec->u.event;
        x->fields_json = sdup(r, x->fields_json);
        x->raw = bdup(r, x->raw, x->raw_len);
        return 0;
    }
    case PROC_REC_EC:
        *(struct store_ec *)VEC_PUSH(r, r->ec) = rec->u.ec;
        return 0;
    case PROC_REC_CLOCK:
        *(struct store_clock *)VEC_PUSH(r, r->clocks) = rec->u.clock;
        return 0;
    case PROC_REC_VERSION: {
        struct store_version *x = VEC_PUSH(r, r->versions);
        *x = rec->u.version;
        x->vendor = sdup(r, x->vendor);
        x->device = sdup(r, x->device);
        x->sw_version = sdup(r, x->sw_version);
        x->sw_date = sdup(r, x->sw_date);
        x->capacity = sdup(r, x->capacity);
        x->proto_version = sdup(r, x->proto_version);
        x->hw_version = sdup(r, x->hw_version);
        x->hw_date = sdup(r, x->hw_date);
        return 0;
    }
    case PROC_REC_METER_CFG: {
        struct store_meter_cfg *x = VEC_PUSH(r, r->meter_cfg);
        *x = rec->u.meter_cfg;
        x->addr = sdup(r, x->addr);
        x->collector = sdup(r, x->collector);
        return 0;
    }
    default:
        return recs_add_values(r, rec);
    }
}

int wk_recs_add(struct wk_recs *r, const struct proc_rec *rec)
{
    switch (rec->type) {
    case PROC_REC_FWD645: {
        struct store_fwd645 *x = VEC_PUSH(r, r->fwd645);
        *x = rec->u.fwd645;
        x->addr = sdup(r, x->addr);
        x->raw = bdup(r, x->raw, x->raw_len);
        return 0;
    }
    case PROC_REC_FRAME: {
        struct store_frame *x = VEC_PUSH(r, r->frames);
        *x = rec->u.frame;
        x->raw = bdup(r, x->raw, x->raw_len);
        return 0;
    }
    case PROC_REC_SESSION: {
        struct store_session *x = VEC_PUSH(r, r->sessions);
        *x = rec->u.session;
        x->reason = sdup(r, x->reason);
        x->peer = sdup(r, x->peer);
        return 0;
    }
    case PROC_REC_CMD_RESULT: {
        struct store_cmd_result *x = VEC_PUSH(r, r->cmd_results);
        *x = rec->u.cmd_result;
        x->answer_json = sdup(r, x->answer_json);
        return 0;
    }
    default:
        return recs_add_terminal(r, rec);
    }
}

int wk_recs_emit(void *opaque, const struct proc_rec *rec)
{
    return wk_recs_add(opaque, rec);
}

struct store_daily_use *wk_recs_daily_use(struct wk_recs *r)
{
    return VEC_PUSH(r, r->daily_use);
}
struct store_collect *wk_recs_collect(struct wk_recs *r)
{
    return VEC_PUSH(r, r->collect);
}
struct store_missing *wk_recs_missing(struct wk_recs *r)
{
    return VEC_PUSH(r, r->missing);
}
struct store_line_loss *wk_recs_line_loss(struct wk_recs *r)
{
    return VEC_PUSH(r, r->line_loss);
}
struct store_anomaly *wk_recs_anomaly(struct wk_recs *r)
{
    return VEC_PUSH(r, r->anomalies);
}
struct store_online_sample *wk_recs_online(struct wk_recs *r)
{
    return VEC_PUSH(r, r->online);
}
struct store_recollect *wk_recs_recollect(struct wk_recs *r)
{
    return VEC_PUSH(r, r->recollect);
}

void wk_recs_batch(const struct wk_recs *r, struct store_batch *b)
{
    memset(b, 0, sizeof(*b));
#define WK_B(field, vec)                                                                       \
    b->field = r->vec.v;                                                                       \
    b->n_##field = r->vec.n
    WK_B(energy, energy);
    WK_B(instant, instant);
    WK_B(frozen, frozen);
    WK_B(curve, curve);
    WK_B(events, events);
    WK_B(ec, ec);
    WK_B(clocks, clocks);
    WK_B(versions, versions);
    WK_B(meter_cfg, meter_cfg);
    WK_B(fwd645, fwd645);
    WK_B(frames, frames);
    WK_B(sessions, sessions);
    WK_B(cmd_results, cmd_results);
    WK_B(daily_use, daily_use);
    WK_B(collect, collect);
    WK_B(missing, missing);
    WK_B(line_loss, line_loss);
    WK_B(anomalies, anomalies);
    WK_B(online, online);
    WK_B(recollect, recollect);
#undef WK_B
}
