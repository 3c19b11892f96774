/* common.h -- status codes, small helpers and ownership conventions shared by every module.
 *
 * Status vocabulary (STYLE.md "Errors"): 0 is success, every failure is negative.
 *   MF_AGAIN   "incomplete, call again" -- stream parsing needs more bytes; not an error.
 *   MF_ERETRY  retry later: a backend (queue, store) is temporarily unable (broker down,
 *              database restarting, queue full). The caller keeps its data and tries again.
 *   MF_EFATAL  fatal for this object/handle: retrying the same call cannot succeed.
 * Every queue and store call returns one of 0, MF_ERETRY or MF_EFATAL (or a more specific
 * negative code that mf_status_is_retry() classifies). The worker loop is written against
 * exactly that split.
 *
 * Ownership words used in every public header: "borrowed" (caller keeps it, callee must not
 * keep a pointer after returning), "kept" (callee keeps the pointer until the stated event),
 * "takes" (ownership moves to the callee, on success only), "gives" (caller must free).
 *
 * Thread: everything here is safe from any thread. */
#ifndef MF_COMMON_H
#define MF_COMMON_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum mf_status {
    MF_OK = 0,
    MF_AGAIN = -1,      /* incomplete input: call again with more bytes */
    MF_ERETRY = -2,     /* temporary failure: keep the data, retry later */
    MF_EFATAL = -3,     /* permanent failure of this call / handle */
    MF_EINVAL = -4,     /* malformed input or bad argument */
    MF_ERANGE = -5,     /* a length or value over its cap */
    MF_ENOTFOUND = -6,  /* no such object */
    MF_EFULL = -7,      /* bounded container full (backpressure; retry later) */
    MF_ECLOSED = -8,    /* object closed / shutting down */
    MF_ETIMEDOUT = -9,  /* no answer within the deadline */
    MF_EDENIED = -10,   /* peer or policy refused */
    MF_EEXIST = -11,    /* already exists */
    MF_EOFFLINE = -12,  /* terminal not connected */
    MF_EUNSUPP = -13,   /* not supported (unknown Fn, unknown backend) */
    MF_ESYS = -14,      /* system call failed; errno was logged by the caller */
};

/* Short constant text for a status ("retry later", "incomplete", ...). Never NULL. */
const char *mf_status_str(int rc);

/* 1 when a failed call may succeed if repeated later with the same data. */
int mf_status_is_retry(int rc);

#define MF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MF_MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define MF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MF_UNUSED __attribute__((unused))
#define MF_FALLTHROUGH __attribute__((fallthrough))
#else
#define MF_PRINTF(f, a)
#define MF_UNUSED
#define MF_FALLTHROUGH
#endif

/* Abort with a message: out of memory is made unreachable by caps, so reaching it is a bug
 * or an exhausted machine, and continuing would risk confirming data we did not keep. */
void mf_oom(void) __attribute__((noreturn));
void *mf_malloc(size_t n);
void *mf_calloc(size_t n, size_t size);
void *mf_realloc(void *p, size_t n);
char *mf_strdup(const char *s);

/* snprintf into a fixed buffer that always terminates; returns the would-be length. */
size_t mf_strlcpy(char *dst, const char *src, size_t dstlen);

/* strerror for code that may run while other threads do (STYLE.md bans strerror there):
 * the message for errnum, in buf (len bytes) or a constant string. Never NULL. */
const char *mf_strerror(int errnum, char *buf, size_t len);

/* Hex helpers for tools and tests. mf_hex_decode accepts spaces/colons between bytes and
 * an optional 0x prefix; returns bytes written, or MF_EINVAL / MF_ERANGE. */
int mf_hex_decode(const char *text, uint8_t *out, size_t cap);
/* The value of one hex digit (0-9, a-f, A-F), or -1 for any other character. */
int mf_hex_digit(int c);
/* Upper-case hex with a space between bytes; out must hold 3*len bytes. */
void mf_hex_encode(const uint8_t *in, size_t len, char *out, size_t outlen);

/* The one global: set by signal handlers (and by tests and benches from another thread),
 * read by the loops of every thread. An atomic, not a volatile int: volatile orders nothing
 * between threads (a data race under the C11 model and TSan); a lock-free atomic is also
 * safe to store from a signal handler (C11 7.14.1.1). Plain reads and `= 1` are seq_cst
 * loads and stores, a plain mov on x86-64. */
extern atomic_int mf_stop_requested;

#endif
