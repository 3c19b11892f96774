#!/usr/bin/env bash
# ledger_selftest.sh -- the judge can fail: ledger_check.py against a hand-made SQLite file
# with the store's column names (docs/SCHEMA.md) and a hand-written ledger holding one of each
# fault it must catch (a missing value, a changed value, a key confirmed with two values).
set -u
RL_NAME=ledger_selftest
. "$(dirname "$0")/lib.sh"
db=$RL_TMP/s.db
sqlite3 "$db" <<'SQL'
CREATE TABLE energy (terminal TEXT, pn INT, item TEXT, read_at BIGINT, tariff INT, value REAL, status INT, PRIMARY KEY (terminal, pn, read_at, item, tariff));
CREATE TABLE frozen (terminal TEXT, pn INT, kind INT, item TEXT, date INT, tariff INT, value REAL, status INT, PRIMARY KEY (terminal, pn, kind, date, item, tariff));
CREATE TABLE curve (terminal TEXT, pn INT, item TEXT, ts BIGINT, value REAL, status INT, PRIMARY KEY (terminal, pn, item, ts));
CREATE TABLE events (terminal TEXT, pn INT, erc INT, occurred_at BIGINT, started INT);
-- 2026-11-26T10:15 Asia/Shanghai = 02:15 UTC = 1795659300; 2026-11-25 = day 20782
INSERT INTO energy VALUES ('4403-0001', 3, 'ap_fwd', 1795659300, 0, 12345.6789, 0);
INSERT INTO energy VALUES ('4403-0001', 3, 'ap_fwd', 1795659300, 1, 100.0001, 0);
INSERT INTO frozen VALUES ('4403-0001', 3, 1, 'ap_fwd', 20782, 2, 3086.4412, 0);
INSERT INTO curve VALUES ('4403-0001', 3, 'ap_fwd', 1795595400, 12012.33, 0);
INSERT INTO events VALUES ('4403-0001', 0, 14, 1795658520, -1);
SQL
cat >"$RL_TMP/good" <<'L'
# all present
4403-0001 3 fwd_active 2026-11-26T10:15 0 12345.6789
4403-0001 3 fwd_active 2026-11-26T10:15 1 100.0001
4403-0001 3 fwd_active 2026-11-26T10:15 1 100.0001
4403-0001 3 day_fwd_active 2026-11-25 2 3086.4412
4403-0001 3 curve_fwd_active 2026-11-25T16:30 0 12012.33
4403-0001 0 erc14 2026-11-26T10:02 0 1
L
out=$($RL_CHECK --ledger "$RL_TMP/good" --db "$db"); rc=$?
rl_check "all present: $out" [ $rc = 0 ]
rl_check "five keys found, one confirmed twice" grep -q "keys=5 twice_same=1 conflicts=0 found=5 missing=0 mismatched=0" <<<"$out"
printf '4403-0001 3 fwd_active 2026-11-26T10:30 0 12346.0000\n' >"$RL_TMP/miss"
out=$($RL_CHECK --ledger "$RL_TMP/good" --ledger "$RL_TMP/miss" --db "$db"); rc=$?
rl_check "a missing value fails: $out" [ $rc = 1 ] && grep -q "missing=1" <<<"$out"
sed 's/3086.4412/3086.4413/' "$RL_TMP/good" >"$RL_TMP/changed"
out=$($RL_CHECK --ledger "$RL_TMP/changed" --db "$db"); rc=$?
rl_check "a changed value fails: $out" [ $rc = 1 ] && grep -q "mismatched=1" <<<"$out"
printf '4403-0001 3 fwd_active 2026-11-26T10:15 0 12345.6790\n' >"$RL_TMP/conflict"
out=$($RL_CHECK --ledger "$RL_TMP/good" --ledger "$RL_TMP/conflict" --db "$db"); rc=$?
rl_check "a key confirmed with two values fails: $out" [ $rc = 1 ] && grep -q "conflicts=1" <<<"$out"
rl_results
