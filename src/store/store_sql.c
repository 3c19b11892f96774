/* store_sql.c -- the SQL catalogue: every statement the store runs, written once.
 *
 * Rules that make one text serve both SQLite and PostgreSQL:
 *  - placeholders are $1, $2, ... and each number first appears in increasing order (SQLite
 *    treats "$1" as a named parameter indexed by first appearance; store_sqlite.c checks the
 *    names at prepare time, so a misordered statement fails loudly in every test);
 *  - a parameter compared with NULL is wrapped in CAST(... AS TEXT / BIGINT) so PostgreSQL can
 *    infer its type;
 *  - INSERT ... ON CONFLICT ... DO NOTHING / DO UPDATE (SQLite >= 3.24), RETURNING (>= 3.35);
 *  - booleans are INTEGER 0/1, times BIGINT seconds, dates INTEGER days (docs/SCHEMA.md).
 * Where the dialects differ, .pg holds the PostgreSQL text; the bulk inserts use unnest() of
 * array parameters there (one statement per chunk of rows, not one round trip per row).
 * No value is ever spliced into these strings.
 *
 * Thread: constant data. */
#include "store/store_int.h"

/* Shared fragments (string-literal concatenation only; no values). */
#define TXT(n) "CAST($" #n " AS TEXT)"
#define ANY_TEXT(n, col) "(" TXT(n) " IS NULL OR " col " = " TXT(n) ")"
/* Time bounds where 0 means "none", written as one range the column's index can use (an
 * "x = 0 OR col >= x" disjunction cannot): times are >= 0, and "no upper bound" is the
 * largest BIGINT. */
#define FROM0(n, col) col " >= $" #n
#define TO0(n, col)                                                                            \
    col " < (CASE WHEN CAST($" #n " AS BIGINT) = 0 THEN 9223372036854775807 ELSE $" #n " END)"

#define TERMS_WHERE                                                                            \
    " WHERE (CAST($1 AS BIGINT) < 0 OR online = $1)"                                           \
    " AND (" TXT(2) " IS NULL OR LOWER(id) LIKE '%' || LOWER(" TXT(2) ") || '%'"              \
    " OR LOWER(name) LIKE '%' || LOWER(" TXT(2) ") || '%')"                                   \
    " AND " ANY_TEXT(3, "area")
#define EVENTS_WHERE                                                                           \
    " WHERE " ANY_TEXT(1, "terminal") " AND ($2 = 0 OR erc = $2) AND ($3 = 0 OR class = $3)"  \
    " AND severity >= $4 AND " FROM0(5, "received_at") " AND " TO0(6, "received_at")
#define ANOMS_WHERE                                                                            \
    " WHERE " ANY_TEXT(1, "kind") " AND " ANY_TEXT(2, "terminal") " AND " ANY_TEXT(3, "area") \
    " AND " ANY_TEXT(4, "state") " AND " FROM0(5, "at") " AND " TO0(6, "at")
#define CMDS_WHERE " WHERE " ANY_TEXT(1, "terminal") " AND " ANY_TEXT(2, "state")
#define METERS_WHERE " WHERE " ANY_TEXT(1, "terminal") " AND " ANY_TEXT(2, "area")
/* A session change carries a clock at least as new as the terminal's (Q_SESS_TERM). */
#define SESS_CLOCK_NEWER                                                                       \
    "excluded.clock_at IS NOT NULL AND (terminals.clock_at IS NULL"                            \
    " OR terminals.clock_at <= excluded.clock_at)"
/* With a terminal: an equality the (terminal, ...) indexes can use (the *_T statements;
 * "$1 IS NULL OR terminal = $1" cannot use an index on either backend). */
#define ANOMS_WHERE_T                                                                          \
    " WHERE " ANY_TEXT(1, "kind") " AND terminal = $2 AND " ANY_TEXT(3, "area")               \
    " AND " ANY_TEXT(4, "state") " AND " FROM0(5, "at") " AND " TO0(6, "at")
#define CMDS_WHERE_T " WHERE terminal = $1 AND " ANY_TEXT(2, "state")
#define METERS_WHERE_T " WHERE terminal = $1 AND " ANY_TEXT(2, "area")
#define AUDIT_WHERE                                                                            \
    " WHERE " ANY_TEXT(1, "user_name") " AND " ANY_TEXT(2, "action") " AND " FROM0(3, "at")   \
    " AND " TO0(4, "at")
/* Events of one terminal: an equality the (terminal, received_at) index can use. */
#define EVENTS_WHERE_T                                                                         \
    " WHERE terminal = $1 AND ($2 = 0 OR erc = $2) AND ($3 = 0 OR class = $3)"               \
    " AND severity >= $4 AND " FROM0(5, "received_at") " AND " TO0(6, "received_at")
/* Counts of the growing logs stop at STORE_COUNT_CAP + 1 rows: bounded work per request. */
#define COUNT_CAP_SQL "10001"
_Static_assert(STORE_COUNT_CAP + 1 == 10001, "COUNT_CAP_SQL must follow STORE_COUNT_CAP");
#define CAPPED_COUNT(from_where) "SELECT COUNT(*) FROM (SELECT 1 FROM " from_where " LIMIT " COUNT_CAP_SQL ") x"
#define FINAL_STATES "('answered','failed','timeout','expired')"
/* energy_report's upsert: fill the tariffs the stored row lacks, never replace one. In SET
 * every right-hand side sees the old row, so v_k is tested against the old s_k. */
