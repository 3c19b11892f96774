/* worker.h -- the worker: consumes the uplink topic, decodes and normalises, writes store
 * batches, and only then commits its queue position; optionally runs the analytics
 * scheduler and automatic re-collection.
 *
 * The guarantee this module keeps (DESIGN.md "The delivery guarantee"):
 *   mq_commit is called for a queue batch only after store_batch_write of every record
 *   derived from it returned 0. On MF_ERETRY the same store batch is retried with a bounded
 *   exponential back-off and the worker stops polling meanwhile (so the bounded queue fills
 *   and backpressure reaches the fronts); nothing is committed, nothing dropped. On a fatal
 *   store error the queue batches are released (embedded: producers hear "not durable") and
 *   the worker stops. A frame that cannot be decoded is stored raw and counted: it is
 *   durable, so confirming it is correct, and it never blocks the loop. A batch the store
 *   refuses for a cap (MF_EINVAL/MF_ERANGE: a poison record) is written as its raw frames
 *   alone, its records counted as dropped.
 *   One exception, with the embedded queue and [worker] session_lane on (off by default): the
 *   terminals' session changes (online/offline/clock, published fire-and-forget by the
 *   front) are written in store transactions of their own after their queue batch is
 *   committed, so a report's confirm never waits for them. Nothing can be lost by it that
 *   could not be lost before: the embedded queue never redelivers a message, committed or
 *   released (src/worker/worker_sess.c). Their order per terminal is kept.
 *
 * Used by `meterflow worker` (standalone, normally with the kafka queue) and by
 * `meterflow run` (embedded queue, same process).
 *
 * Thread: worker_new/start/stop/free from one controlling thread. worker_start runs the
 * consumer loop on its own thread (and the analytics scheduler on a second one when
 * [worker] analytics = true). worker_stats_get and worker_analytics_run from any thread. */
#ifndef MF_WORKER_H
#define MF_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/config.h"
#include "meterflow/queue.h"
#include "meterflow/store.h"

struct worker;

/* Seams for tests: replace the store write (fault injection) and the wall clock used by the
 * analytics scheduler. Any member may be NULL. */
struct worker_hooks {
    int (*batch_write)(void *opaque, struct store *st, const struct store_batch *b);
    int64_t (*now_s)(void *opaque);
    void *opaque;
};

/* Open the store from cfg ([store] keys) and prepare the worker. q: borrowed, kept until
 * worker_free (must outlive the worker). Gives a worker, NULL with errbuf filled. */
struct worker *worker_new(const struct mf_config *cfg, struct mq *q, char *errbuf, size_t errlen);
/* Same with a store the caller opened (st borrowed, kept until worker_free) and hooks
 * (copied; may be NULL). */
struct worker *worker_new_with(const struct mf_config *cfg, struct mq *q, struct store *st,
                               const struct worker_hooks *hooks, char *errbuf, size_t errlen);
/* Before worker_start: replace the hooks of a worker from worker_new (copied; NULL clears
 * them). `meterflow run` wraps the store write to tell the front's registry cache which
 * event counters a committed batch advanced. */
void worker_set_hooks(struct worker *w, const struct worker_hooks *hooks);

/* Start the threads; returns once the consumer is subscribed to the uplink topic (start the
 * front after this: the embedded queue drops what is published to a topic without a
 * group). 0, MF_ESYS, or MF_EFATAL (subscription refused). */
int worker_start(struct worker *w);
/* Ask the threads to stop and join them. Records already accumulated are written once more
 * (and committed if that succeeds); otherwise their queue batches are released. */
void worker_stop(struct worker *w);
/* Accepts NULL. Stops first if running; closes the store if worker_new opened it. */
void worker_free(struct worker *w);

/* 1 once the worker stopped on its own (fatal store or queue error). */
int worker_failed(struct worker *w);

struct worker_stats {
    uint64_t messages;       /* envelopes consumed */
    uint64_t frames;         /* MF_ENV_FRAME envelopes */
    uint64_t decode_errors;  /* frames stored raw because they did not decode completely */
    uint64_t bad_envelopes;  /* envelopes that did not decode (counted, skipped) */
    uint64_t records;        /* store records written */
    uint64_t batches;        /* store batches written */
    uint64_t store_retries;  /* store_batch_write calls that said retry later */
    uint64_t commits;        /* mq_commit calls */
    uint64_t published;      /* JSON messages published (kafka mode) */
    uint64_t analytics_runs;
    uint64_t recollect_sent;
    uint64_t dropped_records; /* refused by a store cap: the batch's raw frames were kept */
    uint64_t session_batches; /* store batches of the session lane (not in batches) */
    uint64_t session_backlog; /* gauge: session changes consumed, not yet written */
    uint64_t imp_suspects;    /* impersonation reports (sec_imp: alternating peers) */
};
void worker_stats_get(struct worker *w, struct worker_stats *out);

/* Run the analytics for civil day `day` (days since epoch) now, at time now_s, on the
 * calling thread: rollup (consumption, success rate, line loss, anomalies), re-collection
 * tasks for the missing points, and the long-offline rule at now_s. 0, MF_ERETRY,
 * MF_EFATAL. */
int worker_analytics_run(struct worker *w, int32_t day, int64_t now_s);

/* Send the re-collection requests that are due at now_s (rate limits apply), after marking
 * "expired" the open tasks of days whose deadline has passed. Returns the number of
 * requests sent (>= 0) or a negative status. */
int worker_recollect_tick(struct worker *w, int64_t now_s);

#endif
