/* store_contract.h -- the store contract suite, written once and run against every backend:
 * tests/unit/test_store.c (SQLite, under ASan) and tests/integ/test_store_pg.c (a real
 * PostgreSQL server started by tests/integ/pg.sh).
 *
 * The including file defines, before including this header:
 *   static void ct_location(char *loc, size_t len);  a fresh, empty store location
 *   static struct store *ct_open(const char *loc);   open a handle on it (NULL on failure)
 *   static struct store *ct_open_ro(const char *loc); the same with store_opts.readonly
 *   static struct store *ct_open_chunked(const char *loc, int chunk); retention_chunk set
 *   static int ct_sql(const char *loc, const char *sql); run raw SQL with the backend's own
 *                                                     client (fault injection), 0 on success
 * Expected values are written by hand (times: 1795651200 is 2026-11-26T00:00:00Z, day 20783
 * is 2026-11-26), never read back from the code under test's own formatting. */
#ifndef MF_STORE_CONTRACT_H
#define MF_STORE_CONTRACT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/store.h"

#define T0 1795651200LL /* 2026-11-26T00:00:00Z */
#define D0 20783        /* 2026-11-26 */
#define TERM_A 0x44030012u /* "4403-0012" */
#define TERM_B 0x4403ABCDu /* "4403-ABCD" */

static struct store *ct_fresh(char *loc, size_t len)
{
    ct_location(loc, len);
    return ct_open(loc);
}

/* Rows of a table as counted by store_metrics_json (exact for append-only tables). */
static long long ct_rows(struct store *st, const char *table)
{
    json_t *m = NULL;
    long long n = -1;
    if (store_metrics_json(st, &m) == 0) {
        json_t *r = json_object_get(json_object_get(json_object_get(m, "tables"), table), "rows");
        n = json_is_integer(r) ? (long long)json_integer_value(r) : -1;
    }
    json_decref(m);
    return n;
}

/* Turn a current database's frames back into steps 1-4's hex text (empty). */
#define CT_FRAMES_V3                                                                           \
    "DROP TABLE frames; CREATE TABLE frames (terminal TEXT NOT NULL, at_us BIGINT NOT NULL,"    \
    " dir INTEGER NOT NULL, hex TEXT NOT NULL, error TEXT, PRIMARY KEY (terminal, at_us, dir));" \
    " CREATE INDEX frames_at ON frames (at_us);"                                               \
    " DELETE FROM schema_version WHERE version = 5"

/* Turn a current database's energy back into steps 1-3's per-value table (empty). */
#define CT_ENERGY_V1                                                                           \
    "DROP VIEW energy; DROP TABLE energy_report; DROP TABLE energy_extra;"                    \
    " CREATE TABLE energy (terminal TEXT NOT NULL, pn INTEGER NOT NULL, item TEXT NOT NULL,"   \
    " read_at BIGINT NOT NULL, tariff INTEGER NOT NULL, value DOUBLE PRECISION,"               \
    " status INTEGER NOT NULL, PRIMARY KEY (terminal, pn, read_at, item, tariff))"

static const char *ct_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Take the current database at loc back to what migration step `step` (1 to 4) left: the
 * tables later steps change as that step wrote them (empty), the later steps' versions gone
 * from schema_version. Every statement is checked. */
static void ct_rewind(const char *loc, int step)
{
    static const char *const undo3[] = {
        "DROP INDEX session_log_at", "DROP TABLE meter_addr_log",
        "ALTER TABLE frames DROP COLUMN error", "ALTER TABLE line_loss DROP COLUMN threshold",
        "ALTER TABLE line_loss DROP COLUMN allowance_kwh",
        "DELETE FROM schema_version WHERE version = 3" };
    CHECK_EQ_INT(ct_sql(loc, CT_FRAMES_V3), 0); /* undoes step 5 */
    if (step < 4) {
        CHECK_EQ_INT(ct_sql(loc, CT_ENERGY_V1), 0);
        CHECK_EQ_INT(ct_sql(loc, "DELETE FROM schema_version WHERE version = 4"), 0);
    }
    for (size_t i = 0; step < 3 && i < sizeof(undo3) / sizeof(undo3[0]); i++)
        CHECK_EQ_INT(ct_sql(loc, undo3[i]), 0);
    if (step < 2) {
        CHECK_EQ_INT(ct_sql(loc, "DROP INDEX anomalies_terminal"), 0);
        CHECK_EQ_INT(ct_sql(loc, "DELETE FROM schema_version WHERE version >= 2"), 0);
    }
}

/* A fresh store location taken back to migration step `step` (ct_rewind). 0 or -1. */
static int ct_fresh_at_step(char *loc, size_t len, int step)
{
    struct store *st = ct_fresh(loc, len);
    CHECK(st != NULL);
    if (!st)
        return -1;
    store_close(st);
    ct_rewind(loc, step);
    return 0;
}

/* Open loc, which the open migrates to the current step (checked). NULL on failure. */
static struct store *ct_open_migrated(const char *loc)
{
    struct store *st = ct_open(loc);
    CHECK(st != NULL);
    if (st)
        CHECK_EQ_INT(store_schema_version(st), 5);
    return st;
}

/* A realistic mixed batch: F129 (total + 4 tariffs), F25 instants, daily frozen, a curve, an
 * event, a frame, a session. Records point at static strings only. */
static struct store_energy ct_energy[5];
static struct store_instant ct_inst[3];
static struct store_frozen ct_frozen[2];
static struct store_curve ct_curve[4];
static const uint8_t ct_raw_ev[] = { 0x0E, 0x08, 0x00, 0x10, 0x26, 0x11, 0x26, 0x01, 0x00, 0x00 };
static struct store_event ct_ev[1];
static struct store_frame ct_frames[2];
static const uint8_t ct_frame_up[] = { 0x68, 0x32, 0x00 };
static const uint8_t ct_frame_down[] = { 0x68, 0x4A, 0x00, 0x0A };
static struct store_session ct_sess[1];

static void ct_batch(struct store_batch *b)
{
    static const double tariff_kwh[5] = { 1234.56, 300.5, 400.25, 500.0, 33.81 };
    memset(b, 0, sizeof(*b));
    for (int i = 0; i < 5; i++)
        ct_energy[i] = (struct store_energy){ TERM_A, 1, (uint8_t)i, STORE_V_OK, "ap_fwd",
                                              T0 + 600, tariff_kwh[i] };
    ct_inst[0] = (struct store_instant){ TERM_A, 1, STORE_V_OK, "ua", T0 + 600, 221.3 };
    ct_inst[1] = (struct store_instant){ TERM_A, 1, STORE_V_ABSENT, "ub", T0 + 600, 0 };
    ct_inst[2] = (struct store_instant){ TERM_A, 1, STORE_V_INVALID, "uc", T0 + 600, 0 };
    ct_frozen[0] = (struct store_frozen){ TERM_A, 1, STORE_FROZEN_DAILY, 0, STORE_V_OK,
                                          "ap_fwd", D0, 1230.0, T0 + 300 };
    ct_frozen[1] = (struct store_frozen){ TERM_A, 1, STORE_FROZEN_DAILY, 0, STORE_V_OK,
                                          "ap_fwd", D0 - 1, 1220.5, T0 - 86400 + 300 };
    for (int i = 0; i < 4; i++)
        ct_curve[i] = (struct store_curve){ TERM_A, 1, STORE_V_OK, "p", T0 + 900 * i,
                                            1.5 + i };
    ct_ev[0] = (struct store_event){ TERM_A, 1, 14, 2, 1, 0, T0 + 60, T0 + 70,
                                     "{\"kind\":\"power_off\"}", ct_raw_ev, sizeof(ct_raw_ev) };
    ct_frames[0] = (struct store_frame){ TERM_A, (T0 + 70) * 1000000 + 5, 1, ct_frame_up,
                                         sizeof(ct_frame_up),
                                         "frame does not parse: malformed input" };
    ct_frames[1] = (struct store_frame){ TERM_A, (T0 + 71) * 1000000, 0, ct_frame_down,
                                         sizeof(ct_frame_down), NULL };
    ct_sess[0] = (struct store_session){ TERM_A, 1, 1, -3, "login", "10.0.0.7:40001", T0 + 5 };
    b->energy = ct_energy;
    b->n_energy = 5;
    b->instant = ct_inst;
    b->n_instant = 3;
    b->frozen = ct_frozen;
    b->n_frozen = 2;
    b->curve = ct_curve;
    b->n_curve = 4;
    b->events = ct_ev;
    b->n_events = 1;
    b->frames = ct_frames;
    b->n_frames = 2;
    b->sessions = ct_sess;
    b->n_sessions = 1;
}

