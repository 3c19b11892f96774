/* store_write.c -- store_batch_write (one transaction per batch) and retention.
 *
 * A batch is checked against its caps before the transaction starts (nothing half-checked
 * reaches the database), then written table by table in the order of struct store_batch, then
 * committed together with its table_stats row counts. Any failure rolls everything back:
 * the caller retries the same batch (MF_ERETRY) or gives up on it (MF_EFATAL).
 *
 * Energy indications are grouped into one row per report (store_write_energy.c).
 * The four reading tables go through the bulk protocol (sq_row_end / sq_flush): row by row
 * on SQLite (a prepared INSERT costs a few microseconds), chunks of unnest() arrays on
 * PostgreSQL (one round trip per chunk instead of one per row).
 *
 * Thread: any, under st->mu. */
#include <string.h>
#include <time.h>

#include "store/store_int.h"

#define JSON_TEXT_MAX 65536u
#define FRAME_MAX 16391u /* L <= 16383 plus the 8 bytes around the user data */
#define TEXT_MAX 256u

void sq_term(struct sq *q, uint32_t term, char *buf)
{
    st_term_format(term, buf);
    sq_text(q, buf);
}

/* sq_get is called for every row: it starts the row's binding at $1 (a bulk statement has
 * already restarted in sq_row_end, a plain one in sq_run). */
int st_write_rows(struct store *st, int id, enum st_table tab, enum st_rows_count count,
                  const void *rec, size_t size, size_t n, st_bind_fn bind)
{
    struct sq *q = NULL;
    int64_t ch = 0;
    char t[12];
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((q = sq_get(st, id)) == NULL) {
            rc = MF_EFATAL;
            break;
        }
        bind(q, (const char *)rec + i * size, t);
        rc = sq_row_end(q, &ch);
    }
    if (rc == 0 && q)
        rc = sq_flush(q, &ch); /* 0 for a plain statement */
    st_count(st, tab, count == ST_INSERT ? ch : 0);
    return rc;
}

static int code_ok(const char *s)
{
    return s && s[0] && strlen(s) <= STORE_CODE_MAX;
}

static int text_ok(const char *s, size_t max)
{
    return !s || strlen(s) <= max;
}

/* Caps of every record, before any write. */
static int batch_check(struct store *st, const struct store_batch *b)
{
    size_t total = b->n_energy + b->n_instant + b->n_frozen + b->n_curve + b->n_events +
                   b->n_ec + b->n_clocks + b->n_versions + b->n_meter_cfg + b->n_fwd645 +
                   b->n_frames + b->n_sessions + b->n_cmd_results + b->n_daily_use +
                   b->n_collect + b->n_missing + b->n_line_loss + b->n_anomalies + b->n_online +
                   b->n_recollect;

    if (total > STORE_BATCH_MAX) {
        st_err(st, "batch of %zu records exceeds %u", total, STORE_BATCH_MAX);
        return MF_ERANGE;
    }
#define CHECK_ALL(arr, n, cond, what)                                                          \
    for (size_t i = 0; i < (n); i++)                                                           \
        if (!(cond)) {                                                                         \
            st_err(st, "batch: %s[%zu]: bad or oversized field", what, i);                     \
            return MF_EINVAL;                                                                  \
        }
    CHECK_ALL(b->energy, b->n_energy, code_ok(b->energy[i].item) && b->energy[i].status <= 2,
              "energy");
    CHECK_ALL(b->instant, b->n_instant,
              code_ok(b->instant[i].quantity) && b->instant[i].status <= 2, "instant");
    CHECK_ALL(b->frozen, b->n_frozen,
              code_ok(b->frozen[i].item) && b->frozen[i].status <= 2 && b->frozen[i].kind >= 1 &&
                  b->frozen[i].kind <= 3,
              "frozen");
    CHECK_ALL(b->curve, b->n_curve, code_ok(b->curve[i].item) && b->curve[i].status <= 2,
              "curve");
    CHECK_ALL(b->events, b->n_events,
              b->events[i].raw_len <= 257 && (b->events[i].raw || !b->events[i].raw_len) &&
                  text_ok(b->events[i].fields_json, JSON_TEXT_MAX),
              "events");
    CHECK_ALL(b->frames, b->n_frames,
              (b->frames[i].raw || !b->frames[i].raw_len) &&
                  b->frames[i].raw_len <= FRAME_MAX &&
                  text_ok(b->frames[i].error, TEXT_MAX),
              "frames");
    CHECK_ALL(b->fwd645, b->n_fwd645,
              code_ok(b->fwd645[i].addr) && b->fwd645[i].raw_len <= 512 &&
                  (b->fwd645[i].raw || !b->fwd645[i].raw_len),
              "fwd645");
    CHECK_ALL(b->meter_cfg, b->n_meter_cfg, code_ok(b->meter_cfg[i].addr), "meter_cfg");
    CHECK_ALL(b->sessions, b->n_sessions,
              text_ok(b->sessions[i].reason, TEXT_MAX) && text_ok(b->sessions[i].peer, TEXT_MAX),
              "sessions");
    CHECK_ALL(b->cmd_results, b->n_cmd_results,
              store_cmd_state_name(b->cmd_results[i].state) &&
                  text_ok(b->cmd_results[i].answer_json, JSON_TEXT_MAX),
              "cmd_results");
    CHECK_ALL(b->anomalies, b->n_anomalies,
              code_ok(b->anomalies[i].kind) &&
                  text_ok(b->anomalies[i].evidence_json, JSON_TEXT_MAX),
              "anomalies");
    CHECK_ALL(b->recollect, b->n_recollect, code_ok(b->recollect[i].state), "recollect");
#undef CHECK_ALL
    return 0;
}

