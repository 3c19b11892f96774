/* gw3761.h -- Q/GDW 1376.1 ("376.1") codec, frame level: stream scanning, header parsing,
 * DA/DT identifiers, frame building. Pure: bytes in, structs out; no I/O, clocks or logging.
 *
 * Data-unit decoding (AFN/Fn tables, data formats A.1..A.28, events) is declared in
 * gw3761_data.h; DL/T 645 in dlt645.h. See docs/PROTOCOL.md and
 * ../shared/docs/protocol-3761.md (section numbers below refer to it).
 *
 * Thread: every function is reentrant; a struct belongs to its caller. */
#ifndef MF_GW3761_H
#define MF_GW3761_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/common.h"

#define GW_FRAME_MIN 20u            /* L1 = 12: C A AFN SEQ DA DT */
#define GW_L1_MAX 16383u            /* 14-bit user-data length */
#define GW_FRAME_MAX (GW_L1_MAX + 8u)
#define GW_PW_LEN 16u               /* standard PW; some dialects use 2 (per terminal) */
#define GW_TP_LEN 6u
#define GW_EC_LEN 2u

/* ---- stream scanning (section 1.3) ---- */

/* Scan buf[0..len) for the first complete, valid frame.
 *  0         a frame is at buf[*start .. *start + *flen)
 *  MF_AGAIN  no complete frame yet; buf[0 .. *start) is garbage the caller may drop
 *            (bytes that cannot begin a valid frame), the rest must be kept and retried
 *            when more bytes arrive.
 * max_frame bounds L1 + 8 (frames announcing more are garbage: resync past their 0x68).
 * Never reads outside buf[0..len). Invalid candidates (bad L copies, protocol id != 2,
 * L1 < 12, bad checksum or end byte) are skipped one byte at a time, as the standard's
 * receiver rule says; leading 0xFE preamble bytes are garbage too.
 * *skipped_bad (may be NULL) receives how many of the dropped bytes were the start of a
 * candidate that failed a check (for counters: "bad checksum", not just noise). */
int gw_frame_scan(const uint8_t *buf, size_t len, size_t max_frame, size_t *start, size_t *flen,
                  size_t *skipped_bad);

/* ---- header ---- */

struct gw_addr {
    uint16_t a1;   /* region code, the 4 BCD digits as a 16-bit number: wire 71 01 -> 0x0171 */
    uint16_t a2;   /* terminal address, binary */
    uint8_t msa;   /* master station address 0..127 (A3 D7..D1) */
    uint8_t group; /* A3 D0: A2 is a group address */
};

/* Canonical terminal key "RRRR-TTTT" (A1 as 4 hex digits of the BCD, A2 as 4 upper-case hex
 * digits). out must hold GW_TERMINAL_STRLEN bytes. */
#define GW_TERMINAL_STRLEN 10
void gw_terminal_format(uint16_t a1, uint16_t a2, char *out);
/* Parse "RRRR-TTTT" (also "RRRRTTTT"). 0 or MF_EINVAL. */
int gw_terminal_parse(const char *s, uint16_t *a1, uint16_t *a2);
/* 32-bit key a1 << 16 | a2, for hash tables and queue keys. */
static inline uint32_t gw_terminal_key(uint16_t a1, uint16_t a2)
{
    return (uint32_t)a1 << 16 | a2;
}

struct gw_seq {
    uint8_t tpv, fir, fin, con;
    uint8_t pseq; /* PSEQ or RSEQ, 0..15 */
};

/* Tp (section 10.3). Fields are decoded from BCD; `valid` is 0 if any BCD nibble was bad. */
struct gw_tp {
    uint8_t pfc;
    uint8_t sec, min, hour, day;
    uint8_t delay_min;
    uint8_t valid;
};

/* A parsed frame. Pointers are borrowed views into the bytes given to gw_frame_parse and are
 * valid only as long as those bytes are. */
struct gw_frame {
    const uint8_t *raw;
    size_t raw_len;
    uint8_t c;        /* control byte as received */
    uint8_t dir;      /* 0 down (master -> terminal), 1 up */
    uint8_t prm;      /* 1 initiator */
    uint8_t fcb_acd;  /* downlink: FCB; uplink: ACD */
    uint8_t fcv;      /* downlink: FCV; uplink: reserved D4 (ignored) */
    uint8_t fc;       /* function code D3..D0 */
    struct gw_addr addr;
    uint8_t afn;
    struct gw_seq seq;
    const uint8_t *units; /* data-unit area: { DA DT unit }*, AUX excluded */
    size_t units_len;
    const uint8_t *pw;    /* NULL when the frame carries no PW */
    size_t pw_len;
    uint8_t has_ec, ec1, ec2;
    uint8_t has_tp;
    struct gw_tp tp;
};

