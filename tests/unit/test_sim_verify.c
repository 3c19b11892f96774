/* test_sim_verify.c -- `meterflow sim --verify` against a real SQLite store: values written
 * through store_batch_write (as the worker does) are found; a value the store lacks is
 * missing; a different value is mismatched; civil ledger times convert with the zone. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "meterflow/clock.h"
#include "meterflow/common.h"
#include "meterflow/store.h"
#include "sim/sim_verify.h"

static char dir[] = "/tmp/mf-sim-verify-XXXXXX";
static char db[128], ledger[128];

static uint32_t term1(void)
{
    return 0x4403u << 16 | 1u;
}

/* civil Asia/Shanghai -> UTC by hand: 8 hours earlier */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return (int64_t)mf_date_to_days(y, mo, d) * 86400 + (h - 8) * 3600 + mi * 60;
}

static void fill_store(void)
{
    char err[256];
    struct store_opts so;
    store_opts_default(&so);
    so.backend = STORE_SQLITE;
    so.sqlite_path = db;
    struct store *st = store_open_opts(&so, err, sizeof(err));
    CHECK(st != NULL);
    if (!st)
        return;
    struct store_energy e[2] = {
        { term1(), 3, 0, STORE_V_OK, "ap_fwd", utc(2026, 11, 26, 10, 15), 12345.6789 },
        { term1(), 3, 1, STORE_V_OK, "ap_fwd", utc(2026, 11, 26, 10, 15), 3000.5 },
    };
    struct store_frozen f = { term1(), 3, STORE_FROZEN_DAILY, 0, STORE_V_OK, "ap_fwd",
                              mf_date_to_days(2026, 11, 25), 12000.25, 0 };
    struct store_curve cv = { term1(), 3, STORE_V_OK, "ap_fwd", utc(2026, 11, 25, 0, 15),
                              12012.33 };
    static const uint8_t raw[12] = { 14, 10 };
    struct store_event ev = { .term = term1(), .cls = 1, .erc = 14, .started = 1, .pn = 0,
                              .occurred_at = utc(2026, 11, 26, 10, 2), .received_at = 1,
                              .raw = raw, .raw_len = sizeof(raw) };
    struct store_batch b = { .energy = e, .n_energy = 2, .frozen = &f, .n_frozen = 1,
                             .curve = &cv, .n_curve = 1, .events = &ev, .n_events = 1 };
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    store_close(st);
}

static void write_ledger(const char *text)
{
    FILE *fp = fopen(ledger, "w");
    CHECK(fp != NULL);
    fputs(text, fp);
    fclose(fp);
}