MF_TEST(contract_migrate_fresh_and_reopen)
{
    char loc[512];
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_EQ_INT(store_schema_version(st), 5);
    store_close(st);
    st = ct_open_migrated(loc); /* second open: nothing to migrate, same version */
    struct store *st2 = ct_open(loc); /* two handles at once */
    CHECK(st2 != NULL);
    store_close(st2);
    store_close(st);
    /* A database left at step 2 (steps 5 to 3 undone) is taken to steps 3 to 5: step 3's
     * columns, index and table are created, and a line-loss row flagged high with meters
     * missing gets flag 4 (high despite missing) while a plain high one keeps flag 1. */
    ct_rewind(loc, 2);
    CHECK_EQ_INT(ct_sql(loc, "INSERT INTO line_loss (date, area, consumed_kwh, flag,"
                             " meters_expected, meters_counted, computed_at)"
                             " VALUES (1, 'A', 1, 1, 5, 4, 1), (1, 'B', 1, 1, 5, 5, 1)"), 0);
    st = ct_open_migrated(loc);
    if (st) {
        json_t *j = NULL;
        CHECK_EQ_INT(store_kpi_lineloss_json(st, 1, 1, NULL, &j), 0);
        CHECK_EQ_INT(json_array_size(j), 2);
        CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(j, 0), "flag")), 4);
        CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(j, 1), "flag")), 1);
        CHECK(json_is_null(json_object_get(json_array_get(j, 0), "threshold")));
        json_decref(j);
    }
    store_close(st);
    /* A database left at step 1 (as an older meterflow created it) is taken to step 5 on
     * open: step 2's index is created (dropping it again succeeds). */
    ct_rewind(loc, 1);
    store_close(ct_open_migrated(loc));
    CHECK_EQ_INT(ct_sql(loc, "DROP INDEX anomalies_terminal"), 0);
}

/* The schema version is read from the database and picks the migration steps to run: a
 * negative one (steps[-1] before it was checked) or one past int (it wrapped to a valid
 * step) is refused at open, read-write and read-only, instead of being used. */
MF_TEST(contract_migrate_refuses_a_version_out_of_range)
{
    char loc[512];
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    store_close(st);
    CHECK_EQ_INT(ct_sql(loc, "DELETE FROM schema_version"), 0);
    CHECK_EQ_INT(ct_sql(loc, "INSERT INTO schema_version (version, applied_at) VALUES (-1, 0)"),
                 0);
    st = ct_open(loc);
    CHECK(st == NULL);
    store_close(st);
    st = ct_open_ro(loc);
    CHECK(st == NULL);
    store_close(st);
    /* 2^32 + 5: as an int it would read as step 5, the current one. Only SQLite can hold
     * it (PostgreSQL's INTEGER column refuses the UPDATE, so there is nothing to read). */
    if (ct_sql(loc, "UPDATE schema_version SET version = 4294967301") == 0) {
        st = ct_open(loc);
        CHECK(st == NULL);
        store_close(st);
    }
}

/* Step 5 on a database with frames as hex text (as steps 1-4 wrote them): every frame
 * becomes its bytes (3 and 6 bytes long, not the 8 and 17 characters of the text), reads
 * give back the same hex text and error, and frames written after the step sit beside them. */
MF_TEST(contract_migrate_frames_to_bytes)
{
    char loc[512];
    json_t *j = NULL;
    struct store_batch b;
    if (ct_fresh_at_step(loc, sizeof(loc), 4) != 0)
        return;
    CHECK_EQ_INT(ct_sql(loc, "INSERT INTO frames (terminal, at_us, dir, hex, error) VALUES"
                             " ('4403-0012', 1795651100000000, 1, '68 32 00 32 00 68', 'bad'),"
                             " ('4403-0012', 1795651100000001, 0, '68 4A 00', NULL)"),
                 0);
    struct store *st = ct_open_migrated(loc);
    if (!st)
        return;
    /* lengths in bytes: a CHECK constraint refuses the copy unless both are right */
    CHECK_EQ_INT(ct_sql(loc, "CREATE TABLE ct_len (at_us BIGINT, n INTEGER CHECK"
                             " ((at_us = 1795651100000000 AND n = 6)"
                             " OR (at_us = 1795651100000001 AND n = 3)))"),
                 0);
    CHECK_EQ_INT(ct_sql(loc, "INSERT INTO ct_len SELECT at_us, length(raw) FROM frames"), 0);
    CHECK_EQ_INT(ct_sql(loc, "INSERT INTO ct_len SELECT 0, 0"), -1); /* the check can fail */
    ct_batch(&b);
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(store_terminal_json(st, "4403-0012", 10, &j), 0);
    json_t *fr = json_object_get(j, "frames");
    CHECK_EQ_INT(json_array_size(fr), 4);
    CHECK_STR(ct_str(json_array_get(fr, 2), "hex"), "68 4A 00");
    CHECK_STR(ct_str(json_array_get(fr, 2), "dir"), "down");
    CHECK_STR(ct_str(json_array_get(fr, 3), "hex"), "68 32 00 32 00 68");
    CHECK_STR(ct_str(json_array_get(fr, 3), "error"), "bad");
    CHECK_STR(ct_str(json_array_get(fr, 3), "at"), "2026-11-25T23:58:20.000000Z");
    CHECK_STR(ct_str(json_array_get(fr, 0), "hex"), "68 4A 00 0A"); /* written after it */
    json_decref(j);
    store_close(st);
}

/* Step 4 on a database with per-value energy rows (as step 3 left them): every value moves
 * to energy_report (tariffs 0..4) or energy_extra (above 4) with its status, and reads
 * through the view energy give back exactly the rows that were there. */
MF_TEST(contract_migrate_energy_to_one_row_per_report)
{
    char loc[512];
    json_t *j = NULL;
    if (ct_fresh_at_step(loc, sizeof(loc), 3) != 0)
        return;
    /* point 1: total + 4 tariffs, tariff 2 absent; point 2: total, tariff 6 (no 1..4) */
    CHECK_EQ_INT(ct_sql(loc, "INSERT INTO energy VALUES"
                             " ('4403-0012', 1, 'ap_fwd', 1795651200, 0, 1000.5, 0),"
                             " ('4403-0012', 1, 'ap_fwd', 1795651200, 1, 400.25, 0),"
                             " ('4403-0012', 1, 'ap_fwd', 1795651200, 2, NULL, 1),"
                             " ('4403-0012', 1, 'ap_fwd', 1795651200, 3, 300, 0),"
                             " ('4403-0012', 1, 'ap_fwd', 1795651200, 4, NULL, 2),"
                             " ('4403-0012', 2, 'ap_fwd', 1795651200, 0, 7, 0),"
                             " ('4403-0012', 2, 'ap_fwd', 1795651200, 6, 1.5, 0)"),
                 0);
    struct store *st = ct_open_migrated(loc);
    if (!st)
        return;
    CHECK_EQ_INT(store_point_energy_json(st, "4403-0012", 1, T0, T0 + 1, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 5);
    for (size_t i = 0; i < json_array_size(j); i++) {
        json_t *v = json_array_get(j, i);
        int tariff = (int)json_integer_value(json_object_get(v, "tariff"));
        CHECK_EQ_INT(tariff, (int)i);
        CHECK_STR(ct_str(v, "status"), tariff == 2 ? "absent" : tariff == 4 ? "invalid" : "ok");
        CHECK_EQ_INT(json_is_null(json_object_get(v, "value")), tariff == 2 || tariff == 4);
    }
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 0), "value")), 1000.5, 1e-9);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 1), "value")), 400.25, 1e-9);
    CHECK_NEAR(json_number_value(json_object_get(json_array_get(j, 3), "value")), 300, 1e-9);
    json_decref(j);
    CHECK_EQ_INT(store_point_energy_json(st, "4403-0012", 2, T0, T0 + 1, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(j, 1), "tariff")), 6);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 1), "value")), 1.5, 1e-9);
    json_decref(j);
    /* the migrated report is a stored key: the same values again change nothing */
    struct store_energy again[2] = {
        { TERM_A, 1, 0, STORE_V_OK, "ap_fwd", T0, 999.0 },  /* stored: kept as 1000.5 */
        { TERM_A, 2, 1, STORE_V_OK, "ap_fwd", T0, 2.0 },    /* tariff 1 was missing: filled */
    };
    struct store_batch b = { 0 };
    b.energy = again;
    b.n_energy = 2;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(store_point_energy_json(st, "4403-0012", 1, T0, T0 + 1, &j), 0);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 0), "value")), 1000.5, 1e-9);
    json_decref(j);
    CHECK_EQ_INT(store_point_energy_json(st, "4403-0012", 2, T0, T0 + 1, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 3);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 1), "value")), 2.0, 1e-9);
    json_decref(j);
    store_close(st);
}

