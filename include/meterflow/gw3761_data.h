/* gw3761_data.h -- Q/GDW 1376.1 data level: Appendix A data formats, the decoded-unit model
 * (one generic, allocation-free representation of any decoded data unit), the unit decoder,
 * and builders of data-unit areas for requests (master) and answers (simulated terminal).
 *
 * Pure: bytes in, structs out; no I/O, clocks, logging or allocation.
 * Thread: every function is reentrant; every struct belongs to its caller.
 * Section numbers refer to ../shared/docs/protocol-3761.md; see also docs/PROTOCOL.md.
 *
 * ---- The decoded-unit model ----
 *
 * gw_decode_units() walks the data-unit area of a parsed frame (struct gw_frame) and fills a
 * caller-owned struct gw_decoded: a flat array of units, a flat array of values and a flat
 * array of event records, each with a cap. Nothing is allocated and the struct is not cleared
 * per frame (only the three counters are reset), so a worker reuses one gw_decoded forever.
 *
 *   unit   = one (pn, Fn) data unit: afn, pn, fn, static name, status, and the range
 *            vals[first .. first + nval) of its values (and events[first_ev .. + nev)).
 *   value  = one field: static name following the JSON naming rules ("reading_time",
 *            "tariff_count", "total_kwh", "tariffs_kwh", "ua_v", "ia_a", "p_kw", "pf_pct",
 *            "td_d", "points" ...), an index (0 = scalar; 1.. = position in a list: tariff
 *            number, curve point number + 1, record number), a kind, a status (ok / absent /
 *            invalid) and the payload:
 *              GW_VK_NUM    exact decimal: u.i * 10^exp (e.g. 0.01 kWh = 100 * 10^-4)
 *              GW_VK_TIME   civil local time u.t; `fmt` says which fields the wire carried
 *              GW_VK_INT    plain integer u.i (counts, codes, flags, port numbers)
 *              GW_VK_ADDR   12-digit BCD address in u.i (print zero-padded to 12 digits)
 *              GW_VK_TEXT   ASCII bytes u.p[0 .. len) (not NUL-terminated; view into frame)
 *              GW_VK_BYTES  raw bytes u.p[0 .. len) (view into frame)
 *              GW_VK_DLT645 a DL/T 645 frame u.p[0 .. len) forwarded by AFN 10 (dlt645.h)
 *            Values with the same name and index > 0 that follow each other form one list.
 *   event  = one ERC record of an AFN 0E unit: erc, le, raw content view, and its typed
 *            values vals[first .. first + nval) (none for ERCs kept raw).
 *
 * Pointers inside the result (names excepted: those are static) are borrowed views into the
 * frame bytes and valid as long as they are.
 *
 * Example walk (what `meterflow decode` does, without any per-Fn code):
 *
 *   static struct gw_decoded dec;          // reused: ~60 KB, never cleared
 *   rc = gw_decode_units(&fr, &dec);       // rc < 0: dec.rest holds what was not decoded
 *   for (u = 0; u < dec.nunits; u++) {
 *       const struct gw_unit *un = &dec.units[u];
 *       printf("p%u F%u %s\n", un->pn, un->fn, un->name);
 *       for (i = un->first; i < un->first + un->nval; i++) {
 *           const struct gw_value *v = &dec.vals[i];
 *           if (v->status != GW_VS_OK) { print v->name, "null"; continue; }
 *           if (v->kind == GW_VK_NUM) print v->name, v->index, gw_num_to_double(v->u.i, v->exp);
 *           ...
 *       }
 *       for (e = un->first_ev; e < un->first_ev + un->nev; e++) ... dec.events[e] ...
 *   }
 */
#ifndef MF_GW3761_DATA_H
#define MF_GW3761_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/gw3761.h"

/* ---------------------------------------------------------------------------------------
 * Data formats (Appendix A; "A.n" = data format n, section 0 and 8)
 * --------------------------------------------------------------------------------------- */

