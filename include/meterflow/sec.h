/* sec.h -- the PW key source for downlink frames (docs/SECURITY.md check 14): a provider for
 * front_set_pw_provider chosen by [security] pw_mode, with per-terminal keys from a key file.
 *
 *   pw_mode = zero   no provider: the front writes zeros (AFN=04 F5 scheme 0, the public
 *                    captures' practice)
 *   pw_mode = file   PW = the terminal's bytes from pw_key_file (or its `default` line)
 *   pw_mode = hmac   PW = HMAC-SHA256(terminal key, the frame's user data with PW zeroed),
 *                    first pw_mac_len bytes, the rest of PW zero (our choice: the standard
 *                    leaves the algorithm to AFN=04 F5 / the ESAM; docs/SECURITY.md)
 *
 * Key file: one entry per line, `RRRR-TTTT HEX` or `default HEX`, `#` comments, blank lines;
 * HEX is 2..64 hex digits (1..32 bytes; file mode at most 16, hmac mode at least 16). The
 * file must be a regular file without group or world permissions. Errors name the file, the
 * line and the reason, never the key material.
 *
 * Lifecycle (main thread): p = sec_pw_new(cfg, err, len) -- NULL with *err empty when
 * pw_mode = zero; front_set_pw_provider(f, sec_pw_fill, p); sec_pw_reload(p, ...) on SIGHUP
 * (the old keys stay on failure); sec_pw_free(p) after front_free.
 * Thread: sec_pw_fill from any thread (the front's I/O threads), concurrently with one
 * sec_pw_reload; the rest on the main thread. */
#ifndef MF_SEC_H
#define MF_SEC_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/common.h"
#include "meterflow/config.h"

#define SEC_KEY_MAX 32           /* bytes of one key or PW value */
#define SEC_KEYFILE_MAX (64u << 20) /* bytes of a key file (about 1.4 M entries) */
#define SEC_KEYLINE_MAX 256      /* characters of one line */

enum sec_pw_mode { SEC_PW_ZERO = 0, SEC_PW_FILE = 1, SEC_PW_HMAC = 2 };

/* A parsed key file: entries sorted by terminal key, unique. */
struct sec_key {
    uint32_t term;               /* gw_terminal_key(a1, a2) */
    uint8_t len;
    uint8_t b[SEC_KEY_MAX];
};
struct sec_keys {
    struct sec_key *v;           /* owned */
    size_t n;
    int has_default;
    struct sec_key def;
};

/* Parse key-file text (len bytes, need not be NUL-terminated; `name` labels errors) into
 * *out (caller's storage; release with sec_keys_fini). mode bounds the value lengths
 * (SEC_PW_FILE: 1..16 bytes, SEC_PW_HMAC: 16..32). 0, or MF_EINVAL with errbuf naming
 * name:line and the reason (never the value). */
int sec_keys_parse(const char *text, size_t len, int mode, const char *name, struct sec_keys *out,
                   char *errbuf, size_t errlen);
/* Read and parse a key file after checking it: a regular file, no group/world permission,
 * at most SEC_KEYFILE_MAX bytes. 0, MF_ESYS (cannot open/read) or MF_EINVAL. */
int sec_keys_load(const char *path, int mode, struct sec_keys *out, char *errbuf, size_t errlen);
/* Accepts a zeroed struct. */
void sec_keys_fini(struct sec_keys *k);
/* The entry of terminal `term`, else the default, else NULL. Borrowed from k. */
const struct sec_key *sec_keys_find(const struct sec_keys *k, uint32_t term);

/* HMAC-SHA256(key, msg) truncated to out_len (<= 32) bytes. */
void sec_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                     uint8_t *out, size_t out_len);

struct sec_pw;
struct front_pw_req; /* include/meterflow/front.h */
/* Reads [security] (cfg: borrowed, for the call). Gives a provider, or NULL: with errbuf
 * empty when pw_mode = zero (install nothing), else with errbuf naming the key and why. */
struct sec_pw *sec_pw_new(const struct mf_config *cfg, char *errbuf, size_t errlen);
/* Re-read the key file. 0 (new keys in force, *n_keys = entries) or a negative status with
 * errbuf (the old keys stay). Main thread. */
int sec_pw_reload(struct sec_pw *p, size_t *n_keys, char *errbuf, size_t errlen);
/* The front_pw_fn: opaque is the struct sec_pw. MF_ENOTFOUND when the terminal has no key
 * and there is no default (the command fails; nothing is sent). */
int sec_pw_fill(void *opaque, const struct front_pw_req *rq, uint8_t *out, size_t pw_len);
/* Accepts NULL. */
void sec_pw_free(struct sec_pw *p);

/* ---- impersonation: one terminal address logging in alternately from two peers ----
 *
 * 376.1 has no uplink authentication: whoever reaches the terminal port can log in with a
 * registered address. The front then replaces the older session (the duplicate-login case),
 * and two devices using one address take turns. sec_imp watches the logins of each terminal:
 * a login from the address the terminal had *before* its current one (A, B, A) is a
 * "return"; min_returns returns within window_s make the terminal suspected. A terminal that
 * changes address for good (A, B, C: a modem re-dialling) never returns and is never flagged.
 * A suspected terminal is reported at most once per window_s (no alert storm), and nothing
 * is disconnected here: the caller records an anomaly and counts it.
 *
 * Pure: no clock (now_s is the caller's: the login's receive time), no I/O, no logging.
 * Memory: one 64-byte slot per terminal seen, the table at most half full, at most max_terminals (past it new terminals
 * are not watched and counted in sec_imp_untracked). Thread: one caller at a time. */
struct sec_imp;
struct sec_imp_hit {
    char cur[48];                /* the address of this login (text, no port) */
    char prev[48];               /* the address it alternates with */
    uint32_t returns;            /* returns within the window (>= min_returns) */
    int64_t since_s;             /* start of the window they fell in */
};
/* window_s > 0, min_returns >= 1, max_terminals >= 1. Gives a detector (sec_imp_free). */
struct sec_imp *sec_imp_new(int64_t window_s, uint32_t min_returns, size_t max_terminals);
/* A login of terminal `term` (gw_terminal_key) from `peer` as the front writes it
 * ("1.2.3.4:5678", "::1:5678": the port after the last colon; "[::1]:5678" too) at now_s. 1 with *hit filled when this login makes (or keeps)
 * the terminal suspected and no report was given in the last window_s; 0 otherwise;
 * MF_EINVAL when peer is not an address (ignored). */
int sec_imp_login(struct sec_imp *d, uint32_t term, const char *peer, int64_t now_s,
                  struct sec_imp_hit *hit);
size_t sec_imp_untracked(const struct sec_imp *d);
void sec_imp_free(struct sec_imp *d);

#endif