MF_TEST(contract_readonly_handle)
{
    char loc[512], fresh[512];
    struct store_batch b;
    json_t *j = NULL;
    ct_location(fresh, sizeof(fresh));
    CHECK(ct_open_ro(fresh) == NULL); /* nothing there: no schema is created */
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    ct_batch(&b);
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    struct store *ro = ct_open_ro(loc);
    CHECK(ro != NULL);
    if (ro) {
        CHECK_EQ_INT(store_schema_version(ro), 5);
        CHECK_EQ_INT(store_point_energy_json(ro, "4403-0012", 1, T0, T0 + 3600, &j), 0);
        CHECK_EQ_INT(json_array_size(j), 5);
        json_decref(j);
        CHECK_EQ_INT(store_batch_write(ro, &b), MF_EFATAL);
        store_close(ro);
    }
    store_close(st);
}

MF_TEST(contract_batch_twice_one_row_per_key)
{
    char loc[512];
    struct store_batch b;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    ct_batch(&b);
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(store_batch_write(st, &b), 0); /* redelivery */
    CHECK_EQ_INT(ct_rows(st, "energy"), 1); /* one report of 5 values (schema step 4) */
    CHECK_EQ_INT(ct_rows(st, "instant"), 3);
    CHECK_EQ_INT(ct_rows(st, "frozen"), 2);
    CHECK_EQ_INT(ct_rows(st, "curve"), 4);
    CHECK_EQ_INT(ct_rows(st, "events"), 1);
    CHECK_EQ_INT(ct_rows(st, "frames"), 2);
    CHECK_EQ_INT(ct_rows(st, "session_log"), 1);

    json_t *e = NULL;
    CHECK_EQ_INT(store_point_energy_json(st, "4403-0012", 1, T0, T0 + 3600, &e), 0);
    CHECK_EQ_INT(json_array_size(e), 5);
    json_t *first = json_array_get(e, 0);
    CHECK_STR(ct_str(first, "item"), "ap_fwd");
    CHECK_EQ_INT(json_integer_value(json_object_get(first, "tariff")), 0);
    CHECK_STR(ct_str(first, "read_at"), "2026-11-26T00:10:00Z");
    CHECK_NEAR(json_real_value(json_object_get(first, "value")), 1234.56, 1e-9);
    CHECK_STR(ct_str(first, "status"), "ok");
    json_decref(e);

    /* A batch holding the same key twice is one row too. */
    struct store_curve dup[2] = { ct_curve[0], ct_curve[0] };
    struct store_batch b2 = { 0 };
    b2.curve = dup;
    b2.n_curve = 2;
    CHECK_EQ_INT(store_batch_write(st, &b2), 0);
    CHECK_EQ_INT(ct_rows(st, "curve"), 4);
    store_close(st);
}

MF_TEST(contract_absent_invalid_not_zero)
{
    char loc[512];
    struct store_batch b;
    json_t *a = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    ct_batch(&b);
    ct_inst[1].value = 99; /* must be ignored: status says absent */
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(store_point_instant_json(st, "4403-0012", 1, T0, T0 + 3600, &a), 0);
    CHECK_EQ_INT(json_array_size(a), 3);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *r = json_array_get(a, i);
        const char *qn = ct_str(r, "quantity");
        if (qn && strcmp(qn, "ua") == 0) {
            CHECK_STR(ct_str(r, "status"), "ok");
            CHECK_NEAR(json_real_value(json_object_get(r, "value")), 221.3, 1e-9);
        } else if (qn && strcmp(qn, "ub") == 0) {
            CHECK_STR(ct_str(r, "status"), "absent");
            CHECK(json_is_null(json_object_get(r, "value")));
        } else {
            CHECK_STR(ct_str(r, "status"), "invalid");
            CHECK(json_is_null(json_object_get(r, "value")));
        }
    }
    json_decref(a);

    /* frozen: absent first, a valid re-read replaces it; a later absent does not undo it */
    struct store_frozen f = { TERM_A, 2, STORE_FROZEN_DAILY, 0, STORE_V_ABSENT, "ap_fwd", D0,
                              0, T0 };
    struct store_batch fb = { 0 };
    double v = -1;
    int status = -1;
    fb.frozen = &f;
    fb.n_frozen = 1;
    CHECK_EQ_INT(store_batch_write(st, &fb), 0);
    CHECK_EQ_INT(store_frozen_get(st, TERM_A, 2, STORE_FROZEN_DAILY, "ap_fwd", D0, 0, &v,
                                  &status), 0);
    CHECK_EQ_INT(status, STORE_V_ABSENT);
    f.status = STORE_V_OK;
    f.value = 77.25;
    CHECK_EQ_INT(store_batch_write(st, &fb), 0);
    f.status = STORE_V_ABSENT;
    f.value = 0;
    CHECK_EQ_INT(store_batch_write(st, &fb), 0);
    CHECK_EQ_INT(store_frozen_get(st, TERM_A, 2, STORE_FROZEN_DAILY, "ap_fwd", D0, 0, &v,
                                  &status), 0);
    CHECK_EQ_INT(status, STORE_V_OK);
    CHECK_NEAR(v, 77.25, 1e-12);
    CHECK_EQ_INT(store_frozen_get(st, TERM_A, 9, STORE_FROZEN_DAILY, "ap_fwd", D0, 0, &v,
                                  &status), MF_ENOTFOUND);
    store_close(st);
}

MF_TEST(contract_failed_batch_leaves_nothing_and_retries)
{
    char loc[512];
    struct store_batch b;
    struct store_fwd645 fw = { 0, TERM_A, "151230011061", 0x00010000u, STORE_V_OK, 12.5, NULL,
                               0, T0 + 100 };
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    store_close(st);
    /* Break the table the batch writes last, with the backend's own client. */
    CHECK_EQ_INT(ct_sql(loc, "ALTER TABLE fwd645 RENAME TO fwd645_gone"), 0);
    st = ct_open(loc);
    CHECK(st != NULL);
    if (!st)
        return;
    ct_batch(&b);
    b.fwd645 = &fw;
    b.n_fwd645 = 1;
    int rc = store_batch_write(st, &b);
    CHECK_EQ_INT(rc, MF_EFATAL);
    char err[512];
    store_last_error(st, err, sizeof(err));
    CHECK(strstr(err, "fwd645") != NULL);
    CHECK_EQ_INT(ct_rows(st, "energy"), 0); /* written before the failure, rolled back */
    json_t *e = NULL;
    CHECK_EQ_INT(store_point_energy_json(st, "4403-0012", 1, T0, T0 + 3600, &e), 0);
    CHECK_EQ_INT(json_array_size(e), 0);
    json_decref(e);
    store_close(st);
    /* Repair and retry the same batch on a new handle: everything lands once. */
    CHECK_EQ_INT(ct_sql(loc, "ALTER TABLE fwd645_gone RENAME TO fwd645"), 0);
    st = ct_open(loc);
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(ct_rows(st, "energy"), 1);
    CHECK_EQ_INT(ct_rows(st, "fwd645"), 1);
    /* A record over its cap is refused before anything is written. */
    struct store_energy big = ct_energy[0];
    big.item = "an_item_code_much_longer_than_thirty_two_bytes";
    struct store_batch bb = { 0 };
    bb.energy = &big;
    bb.n_energy = 1;
    CHECK_EQ_INT(store_batch_write(st, &bb), MF_EINVAL);
    store_close(st);
}