MF_TEST(sim_verify_against_sqlite)
{
    struct sim_verify_counts c;
    struct sim_verify_opts o = { .ledger_path = ledger, .db_path = db };
    CHECK(mkdtemp(dir) != NULL);
    snprintf(db, sizeof(db), "%s/m.db", dir);
    snprintf(ledger, sizeof(ledger), "%s/ledger", dir);
    CHECK_EQ_INT(mf_clock_set_zone("Asia/Shanghai"), 0);
    fill_store();

    write_ledger("# a comment\n"
                 "4403-0001 3 fwd_active 2026-11-26T10:15 0 12345.6789\n"
                 "4403-0001 3 fwd_active 2026-11-26T10:15 1 3000.5000\n"
                 "4403-0001 3 fwd_active 2026-11-26T10:15 1 3000.5000\n" /* confirmed twice */
                 "4403-0001 3 day_fwd_active 2026-11-25 0 12000.2500\n"
                 "4403-0001 3 curve_fwd_active 2026-11-25T00:15 0 12012.33\n"
                 "4403-0001 0 erc14 2026-11-26T10:02 0 1\n");
    CHECK_EQ_INT(sim_verify_count(&o, &c), 0);
    CHECK_EQ_INT(c.confirmed, 5);
    CHECK_EQ_INT(c.found, 5);
    CHECK_EQ_INT(c.missing, 0);
    CHECK_EQ_INT(c.mismatched, 0);
    CHECK_EQ_INT(sim_verify(&o), 0);

    write_ledger("4403-0001 3 fwd_active 2026-11-26T10:15 0 12345.6780\n" /* differs */
                 "4403-0001 3 fwd_active 2026-11-26T10:30 0 12346.0000\n" /* not stored */
                 "4403-0001 3 day_fwd_active 2026-11-24 0 11000.0000\n"   /* not stored */
                 "4403-0002 1 curve_fwd_active 2026-11-25T00:15 0 1.00\n" /* not stored */
                 "4403-0001 3 erc13 2026-11-26T10:02 0 1\n");             /* not stored */
    CHECK_EQ_INT(sim_verify_count(&o, &c), 0);
    CHECK_EQ_INT(c.confirmed, 5);
    CHECK_EQ_INT(c.found, 1);
    CHECK_EQ_INT(c.mismatched, 1);
    CHECK_EQ_INT(c.missing, 4);
    CHECK_EQ_INT(c.by_item_missing[3], 1);
    CHECK_EQ_INT(sim_verify(&o), 1);

    write_ledger("4403-0001 3 fwd_active 2026-11-26T10:15 0 1\n"
                 "4403-0001 3 fwd_active 2026-11-26T10:15 0 2\n" /* same key, two values */
                 "not a ledger line\n");
    CHECK_EQ_INT(sim_verify_count(&o, &c), 0);
    CHECK_EQ_INT(c.conflicts, 1);
    CHECK_EQ_INT(c.bad_lines, 1);

    /* dates checked strictly: 30 February, hour 24, trailing text, a missing time */
    write_ledger("4403-0001 3 day_fwd_active 2026-02-30 0 1\n"
                 "4403-0001 3 fwd_active 2026-11-26T24:00 0 1\n"
                 "4403-0001 3 fwd_active 2026-11-26T10:15x 0 1\n"
                 "4403-0001 3 fwd_active 2026-11-26 0 1\n");
    CHECK_EQ_INT(sim_verify_count(&o, &c), 0);
    CHECK_EQ_INT(c.bad_lines, 4);
    CHECK_EQ_INT(c.confirmed, 0);
    /* an empty ledger: nothing to check (and no qsort of a NULL array: UBSan) */
    write_ledger("");
    CHECK_EQ_INT(sim_verify_count(&o, &c), 0);
    CHECK_EQ_INT(c.confirmed, 0);
    CHECK_EQ_INT(c.bad_lines, 0);

    o.db_path = NULL; /* no store given */
    CHECK_EQ_INT(sim_verify(&o), 2);
    unlink(ledger);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

/* --score: two stopped meters injected, the analytics found one of them and flagged one
 * other point wrongly (precision 0.50, recall 0.50; a third, withdrawn since, is not
 * counted); a theft area flagged on its day, an area with a stopped meter flagged
 * (explained), one flagged for nothing; a dropped day re-collected. */
MF_TEST(sim_score_against_sqlite)
{
    char sdir[] = "/tmp/mf-sim-score-XXXXXX", sdb[128], gt[128], out[128], err[256];
    CHECK(mkdtemp(sdir) != NULL);
    snprintf(sdb, sizeof(sdb), "%s/m.db", sdir);
    snprintf(gt, sizeof(gt), "%s/gt.jsonl", sdir);
    snprintf(out, sizeof(out), "%s/out", sdir);
    struct store_opts so;
    store_opts_default(&so);
    so.backend = STORE_SQLITE;
    so.sqlite_path = sdb;
    struct store *st = store_open_opts(&so, err, sizeof(err));
    CHECK(st != NULL);
    if (!st)
        return;
    int32_t d = mf_date_to_days(2026, 11, 26);
    /* stopped: one of two truths found, one false alarm; theft: the line_loss anomaly of
     * A00002 matches, the one of A00003 does not; flap: 4403-0002 found, 4403-0003 not */
    struct store_anomaly an[8] = {
        { "stopped", term1(), 3, NULL, utc(2026, 11, 27, 1, 0), d, 2, NULL },
        { "stopped", term1(), 5, NULL, utc(2026, 11, 27, 1, 0), d, 2, NULL },
        { "line_loss", term1() + 4, 1, "A00002", utc(2026, 11, 25, 16, 0), d, 2, NULL },
        { "line_loss", term1() + 8, 1, "A00003", utc(2026, 11, 25, 16, 0), d, 2, NULL },
        { "flapping", term1() + 1, 0, NULL, utc(2026, 11, 26, 16, 0), d + 1, 1, NULL },
        { "flapping", term1() + 1, 0, NULL, utc(2026, 11, 30, 16, 0), d + 5, 1, NULL },
        /* A00001 holds the stopped meter p3: its unmetered energy explains this loss */
        { "line_loss", term1(), 1, "A00001", utc(2026, 11, 25, 16, 0), d, 2, NULL },
        /* a false stopped alarm the analytics withdrew since (state resolved, id 8) */
        { "stopped", term1(), 6, NULL, utc(2026, 11, 27, 1, 0), d, 2, NULL },
    };
    struct store_line_loss ll = { d, "A00002", 100.0, 80.0, 5, 5, STORE_LOSS_HIGH, 1, 0.2, 0, 0.1,
                                  1, 1, 1, 1 };
    /* drop of p7 on 26..28: the terminal reached 26 and 27 (p1 has them), p7 has 26 */
    struct store_frozen f[3] = {
        { term1(), 7, STORE_FROZEN_DAILY, 0, STORE_V_OK, "ap_fwd", d, 1.5, 0 },
        { term1(), 1, STORE_FROZEN_DAILY, 0, STORE_V_OK, "ap_fwd", d, 9.5, 0 },
        { term1(), 1, STORE_FROZEN_DAILY, 0, STORE_V_OK, "ap_fwd", d + 1, 19.5, 0 },
    };
    struct store_batch b = { .anomalies = an, .n_anomalies = 8, .line_loss = &ll,
                             .n_line_loss = 1, .frozen = f, .n_frozen = 3 };
    CHECK_EQ_INT(store_batch_write(st, &b), 0);
    CHECK_EQ_INT(store_anomaly_set_state(st, 8, "resolved"), 0);
    /* the flapping of D + 1 is over (the life cycle resolved it): it still counts (id 5) */
    CHECK_EQ_INT(store_anomaly_set_state(st, 5, "resolved"), 0);
    store_close(st);
    FILE *fp = fopen(gt, "w");
    fputs("{\"kind\":\"stopped\",\"terminal\":\"4403-0001\",\"pn\":3,\"area\":0,\"area_id\":"
          "\"A00001\",\"from\":\"2026-11-26\",\"to\":\"2026-11-26\"}\n"
          "{\"kind\":\"stopped\",\"terminal\":\"4403-0001\",\"pn\":4,\"area\":0,\"area_id\":"
          "\"A00001\",\"from\":\"2026-11-26\",\"to\":\"2026-11-26\"}\n"
          "{\"kind\":\"theft\",\"terminal\":\"4403-0005\",\"pn\":0,\"area\":1,\"area_id\":"
          "\"A00002\",\"from\":\"2026-11-26\",\"to\":\"2026-11-26\"}\n"
          "{\"kind\":\"drop\",\"terminal\":\"4403-0001\",\"pn\":7,\"area\":0,\"area_id\":"
          "\"A00001\",\"from\":\"2026-11-26\",\"to\":\"2026-11-28\"}\n"
          "{\"kind\":\"flap\",\"terminal\":\"4403-0002\",\"pn\":0,\"area\":0,\"area_id\":"
          "\"A00001\",\"from\":\"2026-11-26\",\"to\":\"2026-11-26\"}\n"
          "{\"kind\":\"flap\",\"terminal\":\"4403-0003\",\"pn\":0,\"area\":0,\"area_id\":"
          "\"A00001\",\"from\":\"2026-11-26\",\"to\":\"2026-11-26\"}\n",
          fp);
    fclose(fp);
    struct sim_verify_opts o = { .ground_truth = gt, .db_path = sdb };
    fflush(stdout);
    int saved = dup(1);
    FILE *cap = fopen(out, "w");
    dup2(fileno(cap), 1);
    int rc = sim_score(&o);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(cap);
    CHECK_EQ_INT(rc, 0);
    size_t len;
    char *text = mf_test_read_file(out, &len);
    CHECK(text && strstr(text, "fault=stopped kind=stopped truth=2 detected=1 anomalies=2 "
                               "matching=1 precision=0.50 recall=0.50 resolved=1\n"));
    /* A00002 matches the theft, A00001 is explained by its stopped meter, A00003 by nothing */
    CHECK(text && strstr(text, "fault=theft kind=line_loss truth=1 detected=1 anomalies=3 "
                               "matching=2 precision=0.67 recall=1.00 explained_by_stopped=1 "
                               "resolved=0\n"));
    /* the flapping anomaly of D + 1 is within the window's day after; D + 5 is not */
    CHECK(text && strstr(text, "fault=flap kind=flapping truth=2 detected=1 anomalies=2 "
                               "matching=1 precision=0.50 recall=0.50 over=1 resolved=0\n"));
    CHECK(text && strstr(text, "kind=drop days=3 reached=2 recollected=1 rate=0.50"));
    free(text);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", sdir);
    CHECK_EQ_INT(system(cmd), 0);
}
