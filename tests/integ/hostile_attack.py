#!/usr/bin/env python3
"""hostile_attack.py -- hostile and broken terminals, for tests/integ/hostile.sh.

  hostile_attack.py KIND HOST:PORT SECONDS [N]

KIND (frames written by hand from docs/protocol-3761.md section 1):
  garbage     N connections stream random bytes without a 0x68 start or with broken headers
  oversize    N connections send a header announcing L = 16383 (a 65,540-byte frame) and fill
  split       one terminal (4403-F001) logs in and sends reports one byte every 20 ms; prints
              how many confirms it got (they must arrive: a split frame is still a frame)
  slow        N connections send a frame header plus a few bytes and hold them
  dup         two connections log in as the same terminal (4403-F002) in turns, as fast as
              the master answers
  flood       one terminal (4403-F003) sends reports as fast as the socket takes them
  unknown     N logins per second of unregistered terminals (4403-E000..)
Prints "attack KIND: key=value ..." at the end: connections made, closed by the master,
confirms and denials received.
"""
import os
import random
import selectors
import socket
import sys
import time


def cs(b):
    return sum(b) & 0xFF


def frame(c, a2, afn, seq, da_dt, data=b""):
    u = bytes([c, 0x03, 0x44, a2 & 0xFF, a2 >> 8, 0x00, afn, seq]) + da_dt + data
    L = (len(u) << 2) | 2
    return bytes([0x68, L & 0xFF, L >> 8, L & 0xFF, L >> 8, 0x68]) + u + bytes([cs(u), 0x16])


def login(a2, pseq=0):       # AFN=02 F1, C=C9, SEQ FIR FIN CON
    return frame(0xC9, a2, 0x02, 0x70 | pseq, b"\x00\x00\x01\x00")


def report(a2, pseq):        # AFN=0C F2 terminal clock 2026-11-26 10:00:00 (A.1), C=C4 CON=1
    return frame(0xC4, a2, 0x0C, 0x70 | (pseq & 15), b"\x00\x00\x02\x00",
                 bytes([0x00, 0x00, 0x10, 0x26, 0x31, 0x26]))


class Stats(dict):
    def add(self, k, n=1):
        self[k] = self.get(k, 0) + n


def frames_in(buf):
    """Split complete frames off buf: (frames, rest)."""
    out = []
    while True:
        i = buf.find(b"\x68")
        if i < 0:
            return out, b""
        buf = buf[i:]
        if len(buf) < 6:
            return out, buf
        n = ((buf[1] | buf[2] << 8) >> 2) + 8
        if len(buf) < n:
            return out, buf
        out.append(buf[:n])
        buf = buf[n:]


def count_answers(st, data):
    for fr in data:
        if len(fr) >= 18 and fr[12] == 0x00:
            st.add("confirms" if fr[16] == 1 else "denials" if fr[16] == 2 else "other")


def conn(host, port):
    s = socket.socket()
    s.connect((host, port))
    s.setblocking(False)
    return s


def pump(sel, st, bufs, deadline, on_tick=None):
    """Read answers and closes until deadline; on_tick(now) is called every loop."""
    while time.time() < deadline:
        for k, _ in sel.select(timeout=0.05):
            s = k.fileobj
            try:
                d = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if not d:
                st.add("closed_by_master")
                sel.unregister(s)
                s.close()
                bufs.pop(s, None)
                continue
            frs, bufs[s] = frames_in(bufs.get(s, b"") + d)
            count_answers(st, frs)
        if on_tick:
            on_tick(time.time())


def safe_send(s, b, st):
    try:
        return s.send(b)
    except (BlockingIOError, InterruptedError):
        return 0
    except OSError:
        st.add("send_errors")
        return -1