MF_TEST(contract_events_ec_sessions_clock)
{
    char loc[512];
    struct store_batch b;
    json_t *j = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    ct_batch(&b);
    CHECK_EQ_INT(store_batch_write(st, &b), 0);

    struct store_event_filter ef = { .erc = 14 };
    CHECK_EQ_INT(store_events_json(st, &ef, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 1);
    json_t *ev = json_array_get(json_object_get(j, "items"), 0);
    CHECK_STR(ct_str(ev, "terminal"), "4403-0012");
    CHECK_STR(ct_str(ev, "occurred_at"), "2026-11-26T00:01:00Z");
    CHECK_STR(ct_str(json_object_get(ev, "fields"), "kind"), "power_off");
    CHECK_STR(ct_str(ev, "raw"), "0E 08 00 10 26 11 26 01 00 00");
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "page")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "page_size")), 50);
    json_decref(j);
    ef.erc = 1;
    CHECK_EQ_INT(store_events_json(st, &ef, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
    ef.erc = 0;
    ef.terminal = "4403-0012"; /* the per-terminal statement */
    CHECK_EQ_INT(store_events_json(st, &ef, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 1);
    CHECK(json_is_false(json_object_get(j, "total_capped")));
    json_decref(j);
    ef.terminal = "4403-ABCD";
    CHECK_EQ_INT(store_events_json(st, &ef, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);

    /* EC pointers move forward modulo 256 only */
    struct store_ec ec = { TERM_A, 24, -1, T0 };
    struct store_batch eb = { 0 };
    int ec1 = 0, ec2 = 0;
    eb.ec = &ec;
    eb.n_ec = 1;
    CHECK_EQ_INT(store_batch_write(st, &eb), 0);
    ec.ec1 = 23; /* an older, redelivered batch */
    CHECK_EQ_INT(store_batch_write(st, &eb), 0);
    CHECK_EQ_INT(store_ec_get(st, TERM_A, &ec1, &ec2), 0);
    CHECK_EQ_INT(ec1, 24);
    CHECK_EQ_INT(ec2, -1);
    ec.ec1 = 120;
    CHECK_EQ_INT(store_batch_write(st, &eb), 0);
    ec.ec1 = 230;
    CHECK_EQ_INT(store_batch_write(st, &eb), 0);
    ec.ec1 = 5; /* wrapped past 255: forward by 31 */
    ec.ec2 = 7;
    CHECK_EQ_INT(store_batch_write(st, &eb), 0);
    CHECK_EQ_INT(store_ec_get(st, TERM_A, &ec1, &ec2), 0);
    CHECK_EQ_INT(ec1, 5);
    CHECK_EQ_INT(ec2, 7);

    /* session: newest change wins; an older one is logged but does not flip the state */
    struct store_session s2 = { TERM_A, 0, 0, 0, "timeout", NULL, T0 - 100 };
    struct store_batch sb = { 0 };
    sb.sessions = &s2;
    sb.n_sessions = 1;
    CHECK_EQ_INT(store_batch_write(st, &sb), 0);
    struct store_clock ck = { TERM_A, T0 + 10, T0 + 10 + 42 };
    struct store_batch cb = { 0 };
    cb.clocks = &ck;
    cb.n_clocks = 1;
    CHECK_EQ_INT(store_batch_write(st, &cb), 0);
    CHECK_EQ_INT(store_terminal_json(st, "4403-0012", 10, &j), 0);
    CHECK(json_is_true(json_object_get(j, "online")));
    CHECK(json_is_false(json_object_get(j, "registered")));
    CHECK_STR(ct_str(j, "peer"), "10.0.0.7:40001");
    CHECK_STR(ct_str(j, "last_seen"), "2026-11-26T00:00:05Z");
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "clock_offset_s")), 42);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "ec1")), 5);
    json_t *fr = json_object_get(j, "frames");
    CHECK_EQ_INT(json_array_size(fr), 2);
    CHECK_STR(ct_str(json_array_get(fr, 0), "dir"), "down");
    CHECK_STR(ct_str(json_array_get(fr, 0), "at"), "2026-11-26T00:01:11.000000Z");
    CHECK_STR(ct_str(json_array_get(fr, 1), "at"), "2026-11-26T00:01:10.000005Z");
    CHECK_STR(ct_str(json_array_get(fr, 0), "hex"), "68 4A 00 0A"); /* stored as bytes */
    CHECK_STR(ct_str(json_array_get(fr, 1), "hex"), "68 32 00");
    CHECK_STR(ct_str(json_array_get(fr, 1), "error"), "frame does not parse: malformed input");
    CHECK(json_is_null(json_object_get(json_array_get(fr, 0), "error")));
    CHECK(json_is_null(json_object_get(j, "version")));
    json_decref(j);
    CHECK_EQ_INT(ct_rows(st, "session_log"), 2);
    CHECK_EQ_INT(store_terminal_json(st, "4403-9999", 10, &j), MF_ENOTFOUND);
    CHECK_EQ_INT(store_terminal_json(st, "not-a-terminal", 10, &j), MF_EINVAL);
    store_close(st);
}

/* A session change's clock moves the terminal's clock forward only, like a 0C F2 reading:
 * the worker's session lane may write a heartbeat's clock after a newer reading. */
MF_TEST(contract_session_clock_moves_forward)
{
    char loc[512];
    json_t *j = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    struct store_clock ck = { TERM_B, T0 + 100, T0 + 100 + 42 }; /* read at T0+100: +42 s */
    struct store_batch b = { 0 };
    b.clocks = &ck;
    b.n_clocks = 1;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    struct store_session s = { TERM_B, 1, 1, 5, "clock", NULL, T0 + 50 }; /* older: +5 s */
    struct store_batch sb = { 0 };
    sb.sessions = &s;
    sb.n_sessions = 1;
    CHECK_EQ_INT(store_batch_write(st, &sb), 0);
    CHECK_EQ_INT(store_terminal_json(st, "4403-ABCD", 0, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "clock_offset_s")), 42);
    CHECK(json_is_true(json_object_get(j, "online"))); /* the state still changes */
    json_decref(j);
    s.at = T0 + 200; /* newer: +7 s */
    s.clock_offset_s = 7;
    CHECK_EQ_INT(store_batch_write(st, &sb), 0);
    s = (struct store_session){ TERM_B, 0, 0, 0, "closed", NULL, T0 + 300 }; /* no clock */
    CHECK_EQ_INT(store_batch_write(st, &sb), 0);
    CHECK_EQ_INT(store_terminal_json(st, "4403-ABCD", 0, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "clock_offset_s")), 7);
    CHECK(json_is_false(json_object_get(j, "online")));
    json_decref(j);
    CHECK_EQ_INT(ct_rows(st, "session_log"), 3);
    store_close(st);
}

/* Frames and session changes travel in bulk on PostgreSQL (one array per column): every byte
 * value, quotes, backslashes, braces and commas in the error text come back as written; a
 * batch of long frames is split into several chunks (8 MiB of hex per column) and loses none;
 * several changes of one terminal in one batch leave the last state and every log row. */
MF_TEST(contract_frames_sessions_bulk)
{
    static uint8_t every[256], big[16391];
    static const uint8_t tricky[] = { 0x5C, 0x22, 0x7B, 0x7D, 0x2C, 0x00 };
    static struct store_frame fr[3 + 300];
    char loc[512], want[3 * 256];
    json_t *j = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    for (int i = 0; i < 256; i++) {
        every[i] = (uint8_t)i;
        snprintf(want + 3 * i, sizeof(want) - 3 * (size_t)i, "%02X ", i);
    }
    want[3 * 256 - 1] = '\0';
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    fr[0] = (struct store_frame){ TERM_A, (T0 + 1) * 1000000, 1, every, sizeof(every),
                                  "say \"hi\" \\ {a,b} NULL" };
    fr[1] = (struct store_frame){ TERM_A, (T0 + 2) * 1000000, 0, NULL, 0, NULL };
    fr[2] = (struct store_frame){ TERM_A, (T0 + 3) * 1000000, 1, tricky, sizeof(tricky), "," };
    for (int i = 0; i < 300; i++)
        fr[3 + i] = (struct store_frame){ TERM_B, (T0 + 10) * 1000000 + i, 1, big, sizeof(big),
                                          NULL };
    struct store_session ss[4] = {
        { TERM_A, 1, 0, 0, "login", "10.0.0.1:1", T0 + 1 },
        { TERM_A, 0, 0, 0, "closed \"x\" {}", NULL, T0 + 2 },
        { TERM_A, 1, 1, 7, "login", "10.0.0.3:3", T0 + 3 },
        { TERM_B, 1, 0, 0, "login", "10.0.0.4:4", T0 + 4 },
    };
    struct store_batch b = { 0 };
    b.frames = fr;
    b.n_frames = 303;
    b.sessions = ss;
    b.n_sessions = 4;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(ct_rows(st, "frames"), 303);
    CHECK_EQ_INT(ct_rows(st, "session_log"), 4);
    CHECK_EQ_INT(store_terminal_json(st, "4403-0012", 10, &j), 0);
    CHECK(json_is_true(json_object_get(j, "online")));
    CHECK_STR(ct_str(j, "peer"), "10.0.0.3:3");
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "clock_offset_s")), 7);
    json_t *f = json_object_get(j, "frames");
    CHECK_EQ_INT(json_array_size(f), 3);
    CHECK_STR(ct_str(json_array_get(f, 0), "hex"), "5C 22 7B 7D 2C 00");
    CHECK_STR(ct_str(json_array_get(f, 0), "error"), ",");
    CHECK_STR(ct_str(json_array_get(f, 1), "hex"), "");
    CHECK(json_is_null(json_object_get(json_array_get(f, 1), "error")));
    CHECK_STR(ct_str(json_array_get(f, 2), "hex"), want);
    CHECK_STR(ct_str(json_array_get(f, 2), "error"), "say \"hi\" \\ {a,b} NULL");
    json_decref(j);
    CHECK_EQ_INT(store_terminal_json(st, "4403-ABCD", 1, &j), 0);
    f = json_array_get(json_object_get(j, "frames"), 0);
    const char *hx = ct_str(f, "hex");
    CHECK(hx != NULL && strlen(hx) == 3 * sizeof(big) - 1);
    CHECK(hx != NULL && strncmp(hx, "00 07 0E 15", 11) == 0);
    json_decref(j);
    store_close(st);
}