/* ---- the reading tables (bulk) ---- */

/* store_write_energy.c: one energy_report row per report */
int st_write_energy(struct store *st, const struct store_energy *r, size_t n);

static void b_instant(struct sq *q, const void *rec, char *t)
{
    const struct store_instant *r = rec;
    sq_term(q, r->term, t);
    sq_i64(q, r->pn);
    sq_i64(q, r->read_at);
    sq_text(q, r->quantity);
    sq_value(q, r->value, r->status);
    sq_i64(q, r->status);
}

static int w_instant(struct store *st, const struct store_instant *r, size_t n)
{
    return st_write_rows(st, Q_INSTANT_BULK, T_INSTANT, ST_INSERT, r, sizeof(*r), n, b_instant);
}

static void b_frozen(struct sq *q, const void *rec, char *t)
{
    const struct store_frozen *r = rec;
    sq_term(q, r->term, t);
    sq_i64(q, r->pn);
    sq_i64(q, r->kind);
    sq_text(q, r->item);
    sq_i64(q, r->date);
    sq_i64(q, r->tariff);
    sq_value(q, r->value, r->status);
    sq_i64(q, r->status);
    sq_i64(q, r->read_at);
}

static int w_frozen(struct store *st, const struct store_frozen *r, size_t n)
{
    return st_write_rows(st, Q_FROZEN_BULK, T_FROZEN, ST_INSERT, r, sizeof(*r), n, b_frozen);
}

static void b_curve(struct sq *q, const void *rec, char *t)
{
    const struct store_curve *r = rec;
    sq_term(q, r->term, t);
    sq_i64(q, r->pn);
    sq_text(q, r->item);
    sq_i64(q, r->ts);
    sq_value(q, r->value, r->status);
    sq_i64(q, r->status);
}

static int w_curve(struct store *st, const struct store_curve *r, size_t n)
{
    return st_write_rows(st, Q_CURVE_BULK, T_CURVE, ST_INSERT, r, sizeof(*r), n, b_curve);
}

/* ---- events, terminal state ---- */

/* 64-bit FNV-1a of an event record: part of its natural key. */
static int64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001B3ull;
    }
    return (int64_t)h;
}

static void b_events(struct sq *q, const void *rec, char *t)
{
    const struct store_event *r = rec;
    sq_term(q, r->term, t);
    sq_i64(q, r->cls);
    sq_i64(q, r->erc);
    sq_i64(q, r->occurred_at);
    sq_i64(q, fnv1a64(r->raw, r->raw_len));
    sq_i64(q, r->pn);
    sq_i64(q, r->started);
    sq_i64(q, r->severity);
    sq_text(q, r->fields_json);
    sq_blob(q, r->raw ? (const void *)r->raw : "", r->raw_len);
    sq_i64(q, r->received_at);
}

