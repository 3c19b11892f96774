/* fuzz_front_session.c -- feeds bytes into the front's session state machine without a
 * socket or a queue (struct front_io_ops stubs), twice: whole, then split into pieces whose
 * size comes from the first input byte, with the partial rest kept the way front_io.c keeps
 * it. Properties checked besides "no crash, no sanitizer report":
 *  - split input produces the same frames and closes (or not) like whole input, and, when
 *    the connection stayed open, sends the same frames (as a multiset: a confirm follows
 *    durability, not arrival);
 *  - a CON=1 frame is confirmed only after its done callback reports 0 (the stub completes
 *    produced frames alternately with 0 and MF_ERETRY -- when the in-flight cap is reached
 *    and at the end -- and counts confirms against that);
 *  - the connection's buffer never exceeds max_buffered_bytes.
 * Corpus: tests/fuzz/corpus/fuzz_front_session/ (hand-written frames from the vectors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/front_int.h"
#include "meterflow/modcfg.h"

static const struct mf_cfg_item fz_meterflow[] = {
    { "meterflow", "node_id", MF_CFG_INT, "3", 1, 65535, NULL, "node" },
    MF_CFG_END,
};
static const struct mf_cfg_item *const fz_tables[] = { fz_meterflow, front_cfg, NULL };

struct fz_out {
    uint8_t sent[65536];
    size_t sent_len;
    uint64_t sent_hash;
    size_t produced;
    struct front_pend *pend[256];
    size_t npend;
    int closed;
};
static struct fz_out *cur;

static int fz_send(struct front_conn *conn, const uint8_t *p, size_t n)
{
    (void)conn;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    cur->sent_hash += h; /* order-free: confirms follow durability, not arrival */
    if (cur->sent_len + n <= sizeof(cur->sent)) {
        memcpy(cur->sent + cur->sent_len, p, n);
        cur->sent_len += n;
    }
    return 0;
}

static int fz_produce(struct front_conn *conn, const uint8_t *key, size_t key_len,
                      const uint8_t *env, size_t len, struct front_pend *pend)
{
    struct mf_env e;
    (void)conn;
    (void)key;
    (void)key_len;
    if (mf_env_decode(env, len, &e) != 0 || e.kind != MF_ENV_FRAME)
        abort(); /* the front must only produce well-formed frame envelopes */
    if (cur->npend == MF_ARRAY_LEN(cur->pend))
        return MF_EFULL;
    cur->pend[cur->npend++] = pend;
    cur->produced++;
    return 0;
}

static int fz_publish(struct front_thread *th, const uint8_t *key, size_t key_len,
                      const uint8_t *env, size_t len)
{
    struct mf_env e;
    (void)th;
    (void)key;
    (void)key_len;
    if (mf_env_decode(env, len, &e) != 0)
        abort();
    return 0;
}

static void fz_close(struct front_conn *conn, int reason)
{
    if (conn->closed)
        return;
    front_sess_end(conn, reason);
    conn->closed = 1;
    cur->closed = 1;
}

static uint64_t fz_claim(struct front_conn *conn)
{
    (void)conn;
    return 0;
}

static void fz_unclaim(struct front_conn *conn)
{
    (void)conn;
}

static const struct front_io_ops fz_ops = {
    .send = fz_send, .produce = fz_produce, .publish = fz_publish,
    .close = fz_close, .claim = fz_claim, .unclaim = fz_unclaim,
};

static struct front *fz_front(void)
{
    static struct front *f;
    char err[256];
    if (f)
        return f;
    mf_log_set_level(MF_LOG_ERROR);
    struct mf_config *cfg = mf_config_new(fz_tables, NULL);
    mf_config_set(cfg, "front", "threads", "1", "fuzz", err, sizeof(err));
    mf_config_set(cfg, "front", "login_per_min", "0", "fuzz", err, sizeof(err));
    mf_config_set(cfg, "front", "frames_per_sec", "0", "fuzz", err, sizeof(err));
    mf_config_set(cfg, "front", "max_frame_bytes", "2048", "fuzz", err, sizeof(err));
    mf_config_set(cfg, "front", "max_buffered_bytes", "4096", "fuzz", err, sizeof(err));
    mf_config_set(cfg, "front", "max_garbage_bytes", "512", "fuzz", err, sizeof(err));
    mf_config_set(cfg, "front", "max_inflight", "8", "fuzz", err, sizeof(err));
    mf_config_set(cfg, "front", "f3_terminals", "2120-0007", "fuzz", err, sizeof(err));
    f = front_new(cfg, NULL, err, sizeof(err)); /* never started: no socket, no thread */
    if (!f) {
        fprintf(stderr, "front_new: %s\n", err);
        abort();
    }
    f->th[0]->ops = &fz_ops;
    return f; /* kept for the process (with cfg) */
}