MF_TEST(contract_event_count_capped)
{
    char loc[512];
    enum { N = STORE_COUNT_CAP + 5 };
    static struct store_event ev[N];
    static uint8_t raw[N][4];
    json_t *j = NULL;
    struct store_batch b = { 0 };
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    for (int i = 0; i < N; i++) {
        raw[i][0] = 14;
        raw[i][1] = 2;
        raw[i][2] = (uint8_t)(i >> 8);
        raw[i][3] = (uint8_t)i;
        ev[i] = (struct store_event){ TERM_A, 2, 14, 1, -1, 0, T0 + i, T0 + i, NULL, raw[i], 4 };
    }
    b.events = ev;
    b.n_events = N;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(ct_rows(st, "events"), N);
    struct store_event_filter f = { .pg = { 2, 3 } };
    CHECK_EQ_INT(store_events_json(st, &f, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), STORE_COUNT_CAP + 1);
    CHECK(json_is_true(json_object_get(j, "total_capped")));
    json_t *items = json_object_get(j, "items");
    CHECK_EQ_INT(json_array_size(items), 3);
    /* newest first: page 2 of 3 starts with the 4th newest, received at T0 + N - 4 */
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(items, 0), "id")) > 0, 1);
    CHECK(json_is_null(json_object_get(json_array_get(items, 0), "fields")));
    char want[32];
    snprintf(want, sizeof(want), "0E 02 %02X %02X", (N - 4) >> 8 & 0xFF, (N - 4) & 0xFF);
    CHECK_STR(ct_str(json_array_get(items, 0), "raw"), want);
    json_decref(j);
    store_close(st);
}

MF_TEST(contract_master_crud)
{
    char loc[512];
    json_t *j = NULL;
    struct store_terminal_cfg tc;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    struct store_area a = { "A01", "Xinhua Rd", TERM_A, 1, 1, 0.08 };
    CHECK_EQ_INT(store_area_put(st, &a), 0);
    struct store_terminal t = { TERM_A, "Xinhua #1", "A01", "HX", 1, 2, 3 };
    CHECK_EQ_INT(store_terminal_put(st, &t), 0);
    struct store_meter m1 = { TERM_A, 1, "000000000001", "A01", NULL, 1, 80 };
    struct store_meter m2 = { TERM_A, 2, "151230011061", "A01", "resident", 0, 0 };
    CHECK_EQ_INT(store_meter_put(st, &m1), 0);
    CHECK_EQ_INT(store_meter_put(st, &m2), 0);

    CHECK_EQ_INT(store_terminal_cfg_get(st, TERM_A, &tc), 0);
    CHECK_EQ_INT(tc.registered, 1);
    CHECK_EQ_INT(tc.pw_len, 2);
    CHECK_EQ_INT(tc.login_answer, 3);
    CHECK_EQ_INT(store_terminal_cfg_get(st, TERM_B, &tc), MF_ENOTFOUND);

    CHECK_EQ_INT(store_area_json(st, "A01", &j), 0);
    CHECK_STR(ct_str(j, "supply_terminal"), "4403-0012");
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "meters")), 2);
    CHECK_NEAR(json_real_value(json_object_get(j, "loss_threshold")), 0.08, 1e-12);
    json_decref(j);

    struct store_page pg = { 1, 1 };
    CHECK_EQ_INT(store_meters_json(st, "4403-0012", NULL, &pg, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 2);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "items")), 1);
    json_t *m = json_array_get(json_object_get(j, "items"), 0);
    CHECK(json_is_true(json_object_get(m, "is_area_meter")));
    CHECK_NEAR(json_real_value(json_object_get(m, "multiplier")), 80, 1e-12);
    json_decref(j);

    struct store_terminal_filter tf = { .online = -1, .search = "xinhua" };
    CHECK_EQ_INT(store_terminals_json(st, &tf, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 1);
    json_t *ti = json_array_get(json_object_get(j, "items"), 0);
    CHECK_STR(ct_str(ti, "id"), "4403-0012");
    CHECK(json_is_false(json_object_get(ti, "online")));
    CHECK(json_is_null(json_object_get(ti, "last_seen")));
    json_decref(j);
    tf.online = 1;
    CHECK_EQ_INT(store_terminals_json(st, &tf, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);

    CHECK_EQ_INT(store_meter_delete(st, TERM_A, 2), 0);
    CHECK_EQ_INT(store_meter_delete(st, TERM_A, 2), MF_ENOTFOUND);
    CHECK_EQ_INT(store_terminal_delete(st, TERM_A), 0);
    CHECK_EQ_INT(store_terminal_cfg_get(st, TERM_A, &tc), MF_ENOTFOUND);
    CHECK_EQ_INT(store_area_delete(st, "A01"), 0);
    CHECK_EQ_INT(store_area_json(st, "A01", &j), MF_ENOTFOUND);
    struct store_area bad = { "", "no id", 0, 0, 0, 0.1 };
    CHECK_EQ_INT(store_area_put(st, &bad), MF_EINVAL);
    store_close(st);
}

static void ct_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

MF_TEST(contract_csv_import)
{
    char loc[512], path[64], err[512] = "";
    size_t rows = 0;
    json_t *j = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    snprintf(path, sizeof(path), "/tmp/mf-ct-%d.csv", (int)getpid());
    ct_write_file(path, "\xEF\xBB\xBFid,name,loss_threshold,supply_terminal,supply_pn\r\n"
                        "A01,\"Xinhua Rd, north\",0.08,4403-0012,1\r\n"
                        "\r\n"
                        "A02,\"He said \"\"hi\"\"\",,,\r\n");
    CHECK_EQ_INT(store_import_csv(st, STORE_IMPORT_AREAS, path, &rows, err, sizeof(err)), 0);
    CHECK_EQ_INT(rows, 2);
    CHECK_EQ_INT(store_area_json(st, "A01", &j), 0);
    CHECK_STR(ct_str(j, "name"), "Xinhua Rd, north");
    json_decref(j);
    CHECK_EQ_INT(store_area_json(st, "A02", &j), 0);
    CHECK_STR(ct_str(j, "name"), "He said \"hi\"");
    CHECK(json_is_null(json_object_get(j, "supply_terminal")));
    CHECK_NEAR(json_real_value(json_object_get(j, "loss_threshold")), 0.10, 1e-12);
    json_decref(j);

    /* meters: line 4 has pn 0 -> error naming line 4, and nothing imported */
    ct_write_file(path, "terminal,pn,addr,area,is_area_meter\n"
                        "4403-0012,1,000000000001,A01,1\n"
                        "4403-0012,2,151230011061,A01,0\n"
                        "4403-0012,0,151230011062,A01,0\n");
    CHECK_EQ_INT(store_import_csv(st, STORE_IMPORT_METERS, path, &rows, err, sizeof(err)),
                 MF_EINVAL);
    char want[96];
    snprintf(want, sizeof(want), "%s:4: pn", path);
    CHECK(strstr(err, want) != NULL);
    struct store_page pg = { 0, 0 };
    CHECK_EQ_INT(store_meters_json(st, NULL, NULL, &pg, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);

    /* unknown column -> error on line 1 */
    ct_write_file(path, "id,name,colour\nA9,x,red\n");
    CHECK_EQ_INT(store_import_csv(st, STORE_IMPORT_AREAS, path, &rows, err, sizeof(err)),
                 MF_EINVAL);
    snprintf(want, sizeof(want), "%s:1: unknown column", path);
    CHECK(strstr(err, want) != NULL);

    ct_write_file(path, "id,registered,login_answer,pw_len\n4403-0012,1,3,2\n4403-ABCD,0,,\n");
    CHECK_EQ_INT(store_import_csv(st, STORE_IMPORT_TERMINALS, path, &rows, err, sizeof(err)),
                 0);
    CHECK_EQ_INT(rows, 2);
    struct store_terminal_cfg tc;
    CHECK_EQ_INT(store_terminal_cfg_get(st, TERM_B, &tc), 0);
    CHECK_EQ_INT(tc.registered, 0);
    CHECK_EQ_INT(tc.login_answer, 1);
    CHECK_EQ_INT(store_import_kind_parse("meters"), STORE_IMPORT_METERS);
    CHECK_EQ_INT(store_import_kind_parse("bogus"), -1);
    unlink(path);
    store_close(st);
}

MF_TEST(contract_users_tokens_audit)
{
    char loc[512];
    struct store_user u;
    int64_t n = -1;
    json_t *j = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_EQ_INT(store_user_count(st, &n), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(store_user_put(st, "alice", "admin", "$argon2id$v=19$m=65536,t=2,p=1$abc", T0),
                 0);
    CHECK_EQ_INT(store_user_put(st, "bob", "boss", "$argon2id$x", T0), MF_EINVAL);
    CHECK_EQ_INT(store_user_get(st, "alice", &u), 0);
    CHECK_STR(u.role, "admin");
    CHECK_STR(u.hash, "$argon2id$v=19$m=65536,t=2,p=1$abc");
    CHECK_EQ_INT(store_user_get(st, "nobody", &u), MF_ENOTFOUND);

    CHECK_EQ_INT(store_token_put(st, "tokhash1", "alice", T0, T0 + 3600), 0);
    CHECK_EQ_INT(store_token_get(st, "tokhash1", T0 + 10, &u), 0);
    CHECK_STR(u.name, "alice");
    CHECK_EQ_INT(store_token_get(st, "tokhash1", T0 + 3600, &u), MF_ENOTFOUND); /* expired */
    CHECK_EQ_INT(store_user_delete(st, "alice"), 0);
    CHECK_EQ_INT(store_token_get(st, "tokhash1", T0 + 10, &u), MF_ENOTFOUND);
    CHECK_EQ_INT(store_user_delete(st, "alice"), MF_ENOTFOUND);

    struct store_audit a = { T0 + 1, "alice", "command.create", "4403-0012",
                             "{\"afn\":12}", "127.0.0.1" };
    CHECK_EQ_INT(store_audit_add(st, &a), 0);
    struct store_audit_filter af = { .user = "alice" };
    CHECK_EQ_INT(store_audit_json(st, &af, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 1);
    json_t *it = json_array_get(json_object_get(j, "items"), 0);
    CHECK_STR(ct_str(it, "user"), "alice");
    CHECK_STR(ct_str(it, "at"), "2026-11-26T00:00:01Z");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(it, "detail"), "afn")), 12);
    json_decref(j);
    CHECK_EQ_INT(ct_rows(st, "audit"), 1);
    CHECK_EQ_INT(store_users_json(st, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 0);
    json_decref(j);
    store_close(st);
}

MF_TEST(contract_commands)
{
    char loc[512];
    int64_t id = 0;
    json_t *j = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    struct store_command c = { TERM_A, 0x0C, "{\"fn\":[129],\"pn\":[1]}", "alice", T0 };
    CHECK_EQ_INT(store_command_create(st, &c, &id), 0);
    CHECK(id > 0);
    int64_t id2 = 0;
    CHECK_EQ_INT(store_command_create(st, &c, &id2), 0);
    CHECK(id2 > id);
    struct store_cmd_result r = { id, STORE_CMD_SENT, 1, NULL, T0 + 1 };
    CHECK_EQ_INT(store_command_update(st, &r), 0);
    struct store_cmd_result ans = { id, STORE_CMD_ANSWERED, -1, "{\"value\":1234.56}", T0 + 2 };
    struct store_batch b = { 0 };
    b.cmd_results = &ans;
    b.n_cmd_results = 1;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    r.at = T0 + 3; /* a late "sent" must not undo "answered" */
    CHECK_EQ_INT(store_command_update(st, &r), MF_ENOTFOUND);
    CHECK_EQ_INT(store_command_json(st, id, &j), 0);
    CHECK_STR(ct_str(j, "state"), "answered");
    CHECK_STR(ct_str(j, "terminal"), "4403-0012");
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "attempts")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "afn")), 12);
    CHECK_NEAR(json_real_value(json_object_get(json_object_get(j, "answer"), "value")), 1234.56,
               1e-9);
    CHECK_EQ_INT(json_array_size(json_object_get(json_object_get(j, "request"), "fn")), 1);
    CHECK_STR(ct_str(j, "created_at"), "2026-11-26T00:00:00Z");
    CHECK_STR(ct_str(j, "updated_at"), "2026-11-26T00:00:02Z");
    json_decref(j);
    struct store_command_filter cf = { .state = "queued" };
    CHECK_EQ_INT(store_commands_json(st, &cf, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 1);
    json_decref(j);
    CHECK_EQ_INT(store_command_json(st, 999999, &j), MF_ENOTFOUND);
    CHECK_STR(store_cmd_state_name(STORE_CMD_TIMEOUT), "timeout");
    CHECK_EQ_INT(store_cmd_state_parse("failed"), STORE_CMD_FAILED);
    CHECK_EQ_INT(ct_rows(st, "commands"), 2);
    store_close(st);
}

