/* worker_recollect.c -- automatic re-collection of missing daily frozen values.
 *
 * The rollup of day D plans one task per missing point (store_recollect, state "pending",
 * deadline = end of D + recollect_deadline_hours) once D is over and until that deadline;
 * its first attempt waits recollect_after_min past the end of D, the time terminals take
 * to report their frozen values actively (asking every point at 00:00 would only repeat
 * what the active reports bring a few minutes later). A point that already has a task for
 * D (any state) is not planned again, so planning is idempotent against the store: a
 * restart or another rollup of D keeps the attempts and the state; a point whose value the
 * rollup now counts closes its open task ("done"), so a task is done as soon as the
 * rollup after the answer sees the value, not only at its next attempt.
 * wk_recollect_days names the past days still within the deadline whose collection is
 * incomplete; the scheduler rolls them up, so every such day is planned, not only yesterday.
 * worker_recollect_tick sends the due tasks
 * as AFN=0D F161 (or F1) requests with Td_d = D to online terminals: a command row in the
 * store, then a downlink JSON command on MQ_DOWNLINK. Limits: recollect_per_min in all and
 * recollect_per_terminal_per_min per terminal, so a county's worth of missing points is
 * spread over time and no terminal is flooded. Before sending, the stored value is checked:
 * a point whose value arrived (the answer comes back on uplink like any frame) is marked
 * "done" instead, so correctness does not depend on this process's memory. A request that
 * is denied (the terminal has no value for D yet) or unanswered is asked again
 * recollect_retry_min after it was sent. A terminal whose clock is known to be behind is
 * not asked before its own clock has passed the end of D (clock_wait): the request would
 * only be denied.
 * Thread: the analytics thread or a worker_*_run caller, serialised by w->amu. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/gw3761.h"
#include "worker/worker_int.h"

#define WK_MOD "recollect"
#define WK_RC_DATES 16

struct wk_recollect {
    int enabled, fn, per_min, per_term_min, retry_s, deadline_s, timeout_ms, after_s;
    int32_t expired[WK_RC_DATES]; /* days whose open tasks were marked expired (ring) */
    size_t nexpired;
    uint32_t *online; /* sorted terminal keys online at the last rollup */
    size_t nonline;
    int64_t minute;   /* rate-limit window */
    int sent;
    uint32_t *tkey;   /* per-terminal counts in this minute: open addressing */
    uint16_t *tcnt;
    size_t tslots;
};

static struct wk_recollect *rc_get(struct worker *w)
{
    if (w->rc)
        return w->rc;
    struct wk_recollect *rc = mf_calloc(1, sizeof(*rc));
    rc->enabled = mf_config_bool(w->cfg, "worker", "recollect");
    rc->fn = strcmp(mf_config_str(w->cfg, "worker", "recollect_fn"), "f1") == 0 ? 1 : 161;
    rc->per_min = (int)mf_config_int(w->cfg, "worker", "recollect_per_min");
    rc->per_term_min = (int)mf_config_int(w->cfg, "worker", "recollect_per_terminal_per_min");
    rc->retry_s = (int)mf_config_int(w->cfg, "worker", "recollect_retry_min") * 60;
    rc->deadline_s = (int)mf_config_int(w->cfg, "worker", "recollect_deadline_hours") * 3600;
    rc->timeout_ms = (int)mf_config_int(w->cfg, "worker", "recollect_timeout_ms");
    rc->after_s = (int)mf_config_int(w->cfg, "worker", "recollect_after_min") * 60;
    rc->tslots = 64;
    while (rc->tslots < (size_t)rc->per_min * 2)
        rc->tslots *= 2;
    rc->tkey = mf_calloc(rc->tslots, sizeof(*rc->tkey));
    rc->tcnt = mf_calloc(rc->tslots, sizeof(*rc->tcnt));
    w->rc = rc;
    return rc;
}

