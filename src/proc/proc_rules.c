/* proc_rules.c -- the anomaly rules that look at instantaneous observations rather than
 * daily indications: voltage limits, clock deviation, long offline, flapping terminals, ERC
 * events by severity; and the names of kinds and severities.
 *
 * Thresholds and the ERC severity table are documented in docs/ANALYTICS.md; a change here
 * is a change there. Pure. Thread: any (reentrant). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "meterflow/common.h"
#include "meterflow/proc.h"

const char *proc_anomaly_kind_str(int kind)
{
    static const char *const names[] = { "unknown", "backwards", "stopped",   "jump",
                                         "voltage_low", "voltage_high", "clock", "offline",
                                         "event",   "reset",     "replaced", "line_loss",
                                         "flapping", "impersonation" };
    if (kind < 0 || (size_t)kind >= MF_ARRAY_LEN(names))
        return "unknown";
    return names[kind];
}

const char *proc_severity_str(int sev)
{
    static const char *const names[] = { "unknown", "info", "minor", "major", "critical" };
    if (sev < 0 || (size_t)sev >= MF_ARRAY_LEN(names))
        return "unknown";
    return names[sev];
}

/* Appendix B ERC codes 1..41 (2013): name and severity. */
static const struct {
    uint8_t sev;
    const char *name;
} erc_table[42] = {
    [1] = { PROC_SEV_MINOR, "data initialisation / version change" },
    [2] = { PROC_SEV_MAJOR, "parameter loss" },
    [3] = { PROC_SEV_INFO, "parameter change" },
    [4] = { PROC_SEV_INFO, "state-input change" },
    [5] = { PROC_SEV_MINOR, "remote trip" },
    [6] = { PROC_SEV_MINOR, "power-control trip" },
    [7] = { PROC_SEV_MINOR, "energy-control trip" },
    [8] = { PROC_SEV_MINOR, "meter parameter change" },
    [9] = { PROC_SEV_CRITICAL, "current circuit abnormal" },
    [10] = { PROC_SEV_CRITICAL, "voltage circuit abnormal" },
    [11] = { PROC_SEV_MAJOR, "phase-sequence abnormal" },
    [12] = { PROC_SEV_MINOR, "meter clock deviation" },
    [13] = { PROC_SEV_MAJOR, "meter fault" },
    [14] = { PROC_SEV_MAJOR, "terminal power off/on" },
    [15] = { PROC_SEV_MINOR, "harmonic limit" },
    [16] = { PROC_SEV_MINOR, "DC analogue limit" },
    [17] = { PROC_SEV_MINOR, "voltage/current unbalance limit" },
    [18] = { PROC_SEV_MINOR, "capacitor switching self-lock" },
    [19] = { PROC_SEV_INFO, "purchase parameter set" },
    [20] = { PROC_SEV_MAJOR, "message authentication error" },
    [21] = { PROC_SEV_CRITICAL, "terminal fault" },
    [22] = { PROC_SEV_MAJOR, "active energy differential limit" },
    [23] = { PROC_SEV_MINOR, "energy-control alarm" },
    [24] = { PROC_SEV_MINOR, "voltage limit" },
    [25] = { PROC_SEV_MINOR, "current limit" },
    [26] = { PROC_SEV_MINOR, "apparent power limit" },
    [27] = { PROC_SEV_MAJOR, "meter reading decreased" },
    [28] = { PROC_SEV_MAJOR, "energy over tolerance" },
    [29] = { PROC_SEV_MAJOR, "meter fast-running" },
    [30] = { PROC_SEV_MAJOR, "meter stopped" },
    [31] = { PROC_SEV_MINOR, "terminal 485 reading failure" },
    [32] = { PROC_SEV_INFO, "communication traffic over limit" },
    [33] = { PROC_SEV_MINOR, "meter running-status-word change" },
    [34] = { PROC_SEV_CRITICAL, "CT abnormal" },
    [35] = { PROC_SEV_INFO, "unknown meter found" },
    [36] = { PROC_SEV_INFO, "control-output switch state change" },
    [37] = { PROC_SEV_CRITICAL, "meter cover opened" },
    [38] = { PROC_SEV_CRITICAL, "terminal-block cover opened" },
    [39] = { PROC_SEV_MINOR, "supplementary reading failed" },
    [40] = { PROC_SEV_MAJOR, "slave node report / magnetic-field abnormal" },
    [41] = { PROC_SEV_INFO, "clock-setting event" },
};

int proc_erc_severity(int erc)
{
    if (erc < 1 || erc > 41)
        return PROC_SEV_INFO;
    return erc_table[erc].sev;
}

const char *proc_erc_name(int erc)
{
    if (erc < 1 || erc > 41)
        return "vendor/unknown";
    return erc_table[erc].name;
}

/* Limits in decivolts: nominal x (100 -/+ pct) / 100, truncated toward zero. */
void proc_voltage_limits(const struct proc_cfg *cfg, int32_t *lo, int32_t *hi)
{
    *lo = cfg->voltage_nominal_dv * (100 - cfg->voltage_low_pct) / 100;
    *hi = cfg->voltage_nominal_dv * (100 + cfg->voltage_high_pct) / 100;
}

struct volt_run {
    int32_t count, worst;
    int64_t first_at;
};