enum gw_vstatus {
    GW_VS_OK = 0,
    GW_VS_ABSENT = 1,  /* every byte of the field is 0xEE */
    GW_VS_INVALID = 2, /* a non-BCD nibble (after masking sign/G/week bits) or out of range */
};

/* Civil local time (terminals have no zone). Fields a format does not carry are 0:
 * A.15 has no seconds, A.20 no time of day, A.16 no month/year, A.21 no day. */
struct gw_time {
    uint16_t year; /* 2000 + YY */
    uint8_t mon, day, hour, min, sec;
    uint8_t wday; /* A.1 only: 1..7 = Monday..Sunday, 0 = not given */
};

/* Length in bytes of data format n (1..28), 0 for an unknown n. */
size_t gw_fmt_len(unsigned fmt);

/* Numeric formats: A.2 .. A.14 (except A.12), A.22, A.23, A.25, A.26, A.27.
 * Decode gives value = *m * 10^*exp, exact (A.2 picks exp from G3G2G1 per the standard's
 * table: 000 -> 10^4 .. 111 -> 10^-3; A.3 G=1 means thousands: exp 3). Signs apply only to
 * OK fields. Returns enum gw_vstatus (*m, *exp are 0 unless OK), or MF_EINVAL for a
 * non-numeric format. b must hold gw_fmt_len(fmt) bytes. */
int gw_num_decode(unsigned fmt, const uint8_t *b, int64_t *m, int8_t *exp);
/* Encode m * 10^exp into format fmt. The value is rescaled exactly to the format's
 * resolution; MF_ERANGE when that loses digits or overflows the format. */
int gw_num_encode(unsigned fmt, int64_t m, int8_t exp, uint8_t *out);

/* Time formats: A.1, A.15, A.16, A.17, A.18, A.19, A.20, A.21, A.24. Range-checked
 * (month 1..12, day 1..days of month when month/year are known, hour < 24, min/sec < 60;
 * A.1 weekday 0..7). Returns enum gw_vstatus, or MF_EINVAL for a non-time format. */
int gw_time_decode(unsigned fmt, const uint8_t *b, struct gw_time *t);
/* Encode (fields the format does not carry are ignored). MF_EINVAL for out-of-range fields. */
int gw_time_encode(unsigned fmt, const struct gw_time *t, uint8_t *out);

/* A.12: 12 BCD digits, least significant byte first. */
int gw_addr_decode(const uint8_t b[6], uint64_t *addr);
int gw_addr_encode(uint64_t addr, uint8_t out[6]); /* MF_ERANGE above 999999999999 */

/* A.28 geographic coordinate (AFN 04 F91 / 0A F91, 2013; docs/PROTOCOL.md section 2).
 * Two layouts, both "seconds with 2 decimals, minutes, degrees with flag F":
 *   GW_GEO_LEN4 (the protocol text, gw_fmt_len(28)): tenths|hundredths of s, tens|units of
 *     s, tens|units of min, [F (D7), degree tens (D6..D4), degree units] -> 0..79 degrees
 *   GW_GEO_LEN5 (met in a public terminal implementation): the same seconds and minutes,
 *     then tens|units of degrees, [F (D7), 000, hundreds (D3..D0)] -> 0..180 degrees
 * F = 1 means West (longitude) / South (latitude). Decode returns enum gw_vstatus (absent:
 * every byte 0xEE; invalid: a non-BCD nibble, a set bit in D6..D4 of the 5-byte form, s or
 * min >= 60, or more than 180 degrees) and *g zeroed unless OK; MF_EINVAL for another len.
 * Encode: MF_ERANGE for out-of-range fields or above 79 degrees in the 4-byte layout. */
#define GW_GEO_LEN4 4u
#define GW_GEO_LEN5 5u
struct gw_geo {
    uint16_t deg;      /* 0..180 */
    uint8_t min;       /* 0..59 */
    uint16_t sec_x100; /* seconds x 100, 0..5999 */
    uint8_t f;         /* flag F: 1 = West / South */
};
int gw_geo_decode(const uint8_t *b, size_t len, struct gw_geo *g);
int gw_geo_encode(const struct gw_geo *g, size_t len, uint8_t *out);
/* Signed decimal degrees x 10^8 (West/South negative), rounded half away from zero. */
int64_t gw_geo_deg_e8(const struct gw_geo *g);