void wk_recollect_free(struct wk_recollect *rc)
{
    if (!rc)
        return;
    free(rc->online);
    free(rc->tkey);
    free(rc->tcnt);
    free(rc);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int is_online(const struct wk_recollect *rc, uint32_t term)
{
    if (!rc->online || rc->nonline == 0) /* no rollup yet: nobody known online */
        return 0;
    return bsearch(&term, rc->online, rc->nonline, sizeof(term), cmp_u32) != NULL;
}

/* A task of `day` as the store lists it (store_recollect_json item); the state is one of
 * our static strings. 0, or MF_EINVAL for an item we cannot read. */
static int task_from_json(json_t *it, int32_t day, struct store_recollect *x)
{
    static const char *const states[] = { "pending", "sent", "done", "expired" };
    const char *state = json_string_value(json_object_get(it, "state"));
    const char *term = json_string_value(json_object_get(it, "terminal"));
    const char *dl = json_string_value(json_object_get(it, "deadline_at"));
    const char *na = json_string_value(json_object_get(it, "next_at"));
    uint16_t a1, a2;
    memset(x, 0, sizeof(*x));
    for (size_t k = 0; state && k < MF_ARRAY_LEN(states); k++)
        if (strcmp(state, states[k]) == 0)
            x->state = states[k];
    if (!x->state || !term || gw_terminal_parse(term, &a1, &a2) != 0)
        return MF_EINVAL;
    if (dl)
        mf_time_parse(dl, &x->deadline_at);
    if (na)
        mf_time_parse(na, &x->next_at);
    x->term = gw_terminal_key(a1, a2);
    x->pn = (uint16_t)json_integer_value(json_object_get(it, "pn"));
    x->date = day;
    x->attempts = (int32_t)json_integer_value(json_object_get(it, "attempts"));
    x->cmd_id = json_integer_value(json_object_get(it, "cmd_id"));
    return 0;
}

static int task_open(const struct store_recollect *t)
{
    return strcmp(t->state, "pending") == 0 || strcmp(t->state, "sent") == 0;
}

static uint64_t task_key(const struct store_recollect *t)
{
    return proc_point_key(t->term, t->pn);
}

static int cmp_task(const void *a, const void *b)
{
    uint64_t x = task_key(a), y = task_key(b);
    return (x > y) - (x < y);
}

/* Every task of `day` (any state), page by page; *out sorted by point key. 0 or a store
 * status. */
static int day_tasks(struct worker *w, int32_t day, struct store_recollect **out, size_t *nout)
{
    struct store_recollect *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (int page = 1; rc == 0; page++) {
        struct store_page pg = { page, 1000 };
        json_t *j = NULL, *it;
        size_t i;
        if ((rc = store_recollect_json(w->ast, day, &pg, &j)) != 0)
            break;
        json_t *items = json_object_get(j, "items");
        json_array_foreach(items, i, it) {
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                v = mf_realloc(v, cap * sizeof(*v));
            }
            if (task_from_json(it, day, &v[n]) == 0)
                n++;
        }
        size_t got = json_array_size(items);
        json_decref(j);
        if (got < 1000)
            break;
    }
    if (rc == 0 && n > 1)
        qsort(v, n, sizeof(*v), cmp_task);
    *out = v;
    *nout = n;
    return rc;
}

void wk_recollect_online(struct worker *w, const struct proc_point *pts, const uint8_t *online,
                         size_t n)
{
    struct wk_recollect *rc = rc_get(w);
    size_t k = 0;
    free(rc->online);
    rc->online = mf_malloc((n ? n : 1) * sizeof(*rc->online));
    for (size_t i = 0; i < n; i++) {
        uint32_t t = proc_point_terminal(pts[i].key);
        if (online[i] && (k == 0 || rc->online[k - 1] != t))
            rc->online[k++] = t; /* points are in key order, so terminals are sorted */
    }
    rc->nonline = k;
}