/* [web] cmd_expire_s: queued/sent commands older than the cut end "expired", with the
 * reason as their answer; final ones and young ones are left alone; a late answer wins. */
MF_TEST(contract_commands_expire)
{
    char loc[512];
    int64_t id[4] = { 0 }, n = -1;
    json_t *j = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    for (int i = 0; i < 4; i++) {
        struct store_command c = { TERM_A, 0x0C, "{}", "alice", i == 3 ? T0 + 100 : T0 };
        CHECK_EQ_INT(store_command_create(st, &c, &id[i]), 0);
    }
    struct store_cmd_result sent = { id[1], STORE_CMD_SENT, 1, NULL, T0 + 1 };
    CHECK_EQ_INT(store_command_update(st, &sent), 0);
    struct store_cmd_result ans = { id[2], STORE_CMD_ANSWERED, 1, "{\"v\":1}", T0 + 2 };
    CHECK_EQ_INT(store_command_update(st, &ans), 0);
    CHECK_EQ_INT(store_commands_expire(st, T0 + 50, T0 + 60, "{\"error\":\"expired\"}", &n), 0);
    CHECK_EQ_INT(n, 2);
    static const char *const want[4] = { "expired", "expired", "answered", "queued" };
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(store_command_json(st, id[i], &j), 0);
        CHECK_STR(ct_str(j, "state"), want[i]);
        if (i < 2) {
            CHECK_STR(ct_str(j, "updated_at"), "2026-11-26T00:01:00Z");
            CHECK_STR(ct_str(json_object_get(j, "answer"), "error"), "expired");
        }
        json_decref(j);
    }
    CHECK_EQ_INT(store_commands_expire(st, T0 + 50, T0 + 70, "{}", &n), 0);
    CHECK_EQ_INT(n, 0); /* a second sweeper finds nothing */
    sent.at = T0 + 80; /* a late "sent" does not reopen an expired command */
    CHECK_EQ_INT(store_command_update(st, &sent), MF_ENOTFOUND);
    ans.id = id[0]; /* a late answer is what happened: it replaces "expired" */
    ans.at = T0 + 90;
    CHECK_EQ_INT(store_command_update(st, &ans), 0);
    CHECK_EQ_INT(store_command_json(st, id[0], &j), 0);
    CHECK_STR(ct_str(j, "state"), "answered");
    json_decref(j);
    struct store_command_filter cf = { .state = "expired" };
    CHECK_EQ_INT(store_commands_json(st, &cf, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 1);
    json_decref(j);
    CHECK_STR(store_cmd_state_name(STORE_CMD_EXPIRED), "expired");
    CHECK_EQ_INT(store_cmd_state_parse("expired"), STORE_CMD_EXPIRED);
    store_close(st);
}

/* The dashboard's per-area collection table of one date: areas of master data only, by id,
 * capped; other dates and the overall row left out. */
