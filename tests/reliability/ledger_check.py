#!/usr/bin/env python3
"""ledger_check.py -- the judge of the fault scenarios, independent of our C code.

Reads the simulator's ledger (docs/SIMULATOR.md "Ledger": every value the master CONFIRMED)
and the store's tables directly with SQL (docs/SCHEMA.md; SQLite through the sqlite3 module,
PostgreSQL through psql), and prints one line

  check: ledger_lines=N keys=N twice_same=N conflicts=N found=N missing=N mismatched=N
         store_rows=N store_dup_keys=N unconfirmed_rows=N

  keys          distinct (terminal, pn, item, time, tariff) the master confirmed
  twice_same    a key confirmed again with the same value (a retransmission whose confirm was
                lost: fine)
  conflicts     a key confirmed twice with DIFFERENT values (a real duplicate bug)
  found/missing a confirmed key present / absent in the store
  mismatched    present with another value
  store_rows    rows of the ledger's terminals and items in the store
  store_dup_keys rows whose natural key appears more than once (the primary keys forbid it)
  unconfirmed_rows rows stored but never confirmed (stored, then the confirm was lost in a
                crash and the simulator ended before retransmitting: allowed)

Exit 0 when missing = mismatched = conflicts = store_dup_keys = 0, else 1; 2 on usage errors.

Mapping (what the worker stores for each ledger item, see src/proc/proc_norm.c):
  fwd_active        energy(terminal, pn, item='ap_fwd', read_at UTC s, tariff, value)
  day_fwd_active    frozen(kind=1 daily, item='ap_fwd', date = civil days since 1970, tariff)
  curve_fwd_active  curve(item in ('ap_fwd','F101'), ts UTC s)
  voltage           instant(quantity ua/ub/uc = phase 1/2/3 in the tariff column, read_at UTC s)
  ercN              events(erc=N, pn, occurred_at UTC s): presence only. The store keeps
                    `started` = -1 for ERC14 (a record holds both the power-off and the
                    power-on time), and two distinct records may share the ledger's key: the
                    simulator can raise two ERC14 with the same power-off minute and different
                    power-on minutes (events_same_key counts them; the store's key includes
                    a hash of the record bytes, so they are two events, not a duplicate).
Civil times are the terminals' (--zone, default Asia/Shanghai) and are converted to UTC.
"""
import argparse
import datetime as dt
import subprocess
import sys
from zoneinfo import ZoneInfo


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ledger", required=True, action="append")
    ap.add_argument("--db", help="SQLite file")
    ap.add_argument("--pg", help="libpq conninfo (psql)")
    ap.add_argument("--zone", default="Asia/Shanghai")
    ap.add_argument("--verbose", action="store_true", help="list the first missing keys")
    a = ap.parse_args()
    if bool(a.db) == bool(a.pg):
        ap.error("give exactly one of --db, --pg")
    return a


def load_ledger(paths, zone):
    tz = ZoneInfo(zone)
    epoch = dt.date(1970, 1, 1)
    keys, lines, twice, conflicts = {}, 0, 0, 0
    utc_cache = {}

    def utc(s):
        v = utc_cache.get(s)
        if v is None:
            t = dt.datetime.strptime(s, "%Y-%m-%dT%H:%M").replace(tzinfo=tz)
            v = utc_cache[s] = int(t.timestamp())
        return v

    for p in paths:
        with open(p) as f:
            for line in f:
                if not line.strip() or line.startswith("#"):
                    continue
                term, pn, item, t, tariff, value = line.split()
                lines += 1
                if item == "fwd_active":
                    k = ("E", term, int(pn), utc(t), int(tariff))
                elif item == "day_fwd_active":
                    d = (dt.date.fromisoformat(t) - epoch).days
                    k = ("D", term, int(pn), d, int(tariff))
                elif item == "curve_fwd_active":
                    k = ("C", term, int(pn), utc(t), 0)
                elif item == "voltage":  # active 0C F25: tariff column = phase 1..3
                    k = ("U", term, int(pn), utc(t), int(tariff))
                elif item.startswith("erc"):
                    k = ("V", term, int(pn), utc(t), int(item[3:]))
                else:
                    raise SystemExit(f"ledger_check: unknown item {item!r} in {p}")
                v = float(value)
                old = keys.get(k)
                if old is None:
                    keys[k] = v
                elif abs(old - v) < 1e-9:
                    twice += 1
                else:
                    conflicts += 1
    return keys, lines, twice, conflicts


QUERIES = {
    "E": "SELECT terminal, pn, read_at, tariff, value FROM energy WHERE item = 'ap_fwd' AND status = 0",
    "D": "SELECT terminal, pn, date, tariff, value FROM frozen WHERE kind = 1 AND item = 'ap_fwd' AND status = 0",
    "C": "SELECT terminal, pn, ts, 0, value FROM curve WHERE item IN ('ap_fwd', 'F101') AND status = 0",
    "V": "SELECT terminal, pn, occurred_at, erc, started FROM events",
    "U": "SELECT terminal, pn, read_at, CASE quantity WHEN 'ua' THEN 1 WHEN 'ub' THEN 2 ELSE 3 END, "
         "value FROM instant WHERE quantity IN ('ua', 'ub', 'uc') AND status = 0",
}


def store_rows(a, kinds):
    if a.db:
        import sqlite3
        con = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True, timeout=30)
        for kind in kinds:
            for r in con.execute(QUERIES[kind]):
                yield (kind,) + tuple(r)
        con.close()
        return
    for kind in kinds:
        out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-d", a.pg, "-c", QUERIES[kind]],
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            t, pn, at, tar, val = line.split("\t")
            yield (kind, t, int(pn), int(at), int(tar), float(val) if val else None)


def main():
    a = parse_args()
    keys, lines, twice, conflicts = load_ledger(a.ledger, a.zone)
    terms = {k[1] for k in keys}
    kinds = sorted({k[0] for k in keys}) or ["E"]
    seen = {}
    rows = dups = unconfirmed = mismatched = ev_same_key = 0
    for r in store_rows(a, kinds):
        kind, term, pn, at, tar, val = r
        if term not in terms:
            continue
        rows += 1
        k = (kind, term, pn, at, tar)
        seen[k] = seen.get(k, 0) + 1
        if seen[k] == 2:
            if kind == "V":
                ev_same_key += 1
            else:
                dups += 1
        want = keys.get(k)
        if want is None:
            unconfirmed += 1
        elif kind == "V":
            pass  # events: presence only (see the docstring)
        elif val is None or abs(want - val) > 0.00005 + 1e-9 * abs(want):
            mismatched += 1
    found = sum(1 for k in keys if k in seen)
    missing = len(keys) - found
    print(f"check: ledger_lines={lines} keys={len(keys)} twice_same={twice} conflicts={conflicts} "
          f"found={found} missing={missing} mismatched={mismatched} store_rows={rows} "
          f"store_dup_keys={dups} unconfirmed_rows={unconfirmed} events_same_key={ev_same_key}")
    if a.verbose and missing:
        for k in [k for k in keys if k not in seen][:10]:
            print("missing:", k, keys[k], file=sys.stderr)
    return 0 if (missing == 0 and mismatched == 0 and conflicts == 0 and dups == 0 and lines) else 1


if __name__ == "__main__":
    sys.exit(main())
