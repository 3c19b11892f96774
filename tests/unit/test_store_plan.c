/* test_store_plan.c -- the read side uses indexes: on SQLite, EXPLAIN QUERY PLAN of every
 * list and point-history statement of the catalogue (with each filter variant) must not
 * contain a full "SCAN <table>" of a table that grows with the data (readings, logs).
 * A "SCAN t USING INDEX ..." (an index walked in ORDER BY order under a LIMIT) is allowed;
 * a bare "SCAN t" or "SCAN t USING PRIMARY KEY" without a search constraint is not, except
 * where listed below with the reason.
 *
 * The plan is asked of a fresh database migrated by the store itself, so the indexes are the
 * ones the migrations create. Unbound parameters are NULL, which does not change the plan.
 * Thread: main. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "store/store_int.h"

/* Tables whose size grows with time or with the fleet. */
static const char *const big[] = { "energy", "instant", "frozen", "curve", "events",
                                   "frames", "session_log", "commands", "daily_use",
                                   "collect_missing", "anomalies", "audit", "fwd645",
                                   "recollect", "clock_readings", "meters", "terminals" };

/* The plan of one statement, lines joined by '\n' into out. 0 or -1. */
static int plan_of(sqlite3 *db, const char *sql, char *out, size_t len)
{
    char buf[4096];
    sqlite3_stmt *s = NULL;
    size_t n = 0;
    snprintf(buf, sizeof(buf), "EXPLAIN QUERY PLAN %s", sql);
    if (sqlite3_prepare_v2(db, buf, -1, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "prepare: %s: %s\n", sqlite3_errmsg(db), sql);
        return -1;
    }
    out[0] = '\0';
    while (sqlite3_step(s) == SQLITE_ROW && n + 2 < len) {
        const char *d = (const char *)sqlite3_column_text(s, 3);
        int w = snprintf(out + n, len - n, "%s\n", d ? d : "");
        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
    sqlite3_finalize(s);
    return 0;
}

/* A full scan of a big table: "SCAN <t>" followed by end of line or by something other
 * than "USING INDEX" / "USING COVERING INDEX". */
static const char *full_scan(const char *plan)
{
    static char hit[64];
    for (size_t i = 0; i < MF_ARRAY_LEN(big); i++) {
        char pat[48];
        snprintf(pat, sizeof(pat), "SCAN %s", big[i]);
        for (const char *p = strstr(plan, pat); p; p = strstr(p + 1, pat)) {
            const char *r = p + strlen(pat);
            if (*r != '\n' && *r != ' ')
                continue; /* a longer table name */
            if (!strncmp(r, " USING INDEX", 12) || !strncmp(r, " USING COVERING INDEX", 21))
                continue;
            snprintf(hit, sizeof(hit), "%s", pat);
            return hit;
        }
    }
    return NULL;
}

/* Allowed bare scans: the primary key walked in ORDER BY order, stopped by LIMIT (the
 * unfiltered first page), or a count capped at STORE_COUNT_CAP + 1 rows. */
static const struct {
    int id;
    const char *scan;
} allowed[] = {
    { Q_CMDS_LIST, "SCAN commands" },   /* ORDER BY id DESC: the rowid, newest first */
    { Q_CMDS_COUNT, "SCAN commands" },  /* capped at 10,001 rows */
    { Q_METERS_LIST, "SCAN meters" },   /* ORDER BY terminal, pn: the primary key */
    /* the view's co-routine; each of its arms is a primary-key SEARCH (a SCAN of
     * energy_report / energy_extra in an arm is reported as that table, not allowed) */
    { Q_PT_ENERGY, "SCAN energy" },
};

static int is_allowed(int id, const char *hit)
{
    for (size_t i = 0; i < MF_ARRAY_LEN(allowed); i++)
        if (allowed[i].id == id && !strcmp(allowed[i].scan, hit))
            return 1;
    return 0;
}

static const int reads[] = {
    Q_PT_ENERGY, Q_PT_FROZEN, Q_PT_USE, Q_PT_CURVE, Q_PT_INSTANT, Q_FROZEN_GET,
    Q_EVENTS_LIST, Q_EVENTS_LIST_T, Q_EVENTS_COUNT, Q_EVENTS_COUNT_T,
    Q_ANOMS_LIST, Q_ANOMS_LIST_T, Q_ANOMS_COUNT, Q_ANOMS_COUNT_T,
    Q_CMDS_LIST, Q_CMDS_LIST_T, Q_CMDS_COUNT, Q_CMDS_COUNT_T,
    Q_AUDIT_LIST, Q_AUDIT_COUNT, Q_TERM_FRAMES, Q_TERM_POINTS, Q_TERM_MCFG,
    Q_METERS_LIST_T, Q_METERS_COUNT_T, Q_MISSING_LIST, Q_MISSING_COUNT, Q_RECOL_LIST,
    Q_RECOL_COUNT, Q_RECOL_DUE, Q_TERMS_LIST, Q_METERS_LIST, Q_COLLECT_AREAS,
};

MF_TEST(sqlite_list_and_point_queries_use_indexes)
{
    char dir[] = "/tmp/mf-plan-XXXXXX", path[64], err[256], plan[4096];
    struct store_opts o;
    sqlite3 *db = NULL;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/p.db", dir);
    store_opts_default(&o);
    o.sqlite_path = path;
    struct store *st = store_open_opts(&o, err, sizeof(err));
    CHECK(st != NULL);
    store_close(st);
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    for (size_t i = 0; i < MF_ARRAY_LEN(reads); i++) {
        int id = reads[i];
        CHECK_EQ_INT(plan_of(db, store_sql[id].sql, plan, sizeof(plan)), 0);
        const char *hit = full_scan(plan);
        if (getenv("MF_PLAN_PRINT"))
            fprintf(stderr, "statement %d:\n%s\n", id, plan);
        if (hit && is_allowed(id, hit))
            hit = NULL;
        if (hit)
            fprintf(stderr, "statement %d: %s\n%s--\n%s\n", id, hit, plan, store_sql[id].sql);
        CHECK(hit == NULL);
    }
    /* With a terminal, the terminal's own index (not a time index walked and filtered). */
    static const struct {
        int id;
        const char *index;
    } want[] = { { Q_EVENTS_LIST_T, "USING INDEX events_terminal (terminal=?" },
                 { Q_ANOMS_LIST_T, "USING INDEX anomalies_terminal (terminal=?" },
                 { Q_CMDS_LIST_T, "USING INDEX commands_terminal (terminal=?" },
                 { Q_METERS_LIST_T, "USING PRIMARY KEY (terminal=?" },
                 { Q_PT_CURVE, "USING PRIMARY KEY (terminal=? AND pn=? AND item=? AND ts>?" },
                 { Q_PT_FROZEN, "USING PRIMARY KEY (terminal=? AND pn=? AND kind=? AND date>?" },
                 { Q_COLLECT_AREAS, "SEARCH c USING PRIMARY KEY (date=?)" } };
    for (size_t i = 0; i < MF_ARRAY_LEN(want); i++) {
        CHECK_EQ_INT(plan_of(db, store_sql[want[i].id].sql, plan, sizeof(plan)), 0);
        if (!strstr(plan, want[i].index))
            fprintf(stderr, "statement %d: want %s, plan:\n%s\n", want[i].id, want[i].index,
                    plan);
        CHECK(strstr(plan, want[i].index) != NULL);
    }
    sqlite3_close(db);
    unlink(path);
    char side[80];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    rmdir(dir);
}

