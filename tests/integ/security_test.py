#!/usr/bin/env python3
"""security_test.py -- the checks of docs/SECURITY.md against a running `meterflow run`.

Started by tests/integ/security.sh, which starts the server and passes:
  --base URL --term HOST:PORT --routes src/web/web_routes.c --log FILE
  --users admin:PW,operator:PW,viewer:PW [--cacert PEM] [--only SECTION]
Prints "ok   security: ..." / "FAIL security: ..." lines and a final "passed failed" line.
Frames are written by hand from docs/protocol-3761.md and the public vectors.
"""
import argparse
import json
import re
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request

P = F = 0


def ok(cond, what):
    global P, F
    if cond:
        P += 1
        print(f"ok   security: {what}")
    else:
        F += 1
        print(f"FAIL security: {what}")
    return cond


class Client:
    def __init__(self, base, cacert=None):
        self.base = base
        self.ctx = ssl.create_default_context(cafile=cacert) if cacert else None

    def req(self, method, path, body=None, token=None, headers=None, ctype="application/json"):
        h = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = ctype
        if token:
            h["Authorization"] = f"Bearer {token}"
        r = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(r, timeout=30, context=self.ctx) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def login(self, user, pw):
        st, h, b = self.req("POST", "/api/login", {"username": user, "password": pw})
        return (json.loads(b) if st == 200 else None), st, h


# ---- the route table -----------------------------------------------------------------------

ROLE = {"WEB_ROLE_NONE": 0, "V": 1, "O": 2, "A": 3}
SAMPLE = {"{tid}": "4403-0001", "{pn}": "1", "{name}": "nobody", "{id}": "1", "{kind}": "areas"}


def routes(path):
    src = open(path).read()
    rows = re.findall(r'\{\s*"(GET|POST|PUT|PATCH|DELETE)",\s*"([^"]+)",\s*(\w+),', src)
    out = []
    for m, p, role in rows:
        for k, v in SAMPLE.items():
            p = p.replace(k, v)
        out.append((m, p, ROLE[role]))
    return out


def check_routes(c, a, tokens):
    rt = routes(a.routes)
    ok(len(rt) >= 30, f"route table parsed: {len(rt)} routes")
    names = {1: "viewer", 2: "operator", 3: "admin"}
    for m, p, need in rt:
        body = b"" if m in ("POST", "PUT", "PATCH") else None
        if need == 0:
            continue
        st, _, _ = c.req(m, p, body=body)
        ok(st == 401, f"{m} {p}: anonymous -> {st} (401)")
        st, _, _ = c.req(m, p, body=body, token="0" * 64)
        ok(st == 401, f"{m} {p}: forged token -> {st} (401)")
        for r in range(1, need):
            st, _, _ = c.req(m, p, body=body, token=tokens[names[r]])
            ok(st == 403, f"{m} {p}: {names[r]} (needs {names[need]}) -> {st} (403)")
    # public ones really are public, and only these
    public = sorted(f"{m} {p}" for m, p, n in rt if n == 0)
    ok(public == ["GET /api/health", "GET /metrics", "POST /api/login"],
       f"public routes are exactly health, metrics, login: {public}")


def check_csrf(c, a, users):
    """A cookie-authenticated change without X-CSRF-Token is refused."""
    j, st, h = c.login("admin", users["admin"])
    cookie = next((v.split(";")[0] for k, v in h.items() if k.lower() == "set-cookie"), "")
    ok(cookie.startswith("mf_session="), "login sets the mf_session cookie")
    sc = next((v for k, v in h.items() if k.lower() == "set-cookie"), "")
    ok("HttpOnly" in sc and "SameSite=Strict" in sc, f"cookie HttpOnly, SameSite=Strict: {sc[:80]}")
    body = {"name": "csrf-test"}
    st, _, _ = c.req("PUT", "/api/areas/CSRF1", body, headers={"Cookie": cookie})
    ok(st == 403, f"cookie PUT without X-CSRF-Token -> {st} (403)")
    st, _, _ = c.req("PUT", "/api/areas/CSRF1", body,
                     headers={"Cookie": cookie, "X-CSRF-Token": j["csrf"]})
    ok(st in (200, 201), f"cookie PUT with X-CSRF-Token -> {st}")