/* Fill a field of format fmt with 0xEE ("absent"). */
void gw_fmt_absent(unsigned fmt, uint8_t *out);

/* m * 10^exp as a double (for printing); exact integers stay exact up to 2^53. */
double gw_num_to_double(int64_t m, int8_t exp);

/* ---------------------------------------------------------------------------------------
 * The decoded-unit model
 * --------------------------------------------------------------------------------------- */

enum gw_vkind {
    GW_VK_NUM = 1,
    GW_VK_TIME = 2,
    GW_VK_INT = 3,
    GW_VK_ADDR = 4,
    GW_VK_TEXT = 5,
    GW_VK_BYTES = 6,
    GW_VK_DLT645 = 7,
};

struct gw_value {
    const char *name; /* static */
    uint16_t index;   /* 0 scalar; 1.. list position (tariff, point + 1, phase, record) */
    uint8_t kind;     /* enum gw_vkind */
    uint8_t status;   /* enum gw_vstatus */
    uint8_t fmt;      /* Appendix A format number, 0 for binary fields */
    int8_t exp;       /* NUM: power of ten */
    uint16_t len;     /* TEXT/BYTES/DLT645: byte count */
    union {
        int64_t i;          /* NUM mantissa, INT, ADDR */
        struct gw_time t;   /* TIME */
        const uint8_t *p;   /* TEXT/BYTES/DLT645: borrowed view into the frame */
    } u;
};

enum gw_ustatus {
    GW_US_OK = 0,
    GW_US_UNKNOWN = 1,   /* no layout for this AFN/Fn/direction: decoding stopped here */
    GW_US_TRUNCATED = 2, /* the unit is longer than what is left, or a count is over its cap */
    GW_US_CAP = 3,       /* the gw_decoded caps were reached inside this unit */
};

struct gw_unit {
    const char *name; /* static, e.g. "F129 forward active energy indication" */
    uint16_t pn;      /* 0 = p0; GW_PN_ALL for "all points" identifiers */
    uint8_t afn, fn;
    uint8_t status;   /* enum gw_ustatus */
    uint16_t first, nval;   /* the unit's own values (event fields belong to events) */
    uint16_t first_ev, nev;
    /* NULL: values with index > 0 form lists, one per name (tariffs, curve points).
     * Else the name of a list of records: values with the same index > 0 form one record
     * (e.g. "meters" of 0A F10, "items" of 00 F3). */
    const char *list;
    const uint8_t *data; /* the unit's bytes (after DA/DT) that were decoded; borrowed */
    uint16_t data_len;
};

struct gw_event {
    uint8_t erc, le;
    uint8_t typed;          /* 1: vals hold typed fields; 0: kept raw (unknown ERC/layout) */
    const uint8_t *raw;     /* the Le content bytes; borrowed */
    uint16_t first, nval;
};

#define GW_DEC_MAX_UNITS 128u
#define GW_DEC_MAX_VALUES 2048u
#define GW_DEC_MAX_EVENTS 256u
/* Caps on counts read from the wire (checked before use). */
#define GW_MAX_TARIFFS 48u  /* M: 2013 says 1..12, 2009 allowed up to 48 */
#define GW_MAX_POINTS 255u  /* curve points n (one byte) */

struct gw_decoded {
    uint16_t nunits, nvals, nevents;
    int status;              /* same as gw_decode_units' return */
    /* undecoded remainder of the unit area: from the data of the unit that failed (after
     * its DA/DT), or from the identifier when the identifier itself is bad */
    const uint8_t *rest;
    size_t rest_len;
    struct gw_unit units[GW_DEC_MAX_UNITS];
    struct gw_value vals[GW_DEC_MAX_VALUES];
    struct gw_event events[GW_DEC_MAX_EVENTS];
};