int wk_recollect_plan(struct worker *w, int32_t day, const struct proc_point *pts,
                      const struct proc_cons *cons, size_t n, int64_t now, struct wk_recs *recs)
{
    struct wk_recollect *rc = rc_get(w);
    int64_t end = wk_day_start_utc(day + 1), deadline = end + rc->deadline_s;
    if (!rc->enabled || now < end)
        return 0; /* a day not over yet has no frozen value to ask for */
    struct store_recollect *have = NULL, *x;
    size_t nhave = 0;
    int s = day_tasks(w, day, &have, &nhave);
    for (size_t i = 0; s == 0 && i < n; i++) {
        struct store_recollect probe = { .term = proc_point_terminal(pts[i].key),
                                         .pn = proc_point_pn(pts[i].key) };
        const struct store_recollect *t =
            nhave ? bsearch(&probe, have, nhave, sizeof(*have), cmp_task) : NULL;
        if (cons[i].status != PROC_CONS_MISSING) {
            if (t && task_open(t)) { /* its value arrived: counted by this rollup */
                x = wk_recs_recollect(recs);
                *x = *t;
                x->state = "done";
                x->updated_at = now;
            }
            continue;
        }
        if (t || now >= deadline)
            continue; /* planned before (attempts and state kept), or too late */
        x = wk_recs_recollect(recs);
        x->term = probe.term;
        x->pn = probe.pn;
        x->date = day;
        x->state = "pending";
        x->next_at = MF_MAX(now, end + rc->after_s);
        x->deadline_at = deadline;
        x->updated_at = now;
    }
    free(have);
    return s;
}

/* Days before today still within the deadline whose collection is incomplete (stored
 * collected < expected) or was never rolled up: the scheduler rolls them up, which plans
 * their tasks. At most cap days, newest first. */
size_t wk_recollect_days(struct worker *w, int64_t now, int32_t *v, size_t cap)
{
    pthread_mutex_lock(&w->amu);
    struct wk_recollect *rc = rc_get(w);
    int enabled = rc->enabled, deadline_s = rc->deadline_s;
    pthread_mutex_unlock(&w->amu);
    int32_t today = wk_civil_day(now), first = today - 1 - (deadline_s + 86399) / 86400;
    uint8_t complete[WK_RC_DATES + 2] = { 0 };
    json_t *j = NULL, *it;
    size_t i, n = 0;
    if (today - 1 - first > WK_RC_DATES)
        first = today - 1 - WK_RC_DATES; /* complete[] bound (deadline up to 720 h) */
    if (!enabled || store_kpi_collect_json(w->ast, first, today - 1, NULL, &j) != 0)
        return 0;
    json_array_foreach(j, i, it) {
        int32_t d;
        if (mf_date_parse(json_string_value(json_object_get(it, "date")), &d) != 0)
            continue; /* the store writes "YYYY-MM-DD": never in practice */
        int64_t e = json_integer_value(json_object_get(it, "expected"));
        int64_t c = json_integer_value(json_object_get(it, "collected"));
        if (d >= first && d < today && c >= e)
            complete[d - first] = 1;
    }
    json_decref(j);
    for (int32_t d = today - 1; d >= first && n < cap; d--)
        if (!complete[d - first] && now < wk_day_start_utc(d + 1) + deadline_s)
            v[n++] = d;
    return n;
}

/* p<pn> F<fn> with Td_d: DA DT + DD MM YY (BCD), 7 bytes. 0 or MF_EINVAL. */
int wk_recollect_units(uint16_t pn, uint8_t fn, int32_t day, uint8_t out[7])
{
    int y, m, d;
    if (gw_dadt_encode(pn, fn, out) != 0)
        return MF_EINVAL;
    mf_days_to_date(day, &y, &m, &d);
    if (y < 2000 || y > 2099)
        return MF_EINVAL;
    out[4] = (uint8_t)((d / 10) << 4 | d % 10);
    out[5] = (uint8_t)((m / 10) << 4 | m % 10);
    out[6] = (uint8_t)(((y % 100) / 10) << 4 | y % 10);
    return 0;
}

/* Per-terminal counter of this minute; returns a pointer to the count (0 when new). */
static uint16_t *term_count(struct wk_recollect *rc, uint32_t term)
{
    size_t i = (term * 2654435761u) & (rc->tslots - 1);
    for (size_t probes = 0; probes < rc->tslots; probes++, i = (i + 1) & (rc->tslots - 1)) {
        if (rc->tcnt[i] == 0 || rc->tkey[i] == term) {
            rc->tkey[i] = term;
            return &rc->tcnt[i];
        }
    }
    return NULL; /* full: cannot happen, sent <= per_min < tslots / 2 */
}

struct due_list {
    struct store_recollect *v;
    size_t n, cap;
};

static int due_cb(void *opaque, const struct store_recollect *r)
{
    struct due_list *l = opaque;
    if (l->n < l->cap) {
        l->v[l->n] = *r;
        l->v[l->n].state = NULL; /* borrowed strings are not kept */
        l->n++;
    }
    return 0;
}