def check_audit(c, a, tokens):
    """Changes and commands leave an audit record naming the user."""
    st, _, _ = c.req("PUT", "/api/areas/AUDIT1", {"name": "audited area"}, token=tokens["admin"])
    ok(st in (200, 201), f"admin PUT /api/areas/AUDIT1 -> {st}")
    st, _, _ = c.req("PUT", "/api/terminals/4403-0001", {"name": "audit target"}, token=tokens["admin"])
    ok(st in (200, 201), f"admin PUT /api/terminals/4403-0001 -> {st}")
    st, _, b = c.req("POST", "/api/commands", {"type": "clock_sync", "terminal": "4403-0001"},
                     token=tokens["operator"])
    ok(st in (200, 201, 202, 409), f"operator POST /api/commands clock_sync (offline) -> {st} {b[:80]!r}")
    st, _, _ = c.req("POST", "/api/users", {"username": "x", "password": "y"}, token=tokens["viewer"])
    st, _, b = c.req("GET", "/api/audit?page_size=100", token=tokens["admin"])
    ok(st == 200, f"GET /api/audit -> {st}")
    items = json.loads(b).get("items", []) if st == 200 else []
    text = json.dumps(items)
    ok("AUDIT1" in text and '"admin"' in text, "audit holds the area change by admin")
    ok("operator" in text and ("command" in text or "clock" in text),
       "audit holds the operator's command")
    ok(any(i.get("action", "").startswith("login") for i in items) or "login" in text,
       "audit holds logins")


def check_headers(c, a, tokens):
    for path in ("/", "/api/health", "/api/terminals"):
        st, h, _ = c.req("GET", path, token=tokens.get("viewer") or next(iter(tokens.values())))
        hl = {k.lower(): v for k, v in h.items()}
        csp = hl.get("content-security-policy", "")
        ok("frame-ancestors 'none'" in csp and "unsafe-inline" not in csp.split("style-src")[0],
           f"{path}: CSP without inline scripts, frame-ancestors 'none' ({csp[:60]})")
        ok(hl.get("x-content-type-options") == "nosniff", f"{path}: X-Content-Type-Options nosniff")
        ok(hl.get("x-frame-options") == "DENY", f"{path}: X-Frame-Options DENY")
        ok(hl.get("referrer-policy") == "no-referrer", f"{path}: Referrer-Policy no-referrer")
        if path.startswith("/api"):
            ok(hl.get("cache-control") == "no-store", f"{path}: Cache-Control no-store")
        if a.cacert:
            ok("strict-transport-security" in hl, f"{path}: HSTS under TLS")


def check_login_limit(c, a, users):
    """After login_max_failures failures for one user, even the right password gets 429."""
    codes = [c.login("viewer", "wrong-password")[1] for _ in range(6)]
    ok(codes[:5] == [401] * 5, f"5 wrong passwords -> 401 each: {codes[:5]}")
    st = c.login("viewer", users["viewer"])[1]
    ok(st == 429, f"then the right password -> {st} (429: rate limited)")


def check_secrets(c, a, users, tokens):
    log = open(a.log, errors="replace").read()
    ok(len(log) > 0, f"the server's log (log_level=debug) is there: {len(log)} bytes")
    for name, pw in users.items():
        ok(pw not in log, f"password of {name} not in the log")
    for name, t in tokens.items():
        ok(t not in log and t[:16] not in log, f"token of {name} (or its first 16 chars) not in the log")


# ---- terminals -------------------------------------------------------------------------------

def cs(b):
    return sum(b) & 0xFF


def frame(c, a1a2, afn, seq, da_dt, data=b""):
    """A 376.1 frame: 68 L L 68 C A1 A2 A3 AFN SEQ units CS 16 (protocol-3761.md section 1)."""
    u = bytes([c]) + a1a2 + b"\x00" + bytes([afn, seq]) + da_dt + data
    L = (len(u) << 2) | 2
    return bytes([0x68, L & 0xFF, L >> 8, L & 0xFF, L >> 8, 0x68]) + u + bytes([cs(u), 0x16])


LOGIN_0171_0822 = bytes.fromhex("68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16")
LOGIN_2449_5845 = bytes.fromhex("68 32 00 32 00 68 C9 49 24 45 58 00 02 70 00 00 01 00 " +
                                f"{cs(bytes.fromhex('C9 49 24 45 58 00 02 70 00 00 01 00')):02X} 16")


