/* worker_clock.c -- optional automatic clock synchronisation ([worker] clock_auto_sync):
 * a terminal whose clock deviates more than [analytics] clock_max_offset_s (seen in an
 * AFN=0C F2 answer or a heartbeat's clock) gets an AFN=05 F31 command with the master's
 * current time, at most once per terminal per WK_SYNC_MIN_S.
 *
 * Terminals are noted while a batch is processed and the commands are sent only after the
 * store batch holding the evidence has been written (wk_clock_sync_flush from pend_commit),
 * so a batch that is retried does not send twice.
 * Thread: the worker's consumer thread only. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "meterflow/clock.h"
#include "meterflow/gw3761.h"
#include "worker/worker_int.h"

#define WK_MOD "worker"
#define WK_SYNC_MIN_S 3600
#define WK_SYNC_SLOTS 8192u /* remembered terminals; cleared when full */

struct wk_clock {
    uint32_t noted[256];
    size_t nnoted;
    uint32_t key[WK_SYNC_SLOTS];
    int64_t last[WK_SYNC_SLOTS];
    size_t used;
};

void wk_clock_note(struct worker *w, uint32_t term)
{
    if (!w->clock_sync)
        return;
    if (!w->clk)
        w->clk = mf_calloc(1, sizeof(*w->clk));
    for (size_t i = 0; i < w->clk->nnoted; i++)
        if (w->clk->noted[i] == term)
            return;
    if (w->clk->nnoted < MF_ARRAY_LEN(w->clk->noted))
        w->clk->noted[w->clk->nnoted++] = term;
}

/* p0 F31 + A.1 (ss mm hh DD week|month YY) of civil time c. */
void wk_clock_units(const struct mf_civil *c, uint8_t out[10])
{
    int32_t days = mf_date_to_days(c->year, c->month, c->day);
    int wday = (int)(((days % 7) + 7 + 3) % 7) + 1; /* 1970-01-01 was a Thursday (4) */
#define BCD(v) (uint8_t)(((v) / 10) << 4 | (v) % 10)
    out[0] = 0x00; /* DA p0 */
    out[1] = 0x00;
    out[2] = 0x40; /* DT F31: group 3, bit 6 */
    out[3] = 0x03;
    out[4] = BCD(c->sec);
    out[5] = BCD(c->min);
    out[6] = BCD(c->hour);
    out[7] = BCD(c->day);
    out[8] = (uint8_t)(wday << 5 | (c->month / 10) << 4 | c->month % 10);
    out[9] = BCD(c->year % 100);
#undef BCD
}

/* Remember a sync; 0 when this terminal was synchronised less than WK_SYNC_MIN_S ago. */
static int sync_allowed(struct wk_clock *k, uint32_t term, int64_t now)
{
    size_t i = (term * 2654435761u) & (WK_SYNC_SLOTS - 1);
    for (size_t probes = 0; probes < WK_SYNC_SLOTS; probes++, i = (i + 1) & (WK_SYNC_SLOTS - 1)) {
        if (k->last[i] == 0)
            break;
        if (k->key[i] == term) {
            if (now - k->last[i] < WK_SYNC_MIN_S)
                return 0;
            k->last[i] = now;
            return 1;
        }
    }
    if (k->used >= WK_SYNC_SLOTS / 2) { /* forget everything rather than probe forever */
        memset(k->key, 0, sizeof(k->key));
        memset(k->last, 0, sizeof(k->last));
        k->used = 0;
        i = (term * 2654435761u) & (WK_SYNC_SLOTS - 1);
    }
    k->key[i] = term;
    k->last[i] = now;
    k->used++;
    return 1;
}

static void send_sync(struct worker *w, uint32_t term, int64_t now)
{
    uint8_t units[10];
    char hex[sizeof(units) * 3 + 1], id[GW_TERMINAL_STRLEN];
    struct mf_civil c;
    int64_t cmd_id = 0;
    mf_utc_to_civil(now, &c);
    wk_clock_units(&c, units);
    mf_hex_encode(units, sizeof(units), hex, sizeof(hex));
    gw_terminal_format((uint16_t)(term >> 16), (uint16_t)term, id);
    struct store_command cmd = { term, GW_AFN_CONTROL, "{\"kind\":\"clock_sync\",\"auto\":true}",
                                 "clock_auto_sync", now };
    if (store_command_create(w->st, &cmd, &cmd_id) != 0) {
        mf_warn(WK_MOD, "%s: clock sync command not created", id);
        return;
    }
    json_t *o = json_pack("{s:I, s:s, s:i, s:s, s:b, s:i, s:i, s:i}", "cmd_id", (json_int_t)cmd_id,
                          "terminal", id, "afn", GW_AFN_CONTROL, "units_hex", hex, "con", 1,
                          "timeout_ms", 30000, "retries", 1, "tp_delay_min", 1);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (mq_publish(w->q, MQ_DOWNLINK, id, strlen(id), text, strlen(text)) == 0)
        mf_info(WK_MOD, "%s: clock deviates, AFN=05 F31 sent (command %lld)", id,
                (long long)cmd_id);
    free(text);
}

void wk_clock_sync_flush(struct worker *w)
{
    if (!w->clk || w->clk->nnoted == 0)
        return;
    int64_t now = (int64_t)(mf_now_us() / 1000000u); /* the real clock: this is what is sent */
    for (size_t i = 0; i < w->clk->nnoted; i++)
        if (sync_allowed(w->clk, w->clk->noted[i], now))
            send_sync(w, w->clk->noted[i], now);
    w->clk->nnoted = 0;
}

void wk_clock_discard(struct worker *w)
{
    if (w->clk)
        w->clk->nnoted = 0;
}