def many(kind, host, port, secs, n):
    sel, st, bufs, socks = selectors.DefaultSelector(), Stats(), {}, []
    rnd = random.Random(7)
    for _ in range(n):
        try:
            s = conn(host, port)
        except OSError:
            st.add("connect_failed")
            continue
        st.add("connections")
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
        if kind == "oversize":   # 68 FF FF FF FF 68: L1 = 16383 -> 65,540 bytes announced
            safe_send(s, bytes([0x68, 0xFE, 0xFF, 0xFE, 0xFF, 0x68]), st)
        if kind == "slow":       # a valid header and 4 bytes, then nothing
            safe_send(s, login(0xF100 + len(socks))[:10], st)

    def tick(now):
        for s in list(socks):
            if s.fileno() < 0:
                socks.remove(s)
                continue
            if kind == "garbage":
                safe_send(s, bytes(rnd.randrange(0, 256) for _ in range(512)).replace(b"\x68", b"\x00"), st)
            elif kind == "oversize":
                safe_send(s, b"\x00" * 4096, st)
    pump(sel, st, bufs, time.time() + secs, tick if kind in ("garbage", "oversize") else None)
    st["still_open"] = sum(1 for s in socks if s.fileno() >= 0)
    return st


def split(host, port, secs):
    st, buf = Stats(), b""
    s = socket.create_connection((host, port))
    s.settimeout(0.02)
    data = login(0xF001) + b"".join(report(0xF001, i + 1) for i in range(100))
    end = time.time() + secs
    for b in data:
        if time.time() > end:
            break
        s.sendall(bytes([b]))
        st.add("bytes_sent")
        try:
            d = s.recv(4096)
            if not d:
                st.add("closed_by_master")
                break
            frs, buf = frames_in(buf + d)
            count_answers(st, frs)
        except socket.timeout:
            pass
    s.settimeout(5)
    try:
        while st.get("confirms", 0) < 1 + max(0, st.get("bytes_sent", 0) - len(login(1))) // len(report(1, 1)):
            d = s.recv(4096)
            if not d:
                break
            frs, buf = frames_in(buf + d)
            count_answers(st, frs)
    except socket.timeout:
        pass
    st["frames_completed"] = max(0, st.get("bytes_sent", 0) - len(login(1))) // len(report(1, 1))
    return st


def dup(host, port, secs):
    st = Stats()
    end = time.time() + secs
    while time.time() < end:
        for _ in range(2):
            try:
                s = socket.create_connection((host, port), timeout=5)
                st.add("connections")
                s.sendall(login(0xF002))
                d = s.recv(4096)
                count_answers(st, frames_in(d)[0])
                s.close()
            except OSError:
                st.add("errors")
    return st


def flood(host, port, secs):
    sel, st, bufs = selectors.DefaultSelector(), Stats(), {}
    s = conn(host, port)
    sel.register(s, selectors.EVENT_READ)
    safe_send(s, login(0xF003), st)
    i = [0]
    pending = [b""]

    def tick(now):
        if s.fileno() < 0:
            return
        for _ in range(50):
            if not pending[0]:
                i[0] += 1
                pending[0] = report(0xF003, i[0])
            n = safe_send(s, pending[0], st)
            if n <= 0:
                return
            pending[0] = pending[0][n:]
            if not pending[0]:
                st.add("frames_sent")
    pump(sel, st, bufs, time.time() + secs, tick)
    return st


def unknown(host, port, secs, rate):
    sel, st, bufs = selectors.DefaultSelector(), Stats(), {}
    nxt = [time.time()]
    a2 = [0xE000]

    def tick(now):
        while now >= nxt[0]:
            nxt[0] += 1.0 / rate
            try:
                s = conn(host, port)
            except OSError:
                st.add("connect_failed")
                continue
            sel.register(s, selectors.EVENT_READ)
            st.add("connections")
            a2[0] = 0xE000 + (a2[0] + 1) % 0x1000
            safe_send(s, login(a2[0]), st)
    pump(sel, st, bufs, time.time() + secs, tick)
    return st


def main():
    kind, target, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    host, port = target.rsplit(":", 1)
    port = int(port)
    if kind in ("garbage", "oversize", "slow"):
        st = many(kind, host, port, secs, n)
    elif kind == "split":
        st = split(host, port, secs)
    elif kind == "dup":
        st = dup(host, port, secs)
    elif kind == "flood":
        st = flood(host, port, secs)
    elif kind == "unknown":
        st = unknown(host, port, secs, n)
    else:
        sys.exit(f"unknown attack {kind}")
    print(f"attack {kind}: " + " ".join(f"{k}={v}" for k, v in sorted(st.items())), flush=True)


if __name__ == "__main__":
    main()