/* Decode every data unit of fr (direction from fr->dir). Returns
 *   0           everything decoded
 *   MF_EUNSUPP  stopped at an Fn without a layout (that unit has GW_US_UNKNOWN, no values)
 *   MF_EINVAL   a unit is truncated or an identifier is undefined (GW_US_TRUNCATED)
 *   MF_ERANGE   a cap of gw_decoded was reached (GW_US_CAP)
 * In every case the units before the failure are complete, the failing unit keeps what it
 * decoded before the failure, and dec->rest/rest_len hold the undecoded bytes (rest_len 0
 * on success). */
int gw_decode_units(const struct gw_frame *fr, struct gw_decoded *dec);

/* Static name of AFN/Fn in a direction (1 up, 0 down), or NULL when not known. */
const char *gw_fn_name(uint8_t dir, uint8_t afn, uint8_t fn);

/* Find a value of a unit by name and index; NULL if none. Linear (units are small). */
const struct gw_value *gw_unit_value(const struct gw_decoded *dec, const struct gw_unit *un,
                                     const char *name, uint16_t index);

/* ---------------------------------------------------------------------------------------
 * Builders of data-unit areas
 *
 * Append-style on a caller-owned buffer: a builder call appends one data unit (DA/DT and
 * its data) so several can share one frame; the result goes to gw_frame_out.units. The
 * error is sticky: after MF_ERANGE (no room) every further call is a no-op returning it.
 * The caller supplies C, PFC/SEQ, Tp and PW when framing (gw_frame_encode).
 * --------------------------------------------------------------------------------------- */

struct gw_ubuf {
    uint8_t *p;  /* borrowed */
    size_t cap;
    size_t len;
    int err;     /* 0 or the first error */
};

void gw_ub_init(struct gw_ubuf *ub, uint8_t *p, size_t cap);
/* Raw pieces (for layouts without a helper). */
int gw_ub_bytes(struct gw_ubuf *ub, const void *p, size_t n);
int gw_ub_dadt(struct gw_ubuf *ub, uint16_t pn, uint8_t fn);
int gw_ub_num(struct gw_ubuf *ub, unsigned fmt, int64_t m, int8_t exp);
int gw_ub_time(struct gw_ubuf *ub, unsigned fmt, const struct gw_time *t);
int gw_ub_absent(struct gw_ubuf *ub, unsigned fmt);

/* A number that may be absent (status GW_VS_ABSENT writes 0xEE bytes). */
struct gw_num {
    int64_t m;
    int8_t exp;
    uint8_t status; /* enum gw_vstatus: OK or ABSENT */
};

/* -- AFN 00 (either direction) -- */
int gw_b_confirm_all(struct gw_ubuf *ub);  /* p0 F1, no data */
int gw_b_deny_all(struct gw_ubuf *ub);     /* p0 F2, no data */
struct gw_item_ack {
    uint16_t pn;
    uint8_t fn;
    uint8_t err; /* 0 correct, 1 error/other (section 9 of the standard's F3 table) */
};
/* p0 F3: confirmed AFN + n x (DA/DT + ERR). */
int gw_b_confirm_items(struct gw_ubuf *ub, uint8_t afn, const struct gw_item_ack *it, size_t n);