MF_TEST(contract_collect_areas)
{
    char loc[512];
    json_t *j = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    static const char *const ids[3] = { "A02", "A01", "A03" };
    for (int i = 0; i < 3; i++) {
        struct store_area ar = { .id = ids[i], .name = ids[i], .loss_threshold = 0.1 };
        CHECK_EQ_INT(store_area_put(st, &ar), 0);
    }
    struct store_collect co[5] = { { D0, NULL, 10, 9, T0 }, { D0, "A02", 4, 4, T0 },
                                   { D0, "A01", 4, 3, T0 }, { D0, "A99", 2, 1, T0 },
                                   { D0 - 1, "A01", 4, 1, T0 } };
    struct store_batch b = { 0 };
    b.collect = co;
    b.n_collect = 5;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(store_kpi_collect_areas_json(st, D0, 1000, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 2); /* A03 has no row, A99 is no area of master data */
    CHECK_STR(ct_str(json_array_get(j, 0), "area"), "A01");
    CHECK_STR(ct_str(json_array_get(j, 0), "date"), "2026-11-26");
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 0), "rate")), 0.75, 1e-12);
    CHECK_STR(ct_str(json_array_get(j, 1), "area"), "A02");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(j, 1), "collected")), 4);
    json_decref(j);
    CHECK_EQ_INT(store_kpi_collect_areas_json(st, D0, 1, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 1);
    json_decref(j);
    CHECK_EQ_INT(store_kpi_collect_areas_json(st, D0 + 1, 1000, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 0);
    json_decref(j);
    CHECK_EQ_INT(store_kpi_collect_areas_json(st, D0, 0, &j), MF_EINVAL);
    store_close(st);
}

/* The dashboard's worst areas of a date by loss rate: highest first, ties by area id, rows
 * of unknown rate and of other dates left out, capped. Rates written by hand. */
MF_TEST(contract_lineloss_worst)
{
    char loc[512];
    json_t *j = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    struct store_line_loss ll[5] = {
        { D0, "A01", 100, 95, 4, 4, STORE_LOSS_OK, T0, 0.05, 0, 0.1, 1, 1, 1, 1 },
        { D0, "A03", 100, 88, 4, 4, STORE_LOSS_HIGH, T0, 0.12, 0, 0.1, 1, 1, 1, 1 },
        { D0, "A02", 50, 44, 4, 4, STORE_LOSS_HIGH, T0, 0.12, 0, 0.1, 1, 1, 1, 1 },
        { D0, "A04", 0, 40, 4, 2, STORE_LOSS_INCOMPLETE, T0, 0, 0, 0.1, 0, 0, 0, 1 },
        { D0 - 1, "A05", 100, 10, 4, 4, STORE_LOSS_HIGH, T0, 0.9, 0, 0.1, 1, 1, 1, 1 },
    };
    struct store_batch b = { 0 };
    b.line_loss = ll;
    b.n_line_loss = 5;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(store_kpi_lineloss_worst_json(st, D0, 10, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 3); /* A04: rate unknown; A05: another date */
    CHECK_STR(ct_str(json_array_get(j, 0), "area"), "A02");
    CHECK_STR(ct_str(json_array_get(j, 1), "area"), "A03");
    CHECK_STR(ct_str(json_array_get(j, 2), "area"), "A01");
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 0), "rate")), 0.12, 1e-12);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 0), "supply_kwh")), 50, 1e-12);
    CHECK_STR(ct_str(json_array_get(j, 2), "date"), "2026-11-26");
    json_decref(j);
    CHECK_EQ_INT(store_kpi_lineloss_worst_json(st, D0, 1, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 1);
    CHECK_STR(ct_str(json_array_get(j, 0), "area"), "A02");
    json_decref(j);
    CHECK_EQ_INT(store_kpi_lineloss_worst_json(st, D0 + 1, 10, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 0);
    json_decref(j);
    CHECK_EQ_INT(store_kpi_lineloss_worst_json(st, D0, 0, &j), MF_EINVAL);
    store_close(st);
}

static int ct_day_cb(void *opaque, const struct store_point_day *p)
{
    struct store_point_day *out = opaque;
    if (p->pn == 1) {
        *out = *p;
        out->area = NULL; /* borrowed: not kept */
        out->addr = NULL;
    }
    return 0;
}

MF_TEST(contract_analytics_and_kpis)
{
    char loc[512];
    struct store_batch b;
    json_t *j = NULL;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    struct store_meter m1 = { TERM_A, 1, "000000000001", "A01", NULL, 1, 1 };
    CHECK_EQ_INT(store_meter_put(st, &m1), 0);
    struct store_terminal t = { TERM_A, "T", "A01", NULL, 1, 0, 1 };
    CHECK_EQ_INT(store_terminal_put(st, &t), 0);
    ct_batch(&b);
    CHECK_EQ_INT(store_batch_write(st, &b), 0);

    struct store_point_day p;
    memset(&p, 0, sizeof(p));
    CHECK_EQ_INT(store_points_day_iter(st, D0, ct_day_cb, &p), 0);
    CHECK_EQ_INT(p.has_today, 1);
    CHECK_EQ_INT(p.has_prev, 1);
    CHECK_NEAR(p.today - p.prev, 9.5, 1e-9);
    CHECK_EQ_INT(p.is_area_meter, 1);
    CHECK_EQ_INT(p.terminal_online, 1);

    int32_t reg = -1, on = -1;
    CHECK_EQ_INT(store_online_count(st, &reg, &on), 0);
    CHECK_EQ_INT(reg, 1);
    CHECK_EQ_INT(on, 1);

    struct store_daily_use du = { TERM_A, 1, STORE_V_OK, 0, D0, 9.5, T0 + 3600 };
    struct store_collect co[2] = { { D0, NULL, 4, 3, T0 }, { D0, "A01", 4, 3, T0 } };
    struct store_missing mi = { D0, TERM_B, 3, "A01" };
    /* A01 known; A02 with the supply unknown and no allowance estimate: NULLs, not zeros */
    struct store_line_loss ll[2] = {
        { D0, "A01", 100, 92, 4, 3, STORE_LOSS_OK, T0, 0.08, 0, 0.1, 1, 1, 1, 1 },
        { D0, "A02", 0, 40, 4, 2, STORE_LOSS_INCOMPLETE, T0, 0, 0, 0.08, 0, 0, 0, 1 },
    };
    struct store_anomaly an = { "backwards", TERM_A, 1, "A01", T0 + 7, D0, 2,
                                "{\"prev\":10,\"now\":9}" };
    struct store_online_sample os = { T0, 10, 9 };
    struct store_recollect rcl = { TERM_B, 3, D0, "pending", 0, T0, T0 + 86400, 0, T0 };
    struct store_batch ab = { 0 };
    ab.daily_use = &du;
    ab.n_daily_use = 1;
    ab.collect = co;
    ab.n_collect = 2;
    ab.missing = &mi;
    ab.n_missing = 1;
    ab.line_loss = ll;
    ab.n_line_loss = 2;
    ab.anomalies = &an;
    ab.n_anomalies = 1;
    ab.online = &os;
    ab.n_online = 1;
    ab.recollect = &rcl;
    ab.n_recollect = 1;
    CHECK_EQ_INT(store_batch_write(st, &ab), 0);
    CHECK_EQ_INT(store_batch_write(st, &ab), 0); /* recomputed: same rows */

    CHECK_EQ_INT(store_kpi_collect_json(st, D0 - 1, D0, NULL, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 1);
    CHECK_STR(ct_str(json_array_get(j, 0), "date"), "2026-11-26");
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 0), "rate")), 0.75, 1e-12);
    json_decref(j);
    struct store_page pg = { 0, 0 };
    CHECK_EQ_INT(store_kpi_missing_json(st, D0, NULL, &pg, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 1);
    CHECK_STR(ct_str(json_array_get(json_object_get(j, "items"), 0), "terminal"), "4403-ABCD");
    json_decref(j);
    CHECK_EQ_INT(store_kpi_lineloss_json(st, D0, D0, "A01", &j), 0);
    CHECK_EQ_INT(json_array_size(j), 1);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 0), "loss_kwh")), 8, 1e-12);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 0), "rate")), 0.08, 1e-12);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 0), "allowance_kwh")), 0, 1e-12);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 0), "threshold")), 0.1, 1e-12);
    json_decref(j);
    CHECK_EQ_INT(store_kpi_lineloss_json(st, D0, D0, "A02", &j), 0);
    CHECK_EQ_INT(json_array_size(j), 1);
    CHECK(json_is_null(json_object_get(json_array_get(j, 0), "supply_kwh")));
    CHECK(json_is_null(json_object_get(json_array_get(j, 0), "loss_kwh")));
    CHECK(json_is_null(json_object_get(json_array_get(j, 0), "rate")));
    CHECK(json_is_null(json_object_get(json_array_get(j, 0), "allowance_kwh")));
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(j, 0), "consumed_kwh")), 40, 1e-12);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(j, 0), "flag")), 3);
    json_decref(j);
    CHECK_EQ_INT(store_kpi_online_json(st, T0 - 10, T0 + 10, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "registered")), 1);
    CHECK_NEAR(json_real_value(json_object_get(j, "rate")), 1.0, 1e-12);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(json_object_get(j, "history"), 0),
                                               "rate")),
               0.9, 1e-12);
    /* history items carry counts, not flags (sample: 10 registered, 9 online) */
    json_t *h0 = json_array_get(json_object_get(j, "history"), 0);
    CHECK(json_is_integer(json_object_get(h0, "registered")));
    CHECK_EQ_INT(json_integer_value(json_object_get(h0, "registered")), 10);
    CHECK_EQ_INT(json_integer_value(json_object_get(h0, "online")), 9);
    json_decref(j);
    struct store_anomaly_filter af = { .kind = "backwards" };
    CHECK_EQ_INT(store_anomalies_json(st, &af, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 1);
    json_t *ai = json_array_get(json_object_get(j, "items"), 0);
    CHECK_STR(ct_str(ai, "state"), "open");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(ai, "evidence"), "prev")), 10);
    int64_t aid = json_integer_value(json_object_get(ai, "id"));
    json_decref(j);
    CHECK_EQ_INT(store_anomaly_set_state(st, aid, "ack"), 0);
    CHECK_EQ_INT(store_anomaly_set_state(st, aid, "bogus"), MF_EINVAL);
    CHECK_EQ_INT(store_point_daily_json(st, "4403-0012", 1, D0 - 1, D0, &j), 0);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "frozen")), 2);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(json_object_get(j, "use"), 0),
                                               "kwh")),
               9.5, 1e-12);
    json_decref(j);
    CHECK_EQ_INT(store_point_curve_json(st, "4403-0012", 1, "p", T0, T0 + 86400, &j), 0);
    CHECK_EQ_INT(json_array_size(j), 4);
    CHECK_STR(ct_str(json_array_get(j, 1), "ts"), "2026-11-26T00:15:00Z");
    json_decref(j);
    CHECK_EQ_INT(store_recollect_json(st, D0, &pg, &j), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "total")), 1);
    json_decref(j);
    CHECK_EQ_INT(ct_rows(st, "anomalies"), 1);
    CHECK_EQ_INT(ct_rows(st, "collect_missing"), 1);
    store_close(st);
}