/* Complete every produced frame: even ones durable, odd ones not. Returns confirms owed. */
static size_t fz_complete(struct front_conn *conn, size_t *seq)
{
    size_t owed = 0;
    for (size_t i = 0; i < cur->npend; i++) {
        struct front_pend *p = cur->pend[i];
        p->status = (*seq)++ % 2 == 0 ? 0 : MF_ERETRY;
        if (p->status == 0 && p->con && !conn->closed)
            owed++;
        front_sess_durable(p);
        free(p);
    }
    cur->npend = 0;
    return owed;
}

/* Feed data in pieces of `piece` bytes (0 = whole), keeping the rest like front_io.c. */
static size_t fz_run(const uint8_t *data, size_t size, size_t piece, struct fz_out *out)
{
    struct front *f = fz_front();
    struct front_thread *th = f->th[0];
    struct front_conn *conn = calloc(1, sizeof(*conn));
    size_t seq = 0, owed = 0;

    memset(out, 0, sizeof(*out));
    cur = out;
    conn->th = th;
    conn->id = 1;
    conn->last_ec1 = -1;
    conn->peer.sin6_family = AF_INET;
    mf_buf_init(&conn->in, f->o.max_buffered_bytes);
    for (size_t off = 0; off < size && !conn->closed;) {
        size_t n = piece ? MF_MIN(piece, size - off) : size;
        size_t used = 0;
        if (mf_buf_append(&conn->in, data + off, n) != 0) {
            fz_close(conn, MF_OFF_KICKED);
            break;
        }
        off += n;
        int rc;
        do { /* MF_EFULL: complete what is in flight, then feed the same bytes again. Only
              * then: a retransmission is queued again once its first copy completed, so
              * completions between pieces would make split input differ from whole input */
            rc = front_sess_input(conn, conn->in.data, conn->in.len, &used);
            if (!conn->closed)
                mf_buf_consume(&conn->in, used);
            if (rc == MF_EFULL)
                owed += fz_complete(conn, &seq);
        } while (rc == MF_EFULL && !conn->closed);
        if (conn->in.len > f->o.max_buffered_bytes)
            abort();
    }
    owed += fz_complete(conn, &seq);
    front_sess_end(conn, MF_OFF_CLOSED);
    if (th->reqs || conn->req || conn->reqq) /* no request outlives its session */
        abort();
    mf_buf_fini(&conn->in);
    free(conn);
    return owed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_out whole, split;
    if (size < 1 || size > 8192)
        return 0;
    size_t piece = (size_t)(data[0] % 13) + 1;
    uint64_t c0 = atomic_load(&fz_front()->th[0]->st.confirms);
    size_t owed = fz_run(data + 1, size - 1, 0, &whole);
    uint64_t c1 = atomic_load(&fz_front()->th[0]->st.confirms);
    fz_run(data + 1, size - 1, piece, &split);
    if (c1 - c0 != owed) { /* a confirm for a frame that was not durable, or one missing */
        fprintf(stderr, "confirms %llu, durable CON=1 frames %zu\n",
                (unsigned long long)(c1 - c0), owed);
        abort();
    }
    uint64_t c2 = atomic_load(&fz_front()->th[0]->st.confirms);
    /* A close (garbage limit, login rate...) may come before or after a completion depending
     * on where the input was split, and no confirm follows a close: compare the answers only
     * when neither run closed. */
    int open = !whole.closed && !split.closed;
    if (whole.produced != split.produced || whole.closed != split.closed ||
        (open && (whole.sent_len != split.sent_len || whole.sent_hash != split.sent_hash ||
                  c1 - c0 != c2 - c1))) {
        fprintf(stderr, "split input changed the session's output: produced %zu/%zu sent "
                        "%zu/%zu confirms %llu/%llu\n",
                whole.produced, split.produced, whole.sent_len, split.sent_len,
                (unsigned long long)(c1 - c0), (unsigned long long)(c2 - c1));
        for (size_t i = 0; i < whole.sent_len || i < split.sent_len; i++)
            fprintf(stderr, "%02X/%02X%s", whole.sent[i], split.sent[i], i % 16 == 15 ? "\n" : " ");
        abort();
    }
    return 0;
}