/* -- downlink requests (master) -- */
int gw_req_reset(struct gw_ubuf *ub, uint8_t fn); /* AFN 01 F1..F4, p0, no data */
struct gw_f1_comm {
    uint8_t rts_20ms, delay_min;
    uint16_t answer_timeout_s; /* 0..4095 */
    uint8_t retries;           /* 0..3 */
    uint8_t con_flags;         /* D0 class 1, D1 class 2, D2 class 3 need confirmation */
    uint8_t heartbeat_min;
};
int gw_req_set_f1(struct gw_ubuf *ub, const struct gw_f1_comm *c); /* AFN 04 F1 */
struct gw_meter_cfg {                                              /* AFN 04/0A F10 entry */
    uint16_t serial, pn;
    uint8_t baud_code;  /* D7..D5 of the rate/port byte: 0 default, 1..7 = 600..19200 */
    uint8_t port;       /* 1..31 */
    uint8_t protocol;   /* 0 none, 1 645-1997, 2 AC sampling, 30 645-2007, 31 carrier */
    uint64_t addr;      /* A.12 */
    uint8_t password[6];
    uint8_t tariffs;    /* tariff-count byte as sent (2013: D3..D0) */
    uint8_t digits;     /* digits byte as sent */
    uint64_t collector; /* A.12, 0 = direct */
    uint8_t user_class; /* major << 4 | minor */
};
int gw_req_set_f10(struct gw_ubuf *ub, const struct gw_meter_cfg *m, size_t n);
int gw_req_clock(struct gw_ubuf *ub, const struct gw_time *t); /* AFN 05 F31, A.1 */
/* AFN 05 F1 remote trip for control round pn (1..8): one byte, D7..D4 power-limit time in
 * half hours (0 = until allowed to close), D3..D0 alarm delay in minutes. F2 "allow close":
 * no data. (Layout as we read the standard's control table; see docs/PROTOCOL.md.) */
int gw_req_remote_trip(struct gw_ubuf *ub, uint16_t round, uint8_t limit_half_h,
                       uint8_t alarm_delay_min);
int gw_req_remote_close(struct gw_ubuf *ub, uint16_t round);
int gw_req_port_pause(struct gw_ubuf *ub, uint8_t port);  /* AFN 05 F49 */
int gw_req_port_resume(struct gw_ubuf *ub, uint8_t port); /* AFN 05 F50 */
int gw_req_meter_cfg(struct gw_ubuf *ub, const uint16_t *serials, size_t n); /* AFN 0A F10 */
/* AFN 0C (and any data-less read): one identifier per (pn, fn). */
int gw_req_read(struct gw_ubuf *ub, uint16_t pn, uint8_t fn);
/* AFN 0D with a time tag. */
int gw_req_td_d(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *day);
int gw_req_td_m(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *month);
int gw_req_td_c(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *start,
                uint8_t density, uint8_t points);
int gw_req_events(struct gw_ubuf *ub, uint8_t fn, uint8_t pm, uint8_t pn_ptr); /* AFN 0E */
struct gw_fwd {                                 /* AFN 10 F1 */
    uint8_t port;
    uint8_t ctrl;             /* control word, e.g. 0x6B = 2400 8E1 */
    uint8_t frame_timeout;    /* D7 unit (1 = s), D6..D0 value */
    uint8_t byte_timeout_10ms;
    const uint8_t *data;      /* borrowed: bytes to send (a 645 frame) */
    size_t len;               /* <= 65535 */
};
int gw_req_forward(struct gw_ubuf *ub, const struct gw_fwd *f);
struct gw_fwd_read {                             /* AFN 10 F9 */
    uint8_t port;
    uint8_t nrelay;           /* 0 direct, 0xFF no fixed route; at most 8 addresses used */
    uint64_t relay[8];
    uint64_t target;
    uint8_t di_type;          /* 0 645-1997, 1 645-2007 */
    uint32_t di;
};
int gw_req_forward_read(struct gw_ubuf *ub, const struct gw_fwd_read *f);

/* -- uplink answers (simulated terminal) -- */
int gw_ans_login(struct gw_ubuf *ub);  /* AFN 02 F1 */
int gw_ans_logout(struct gw_ubuf *ub); /* AFN 02 F2 */
/* AFN 02 F3; clock NULL gives the 2009 form (no data). */
int gw_ans_heartbeat(struct gw_ubuf *ub, const struct gw_time *clock);
int gw_ans_clock(struct gw_ubuf *ub, const struct gw_time *clock); /* AFN 0C F2 */
struct gw_f25 {                                                   /* AFN 0C F25 */
    struct gw_time time;
    struct gw_num p[4], q[4];    /* total, A, B, C (A.9, kW / kvar) */
    struct gw_num pf[4];         /* A.5 % */
    struct gw_num u[3];          /* A.7 V */
    struct gw_num i[4];          /* A, B, C, zero-sequence (A.25 A) */
    struct gw_num s[4];          /* A.9 kVA */
};
int gw_ans_f25(struct gw_ubuf *ub, uint16_t pn, const struct gw_f25 *v);
/* AFN 0C F129 (and siblings F130..F136 with their format): time + M + total + M tariffs.
 * e[0] total, e[1..m] tariffs, m <= GW_MAX_TARIFFS. */