static void volt_emit(int32_t day, const struct proc_volt *s, int kind, int32_t limit,
                      const struct volt_run *r, struct proc_anoms *an)
{
    struct proc_anomaly *x;
    if (r->count == 0 || !(x = proc_anoms_push(an)))
        return;
    x->kind = (uint8_t)kind;
    x->severity = PROC_SEV_MINOR;
    x->code = s->phase;
    x->point = s->point;
    x->day = day;
    x->at = r->first_at;
    x->value = r->worst;
    x->threshold = limit;
    x->count = r->count;
    snprintf(x->detail, sizeof(x->detail), "phase %c: %d sample(s) %s %d.%d V, worst %d.%d V",
             'A' + (s->phase >= 1 && s->phase <= 3 ? s->phase - 1 : 23),
             (int)r->count, kind == PROC_AN_VOLTAGE_LOW ? "below" : "above", (int)limit / 10,
             (int)limit % 10, (int)r->worst / 10, (int)r->worst % 10);
}

void proc_voltage(const struct proc_cfg *cfg, int32_t day, const struct proc_volt *s, size_t n,
                  struct proc_anoms *an)
{
    int32_t lo, hi;
    proc_voltage_limits(cfg, &lo, &hi);
    size_t i = 0;
    while (i < n) {
        struct volt_run low = { 0, INT32_MAX, 0 }, high = { 0, INT32_MIN, 0 };
        size_t j = i;
        for (; j < n && s[j].point == s[i].point && s[j].phase == s[i].phase; j++) {
            if (s[j].dv < lo) {
                if (low.count++ == 0 || s[j].at < low.first_at)
                    low.first_at = s[j].at;
                low.worst = MF_MIN(low.worst, s[j].dv);
            } else if (s[j].dv > hi) {
                if (high.count++ == 0 || s[j].at < high.first_at)
                    high.first_at = s[j].at;
                high.worst = MF_MAX(high.worst, s[j].dv);
            }
        }
        volt_emit(day, &s[i], PROC_AN_VOLTAGE_LOW, lo, &low, an);
        volt_emit(day, &s[i], PROC_AN_VOLTAGE_HIGH, hi, &high, an);
        i = j;
    }
}

size_t proc_clock_check(const struct proc_cfg *cfg, int32_t day, const struct proc_clock *s,
                        size_t n, struct proc_anoms *an)
{
    size_t added = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t off = s[i].offset_s;
        if ((off < 0 ? -off : off) <= cfg->clock_max_offset_s)
            continue;
        struct proc_anomaly *x = proc_anoms_push(an);
        if (!x)
            break;
        x->kind = PROC_AN_CLOCK;
        x->severity = PROC_SEV_MINOR;
        x->point = s[i].point;
        x->day = day;
        x->at = s[i].at;
        x->value = off;
        x->threshold = cfg->clock_max_offset_s;
        snprintf(x->detail, sizeof(x->detail), "%s clock %s by %" PRId64 " s (limit %d s)",
                 proc_point_pn(s[i].point) ? "meter" : "terminal", off > 0 ? "ahead" : "behind",
                 off < 0 ? -off : off, cfg->clock_max_offset_s);
        added++;
    }
    return added;
}

void proc_offline(const struct proc_cfg *cfg, int32_t day, int64_t now,
                  const struct proc_presence *p, size_t n, struct proc_anoms *an)
{
    int64_t limit = (int64_t)cfg->offline_max_hours * 3600;
    for (size_t i = 0; i < n; i++) {
        if (p[i].online || now - p[i].since <= limit)
            continue;
        struct proc_anomaly *x = proc_anoms_push(an);
        if (!x)
            return;
        x->kind = PROC_AN_OFFLINE;
        x->severity = PROC_SEV_MAJOR;
        x->point = proc_point_key(p[i].terminal, 0);
        x->day = day;
        x->at = p[i].since;
        x->value = now - p[i].since;
        x->threshold = limit;
        snprintf(x->detail, sizeof(x->detail), "offline for %" PRId64 " h (limit %d h)",
                 (now - p[i].since) / 3600, cfg->offline_max_hours);
    }
}

void proc_flapping(const struct proc_cfg *cfg, int32_t day, const struct proc_sessions *s,
                   size_t n, struct proc_anoms *an)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i].logins < cfg->flap_min_logins || s[i].offlines < cfg->flap_min_offlines)
            continue;
        struct proc_anomaly *x = proc_anoms_push(an);
        if (!x)
            return;
        x->kind = PROC_AN_FLAPPING;
        x->severity = PROC_SEV_MINOR;
        x->point = proc_point_key(s[i].terminal, 0);
        x->day = day;
        x->at = s[i].first_at;
        x->value = s[i].logins;
        x->ref = s[i].offlines;
        x->threshold = cfg->flap_min_logins;
        x->count = s[i].offlines;
        snprintf(x->detail, sizeof(x->detail),
                 "%d logins and %d offline changes in the day (limits %d and %d)",
                 (int)s[i].logins, (int)s[i].offlines, cfg->flap_min_logins,
                 cfg->flap_min_offlines);
    }
}

void proc_events(const struct proc_cfg *cfg, int32_t day, const struct proc_event *e, size_t n,
                 struct proc_anoms *an)
{
    for (size_t i = 0; i < n; i++) {
        int sev = proc_erc_severity(e[i].erc);
        if (sev < cfg->erc_min_severity || e[i].started == 0)
            continue; /* restored/ended records close an anomaly, they are not one */
        struct proc_anomaly *x = proc_anoms_push(an);
        if (!x)
            return;
        x->kind = PROC_AN_EVENT;
        x->severity = (uint8_t)sev;
        x->code = e[i].erc;
        x->point = e[i].point;
        x->day = day;
        x->at = e[i].at;
        x->value = e[i].erc;
        x->threshold = cfg->erc_min_severity;
        snprintf(x->detail, sizeof(x->detail), "ERC%d %s (%s)", (int)e[i].erc,
                 proc_erc_name(e[i].erc), proc_severity_str(sev));
    }
}