/* Create the command row, then publish the downlink JSON. 0 (sent, *cmd_id set) or a
 * negative status (nothing sent; the task stays due). */
static int send_request(struct worker *w, struct wk_recollect *rc, const struct store_recollect *t,
                        int64_t now, int64_t *cmd_id)
{
    uint8_t units[7];
    char hex[7 * 3 + 1], term[GW_TERMINAL_STRLEN], date[16];
    int y, m, d;
    if (wk_recollect_units(t->pn, (uint8_t)rc->fn, t->date, units) != 0)
        return MF_EINVAL;
    mf_hex_encode(units, sizeof(units), hex, sizeof(hex));
    gw_terminal_format((uint16_t)(t->term >> 16), (uint16_t)t->term, term);
    mf_days_to_date(t->date, &y, &m, &d);
    snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
    json_t *req = json_pack("{s:s, s:i, s:i, s:s, s:s}", "kind", "recollect", "fn", rc->fn,
                            "pn", (int)t->pn, "date", date, "units_hex", hex);
    char *req_text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    struct store_command c = { t->term, GW_AFN_CLASS2, req_text, "recollect", now };
    int st_rc = store_command_create(w->ast, &c, cmd_id);
    free(req_text);
    if (st_rc != 0)
        return st_rc;
    json_t *o = json_pack("{s:I, s:s, s:i, s:s, s:b, s:i, s:i, s:i}", "cmd_id",
                          (json_int_t)*cmd_id, "terminal", term, "afn", GW_AFN_CLASS2,
                          "units_hex", hex, "con", 0, "timeout_ms", rc->timeout_ms, "retries", 3,
                          "tp_delay_min", 0);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int q_rc = mq_publish(w->q, MQ_DOWNLINK, term, strlen(term), text, strlen(text));
    free(text);
    if (q_rc != 0) {
        struct store_cmd_result fr = { *cmd_id, STORE_CMD_FAILED, 0,
                                       "{\"detail\":\"downlink queue refused the command\"}",
                                       now };
        (void)store_command_update(w->ast, &fr);
    }
    return q_rc;
}

/* Seconds to wait before asking the terminal for D: until its own clock -- the master's
 * time plus its newest known offset, read within WK_RC_CLOCK_FRESH_S -- has passed the end
 * of D by WK_RC_FREEZE_S, the time to freeze the day (recollect_after_min is applied in the
 * master's time by the plan; an offset read a minute ago under-estimates a fast clock). A
 * terminal whose clock is behind (a simulator replaying past days, a clock not yet set)
 * has no frozen value for D before that and denies the request. 0: ask now (clock on time
 * or ahead, or no fresh reading: asked as before). */
#define WK_RC_CLOCK_FRESH_S (6 * 3600)
#define WK_RC_FREEZE_S 60
static int64_t clock_wait(struct worker *w, const struct wk_recollect *rc,
                          const struct store_recollect *t, int64_t now)
{
    int32_t off = 0;
    int64_t at = 0;
    if (store_terminal_clock(w->ast, t->term, &off, &at) != 0 || at > now ||
        now - at > WK_RC_CLOCK_FRESH_S || off >= 0)
        return 0;
    int64_t need = wk_day_start_utc(t->date + 1) + WK_RC_FREEZE_S;
    (void)rc;
    int64_t tnow = now + off;
    return tnow >= need ? 0 : need - tnow;
}

/* Decide one due task: done, postponed, sent or left due. Returns 1 when a request was sent,
 * 0 otherwise, a negative status to stop the tick. */