static int w_events(struct store *st, const struct store_event *r, size_t n)
{
    return st_write_rows(st, Q_EVENT_INS, T_EVENTS, ST_INSERT, r, sizeof(*r), n, b_events);
}

static int w_ec(struct store *st, const struct store_ec *r, size_t n)
{
    char t[12];
    for (size_t i = 0; i < n; i++) {
        struct sq *q = sq_get(st, Q_EC_UPS);
        if (!q)
            return MF_EFATAL;
        sq_term(q, r[i].term, t);
        if (r[i].ec1 >= 0 && r[i].ec1 <= 255)
            sq_i64(q, r[i].ec1);
        else
            sq_null(q);
        if (r[i].ec2 >= 0 && r[i].ec2 <= 255)
            sq_i64(q, r[i].ec2);
        else
            sq_null(q);
        sq_i64(q, r[i].at);
        int rc = sq_run(q, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int w_clocks(struct store *st, const struct store_clock *r, size_t n)
{
    int64_t ins = 0, one;
    char t[12];
    for (size_t i = 0; i < n; i++) {
        int64_t off = r[i].terminal_at - r[i].read_at;
        struct sq *q = sq_get(st, Q_CLOCK_INS);
        if (!q)
            return MF_EFATAL;
        sq_term(q, r[i].term, t);
        sq_i64(q, r[i].read_at);
        sq_i64(q, r[i].terminal_at);
        sq_i64(q, off);
        int rc = sq_run(q, &one);
        ins += one;
        if (rc == 0 && (q = sq_get(st, Q_CLOCK_TERM)) == NULL)
            rc = MF_EFATAL;
        if (rc == 0) {
            sq_term(q, r[i].term, t);
            sq_i64(q, off);
            sq_i64(q, r[i].read_at);
            rc = sq_run(q, NULL);
        }
        if (rc != 0)
            return rc;
    }
    st_count(st, T_CLOCK, ins);
    return 0;
}

static int w_versions(struct store *st, const struct store_version *r, size_t n)
{
    char t[12];
    for (size_t i = 0; i < n; i++) {
        struct sq *q = sq_get(st, Q_VERSION_UPS);
        if (!q)
            return MF_EFATAL;
        sq_term(q, r[i].term, t);
        sq_text(q, r[i].vendor);
        sq_text(q, r[i].device);
        sq_text(q, r[i].sw_version);
        sq_text(q, r[i].sw_date);
        sq_text(q, r[i].capacity);
        sq_text(q, r[i].proto_version);
        sq_text(q, r[i].hw_version);
        sq_text(q, r[i].hw_date);
        sq_i64(q, r[i].read_at);
        int rc = sq_run(q, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The entry's address, logged per point for the replacement rule (store_meter_addr_iter). */
static int w_meter_addr(struct store *st, const char *t, const struct store_meter_cfg *r)
{
    struct sq *q = sq_get(st, Q_MADDR_INS);
    if (!q)
        return MF_EFATAL;
    sq_text(q, t);
    sq_i64(q, r->pn);
    sq_i64(q, r->read_at);
    sq_text(q, r->addr);
    return sq_run(q, NULL);
}

static int w_meter_cfg(struct store *st, const struct store_meter_cfg *r, size_t n)
{
    char t[12];
    for (size_t i = 0; i < n; i++) {
        struct sq *q = sq_get(st, r[i].pn == 0 ? Q_MCFG_DEL : Q_MCFG_UPS);
        if (!q)
            return MF_EFATAL;
        sq_term(q, r[i].term, t);
        sq_i64(q, r[i].serial);
        if (r[i].pn != 0) {
            sq_i64(q, r[i].pn);
            sq_i64(q, r[i].port);
            sq_i64(q, r[i].baud);
            sq_i64(q, r[i].protocol);
            sq_text(q, r[i].addr);
            sq_i64(q, r[i].tariffs);
            sq_i64(q, r[i].user_class);
            sq_text(q, r[i].collector);
        }
        sq_i64(q, r[i].read_at);
        int rc = sq_run(q, NULL);
        if (rc == 0 && r[i].pn != 0 && r[i].addr && r[i].addr[0])
            rc = w_meter_addr(st, t, &r[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void b_fwd645(struct sq *q, const void *rec, char *t)
{
    const struct store_fwd645 *r = rec;
    sq_i64(q, r->cmd_id);
    sq_term(q, r->term, t);
    sq_text(q, r->addr);
    sq_i64(q, r->di);
    sq_value(q, r->value, r->status);
    sq_i64(q, r->status);
    sq_blob(q, r->raw, r->raw_len);
    sq_i64(q, r->at);
}

static int w_fwd645(struct store *st, const struct store_fwd645 *r, size_t n)
{
    return st_write_rows(st, Q_FWD_INS, T_FWD645, ST_INSERT, r, sizeof(*r), n, b_fwd645);
}

static void b_frames(struct sq *q, const void *rec, char *t)
{
    const struct store_frame *r = rec;
    sq_term(q, r->term, t);
    sq_i64(q, r->at_us);
    sq_i64(q, r->dir ? 1 : 0);
    sq_blob(q, r->raw ? (const void *)r->raw : "", r->raw_len);
    sq_text(q, r->error);
}

static int w_frames(struct store *st, const struct store_frame *r, size_t n)
{
    return st_write_rows(st, Q_FRAME_INS, T_FRAMES, ST_INSERT, r, sizeof(*r), n, b_frames);
}

static void b_sess_log(struct sq *q, const void *rec, char *t)
{
    const struct store_session *r = rec;
    sq_term(q, r->term, t);
    sq_i64(q, r->at);
    sq_i64(q, r->online ? 1 : 0);
    sq_text(q, r->reason);
    sq_text(q, r->peer);
    if (r->has_clock_offset)
        sq_i64(q, r->clock_offset_s);
    else
        sq_null(q);
}

static void b_sess_term(struct sq *q, const void *rec, char *t)
{
    const struct store_session *r = rec;
    sq_term(q, r->term, t);
    sq_i64(q, r->online ? 1 : 0);
    sq_i64(q, r->at);
    sq_text(q, r->peer);
    if (r->has_clock_offset) {
        sq_i64(q, r->clock_offset_s);
        sq_i64(q, r->at);
    } else {
        sq_null(q);
        sq_null(q);
    }
}

/* The session log first (bulk on PostgreSQL), then each change's terminal row: an upsert that
 * may touch one terminal several times per batch, so not one statement; Q_SESS_TERM is
 * pipelined on PostgreSQL instead (store_pg.c pipe_plain). In one transaction the order of the two
 * tables does not matter. */
static int w_sessions(struct store *st, const struct store_session *r, size_t n)
{
    int rc = st_write_rows(st, Q_SESS_INS, T_SESSIONS, ST_INSERT, r, sizeof(*r), n, b_sess_log);
    if (rc == 0)
        rc = st_write_rows(st, Q_SESS_TERM, T_SESSIONS, ST_UPSERT, r, sizeof(*r), n,
                           b_sess_term);
    return rc;
}

/* Shared with store_command_update (store_users.c). *changed = rows updated. */
int st_cmd_result(struct store *st, const struct store_cmd_result *r, int64_t *changed);
int st_cmd_result(struct store *st, const struct store_cmd_result *r, int64_t *changed)
{
    struct sq *q = sq_get(st, Q_CMD_RESULT);
    if (!q)
        return MF_EFATAL;
    sq_text(q, store_cmd_state_name(r->state));
    if (r->attempts >= 0)
        sq_i64(q, r->attempts);
    else
        sq_null(q);
    sq_text(q, r->answer_json);
    sq_i64(q, r->at);
    sq_i64(q, r->id);
    return sq_run(q, changed);
}

static int w_cmd_results(struct store *st, const struct store_cmd_result *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = st_cmd_result(st, &r[i], NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The analytics tables live in store_write2.c. */
int st_write_analytics(struct store *st, const struct store_batch *b);

static int batch_tables(struct store *st, const struct store_batch *b)
{
    /* each table in turn, stopping at the first failure */
    int rc = b->n_energy ? st_write_energy(st, b->energy, b->n_energy) : 0;
    if (rc == 0 && b->n_instant)
        rc = w_instant(st, b->instant, b->n_instant);
    if (rc == 0 && b->n_frozen)
        rc = w_frozen(st, b->frozen, b->n_frozen);
    if (rc == 0 && b->n_curve)
        rc = w_curve(st, b->curve, b->n_curve);
    if (rc == 0 && b->n_events)
        rc = w_events(st, b->events, b->n_events);
    if (rc == 0 && b->n_ec)
        rc = w_ec(st, b->ec, b->n_ec);
    if (rc == 0 && b->n_clocks)
        rc = w_clocks(st, b->clocks, b->n_clocks);
    if (rc == 0 && b->n_versions)
        rc = w_versions(st, b->versions, b->n_versions);
    if (rc == 0 && b->n_meter_cfg)
        rc = w_meter_cfg(st, b->meter_cfg, b->n_meter_cfg);
    if (rc == 0 && b->n_fwd645)
        rc = w_fwd645(st, b->fwd645, b->n_fwd645);
    if (rc == 0 && b->n_frames)
        rc = w_frames(st, b->frames, b->n_frames);
    if (rc == 0 && b->n_sessions)
        rc = w_sessions(st, b->sessions, b->n_sessions);
    if (rc == 0 && b->n_cmd_results)
        rc = w_cmd_results(st, b->cmd_results, b->n_cmd_results);
    if (rc == 0)
        rc = st_write_analytics(st, b);
    return rc;
}

int store_batch_write(struct store *st, const struct store_batch *b)
{
    int rc = st_enter(st);
    if (rc != 0)
        return rc;
    if ((rc = batch_check(st, b)) == 0 && (rc = st_begin(st)) == 0) {
        rc = batch_tables(st, b);
        if (rc == 0)
            rc = st_commit(st);
        else
            st_rollback(st);
    }
    st_leave(st);
    return rc;
}

/* ---- retention ---- */

#define RET_CHUNK 50000

/* One DELETE statement (with an optional chunk size) in its own transaction. *n = rows. */
static int ret_tx(struct store *st, int id, int64_t arg, int64_t chunk, enum st_table t,
                  int64_t *n)
{
    struct sq *q;
    int rc = st_begin(st);

    *n = 0;
    if (rc != 0)
        return rc;
    if ((q = sq_get(st, id)) == NULL) {
        rc = MF_EFATAL;
    } else {
        sq_i64(q, arg);
        if (chunk > 0)
            sq_i64(q, chunk);
        rc = sq_run(q, n);
    }
    if (rc == 0 && t != T_NTABLES)
        st_count(st, t, -*n);
    if (rc == 0)
        return st_commit(st);
    st_rollback(st);
    return rc;
}

/* Delete rows older than the cutoff, RET_CHUNK rows per transaction, until none is left. */
static int ret_chunked(struct store *st, int id, int64_t cutoff, enum st_table t,
                       int64_t *deleted)
{
    int64_t chunk = st->opts.retention_chunk > 0 ? st->opts.retention_chunk : RET_CHUNK;
    int64_t n;
    int rc;
    do {
        rc = ret_tx(st, id, cutoff, chunk, t, &n);
        if (rc == 0)
            *deleted += n;
    } while (rc == 0 && n == chunk && !mf_stop_requested);
    return rc;
}

int store_retention_run(struct store *st, int64_t now, int64_t *deleted)
{
    const struct store_opts *o = &st->opts;
    int64_t n = 0, one = 0;
    int rc = st_enter(st);

    if (rc != 0)
        return rc;
    if (o->curve_days > 0)
        rc = ret_chunked(st, Q_RET_CURVE, now - (int64_t)o->curve_days * 86400, T_CURVE, &n);
    if (rc == 0 && o->instant_days > 0)
        rc = ret_chunked(st, Q_RET_INSTANT, now - (int64_t)o->instant_days * 86400, T_INSTANT,
                         &n);
    if (rc == 0 && o->frames_days > 0)
        rc = ret_chunked(st, Q_RET_FRAMES_AGE, (now - (int64_t)o->frames_days * 86400) * 1000000,
                         T_FRAMES, &n);
    if (rc == 0 && o->frames_keep > 0 && (rc = ret_tx(st, Q_RET_FRAMES_CAP, o->frames_keep, 0,
                                                      T_FRAMES, &one)) == 0)
        n += one;
    if (rc == 0 && (rc = ret_tx(st, Q_RET_TOKENS, now, 0, T_NTABLES, &one)) == 0)
        n += one;
    if (deleted)
        *deleted = n;
    st_leave(st);
    return rc;
}