#define E_FILL(k)                                                                              \
    " v" #k " = CASE WHEN energy_report.s" #k " IS NULL THEN excluded.v" #k                    \
    " ELSE energy_report.v" #k " END, s" #k " = COALESCE(energy_report.s" #k ", excluded.s" #k ")"
#define E_NEW(k) "(energy_report.s" #k " IS NULL AND excluded.s" #k " IS NOT NULL)"
#define E_UPSERT                                                                               \
    " ON CONFLICT (terminal, pn, read_at, item) DO UPDATE SET" E_FILL(0) "," E_FILL(1) ","      \
    E_FILL(2) "," E_FILL(3) "," E_FILL(4) " WHERE " E_NEW(0) " OR " E_NEW(1) " OR " E_NEW(2)   \
    " OR " E_NEW(3) " OR " E_NEW(4)

const struct sql_def store_sql[Q_COUNT] = {
    /* ---- readings: value NULL unless status = 0 (ok) ---- */
    /* One row per report (schema step 4): a key seen before keeps its values; a tariff it
     * lacked is filled in (the per-value table kept the first value of each tariff, so does
     * this). store_write_energy.c merges a batch's records of one key into one row first:
     * PostgreSQL's DO UPDATE refuses to touch a row twice in one statement. */
    [Q_ENERGY_BULK] = {
        "INSERT INTO energy_report (terminal, pn, item, read_at, v0, s0, v1, s1, v2, s2, v3,"
        " s3, v4, s4) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        E_UPSERT,
        "INSERT INTO energy_report (terminal, pn, item, read_at, v0, s0, v1, s1, v2, s2, v3,"
        " s3, v4, s4) SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[],"
        " $5::float8[], $6::int[], $7::float8[], $8::int[], $9::float8[], $10::int[],"
        " $11::float8[], $12::int[], $13::float8[], $14::int[])" E_UPSERT, 1 },
    /* tariffs above 4, per value as before */
    [Q_ENERGY_EXTRA_BULK] = {
        "INSERT INTO energy_extra (terminal, pn, item, read_at, tariff, value, status)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        "INSERT INTO energy_extra (terminal, pn, item, read_at, tariff, value, status)"
        " SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::int[],"
        " $6::float8[], $7::int[]) ON CONFLICT DO NOTHING", 1 },
    [Q_INSTANT_BULK] = {
        "INSERT INTO instant (terminal, pn, read_at, quantity, value, status)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        "INSERT INTO instant (terminal, pn, read_at, quantity, value, status)"
        " SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::float8[],"
        " $6::int[]) ON CONFLICT DO NOTHING", 1 },
    /* A frozen value or curve point first stored absent/invalid is replaced by a valid one
     * (re-collection); a valid one is never replaced. */
    [Q_FROZEN_BULK] = {
        "INSERT INTO frozen (terminal, pn, kind, item, date, tariff, value, status, read_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (terminal, pn, kind, date, item, tariff) DO UPDATE SET"
        " value = excluded.value, status = excluded.status, read_at = excluded.read_at"
        " WHERE frozen.status <> 0 AND excluded.status = 0",
        "INSERT INTO frozen (terminal, pn, kind, item, date, tariff, value, status, read_at)"
        " SELECT DISTINCT ON (t, p, k, d, i, f) t, p, k, i, d, f, v, s, r FROM unnest("
        "$1::text[], $2::int[], $3::int[], $4::text[], $5::int[], $6::int[], $7::float8[],"
        " $8::int[], $9::bigint[]) AS u(t, p, k, i, d, f, v, s, r)"
        " ORDER BY t, p, k, d, i, f, s"
        " ON CONFLICT (terminal, pn, kind, date, item, tariff) DO UPDATE SET"
        " value = excluded.value, status = excluded.status, read_at = excluded.read_at"
        " WHERE frozen.status <> 0 AND excluded.status = 0", 1 },
    [Q_CURVE_BULK] = {
        "INSERT INTO curve (terminal, pn, item, ts, value, status)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (terminal, pn, item, ts) DO UPDATE SET"
        " value = excluded.value, status = excluded.status"
        " WHERE curve.status <> 0 AND excluded.status = 0",
        "INSERT INTO curve (terminal, pn, item, ts, value, status)"
        " SELECT DISTINCT ON (t, p, i, ts) t, p, i, ts, v, s FROM unnest($1::text[],"
        " $2::int[], $3::text[], $4::bigint[], $5::float8[], $6::int[]) AS u(t, p, i, ts, v, s)"
        " ORDER BY t, p, i, ts, s"
        " ON CONFLICT (terminal, pn, item, ts) DO UPDATE SET"
        " value = excluded.value, status = excluded.status"
        " WHERE curve.status <> 0 AND excluded.status = 0", 1 },

    /* ---- the rest of a batch ---- */
    [Q_EVENT_INS] = {
        "INSERT INTO events (terminal, class, erc, occurred_at, raw_hash, pn, started, severity,"
        " fields_json, raw, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT DO NOTHING", NULL, 0 },
    /* Each pointer moves forward modulo 256 only: (new - old) mod 256 in 1..127. */
    [Q_EC_UPS] = {
        "INSERT INTO terminals (id, ec1, ec2, ec_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (id) DO UPDATE SET"
        " ec1 = CASE WHEN excluded.ec1 IS NULL THEN terminals.ec1"
        "  WHEN terminals.ec1 IS NULL OR (excluded.ec1 - terminals.ec1 + 256) % 256"
        "  BETWEEN 1 AND 127 THEN excluded.ec1 ELSE terminals.ec1 END,"
        " ec2 = CASE WHEN excluded.ec2 IS NULL THEN terminals.ec2"
        "  WHEN terminals.ec2 IS NULL OR (excluded.ec2 - terminals.ec2 + 256) % 256"
        "  BETWEEN 1 AND 127 THEN excluded.ec2 ELSE terminals.ec2 END,"
        " ec_at = excluded.ec_at", NULL, 0 },
    [Q_CLOCK_INS] = {
        "INSERT INTO clock_readings (terminal, read_at, terminal_at, offset_s)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", NULL, 0 },
    [Q_CLOCK_TERM] = {
        "INSERT INTO terminals (id, clock_offset_s, clock_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (id) DO UPDATE SET clock_offset_s = excluded.clock_offset_s,"
        " clock_at = excluded.clock_at"
        " WHERE terminals.clock_at IS NULL OR terminals.clock_at <= excluded.clock_at", NULL, 0 },
    [Q_VERSION_UPS] = {
        "INSERT INTO terminal_versions (terminal, vendor, device, sw_version, sw_date, capacity,"
        " proto_version, hw_version, hw_date, read_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (terminal) DO UPDATE SET vendor = excluded.vendor,"
        " device = excluded.device, sw_version = excluded.sw_version,"
        " sw_date = excluded.sw_date, capacity = excluded.capacity,"
        " proto_version = excluded.proto_version, hw_version = excluded.hw_version,"
        " hw_date = excluded.hw_date, read_at = excluded.read_at"
        " WHERE terminal_versions.read_at <= excluded.read_at", NULL, 0 },
    [Q_MCFG_UPS] = {
        "INSERT INTO meter_cfg (terminal, serial, pn, port, baud, protocol, addr, tariffs,"
        " user_class, collector, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (terminal, serial) DO UPDATE SET pn = excluded.pn,"
        " port = excluded.port, baud = excluded.baud, protocol = excluded.protocol,"
        " addr = excluded.addr, tariffs = excluded.tariffs, user_class = excluded.user_class,"
        " collector = excluded.collector, read_at = excluded.read_at"
        " WHERE meter_cfg.read_at <= excluded.read_at", NULL, 0 },
    [Q_MCFG_DEL] = {
        "DELETE FROM meter_cfg WHERE terminal = $1 AND serial = $2 AND read_at <= $3", NULL, 0 },
    /* the address of a meter-table entry, logged per point (the replacement rule) */
    [Q_MADDR_INS] = {
        "INSERT INTO meter_addr_log (terminal, pn, seen_at, addr) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING", NULL, 0 },
    [Q_FWD_INS] = {
        "INSERT INTO fwd645 (cmd_id, terminal, addr, di, value, status, raw, at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING", NULL, 0 },
    /* frames and session_log are bulk too: with the database across a network, one round
     * trip per raw frame or login bounded the worker (docs/PERFORMANCE.md "Queue vs
     * direct", the LAN round trip). */
    [Q_FRAME_INS] = {
        "INSERT INTO frames (terminal, at_us, dir, raw, error) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING",
        "INSERT INTO frames (terminal, at_us, dir, raw, error) SELECT * FROM unnest("
        "$1::text[], $2::bigint[], $3::int[], $4::bytea[], $5::text[]) ON CONFLICT DO NOTHING",
        1 },
    [Q_SESS_INS] = {
        "INSERT INTO session_log (terminal, at, online, reason, peer, clock_offset_s)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        "INSERT INTO session_log (terminal, at, online, reason, peer, clock_offset_s)"
        " SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::text[], $5::text[],"
        " $6::bigint[]) ON CONFLICT DO NOTHING", 1 },
    /* $6 (clock_at) is NULL when the change carries no clock offset. The clock moves
     * forward only, like Q_CLOCK_TERM's: a heartbeat's clock written after a newer 0C F2
     * answer (the worker's session lane writes session changes after the reports of the
     * same moment) must not replace it. */
    [Q_SESS_TERM] = {
        "INSERT INTO terminals (id, online, last_seen, last_change_at, peer, clock_offset_s,"
        " clock_at) VALUES ($1, $2, $3, $3, $4, $5, $6)"
        " ON CONFLICT (id) DO UPDATE SET online = excluded.online,"
        " last_seen = excluded.last_seen, last_change_at = excluded.last_change_at,"
        " peer = COALESCE(excluded.peer, terminals.peer),"
        " clock_offset_s = CASE WHEN " SESS_CLOCK_NEWER " THEN excluded.clock_offset_s"
        "  ELSE terminals.clock_offset_s END,"
        " clock_at = CASE WHEN " SESS_CLOCK_NEWER " THEN excluded.clock_at"
        "  ELSE terminals.clock_at END"
        " WHERE terminals.last_change_at IS NULL"
        " OR terminals.last_change_at <= excluded.last_change_at", NULL, 0 },
    [Q_CMD_RESULT] = {
        "UPDATE commands SET state = $1, attempts = COALESCE(CAST($2 AS INTEGER), attempts),"
        " answer_json = COALESCE(" TXT(3) ", answer_json), updated_at = $4"
        " WHERE id = $5 AND (state NOT IN " FINAL_STATES " OR " TXT(1) " IN " FINAL_STATES ")",
        NULL, 0 },
    /* The sweep of [web] cmd_expire_s: walks commands_state (state, id), not the table. */
    [Q_CMD_EXPIRE] = {
        "UPDATE commands SET state = 'expired', updated_at = $1,"
        " answer_json = COALESCE(answer_json, " TXT(2) ")"
        " WHERE state IN ('queued', 'sent') AND created_at < $3", NULL, 0 },
    [Q_USE_UPS] = {
        "INSERT INTO daily_use (terminal, pn, date, kwh, status, flags, computed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (terminal, pn, date) DO UPDATE SET"
        " kwh = excluded.kwh, status = excluded.status, flags = excluded.flags,"
        " computed_at = excluded.computed_at", NULL, 0 },
    [Q_COLLECT_UPS] = {
        "INSERT INTO collect_day (date, area, expected, collected, rate, computed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (date, area) DO UPDATE SET"
        " expected = excluded.expected, collected = excluded.collected, rate = excluded.rate,"
        " computed_at = excluded.computed_at", NULL, 0 },
    [Q_MISSING_CLEAR] = { "DELETE FROM collect_missing WHERE date = $1", NULL, 0 },
    [Q_MISSING_INS] = {
        "INSERT INTO collect_missing (date, terminal, pn, area) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING", NULL, 0 },
    [Q_LOSS_UPS] = {
        "INSERT INTO line_loss (date, area, supply_kwh, consumed_kwh, loss_kwh, rate, flag,"
        " meters_expected, meters_counted, computed_at, allowance_kwh, threshold)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " ON CONFLICT (date, area) DO UPDATE SET supply_kwh = excluded.supply_kwh,"
        " consumed_kwh = excluded.consumed_kwh, loss_kwh = excluded.loss_kwh,"
        " rate = excluded.rate, flag = excluded.flag,"
        " meters_expected = excluded.meters_expected, meters_counted = excluded.meters_counted,"
        " computed_at = excluded.computed_at, allowance_kwh = excluded.allowance_kwh,"
        " threshold = excluded.threshold", NULL, 0 },
    [Q_ANOM_INS] = {
        "INSERT INTO anomalies (kind, terminal, pn, area, at, date, severity, evidence_json,"
        " state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open') ON CONFLICT DO NOTHING",
        NULL, 0 },
    [Q_ONLINE_UPS] = {
        "INSERT INTO online_samples (at, registered, online, rate) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (at) DO UPDATE SET registered = excluded.registered,"
        " online = excluded.online, rate = excluded.rate", NULL, 0 },
    [Q_RECOL_UPS] = {
        "INSERT INTO recollect (terminal, pn, date, state, attempts, next_at, deadline_at,"
        " cmd_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (terminal, pn, date) DO UPDATE SET state = excluded.state,"
        " attempts = excluded.attempts, next_at = excluded.next_at,"
        " deadline_at = excluded.deadline_at, cmd_id = excluded.cmd_id,"
        " updated_at = excluded.updated_at WHERE recollect.updated_at <= excluded.updated_at",
        NULL, 0 },
    [Q_STATS_UPS] = {
        "INSERT INTO table_stats (tbl, writer, row_count, last_write_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (tbl, writer) DO UPDATE SET"
        " row_count = table_stats.row_count + excluded.row_count,"
        " last_write_at = COALESCE(excluded.last_write_at, table_stats.last_write_at)",
        /* PostgreSQL: every touched table in one statement (one round trip per commit) */
        "INSERT INTO table_stats (tbl, writer, row_count, last_write_at) SELECT * FROM"
        " unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])"
        " ON CONFLICT (tbl, writer) DO UPDATE SET"
        " row_count = table_stats.row_count + excluded.row_count,"
        " last_write_at = COALESCE(excluded.last_write_at, table_stats.last_write_at)", 1 },

    /* ---- retention ---- */
    /* In chunks of $2 rows (one transaction each): a first run after a long pause must not
     * hold the write lock for minutes. */
    [Q_RET_CURVE] = {
        "DELETE FROM curve WHERE (terminal, pn, item, ts) IN (SELECT terminal, pn, item, ts"
        " FROM curve WHERE ts < $1 LIMIT $2)", NULL, 0 },
    [Q_RET_INSTANT] = {
        "DELETE FROM instant WHERE (terminal, pn, read_at, quantity) IN (SELECT terminal, pn,"
        " read_at, quantity FROM instant WHERE read_at < $1 LIMIT $2)", NULL, 0 },
    [Q_RET_FRAMES_AGE] = {
        "DELETE FROM frames WHERE (terminal, at_us, dir) IN (SELECT terminal, at_us, dir"
        " FROM frames WHERE at_us < $1 LIMIT $2)", NULL, 0 },
    [Q_RET_FRAMES_CAP] = {
        "DELETE FROM frames WHERE (terminal, at_us, dir) IN (SELECT terminal, at_us, dir FROM"
        " (SELECT terminal, at_us, dir, ROW_NUMBER() OVER (PARTITION BY terminal"
        " ORDER BY at_us DESC, dir) AS rn FROM frames) x WHERE rn > $1)", NULL, 0 },
    [Q_RET_TOKENS] = { "DELETE FROM tokens WHERE expires_at <= $1", NULL, 0 },

    /* ---- master data ---- */
    [Q_AREA_PUT] = {
        "INSERT INTO areas (id, name, supply_terminal, supply_pn, loss_threshold)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
        " supply_terminal = excluded.supply_terminal, supply_pn = excluded.supply_pn,"
        " loss_threshold = excluded.loss_threshold", NULL, 0 },
    [Q_AREA_DEL] = { "DELETE FROM areas WHERE id = $1", NULL, 0 },
    /* Keeps the runtime columns (online, last_seen, peer, clock, EC). */
    [Q_TERM_PUT] = {
        "INSERT INTO terminals (id, name, area, vendor, registered, pw_len, login_answer)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET"
        " name = excluded.name, area = excluded.area, vendor = excluded.vendor,"
        " registered = excluded.registered, pw_len = excluded.pw_len,"
        " login_answer = excluded.login_answer", NULL, 0 },
    [Q_TERM_DEL] = { "DELETE FROM terminals WHERE id = $1", NULL, 0 },
    [Q_TERM_DEL_METERS] = { "DELETE FROM meters WHERE terminal = $1", NULL, 0 },
    [Q_METER_PUT] = {
        "INSERT INTO meters (terminal, pn, addr, area, customer_class, is_area_meter,"
        " multiplier) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (terminal, pn) DO UPDATE"
        " SET addr = excluded.addr, area = excluded.area,"
        " customer_class = excluded.customer_class, is_area_meter = excluded.is_area_meter,"
        " multiplier = excluded.multiplier", NULL, 0 },
    [Q_METER_DEL] = { "DELETE FROM meters WHERE terminal = $1 AND pn = $2", NULL, 0 },

    /* ---- users, tokens, audit, commands ---- */
    [Q_USER_PUT] = {
        "INSERT INTO users (name, role, hash, created_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (name) DO UPDATE SET role = excluded.role, hash = excluded.hash",
        NULL, 0 },
    [Q_USER_GET] = { "SELECT name, role, hash, created_at FROM users WHERE name = $1", NULL, 0 },
    [Q_USER_DEL] = { "DELETE FROM users WHERE name = $1", NULL, 0 },
    [Q_USER_DEL_TOKENS] = { "DELETE FROM tokens WHERE user_name = $1", NULL, 0 },
    [Q_USER_COUNT] = { "SELECT COUNT(*) FROM users", NULL, 0 },
    [Q_USERS_LIST] = { "SELECT name, role, created_at FROM users ORDER BY name", NULL, 0 },
    [Q_TOKEN_PUT] = {
        "INSERT INTO tokens (hash, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (hash) DO UPDATE SET user_name = excluded.user_name,"
        " created_at = excluded.created_at, expires_at = excluded.expires_at", NULL, 0 },
    [Q_TOKEN_GET] = {
        "SELECT u.name, u.role, u.hash, u.created_at FROM tokens t"
        " JOIN users u ON u.name = t.user_name WHERE t.hash = $1 AND t.expires_at > $2",
        NULL, 0 },
    [Q_TOKEN_DEL] = { "DELETE FROM tokens WHERE hash = $1", NULL, 0 },
    [Q_AUDIT_ADD] = {
        "INSERT INTO audit (at, user_name, action, target, detail_json, remote)"
        " VALUES ($1, $2, $3, $4, $5, $6)", NULL, 0 },
    [Q_CMD_CREATE] = {
        "INSERT INTO commands (terminal, afn, request_json, state, attempts, created_by,"
        " created_at, updated_at) VALUES ($1, $2, $3, 'queued', 0, $4, $5, $5) RETURNING id",
        NULL, 0 },

    /* ---- reads for the worker and the front ---- */
    [Q_TERMCFG] = {
        "SELECT registered, pw_len, login_answer FROM terminals WHERE id = $1", NULL, 0 },
    [Q_EC_GET] = { "SELECT ec1, ec2 FROM terminals WHERE id = $1", NULL, 0 },
    /* What a login needs in one round trip, and the same for every terminal (the front's
     * registry cache, src/front/front_regcache.c). */
    [Q_TERM_LOGIN] = {
        "SELECT registered, pw_len, login_answer, ec1, ec2 FROM terminals WHERE id = $1",
        NULL, 0 },
    [Q_TERM_LOGINS] = {
        "SELECT id, registered, pw_len, login_answer, ec1, ec2 FROM terminals", NULL, 0 },
    [Q_FROZEN_GET] = {
        "SELECT value, status FROM frozen WHERE terminal = $1 AND pn = $2 AND kind = $3"
        " AND date = $4 AND item = $5 AND tariff = $6", NULL, 0 },
    [Q_ONLINE_COUNT] = {
        "SELECT COUNT(*), COALESCE(SUM(online), 0) FROM terminals WHERE registered = 1",
        NULL, 0 },
    [Q_POINTS_DAY] = {
        "SELECT m.terminal, m.pn, COALESCE(m.area, ''), m.addr, m.is_area_meter, m.multiplier,"
        " COALESCE(t.online, 0),"
        " CASE WHEN f0.status IS NULL THEN 0 ELSE 1 END, f0.value, COALESCE(f0.status, 0),"
        " CASE WHEN f1.status IS NULL THEN 0 ELSE 1 END, f1.value, COALESCE(f1.status, 0)"
        " FROM meters m LEFT JOIN terminals t ON t.id = m.terminal"
        " LEFT JOIN frozen f0 ON f0.terminal = m.terminal AND f0.pn = m.pn AND f0.kind = 1"
        "  AND f0.date = $1 AND f0.item = 'ap_fwd' AND f0.tariff = 0"
        " LEFT JOIN frozen f1 ON f1.terminal = m.terminal AND f1.pn = m.pn AND f1.kind = 1"
        "  AND f1.date = $2 AND f1.item = 'ap_fwd' AND f1.tariff = 0"
        " ORDER BY m.terminal, m.pn", NULL, 0 },
    [Q_AREAS_ALL] = {
        "SELECT id, name, supply_terminal, supply_pn, loss_threshold FROM areas ORDER BY id",
        NULL, 0 },
    [Q_RECOL_DUE] = {
        "SELECT terminal, pn, date, state, attempts, next_at, deadline_at, cmd_id, updated_at"
        " FROM recollect WHERE state IN ('pending', 'sent') AND next_at <= $1"
        " AND deadline_at > $1 ORDER BY next_at LIMIT $2", NULL, 0 },
    /* Every address seen in [$1, $2) and the last one before $1, per point. */
    [Q_MADDR_RANGE] = {
        "SELECT a.terminal, a.pn, a.seen_at, a.addr FROM meter_addr_log a"
        " WHERE (a.seen_at >= $1 OR a.seen_at = (SELECT MAX(b.seen_at) FROM meter_addr_log b"
        "  WHERE b.terminal = a.terminal AND b.pn = a.pn AND b.seen_at < $1))"
        " AND a.seen_at < $2 ORDER BY a.terminal, a.pn, a.seen_at", NULL, 0 },
    /* Logins and offline changes per terminal in [$1, $2) (session_log_at). */
    [Q_SESS_COUNTS] = {
        "SELECT terminal, SUM(CASE WHEN online = 1 AND reason = 'online' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN online = 0 THEN 1 ELSE 0 END), MIN(at), MAX(at) FROM session_log"
        " WHERE at >= $1 AND at < $2 AND (online = 0 OR reason = 'online')"
        " GROUP BY terminal ORDER BY terminal", NULL, 0 },
    /* Every terminal's runtime state, by id (the offline rule, the anomaly life cycle). */
    [Q_TERM_STATES] = {
        "SELECT id, online, last_seen, clock_offset_s, clock_at FROM terminals ORDER BY id",
        NULL, 0 },
    /* The first login of a terminal after $2 (session_log's key: terminal, at). */
    [Q_LOGIN_AFTER] = {
        "SELECT MIN(at) FROM session_log WHERE terminal = $1 AND at > $2 AND online = 1"
        " AND reason = 'online'", NULL, 0 },
    /* Count, min and max of a point's ok phase voltages in [$3, $4): 0C F25 (instant ua/ub/uc)
     * and the voltage curves 0D F89..F91 (curve ua/ub/uc); both keys start (terminal, pn). */
    [Q_VOLT_RANGE] = {
        "SELECT COUNT(*), MIN(v), MAX(v) FROM ("
        "SELECT value AS v FROM instant WHERE terminal = $1 AND pn = $2 AND read_at >= $3"
        " AND read_at < $4 AND quantity IN ('ua', 'ub', 'uc') AND status = 0"
        " UNION ALL SELECT value AS v FROM curve WHERE terminal = $1 AND pn = $2"
        " AND item IN ('ua', 'ub', 'uc') AND ts >= $3 AND ts < $4 AND status = 0) x",
        NULL, 0 },
    /* The anomalies of the life cycle's kinds that are open, acknowledged, or resolved
     * with at >= $1 (one scan of the table per analytics round; no index has state). */
    [Q_ANOMS_LIFE] = {
        "SELECT id, kind, terminal, pn, at, state, evidence_json FROM anomalies"
        " WHERE kind IN ('offline', 'flapping', 'clock', 'voltage_low', 'voltage_high')"
        " AND (state IN ('open', 'ack') OR (state = 'resolved' AND at >= $1))"
        " ORDER BY id LIMIT $2", NULL, 0 },
    /* A terminal's newest clock reading (re-collection waits for a clock behind). */
    [Q_TERM_CLOCK] = {
        "SELECT clock_offset_s, clock_at FROM terminals WHERE id = $1", NULL, 0 },

    /* ---- reads for the web: column names drive the JSON (store_json.c) ---- */
    [Q_TERMS_COUNT] = { "SELECT COUNT(*) FROM terminals" TERMS_WHERE, NULL, 0 },
    [Q_TERMS_LIST] = {
        "SELECT id, name, area, vendor, registered, online, last_seen, peer, clock_offset_s"
        " FROM terminals" TERMS_WHERE " ORDER BY id LIMIT $4 OFFSET $5", NULL, 0 },
    [Q_TERM_DETAIL] = {
        "SELECT id, name, area, vendor, registered, online, last_seen, peer, clock_offset_s,"
        " clock_at, pw_len, login_answer, ec1, ec2 FROM terminals WHERE id = $1", NULL, 0 },
    [Q_TERM_VERSION] = {
        "SELECT vendor, device, sw_version, sw_date, capacity, proto_version, hw_version,"
        " hw_date, read_at FROM terminal_versions WHERE terminal = $1", NULL, 0 },
    [Q_TERM_POINTS] = {
        "SELECT pn, addr, area, customer_class, is_area_meter, multiplier FROM meters"
        " WHERE terminal = $1 ORDER BY pn", NULL, 0 },
    [Q_TERM_MCFG] = {
        "SELECT serial, pn, port, baud, protocol, addr, tariffs, user_class, collector, read_at"
        " FROM meter_cfg WHERE terminal = $1 ORDER BY serial", NULL, 0 },
    [Q_TERM_FRAMES] = {
        "SELECT at_us, CASE WHEN dir = 1 THEN 'up' ELSE 'down' END AS dir, raw AS hex, error"
        " FROM frames WHERE terminal = $1 ORDER BY at_us DESC, dir LIMIT $2", NULL, 0 },
    [Q_PT_ENERGY] = {
        "SELECT item, tariff, read_at, value, status FROM energy WHERE terminal = $1"
        " AND pn = $2 AND read_at >= $3 AND read_at < $4 ORDER BY read_at, item, tariff"
        " LIMIT 20000", NULL, 0 },
    [Q_PT_FROZEN] = {
        "SELECT date, item, tariff, value, status, read_at FROM frozen WHERE terminal = $1"
        " AND pn = $2 AND kind = 1 AND date >= $3 AND date <= $4 ORDER BY date, item, tariff"
        " LIMIT 20000", NULL, 0 },
    [Q_PT_USE] = {
        "SELECT date, kwh, status, flags FROM daily_use WHERE terminal = $1 AND pn = $2"
        " AND date >= $3 AND date <= $4 ORDER BY date LIMIT 20000", NULL, 0 },
    [Q_PT_CURVE] = {
        "SELECT ts, value, status FROM curve WHERE terminal = $1 AND pn = $2 AND item = $3"
        " AND ts >= $4 AND ts < $5 ORDER BY ts LIMIT 20000", NULL, 0 },
    [Q_PT_INSTANT] = {
        "SELECT read_at, quantity, value, status FROM instant WHERE terminal = $1 AND pn = $2"
        " AND read_at >= $3 AND read_at < $4 ORDER BY read_at, quantity LIMIT 20000", NULL, 0 },
    [Q_EVENTS_COUNT] = { CAPPED_COUNT("events" EVENTS_WHERE), NULL, 0 },
    [Q_EVENTS_COUNT_T] = { CAPPED_COUNT("events" EVENTS_WHERE_T), NULL, 0 },
    [Q_EVENTS_LIST_T] = {
        "SELECT id, terminal, class, erc, pn, severity, started, occurred_at, received_at,"
        " fields_json, raw FROM events" EVENTS_WHERE_T
        " ORDER BY received_at DESC, id DESC LIMIT $7 OFFSET $8", NULL, 0 },
    [Q_EVENTS_LIST] = {
        "SELECT id, terminal, class, erc, pn, severity, started, occurred_at, received_at,"
        " fields_json, raw FROM events" EVENTS_WHERE
        " ORDER BY received_at DESC, id DESC LIMIT $7 OFFSET $8", NULL, 0 },
    [Q_ONLINE_HIST] = {
        "SELECT at, registered AS registered_n, online AS online_n, rate FROM online_samples "
        "WHERE at >= $1 AND at < $2"
        " ORDER BY at LIMIT 20000", NULL, 0 },
    [Q_COLLECT_RANGE] = {
        "SELECT date, area, expected, collected, rate FROM collect_day WHERE date >= $1"
        " AND date <= $2 AND area = $3 ORDER BY date", NULL, 0 },
    /* Every area of one date in one range scan of collect_day's key (date, area): the
     * dashboard's per-area table (was one probe per area plus a meter count per area). */
    [Q_COLLECT_AREAS] = {
        "SELECT c.date, c.area, c.expected, c.collected, c.rate FROM collect_day c"
        " JOIN areas a ON a.id = c.area WHERE c.date = $1 AND c.area <> ''"
        " ORDER BY c.area LIMIT $2", NULL, 0 },
    [Q_MISSING_COUNT] = {
        "SELECT COUNT(*) FROM collect_missing WHERE date = $1 AND " ANY_TEXT(2, "area"),
        NULL, 0 },
    [Q_MISSING_LIST] = {
        "SELECT terminal, pn, area FROM collect_missing WHERE date = $1 AND "
        ANY_TEXT(2, "area") " ORDER BY terminal, pn LIMIT $3 OFFSET $4", NULL, 0 },
    [Q_LOSS_RANGE] = {
        "SELECT date, area, supply_kwh, consumed_kwh, loss_kwh, rate, flag, meters_expected,"
        " meters_counted, allowance_kwh, threshold FROM line_loss WHERE date >= $1"
        " AND date <= $2 AND " ANY_TEXT(3, "area") " ORDER BY date, area", NULL, 0 },
    /* the dashboard's worst areas: the date's rows are one range of the key (date, area),
     * sorted here; only `limit` of them become JSON */
    [Q_LOSS_WORST] = {
        "SELECT date, area, supply_kwh, consumed_kwh, loss_kwh, rate, flag, meters_expected,"
        " meters_counted, allowance_kwh, threshold FROM line_loss WHERE date = $1"
        " AND rate IS NOT NULL ORDER BY rate DESC, area LIMIT $2", NULL, 0 },
    [Q_ANOMS_COUNT] = { CAPPED_COUNT("anomalies" ANOMS_WHERE), NULL, 0 },
    [Q_ANOMS_LIST] = {
        "SELECT id, kind, terminal, pn, area, at, date, severity, evidence_json, state"
        " FROM anomalies" ANOMS_WHERE " ORDER BY at DESC, id DESC LIMIT $7 OFFSET $8",
        NULL, 0 },
    [Q_ANOMS_COUNT_T] = { CAPPED_COUNT("anomalies" ANOMS_WHERE_T), NULL, 0 },
    [Q_ANOMS_LIST_T] = {
        "SELECT id, kind, terminal, pn, area, at, date, severity, evidence_json, state"
        " FROM anomalies" ANOMS_WHERE_T " ORDER BY at DESC, id DESC LIMIT $7 OFFSET $8",
        NULL, 0 },
    [Q_ANOM_STATE] = { "UPDATE anomalies SET state = $1 WHERE id = $2", NULL, 0 },
    /* Only from the state the caller read: an operator's change in between wins. */
    [Q_ANOM_TRANS] = {
        "UPDATE anomalies SET state = $1 WHERE id = $2 AND state = $3", NULL, 0 },
    [Q_CMD_GET] = {
        "SELECT id, terminal, afn, request_json, state, attempts, created_by, created_at,"
        " updated_at, answer_json FROM commands WHERE id = $1", NULL, 0 },
    [Q_CMDS_COUNT] = { CAPPED_COUNT("commands" CMDS_WHERE), NULL, 0 },
    [Q_CMDS_LIST] = {
        "SELECT id, terminal, afn, request_json, state, attempts, created_by, created_at,"
        " updated_at, answer_json FROM commands" CMDS_WHERE
        " ORDER BY id DESC LIMIT $3 OFFSET $4", NULL, 0 },
    [Q_CMDS_COUNT_T] = { CAPPED_COUNT("commands" CMDS_WHERE_T), NULL, 0 },
    [Q_CMDS_LIST_T] = {
        "SELECT id, terminal, afn, request_json, state, attempts, created_by, created_at,"
        " updated_at, answer_json FROM commands" CMDS_WHERE_T
        " ORDER BY id DESC LIMIT $3 OFFSET $4", NULL, 0 },
    [Q_AREAS_JSON] = {
        "SELECT a.id, a.name, a.supply_terminal, a.supply_pn, a.loss_threshold,"
        " (SELECT COUNT(*) FROM meters m WHERE m.area = a.id) AS meters FROM areas a"
        " ORDER BY a.id", NULL, 0 },
    [Q_AREA_GET] = {
        "SELECT a.id, a.name, a.supply_terminal, a.supply_pn, a.loss_threshold,"
        " (SELECT COUNT(*) FROM meters m WHERE m.area = a.id) AS meters FROM areas a"
        " WHERE a.id = $1", NULL, 0 },
    [Q_METERS_COUNT] = { "SELECT COUNT(*) FROM meters" METERS_WHERE, NULL, 0 },
    [Q_METERS_LIST] = {
        "SELECT terminal, pn, addr, area, customer_class, is_area_meter, multiplier"
        " FROM meters" METERS_WHERE " ORDER BY terminal, pn LIMIT $3 OFFSET $4", NULL, 0 },
    [Q_METERS_COUNT_T] = { "SELECT COUNT(*) FROM meters" METERS_WHERE_T, NULL, 0 },
    [Q_METERS_LIST_T] = {
        "SELECT terminal, pn, addr, area, customer_class, is_area_meter, multiplier"
        " FROM meters" METERS_WHERE_T " ORDER BY terminal, pn LIMIT $3 OFFSET $4", NULL, 0 },
    [Q_AUDIT_COUNT] = { CAPPED_COUNT("audit" AUDIT_WHERE), NULL, 0 },
    [Q_AUDIT_LIST] = {
        "SELECT id, at, user_name AS \"user\", action, target, detail_json, remote FROM audit"
        AUDIT_WHERE " ORDER BY at DESC, id DESC LIMIT $5 OFFSET $6", NULL, 0 },
    [Q_RECOL_COUNT] = { "SELECT COUNT(*) FROM recollect WHERE date = $1", NULL, 0 },
    [Q_RECOL_LIST] = {
        "SELECT terminal, pn, date, state, attempts, next_at, deadline_at, cmd_id, updated_at"
        " FROM recollect WHERE date = $1 ORDER BY terminal, pn LIMIT $2 OFFSET $3", NULL, 0 },
    [Q_STATS_SUM] = {
        "SELECT tbl, SUM(row_count), MAX(last_write_at) FROM table_stats GROUP BY tbl",
        NULL, 0 },
};
