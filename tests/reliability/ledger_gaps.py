#!/usr/bin/env python3
"""ledger_gaps.py -- how long confirms stalled, per terminal, while a fault was in place.

Follows the simulator's ledger (docs/SIMULATOR.md "Ledger": a line per value, written when
the master's confirm arrives; the simulator writes whole lines in 64 KiB chunks, so times are
good to about 0.1 s under load) from its current end, and notes for every terminal the wall
time each of its lines appeared. On SIGTERM/SIGINT (or after --seconds) it prints one line

  gaps: terminals=N stall_max_s=S stalled=K stall_terminal=T window_s=W

  terminals     terminals confirmed at least once while it ran
  stall_max_s   the longest time any terminal waited between two of its confirms (or from the
                start to its first one), i.e. how long the terminals worst hit by the fault
                (those whose Kafka partition lost its leader) were left without a confirm
  stalled       terminals with a gap longer than --stall seconds (default 2)

A terminal that got no confirm at all after the start is counted in `stalled` with its gap
measured up to the end (`silent=N` says how many). Used by tests/reliability/kafka_faults.sh
(a broker killed: the partitions it led wait for the leader election). Not a judge of loss:
ledger_check.py is.
"""
import argparse
import os
import signal
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ledger", required=True)
    ap.add_argument("--stall", type=float, default=2.0)
    ap.add_argument("--seconds", type=float, default=3600.0)
    ap.add_argument("--known", help="terminals to expect (file, one per line): silent ones count")
    a = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    t0 = time.monotonic()
    last, worst = {}, {}
    with open(a.ledger, "rb") as f:
        f.seek(0, os.SEEK_END)
        rest = b""
        while not stop and time.monotonic() - t0 < a.seconds:
            chunk = f.read()
            if not chunk:
                time.sleep(0.05)
                continue
            now = time.monotonic()
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for ln in lines:
                if not ln or ln.startswith(b"#"):
                    continue
                term = ln.split(b" ", 1)[0]
                gap = now - last.get(term, t0)
                if gap > worst.get(term, 0.0):
                    worst[term] = gap
                last[term] = now
    end = time.monotonic()
    silent = 0
    if a.known:
        with open(a.known, "rb") as k:
            for term in k.read().split():
                if term not in last:
                    silent += 1
                    worst[term] = end - t0
    for term, t in last.items():  # the time since its last confirm counts too
        worst[term] = max(worst[term], end - t)
    if not worst:
        print("gaps: terminals=0 stall_max_s=-1 stalled=0 silent=0 window_s=%.1f" % (end - t0))
        return 0
    term = max(worst, key=worst.get)
    stalled = sum(1 for g in worst.values() if g > a.stall)
    print("gaps: terminals=%d stall_max_s=%.1f stalled=%d silent=%d stall_terminal=%s "
          "window_s=%.1f" % (len(last), worst[term], stalled, silent, term.decode(), end - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