/* The reads of the replacement and flapping rules. */
struct ct_addrs {
    int n;
    char seen[8][96];
};

static int ct_addr_cb(void *opaque, const struct store_meter_addr *a)
{
    struct ct_addrs *c = opaque;
    if (c->n < 8)
        snprintf(c->seen[c->n++], sizeof(c->seen[0]), "%08X/%u/%lld/%s", (unsigned)a->term,
                 (unsigned)a->pn, (long long)(a->seen_at - T0), a->addr);
    return 0;
}

static int ct_sess_cb(void *opaque, const struct store_session_count *c)
{
    struct ct_addrs *o = opaque;
    if (o->n < 8)
        snprintf(o->seen[o->n++], sizeof(o->seen[0]), "%08X %d %d %lld %lld", (unsigned)c->term,
                 (int)c->logins, (int)c->offlines, (long long)(c->first_at - T0),
                 (long long)(c->last_at - T0));
    return 0;
}

MF_TEST(contract_meter_addr_and_session_counts)
{
    char loc[512];
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    /* pn 3's meter seen as ...01 at T0-100 and T0+50, replaced by ...02 at T0+200; pn 4's
     * only entry is deleted (pn 0: not logged) */
    struct store_meter_cfg mc[4] = {
        { TERM_A, 3, 3, 31, 3, 30, 4, 0x11, "440300001001", NULL, T0 - 100 },
        { TERM_A, 3, 3, 31, 3, 30, 4, 0x11, "440300001001", NULL, T0 + 50 },
        { TERM_A, 3, 3, 31, 3, 30, 4, 0x11, "440300001002", NULL, T0 + 200 },
        { TERM_A, 4, 0, 31, 3, 30, 4, 0x11, "440300001004", NULL, T0 + 60 },
    };
    struct store_batch b = { .meter_cfg = mc, .n_meter_cfg = 4 };
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(store_batch_write(st, &b), 0); /* redelivered: no second row */
    struct ct_addrs c = { 0 };
    CHECK_EQ_INT(store_meter_addr_iter(st, T0, T0 + 1000, ct_addr_cb, &c), 0);
    CHECK_EQ_INT(c.n, 3); /* the one in force at T0, then the two seen after */
    CHECK_STR(c.seen[0], "44030012/3/-100/440300001001");
    CHECK_STR(c.seen[1], "44030012/3/50/440300001001");
    CHECK_STR(c.seen[2], "44030012/3/200/440300001002");
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(store_meter_addr_iter(st, T0 + 100, T0 + 200, ct_addr_cb, &c), 0);
    CHECK_EQ_INT(c.n, 1); /* [from, to): only the address in force at from */
    CHECK_STR(c.seen[0], "44030012/3/50/440300001001");

    /* A: 3 logins, 2 offline, 1 clock (not counted), one login before the window;
     * B: 1 offline in the window */
    struct store_session ss[8] = {
        { TERM_A, 1, 0, 0, "online", NULL, T0 - 5 },
        { TERM_A, 1, 0, 0, "online", NULL, T0 + 1 },
        { TERM_A, 0, 0, 0, "closed", NULL, T0 + 4 },
        { TERM_A, 1, 0, 0, "online", NULL, T0 + 9 },
        { TERM_A, 1, 1, 3, "clock", NULL, T0 + 10 },
        { TERM_A, 0, 0, 0, "timeout", NULL, T0 + 15 },
        { TERM_A, 1, 0, 0, "online", NULL, T0 + 20 },
        { TERM_B, 0, 0, 0, "logout", NULL, T0 + 30 },
    };
    struct store_batch sb = { .sessions = ss, .n_sessions = 8 };
    CHECK_EQ_INT(store_batch_write(st, &sb), 0);
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(store_session_counts_iter(st, T0, T0 + 60, ct_sess_cb, &c), 0);
    CHECK_EQ_INT(c.n, 2);
    CHECK_STR(c.seen[0], "44030012 3 2 1 20");
    CHECK_STR(c.seen[1], "4403ABCD 0 1 30 30");
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(store_session_counts_iter(st, T0 + 100, T0 + 200, ct_sess_cb, &c), 0);
    CHECK_EQ_INT(c.n, 0);
    store_close(st);
}

MF_TEST(contract_retention)
{
    char loc[512];
    int64_t deleted = -1;
    struct store_batch b;
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    ct_batch(&b);
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    /* 91 days later (curve 90 d, instant 30 d, frames 7 d): all of them go */
    CHECK_EQ_INT(store_retention_run(st, T0 + 91 * 86400LL, &deleted), 0);
    CHECK_EQ_INT(deleted, 4 + 3 + 2);
    CHECK_EQ_INT(ct_rows(st, "curve"), 0);
    CHECK_EQ_INT(ct_rows(st, "instant"), 0);
    CHECK_EQ_INT(ct_rows(st, "frames"), 0);
    CHECK_EQ_INT(ct_rows(st, "energy"), 1); /* not subject to retention */
    store_close(st);
}

MF_TEST(contract_retention_in_chunks)
{
    char loc[512];
    int64_t deleted = -1;
    static struct store_curve cv[250];
    struct store_batch b = { 0 };
    struct store *st = ct_fresh(loc, sizeof(loc));
    CHECK(st != NULL);
    if (!st)
        return;
    /* 200 old points (a day before T0) and 50 recent ones */
    for (int i = 0; i < 250; i++)
        cv[i] = (struct store_curve){ TERM_A, (uint16_t)(1 + i % 10), STORE_V_OK, "p",
                                      (i < 200 ? T0 - 86400 : T0) + 900 * (i / 10), i };
    b.curve = cv;
    b.n_curve = 250;
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    store_close(st);
    st = ct_open_chunked(loc, 7); /* 200 rows -> 29 chunks, the last one partial */
    CHECK(st != NULL);
    if (!st)
        return;
    /* curve_days 90: cut at now - 90 d; put "now" so that the cutoff is T0 - 1 */
    CHECK_EQ_INT(store_retention_run(st, T0 - 1 + 90 * 86400LL, &deleted), 0);
    CHECK_EQ_INT(deleted, 200); /* the old ones end at T0 - 86400 + 900 x 19 < T0 - 1 */
    CHECK_EQ_INT(ct_rows(st, "curve"), 50);
    json_t *j = NULL;
    CHECK_EQ_INT(store_point_curve_json(st, "4403-0012", 1, "p", T0 - 2 * 86400, T0 + 86400,
                                        &j), 0);
    CHECK_EQ_INT(json_array_size(j), 5);
    /* pn 1 holds i = 200, 210, .. 240: ts = T0 + 900 x 20 = 05:00 onwards */
    CHECK_STR(ct_str(json_array_get(j, 0), "ts"), "2026-11-26T05:00:00Z");
    json_decref(j);
    store_close(st);
}

#endif