def read_frame(s, timeout=10):
    """One frame from the socket, or b'' on close/timeout."""
    s.settimeout(timeout)
    buf = b""
    try:
        while True:
            i = buf.find(b"\x68")
            if i >= 0 and len(buf) >= i + 6:
                n = ((buf[i + 1] | buf[i + 2] << 8) >> 2) + 8
                if len(buf) >= i + n:
                    return buf[i:i + n]
            d = s.recv(4096)
            if not d:
                return b""
            buf += d
    except (socket.timeout, ConnectionResetError):
        return b""


def closed_by_peer(s, timeout=10):
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def connect(a, src="127.0.0.1"):
    h, p = a.term.rsplit(":", 1)
    s = socket.socket()
    s.bind((src, 0))
    s.connect((h, int(p)))
    return s


def check_allowlist(c, a, tokens):
    """accept_unknown = false: a registered terminal gets F1, an unknown one F2 and a close."""
    st, _, b = c.req("PUT", "/api/terminals/0171-0822", {"name": "registered", "registered": True},
                     token=tokens["admin"])
    ok(st in (200, 201), f"admin registers 0171-0822 -> {st} {b[:60]!r}")
    s = connect(a)
    s.sendall(LOGIN_0171_0822)
    r = read_frame(s)
    ok(len(r) >= 18 and r[12] == 0x00 and r[16:18] == b"\x01\x00",
       f"registered terminal: login confirmed AFN=00 F1 ({r.hex(' ')})")
    s.close()
    s = connect(a)
    s.sendall(LOGIN_2449_5845)
    r = read_frame(s)
    ok(len(r) >= 18 and r[12] == 0x00 and r[16:18] == b"\x02\x00" and r[7:11] == bytes.fromhex("49244558"),
       f"unknown terminal 2449-5845: denied AFN=00 F2 ({r.hex(' ')})")
    ok(closed_by_peer(s), "unknown terminal: connection closed by the master")
    s.close()
    log = open(a.log, errors="replace").read()
    ok(re.search(r"2449-5845.*(unknown|not registered|denied)|(unknown|not registered|denied).*2449-5845",
                 log, re.I) is not None, "the denial is logged with the terminal id")
    # The registry cache of `meterflow run` answered that login from memory: a change through
    # the API must reach the very next login (the web tells the cache), each from its own
    # source address (security.sh sets login_per_min = 5).
    def answer(src):
        s = connect(a, src)
        s.sendall(LOGIN_0171_0822)
        r = read_frame(s)
        s.close()
        return {b"\x01\x00": "F1", b"\x02\x00": "F2"}.get(r[16:18] if len(r) >= 18 else b"", "none")
    steps = [("PUT", {"registered": False}, "F2", "disabled"),
             ("PUT", {"registered": True}, "F1", "registered again"),
             ("DELETE", None, "F2", "deleted"),
             ("PUT", {"name": "registered", "registered": True}, "F1", "created again")]
    for n, (method, body, want, what) in enumerate(steps):
        st, _, _ = c.req(method, "/api/terminals/0171-0822", body, token=tokens["admin"])
        got = answer(f"127.0.0.{91 + n}")
        ok(st == 200 and got == want, f"0171-0822 {what} after its login: next login {got} (want {want}, HTTP {st})")


def check_login_per_addr(c, a, tokens):
    """[front] login_per_min (security.sh sets 5): the 6th login from one address in a minute
    is refused (the connection is closed without a confirm). An address of login_trusted_nets
    (security.sh: 127.0.0.88/32, login_trusted_per_min 0 = unlimited: an APN gateway's NAT)
    logs in 7 times in the same minute."""
    src = "127.0.0.77"
    got = []
    for i in range(7):
        s = connect(a, src)
        s.sendall(LOGIN_0171_0822)
        r = read_frame(s, timeout=5)
        got.append("F1" if r[16:18] == b"\x01\x00" else ("F2" if r[16:18] == b"\x02\x00" else "none"))
        s.close()
    ok(got[:5] == ["F1"] * 5 and got[5:] == ["none", "none"] or got[5:] == ["F2", "F2"],
       f"logins from {src}: {got} (5 allowed, then refused)")
    s = connect(a, "127.0.0.78")
    s.sendall(LOGIN_0171_0822)
    r = read_frame(s)
    ok(r[16:18] == b"\x01\x00", "another address still logs in")
    s.close()
    got = []
    for i in range(7):
        s = connect(a, "127.0.0.88")
        s.sendall(LOGIN_0171_0822)
        r = read_frame(s, timeout=5)
        got.append("F1" if r[16:18] == b"\x01\x00" else "none")
        s.close()
    ok(got == ["F1"] * 7, f"logins from 127.0.0.88 (login_trusted_nets): {got} (all 7 allowed)")