static int task_step(struct worker *w, struct wk_recollect *rc, struct store_recollect *t,
                     int64_t now, struct wk_recs *upd)
{
    double v;
    int vst;
    struct store_recollect *x;
    if (store_frozen_get(w->ast, t->term, t->pn, STORE_FROZEN_DAILY, STORE_ITEM_AP_FWD, t->date, 0,
                         &v, &vst) == 0 && vst == STORE_V_OK) {
        x = wk_recs_recollect(upd);
        *x = *t;
        x->state = "done";
        x->updated_at = now;
        return 0;
    }
    if (!is_online(rc, t->term)) {
        x = wk_recs_recollect(upd);
        *x = *t;
        x->state = t->cmd_id ? "sent" : "pending";
        x->next_at = now + rc->retry_s;
        x->updated_at = now;
        return 0;
    }
    int64_t wait = clock_wait(w, rc, t, now);
    if (wait > 0) { /* re-checked with a fresh offset at least every recollect_retry_min */
        x = wk_recs_recollect(upd);
        *x = *t;
        x->state = t->cmd_id ? "sent" : "pending";
        x->next_at = now + MF_MIN(wait, (int64_t)rc->retry_s);
        x->updated_at = now;
        return 0;
    }
    uint16_t *cnt = term_count(rc, t->term);
    if (!cnt || *cnt >= rc->per_term_min)
        return 0; /* stays due: next minute */
    int64_t cmd_id = 0;
    int s = send_request(w, rc, t, now, &cmd_id);
    if (s != 0)
        return mf_status_is_retry(s) ? s : 0;
    (*cnt)++;
    x = wk_recs_recollect(upd);
    *x = *t;
    x->state = "sent";
    x->attempts = t->attempts + 1;
    x->next_at = now + rc->retry_s;
    x->cmd_id = cmd_id;
    x->updated_at = now;
    return 1;
}

/* Mark the open (pending/sent) tasks of `day` expired, attempts and command kept. */
static int expire_day(struct worker *w, int32_t day, int64_t now)
{
    struct store_recollect *v = NULL;
    size_t n = 0;
    struct wk_recs upd;
    wk_recs_init(&upd);
    int rc = day_tasks(w, day, &v, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!task_open(&v[i]))
            continue;
        struct store_recollect *x = wk_recs_recollect(&upd);
        *x = v[i];
        x->state = "expired";
        x->updated_at = now;
    }
    if (rc == 0 && upd.total) {
        mf_info(WK_MOD, "day %d: %zu re-collection task(s) expired", day, upd.total);
        rc = wk_write_retry(w, &upd);
    }
    wk_recs_fini(&upd);
    free(v);
    return rc;
}

/* The days whose deadline has passed since the last check get their open tasks expired. */
static int expire_due(struct worker *w, struct wk_recollect *rc, int64_t now)
{
    int32_t last = wk_civil_day(now - rc->deadline_s) - 1;
    for (int32_t d = last - 1; d <= last; d++) {
        int done = 0;
        if (now < wk_day_start_utc(d + 1) + rc->deadline_s)
            continue;
        for (size_t i = 0; i < rc->nexpired && i < WK_RC_DATES; i++)
            done |= rc->expired[i] == d;
        if (done)
            continue;
        int s = expire_day(w, d, now);
        if (s != 0)
            return s;
        rc->expired[rc->nexpired++ % WK_RC_DATES] = d;
    }
    return 0;
}

int worker_recollect_tick(struct worker *w, int64_t now)
{
    pthread_mutex_lock(&w->amu);
    struct wk_recollect *rc = rc_get(w);
    int sent = 0, rcode = 0;
    if (!rc->enabled)
        goto out;
    if ((rcode = expire_due(w, rc, now)) != 0)
        goto out;
    if (now / 60 != rc->minute) {
        rc->minute = now / 60;
        rc->sent = 0;
        memset(rc->tcnt, 0, rc->tslots * sizeof(*rc->tcnt));
    }
    int budget = rc->per_min - rc->sent;
    if (budget <= 0)
        goto out;
    struct due_list due = { NULL, 0, (size_t)MF_MIN(budget * 4, 4096) };
    due.v = mf_calloc(due.cap, sizeof(*due.v));
    rcode = store_recollect_due(w->ast, now, (int)due.cap, due_cb, &due);
    struct wk_recs upd;
    wk_recs_init(&upd);
    for (size_t i = 0; rcode == 0 && i < due.n && sent < budget; i++) {
        int s = task_step(w, rc, &due.v[i], now, &upd);
        if (s < 0)
            rcode = s;
        else
            sent += s;
    }
    rc->sent += sent;
    if (upd.total) {
        int wrc = wk_write_retry(w, &upd);
        if (rcode == 0)
            rcode = wrc;
    }
    wk_recs_fini(&upd);
    free(due.v);
    wk_stat_add(w, &w->stats.recollect_sent, (uint64_t)sent);
out:
    pthread_mutex_unlock(&w->amu);
    return rcode < 0 ? rcode : sent;
}
