/* dlt645.h -- DL/T 645-2007 (and 645-1997 read answers) meter frames, as carried inside
 * 376.1 AFN=10 forwarding (protocol-3761.md section 11). Pure: bytes in, structs out.
 *
 *   [FE..]  68 A0..A5 68 C L DATA(L, each byte +0x33 on the wire) CS 16
 *
 * dlt645_decode() removes the preamble, checks both 68s, L, CS and 16, and undoes the
 * +0x33 scrambling into a copy (the struct owns its 255-byte data array, so nothing points
 * into the caller's bytes). dlt645_values() interprets the data of common frames into the
 * same value model as the 376.1 decoder (struct gw_value, gw3761_data.h), so the JSON
 * printer and the worker handle both alike. dlt645_encode() builds frames (the master's
 * reads and remote-control commands, the simulator's meter answers).
 * Thread: every function is reentrant; structs belong to the caller. */
#ifndef MF_DLT645_H
#define MF_DLT645_H

#include <stddef.h>
#include <stdint.h>

#include "meterflow/gw3761_data.h"

#define DLT645_DATA_MAX 255u
#define DLT645_PREAMBLE_MAX 8u

/* Function codes (C D4..D0) and full C bytes of answers. */
enum dlt645_func {
    DLT645_BCAST_TIME = 0x08,
    DLT645_READ = 0x11,
    DLT645_READ_MORE = 0x12,
    DLT645_READ_ADDR = 0x13,
    DLT645_WRITE = 0x14,
    DLT645_CONTROL = 0x1C, /* remote trip / close / alarm / keep power */
    DLT645_1997_READ = 0x01,
};

/* N1 of a remote-control command. */
enum dlt645_ctl {
    DLT645_CTL_TRIP = 0x1A,
    DLT645_CTL_CLOSE_ALLOWED = 0x1B,
    DLT645_CTL_CLOSE_DIRECT = 0x1C,
    DLT645_CTL_ALARM_ON = 0x2A,
    DLT645_CTL_ALARM_OFF = 0x2B,
    DLT645_CTL_KEEP_ON = 0x3A,
    DLT645_CTL_KEEP_OFF = 0x3B,
};

struct dlt645_frame {
    uint8_t addr[6];     /* wire order, A0 (least significant digits) first */
    uint8_t c;           /* control byte */
    uint8_t dir;         /* D7: 1 meter -> master */
    uint8_t abnormal;    /* D6: abnormal answer (data = error word) */
    uint8_t more;        /* D5: follow-up frames */
    uint8_t func;        /* D4..D0 */
    uint8_t len;         /* L */
    uint8_t data[DLT645_DATA_MAX]; /* DATA with 0x33 subtracted */
    size_t preamble;     /* number of leading 0xFE bytes skipped */
    size_t frame_len;    /* bytes consumed including the preamble */
};

/* Decode the frame at b[0..n) (FE preamble allowed, trailing bytes ignored).
 * 0, MF_AGAIN when n is too short for the frame its header announces, or MF_EINVAL. */
int dlt645_decode(const uint8_t *b, size_t n, struct dlt645_frame *f);

/* Build a frame into out[0..cap): preamble FE bytes (0..DLT645_PREAMBLE_MAX), addr in wire
 * order, data given unscrambled (the +0x33 is applied here). Returns the length or
 * MF_ERANGE / MF_EINVAL. */
int dlt645_encode(const uint8_t addr[6], uint8_t c, const uint8_t *data, size_t len,
                  size_t preamble, uint8_t *out, size_t cap);

/* Meter address (12 BCD digits) <-> wire order bytes. */
int dlt645_addr_from_u64(uint64_t a, uint8_t addr[6]);
/* 0 and the number, or MF_EINVAL when a digit is not decimal (wildcards 0xAA). */
int dlt645_addr_to_u64(const uint8_t addr[6], uint64_t *a);

/* The DI of a read/answer frame (2007: 4 bytes; 1997: 2 bytes), 0 when the frame has none.
 * is1997 is set for 645-1997 function codes (C 0x01/0x81/0xC1). */
uint32_t dlt645_di(const struct dlt645_frame *f, int *is1997);

/* Interpret a frame into values (names follow the JSON rules: "fwd_active_total_kwh",
 * "ua_v", "ia_a", "p_kw", "pf_pct", "date", "time", "status_word3", "relay_open",
 * "command", "valid_until", "error" ...). Views (u.p) point into f->data. Unknown DIs give
 * one BYTES value "raw". Returns the number of values written (<= cap). */
size_t dlt645_values(const struct dlt645_frame *f, struct gw_value *out, size_t cap);

/* Data of a read request for DI (2007) and of a remote-control command:
 * PA + password (4, wire order), operator code (4), N1, N2 = 0, valid-until (ss mm hh DD MM
 * YY, A.1 without weekday). Return the data length written into out (>= 4 / 16 bytes). */
size_t dlt645_read_data(uint32_t di, uint8_t out[4]);
size_t dlt645_control_data(const uint8_t pw[4], uint32_t operator_code, uint8_t n1,
                           const struct gw_time *valid_until, uint8_t out[16]);

/* Short name of a control command N1 ("trip", "close_allowed", ...), or NULL. */
const char *dlt645_ctl_name(uint8_t n1);

#endif