def check_frame_rate(c, a, tokens):
    """[front] frames_per_sec (security.sh sets 5, burst 2 s): 60 reports sent at once from one
    terminal get at most ~2 s worth of confirms; the rest are dropped unconfirmed."""
    s = connect(a, "127.0.0.90")
    s.sendall(LOGIN_0171_0822)
    r = read_frame(s)
    ok(r[16:18] == b"\x01\x00", "flooding terminal logged in")
    a1a2 = bytes.fromhex("71012208")
    frames = b""
    for i in range(60):   # AFN=0C F2 (terminal clock, A.1) reports, C=C4 PRM=1 fc4, CON=1
        seq = 0x70 | (i & 15)   # clock 2026-11-26 10:00:00, week 1 (A.1)
        frames += frame(0xC4, a1a2, 0x0C, seq, b"\x00\x00\x02\x00", bytes([0x00, 0x00, 0x10, 0x26, 0x31, 0x26]))
    s.sendall(frames)
    n = 0
    while True:
        r = read_frame(s, timeout=4)
        if not r:
            break
        if r[12] == 0x00:
            n += 1
    s.close()
    ok(0 < n <= 20, f"60 frames at once, rate 5/s: {n} confirmed (<= 20)")


def check_hang(c, a, tokens):
    """Regression of a fuzz finding: a command body with an empty key made the web thread loop
    for ever (field_allowed: strstr of ""). It must be answered 400 at once."""
    t = time.time()
    try:
        st, _, b = c.req("POST", "/api/commands",
                         {"terminal": "4403-0012", "type": "relay_trip", "": "00000~000001"},
                         token=tokens["operator"])
    except Exception as e:  # timeout: the thread hangs
        st, b = 0, repr(e).encode()
    ok(st == 400 and time.time() - t < 10, f"command with an empty JSON key -> {st} in "
       f"{time.time() - t:.1f}s {b[:60]!r}")


PW_0171_0822 = bytes.fromhex("A1B2C3D4E5F60718293A4B5C6D7E8F90")  # security.sh's key file


def check_pw(c, a, tokens):
    """[security] pw_mode = file (security.sh writes the key file, mode 0600): an operator's
    clock sync (AFN=05 F31) reaches the terminal with the PW bytes of its key-file line, read
    here from the frame by the protocol's layout (PW ends before Tp, which SEQ.TpV announces),
    and a checksum that covers them."""
    st, _, b = c.req("PUT", "/api/terminals/0171-0822", {"name": "registered", "registered": True},
                     token=tokens["admin"])
    ok(st in (200, 201), f"admin registers 0171-0822 -> {st} {b[:60]!r}")
    s = connect(a, "127.0.0.99")  # its own login_per_min budget
    s.sendall(LOGIN_0171_0822)
    r = read_frame(s)
    ok(len(r) >= 18 and r[16:18] == b"\x01\x00", f"0171-0822 logged in ({r.hex(' ')})")
    online = False  # the web sends commands to terminals the store shows online
    for _ in range(100):
        st, _, b = c.req("GET", "/api/terminals/0171-0822", token=tokens["operator"])
        if st == 200 and json.loads(b).get("online") is True:
            online = True
            break
        time.sleep(0.1)
    ok(online, "0171-0822 online in the store")
    st, _, b = c.req("POST", "/api/commands", {"type": "clock_sync", "terminal": "0171-0822"},
                     token=tokens["operator"])
    ok(st in (200, 201, 202), f"operator clock_sync 0171-0822 -> {st} {b[:80]!r}")
    r = read_frame(s)
    s.close()
    l1 = (r[1] | r[2] << 8) >> 2 if len(r) > 6 else 0
    ud = r[6:6 + l1]
    ok(len(ud) >= 12 + 16 and ud[6] == 0x05, f"AFN=05 frame on the wire ({r.hex(' ')})")
    end = len(ud) - (6 if ud[7] & 0x80 else 0)
    ok(ud[end - 16:end] == PW_0171_0822, f"PW on the wire is the key file's line: {ud[end - 16:end].hex(' ')}")
    ok(len(r) == l1 + 8 and r[-2] == cs(ud) and r[-1] == 0x16, "the checksum covers the PW")


