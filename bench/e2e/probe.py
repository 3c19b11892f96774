#!/usr/bin/env python3
"""probe.py -- "time until queryable": one extra terminal, written by hand from the 376.1
text, that logs in and sends --count 0C F129 reports (point 1, total + 4 tariffs, one per
--interval seconds, each for a new minute), waits for each AFN=00 confirm, and then polls the
store until the report's total is there. Prints one machine-readable line:

  bench=visible n=.. confirm_p50_ms=.. confirm_p99_ms=.. visible_p50_ms=.. visible_p99_ms=..

visible = confirm received -> row readable through a fresh query (SQLite: a read-only
connection on the WAL file; PostgreSQL: psql). In embedded mode the worker commits before
the front confirms, so it is the query cost; with Kafka the worker stores after the broker
acknowledged, so it is the real lag. Frames are built here (not with our encoder) so the
probe measures the system from outside, like a terminal.

Usage: probe.py --target HOST:PORT (--db FILE | --pg CONNINFO) [--count N] [--interval S]
       [--a2 N]   (terminal 9999-<a2 hex>; pick a fresh one per run: keys are idempotent)
"""
import argparse
import socket
import sqlite3
import subprocess
import sys
import time


def bcd(v, n):
    out = bytearray()
    for _ in range(n):
        out.append(((v // 10) % 10) << 4 | (v % 10))
        v //= 100
    return bytes(out)


def frame(a1, a2, c, afn, seq, units):
    user = bytes([c]) + a1.to_bytes(2, "little") + a2.to_bytes(2, "little") + b"\x00" + \
        bytes([afn, seq]) + units
    ln = (len(user) << 2 | 2).to_bytes(2, "little")
    return b"\x68" + ln + ln + b"\x68" + user + bytes([sum(user) & 0xFF, 0x16])


def read_frame(sock, buf):
    """Next whole frame from the socket (bytes), buf is the carry-over bytearray."""
    while True:
        i = buf.find(b"\x68")
        if i > 0:
            del buf[:i]
        if len(buf) >= 6 and buf[0] == 0x68:
            n = 6 + (int.from_bytes(buf[1:3], "little") >> 2) + 2
            if len(buf) >= n:
                f = bytes(buf[:n])
                del buf[:n]
                return f
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("master closed the connection")
        buf += chunk


def wait_confirm(sock, buf, pseq):
    while True:
        f = read_frame(sock, buf)
        if f[12] == 0x00 and (f[13] & 0x0F) == pseq:
            return f


class Store:
    def __init__(self, db, pg):
        self.db, self.pg = db, pg
        self.conn = None

    def count(self, term):
        q = "SELECT count(*) FROM energy WHERE terminal = '%s' AND tariff = 0" % term
        if self.pg:
            r = subprocess.run(["psql", "-X", "-A", "-t", "-q", self.pg, "-c", q],
                               capture_output=True, text=True)
            return int(r.stdout.strip() or 0)
        if self.conn is None:
            try:
                self.conn = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
            except sqlite3.Error:
                return 0
        try:
            return self.conn.execute(q).fetchone()[0]
        except sqlite3.Error:
            self.conn = None
            return 0


def pct(v, p):
    if not v:
        return 0.0
    s = sorted(v)
    return s[min(len(s) - 1, int(p * len(s)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--db")
    ap.add_argument("--pg")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--interval", type=float, default=0.25)
    ap.add_argument("--a2", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    a1, a2 = 0x9999, a.a2 & 0xFFFF
    term = "9999-%04X" % a2
    st = Store(a.db, a.pg)
    sock = socket.create_connection((host, int(port)), 5)
    sock.settimeout(a.timeout)
    buf = bytearray()
    pfc = 0
    sock.sendall(frame(a1, a2, 0xC9, 0x02, 0x70 | pfc, b"\x00\x00\x01\x00"))
    wait_confirm(sock, buf, pfc)
    base = st.count(term)
    conf, vis = [], []
    for i in range(a.count):
        pfc = (pfc + 1) & 0xFF
        minute = 7 * 24 * 60 + i + (a2 % 1000) * 1440  # a fresh minute per report
        mi, hh, dd = minute % 60, (minute // 60) % 24, 1 + (minute // 1440) % 28
        unit = b"\x01\x01\x01\x10" + bcd(mi, 1) + bcd(hh, 1) + bcd(dd, 1) + bcd(11, 1) + \
            bcd(26, 1) + b"\x04" + b"".join(bcd(1000000 + i * 10 + t, 5) for t in range(5))
        t0 = time.monotonic()
        sock.sendall(frame(a1, a2, 0xC4, 0x0C, 0x70 | (pfc & 0x0F), unit))
        wait_confirm(sock, buf, pfc & 0x0F)
        t1 = time.monotonic()
        while st.count(term) < base + i + 1:
            if time.monotonic() - t1 > a.timeout:
                print("probe: report %d not visible after %.0f s" % (i, a.timeout),
                      file=sys.stderr)
                return 1
            time.sleep(0.001)
        t2 = time.monotonic()
        conf.append((t1 - t0) * 1000)
        vis.append((t2 - t1) * 1000)
        time.sleep(max(0.0, a.interval - (t2 - t0)))
    pfc = (pfc + 1) & 0xFF
    sock.sendall(frame(a1, a2, 0xC9, 0x02, 0x70 | (pfc & 0x0F), b"\x00\x00\x02\x00"))
    sock.close()
    print("bench=visible n=%d confirm_p50_ms=%.1f confirm_p99_ms=%.1f visible_p50_ms=%.1f "
          "visible_p99_ms=%.1f" % (len(vis), pct(conf, 0.5), pct(conf, 0.99),
                                   pct(vis, 0.5), pct(vis, 0.99)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