/* Parse a frame the scanner accepted (the checksum is checked again; cheap).
 * pw_len: length of PW for frames that carry one (section 4 rule: downlink AFN 01 04 05 06
 * 0F 10, uplink AFN 06) -- 16 normally, per-terminal setting for dialects.
 * 0, or MF_EINVAL when the AUX rules leave fewer bytes than the header needs. */
int gw_frame_parse(const uint8_t *raw, size_t len, size_t pw_len, struct gw_frame *fr);

/* 1 when a frame of this direction/AFN carries PW (section 4). */
int gw_afn_has_pw(uint8_t dir, uint8_t afn);

/* ---- DA/DT (section 6) ---- */

/* One identifier expanded: pn list and Fn list in ascending (standard) order.
 * pn 0 = p0; an "all valid points" DA (FF 00) gives npn = 1 with pn[0] = GW_PN_ALL. */
#define GW_PN_ALL 0xFFFFu
struct gw_dadt {
    uint16_t pn[8];
    uint8_t npn;
    uint8_t fn[8];
    uint8_t nfn;
};

/* 0, or MF_EINVAL for undefined combinations (DA2 = 0 with DA1 not in {0, FF}; DT2 > 30;
 * DT1 = 0). */
int gw_dadt_decode(const uint8_t b[4], struct gw_dadt *d);
/* Encode one pn (0..2040, or GW_PN_ALL) and one Fn (1..248). 0 or MF_EINVAL. */
int gw_dadt_encode(uint16_t pn, uint8_t fn, uint8_t out[4]);
/* Encode several pn of one group and several Fn of one group into one identifier.
 * 0, or MF_EINVAL when they do not share a group. */
int gw_dadt_encode_set(const uint16_t *pn, size_t npn, const uint8_t *fn, size_t nfn,
                       uint8_t out[4]);

/* ---- frame building ---- */

/* Everything a frame needs; the caller supplies PFC/PSEQ, Tp and PW (section 5, 10).
 * c: full control byte (use gw_c_* helpers). units: the data-unit area (DA/DT + data) built
 * by the caller or by the gw_req_* / gw_ans_* helpers in gw3761_data.h. */
struct gw_frame_out {
    uint8_t c;
    struct gw_addr addr;
    uint8_t afn;
    struct gw_seq seq;            /* tpv is forced to has_tp */
    const uint8_t *units;
    size_t units_len;
    const uint8_t *pw;            /* NULL: no PW */
    size_t pw_len;
    uint8_t has_ec, ec1, ec2;
    uint8_t has_tp;
    struct gw_tp tp;
};

/* Write the frame into out[0..cap). Returns its length, or MF_ERANGE if it does not fit or
 * L1 would exceed GW_L1_MAX. */
int gw_frame_encode(const struct gw_frame_out *fo, uint8_t *out, size_t cap);

/* Control bytes. */
static inline uint8_t gw_c_down(uint8_t prm, uint8_t fcb, uint8_t fcv, uint8_t fc)
{
    return (uint8_t)((prm & 1u) << 6 | (fcb & 1u) << 5 | (fcv & 1u) << 4 | (fc & 15u));
}
static inline uint8_t gw_c_up(uint8_t prm, uint8_t acd, uint8_t fc)
{
    return (uint8_t)(0x80u | (prm & 1u) << 6 | (acd & 1u) << 5 | (fc & 15u));
}
static inline uint8_t gw_seq_byte(const struct gw_seq *s)
{
    return (uint8_t)((s->tpv & 1u) << 7 | (s->fir & 1u) << 6 | (s->fin & 1u) << 5 |
                     (s->con & 1u) << 4 | (s->pseq & 15u));
}

/* AFN codes. */
enum gw_afn {
    GW_AFN_CONFIRM = 0x00,
    GW_AFN_RESET = 0x01,
    GW_AFN_LINK = 0x02,
    GW_AFN_RELAY = 0x03,
    GW_AFN_SET = 0x04,
    GW_AFN_CONTROL = 0x05,
    GW_AFN_AUTH = 0x06,
    GW_AFN_CASCADE = 0x08,
    GW_AFN_CONFIG = 0x09,
    GW_AFN_QUERY = 0x0A,
    GW_AFN_TASK = 0x0B,
    GW_AFN_CLASS1 = 0x0C,
    GW_AFN_CLASS2 = 0x0D,
    GW_AFN_CLASS3 = 0x0E,
    GW_AFN_FILE = 0x0F,
    GW_AFN_FORWARD = 0x10,
};

#endif
