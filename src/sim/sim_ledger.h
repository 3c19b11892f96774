/* sim_ledger.h -- the simulator's ledger of values the master CONFIRMED (private to src/sim).
 *
 * Format (docs/SIMULATOR.md "Ledger"), one value per line, fields separated by one space:
 *
 *   <terminal> <pn> <item> <time> <tariff> <value>
 *   4403-0001 3 fwd_active 2026-11-26T10:15 0 12345.6789
 *
 *   terminal  RRRR-TTTT (gw_terminal_format)
 *   pn        measurement point (0 = the terminal itself)
 *   item      fwd_active      0C F129 current forward active indication, kWh (A.14)
 *             day_fwd_active  0D F161 daily frozen forward active indication, kWh (A.14)
 *             curve_fwd_active 0D F101 curve point, forward active indication, kWh (A.11)
 *             erc<N>          event record ERC N (time = event time; value 1 started, 0 ended,
 *                             -1 no start flag, e.g. ERC14)
 *   time      terminal civil time as sent: YYYY-MM-DDTHH:MM (readings, curve points, events)
 *             or YYYY-MM-DD (daily frozen values: the day Td_d names)
 *   tariff    0 total, 1..4 sharp/peak/flat/valley (0 for curves and events)
 *   value     decimal with the format's decimals (4 for A.14, 2 for A.11, 0 for events)
 *
 * Lines starting with '#' are comments. A line is written only after the master's AFN=00
 * confirm of the frame that carried it arrived. Several processes may append to one ledger:
 * the file is opened O_APPEND and every write() carries whole lines only.
 *
 * Thread: a ledger handle belongs to one thread (one per simulator process). */
#ifndef MF_SIM_LEDGER_H
#define MF_SIM_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/buf.h"

#define SIM_LEDGER_FLUSH 65536u   /* write() when this much is buffered */
#define SIM_LEDGER_LINE_MAX 128u  /* longest line the formatter produces, newline included */

struct sim_ledger {
    int fd;              /* -1: no ledger (appends are counted and dropped) */
    struct mf_buf buf;
    uint64_t lines;      /* lines appended */
    int failed;          /* a write or fsync failed: the run must not exit 0 */
};

/* path NULL: a ledger that only counts. 0, or MF_ESYS with errbuf saying why. */
int sim_ledger_open(struct sim_ledger *l, const char *path, char *errbuf, size_t errlen);
/* text: borrowed, whole lines ending with '\n'; nlines counted. 0 or MF_ESYS. */
int sim_ledger_append(struct sim_ledger *l, const char *text, size_t len, uint32_t nlines);
int sim_ledger_flush(struct sim_ledger *l);
/* Flush, fsync, close. 0, or MF_ESYS when any write or the fsync failed. Accepts a closed
 * ledger. */
int sim_ledger_close(struct sim_ledger *l);

/* Format one line into out (SIM_LEDGER_LINE_MAX bytes); returns its length. value in units
 * of 10^-decimals. time: already formatted (see above). */
size_t sim_ledger_format(char *out, const char *terminal, unsigned pn, const char *item,
                         const char *time, unsigned tariff, int64_t value, int decimals);

/* One parsed line (fields borrowed from the line, which parse NUL-terminates in place). */
struct sim_ledger_rec {
    const char *terminal, *item, *time;
    unsigned pn, tariff;
    int64_t value;   /* in units of 10^-decimals */
    int decimals;
};
/* 0, 1 for a comment/blank line, MF_EINVAL for a malformed one. */
int sim_ledger_parse(char *line, struct sim_ledger_rec *rec);

#endif