def check_impersonation(c, a, tokens):
    """Terminal impersonation (docs/SECURITY.md check 15): registered terminal 4403-0002 logs in
    alternately from 127.0.0.101 and 127.0.0.102 (two devices with one address, each login
    replacing the other's session). Every login is still served (no disconnect storm); the
    worker reports it once: meterflow_worker_impersonation_suspects_total 1 in /metrics, an
    `impersonation` anomaly naming both addresses in GET /api/anomalies, a log line."""
    st, _, b = c.req("PUT", "/api/terminals/4403-0002", {"name": "twin", "registered": True},
                     token=tokens["admin"])
    ok(st in (200, 201), f"admin registers 4403-0002 -> {st} {b[:60]!r}")
    login = frame(0xC9, bytes.fromhex("03 44 02 00"), 0x02, 0x70, bytes.fromhex("00 00 01 00"))
    confirmed = 0
    for i in range(6):  # A B A B A B: 4 returns; each login's session envelope is published
        # before its confirm, so reading the confirm keeps the worker's order
        s = connect(a, "127.0.0.101" if i % 2 == 0 else "127.0.0.102")
        s.sendall(login)
        r = read_frame(s)
        confirmed += len(r) >= 18 and r[7:11] == bytes.fromhex("03 44 02 00") and r[16:18] == b"\x01\x00"
        s.close()
    ok(confirmed == 6, f"every alternating login confirmed ({confirmed} of 6)")
    items, metric = [], None
    for _ in range(100):
        st, _, b = c.req("GET", "/api/anomalies?kind=impersonation&terminal=4403-0002",
                         token=tokens["viewer"])
        items = json.loads(b).get("items", []) if st == 200 else []
        st, _, m = c.req("GET", "/metrics")
        mm = re.search(rb"^meterflow_worker_impersonation_suspects_total (\d+)", m or b"", re.M)
        metric = int(mm.group(1)) if mm else None
        if items and metric:
            break
        time.sleep(0.1)
    ok(metric == 1, f"/metrics meterflow_worker_impersonation_suspects_total = {metric} (1: once per window)")
    text = json.dumps(items)
    ok(len(items) == 1 and "127.0.0.101" in text and "127.0.0.102" in text,
       f"GET /api/anomalies?kind=impersonation: one anomaly naming both addresses ({text[:300]})")
    log = open(a.log, errors="replace").read()
    ok(re.search(r"4403-0002: possible impersonation", log) is not None,
       "the worker logs the suspected impersonation")


SECTIONS = {
    "impersonation": lambda c, a, u, t: check_impersonation(c, a, t),
    "pw": lambda c, a, u, t: check_pw(c, a, t),
    "hang": lambda c, a, u, t: check_hang(c, a, t),
    "routes": lambda c, a, u, t: check_routes(c, a, t),
    "csrf": lambda c, a, u, t: check_csrf(c, a, u),
    "audit": lambda c, a, u, t: check_audit(c, a, t),
    "headers": lambda c, a, u, t: check_headers(c, a, t),
    "allowlist": lambda c, a, u, t: check_allowlist(c, a, t),
    "login_per_addr": lambda c, a, u, t: check_login_per_addr(c, a, t),
    "frame_rate": lambda c, a, u, t: check_frame_rate(c, a, t),
    "login_limit": lambda c, a, u, t: check_login_limit(c, a, u),
    "secrets": lambda c, a, u, t: check_secrets(c, a, u, t),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--term")
    ap.add_argument("--routes", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--users", required=True)
    ap.add_argument("--cacert")
    ap.add_argument("--only", default=",".join(SECTIONS))
    a = ap.parse_args()
    users = dict(x.split(":", 1) for x in a.users.split(","))
    c = Client(a.base, a.cacert)
    tokens = {}
    for name, pw in users.items():
        j, st, _ = c.login(name, pw)
        ok(j is not None and len(j.get("token", "")) >= 32, f"login {name} -> {st}")
        tokens[name] = j["token"] if j else "x"
    for sec in a.only.split(","):
        try:
            SECTIONS[sec](c, a, users, tokens)
        except Exception as e:  # a crash of a section is a failure, never a skip
            ok(False, f"{sec}: {type(e).__name__}: {e}")
    print(f"{P} {F}")
    return 0 if F == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