int gw_ans_energy(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *time,
                  uint8_t m, const struct gw_num *e);
/* AFN 0C F33: time + M + 4 series of (1+M): fwd active A.14, reactive A.11, QI A.11, QIV
 * A.11; s[k][0..m]. Also F34. */
int gw_ans_f33(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *time,
               uint8_t m, const struct gw_num *const s[4]);
/* AFN 0D F161 (and F162..F168 daily, F177..F184 monthly with Td_m): Td + time + M + values. */
int gw_ans_daily_energy(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *td,
                        const struct gw_time *time, uint8_t m, const struct gw_num *e);
/* AFN 0D F1 (F2, F9, F10; F17/F18 with Td_m): Td + time + M + 4 series as F33. */
int gw_ans_frozen4(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *td,
                   const struct gw_time *time, uint8_t m, const struct gw_num *const s[4]);
/* AFN 0D curve (F81..F110, F145..F148): Td_c + n values in the Fn's format. */
int gw_ans_curve(struct gw_ubuf *ub, uint16_t pn, uint8_t fn, const struct gw_time *start,
                 uint8_t density, uint8_t n, const struct gw_num *v);
/* AFN 0E F1/F2 event area: EC1 EC2 Pm Pn, then records appended with gw_ans_erc*. */
int gw_ans_events_head(struct gw_ubuf *ub, uint8_t fn, uint8_t ec1, uint8_t ec2, uint8_t pm,
                       uint8_t pn_ptr);
int gw_ans_erc_raw(struct gw_ubuf *ub, uint8_t erc, const uint8_t *content, uint8_t le);
/* ERC13 meter fault: time, pn, start flag, fault flags. */
int gw_ans_erc13(struct gw_ubuf *ub, const struct gw_time *t, uint16_t pn, int start,
                 uint8_t flags);
/* ERC14 power off/on (Le 10): off and on times (A.15); on may be NULL (EE). */
int gw_ans_erc14(struct gw_ubuf *ub, const struct gw_time *off, const struct gw_time *on);
/* ERC24 voltage limit (Le 14): time, pn, start flag, limit flags, three A.7 voltages. */
int gw_ans_erc24(struct gw_ubuf *ub, const struct gw_time *t, uint16_t pn, int start,
                 uint8_t flags, const struct gw_num u[3]);
/* AFN 0A F10 answer: count + entries (27 bytes each). */
int gw_ans_meter_cfg(struct gw_ubuf *ub, const struct gw_meter_cfg *m, size_t n);
struct gw_version {                                              /* AFN 09 F1 */
    char vendor[4], device[8], sw[4];
    struct gw_time sw_date;
    char capacity[11], proto[4], hw[4];
    struct gw_time hw_date;
};
int gw_ans_version(struct gw_ubuf *ub, const struct gw_version *v);
/* AFN 04 F91 (set, downlink) and 0A F91 (answer, uplink): p0, longitude then latitude,
 * each in A.28 of geo_len bytes (GW_GEO_LEN4 or GW_GEO_LEN5); NULL writes an absent (0xEE)
 * coordinate. */
int gw_b_f91(struct gw_ubuf *ub, const struct gw_geo *lon, const struct gw_geo *lat,
             size_t geo_len);
/* AFN 10 F1 answer: port + k + bytes (a 645 answer). */
int gw_ans_forward(struct gw_ubuf *ub, uint8_t port, const uint8_t *data, size_t len);

#endif
