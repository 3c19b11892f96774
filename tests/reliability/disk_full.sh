#!/usr/bin/env bash
# disk_full.sh -- the data directory's disk fills up under load: `meterflow run` keeps SQLite
# on a small tmpfs (RL_DISK_MB, default 24 MiB; needs root for mount). Expected:
#   - a clear error in the log (SQLite "database or disk is full" / ENOSPC);
#   - no confirm for what could not be stored (the ledger stops growing; lib.sh rl_frozen,
#     which also bounds the master's RSS meanwhile);
#   - no corruption: `pragma integrity_check` = ok while full;
#   - when space returns (`mount -o remount,size=...`), confirms resume by themselves and at
#     the end every confirmed value is stored exactly once (rl_finish_run).
# Environment: RL_TERMINALS (100), RL_POINTS (16), RL_DISK_MB (24), RL_FULL_HOLD (10 s kept
# full after it filled), RL_DURATION (60).
set -u
RL_NAME=disk_full
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || rl_die "needs root to mount a tmpfs (run as root or skip this scenario explicitly)"
terminals=${RL_TERMINALS:-100}
mb=${RL_DISK_MB:-24}
hold=${RL_FULL_HOLD:-10}
log=$RL_TMP/run.log
mkdir -p "$RL_DIR"
mount -t tmpfs -o "size=${mb}m" tmpfs "$RL_DIR" || rl_die "mount tmpfs"
RL_CLEANUPS+=("umount -l '$RL_DIR'")
export RL_RUNLOG=$log
rl_load "$terminals" "${RL_POINTS:-16}" "${RL_DURATION:-60}"

avail_kb() { df -k --output=avail "$RL_DIR" | tail -1 | tr -d ' '; }
full() { [ "$(avail_kb)" -lt 512 ] || grep -qiE "disk is full|ENOSPC|no space" "$log"; }
rl_wait 120 full && rl_ok "the disk filled (avail $(avail_kb) kB)" ||
  rl_ko "the disk never filled within 120 s (avail $(avail_kb) kB)"
rl_frozen "$hold" "the disk is full"
err=$(grep -iE "full|ENOSPC|no space" "$log" | head -1)
rl_check "a clear error in the log: ${err:-none}" [ -n "$err" ]
integ=$(sqlite3 -readonly "$RL_DB" 'pragma integrity_check' 2>&1 | head -1)
rl_check "integrity_check while full: $integ" [ "$integ" = ok ]

mount -o remount,size=$((mb * 20))m "$RL_DIR"
rl_resumed "after space returns" "$(rl_now)" "$RL_AFTER"

rl_finish_run
rl_figures "terminals=$terminals disk_mb=$mb" \
  "confirms_while_full=$((RL_AFTER - RL_FROZEN_AT)) rss_before_kb=$RL_RSS0 rss_max_kb=$RL_RSS_MAX" \
  "recovery_s=$RL_REC log_errors=$(grep -ciE 'full|ENOSPC' "$log")"
rl_results
