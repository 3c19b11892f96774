#!/usr/bin/env python3
"""api_test.py -- black-box tests of the meterflow HTTP API over real HTTP (standard library
only). Started by tests/integ/api.sh against `meterflow web` filled by bench_web_fixture, or
by hand against any instance:

    python3 tests/api/api_test.py --base http://127.0.0.1:8080 \
        --admin admin:PW --operator op:PW --viewer view:PW [--fixture BIN --db FILE]

Expected shapes and statuses are written from docs/API.md, not from the server's output.
The login rate-limit test runs last: it locks out the test's own address.
Prints one line per check and ends with "# N passed, M failed"; exit 1 on any failure.
"""
import argparse
import hashlib
import http.client
import json
import os
import subprocess
import sys
import urllib.parse

PASS = 0
FAIL = 0


def check(cond, what):
    global PASS, FAIL
    if cond:
        PASS += 1
        print("ok -", what)
    else:
        FAIL += 1
        print("not ok -", what)
    return cond


class Client:
    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port or 80
        self.tls = u.scheme == "https"

    def conn(self):
        if self.tls:  # the test's self-signed certificate: no verification
            import ssl
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(self.host, self.port, timeout=30, context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def req(self, method, path, body=None, headers=None, raw=None, ctype="application/json"):
        h = dict(headers or {})
        data = None
        if raw is not None:
            data = raw
        elif body is not None:
            data = json.dumps(body).encode()
        if data is not None and ctype:
            h.setdefault("Content-Type", ctype)
        c = self.conn()
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            text = r.read()
            status, hdrs = r.status, r.headers
        finally:
            c.close()
        js = None
        if hdrs.get("Content-Type", "").startswith("application/json"):
            try:
                js = json.loads(text)
            except ValueError:
                js = None
        return status, hdrs, js, text


def is_error(st, js, want):
    return st == want and isinstance(js, dict) and js.get("status") == want and \
        isinstance(js.get("error"), str) and js["error"] != ""


def login(cl, user, pw):
    st, h, js, _ = cl.req("POST", "/api/login", {"username": user, "password": pw})
    return st, h, js


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def test_public(cl):
    st, h, js, _ = cl.req("GET", "/api/health")
    check(st == 200 and js and js.get("status") == "ok", "health answers without auth")
    csp = h.get("Content-Security-Policy", "")
    check("script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
          and "frame-ancestors 'none'" in csp, "CSP without inline scripts, no framing")
    check(h.get("X-Content-Type-Options") == "nosniff", "X-Content-Type-Options: nosniff")
    check(h.get("X-Frame-Options") == "DENY", "X-Frame-Options: DENY")
    check(h.get("Referrer-Policy") == "no-referrer", "Referrer-Policy")
    check(h.get("Cache-Control") == "no-store", "API answers are Cache-Control: no-store")
    st, h, js, _ = cl.req("GET", "/api/terminals")
    check(is_error(st, js, 401), "no credentials -> 401 JSON error")
    check(h.get("X-Frame-Options") == "DENY", "security headers on errors too")
    st, h, js, _ = cl.req("GET", "/api/nothing-here")
    check(is_error(st, js, 404), "unknown endpoint -> 404 JSON")
    st, h, js, _ = cl.req("DELETE", "/api/health")
    check(is_error(st, js, 405) and "GET" in h.get("Allow", ""), "wrong method -> 405 with Allow")
    st, h, _, body = cl.req("GET", "/metrics")
    check(st == 200 and b"meterflow_http_requests_total" in body and
          h.get("Content-Type", "").startswith("text/plain"), "/metrics in Prometheus text")
    st, h, _, body = cl.req("GET", "/")
    check(st == 200 and h.get("Content-Type", "").startswith("text/html") and b"<script" in body
          and b"<script>" not in body, "panel index.html served, no inline script")
    st, h, js, _ = cl.req("GET", "/../../etc/passwd")
    check(st in (400, 404), "path traversal refused")
    st, h, js, _ = cl.req("GET", "/js/.hidden")
    check(st == 404, "hidden file refused")


def test_login(cl, users):
    st, h, js = login(cl, users["admin"][0], "wrong-password")
    check(is_error(st, js, 401), "login with a wrong password -> 401")
    st, h, js = login(cl, "nobody-here", "whatever1")
    check(is_error(st, js, 401) and "wrong user name or password" in js["error"],
          "unknown user -> same 401 as a wrong password")
    st, h, js, _ = cl.req("POST", "/api/login", raw=b"{not json")
    check(is_error(st, js, 400), "login with invalid JSON -> 400")
    st, h, js, _ = cl.req("POST", "/api/login", raw=b"username=a&password=b",
                          ctype="application/x-www-form-urlencoded")
    check(is_error(st, js, 415), "login as a form post -> 415")
    toks = {}
    for role, (u, pw) in users.items():
        st, h, js = login(cl, u, pw)
        ok = st == 200 and js and len(js.get("token", "")) == 64 and js.get("role") == role
        check(ok, "login %s ok with token and role" % role)
        if ok:
            toks[role] = js
    cookie = h.get("Set-Cookie", "")
    check("mf_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
          and "Path=/" in cookie and "Secure" not in cookie, "session cookie HttpOnly SameSite=Strict")
    return toks


def test_auth(cl, toks, args):
    adm = toks["admin"]
    st, h, js, _ = cl.req("GET", "/api/me", headers=bearer(adm["token"]))
    check(st == 200 and js["user"] == args.admin.split(":")[0] and js["role"] == "admin"
          and js["auth"] == "bearer", "GET /api/me with Bearer")
    st, h, js, _ = cl.req("GET", "/api/me", headers=bearer("ab" * 32))
    check(is_error(st, js, 401), "unknown (well-formed) token -> 401")
    st, h, js, _ = cl.req("GET", "/api/me", headers=bearer("not-a-token"))
    check(is_error(st, js, 401), "malformed token -> 401")
    st, h, js, _ = cl.req("GET", "/api/me", headers={"Authorization": "Basic YTpi"})
    check(is_error(st, js, 401), "Basic auth -> 401")
    if args.fixture:
        tok = "cd" * 32
        digest = hashlib.blake2b(tok.encode(), digest_size=32).hexdigest()
        subprocess.run([args.fixture, args.db, "--expired-token", digest, "--user",
                        args.admin.split(":")[0]], check=True, stdout=subprocess.DEVNULL)
        st, h, js, _ = cl.req("GET", "/api/me", headers=bearer(tok))
        check(is_error(st, js, 401), "expired token -> 401")
    # cookie + CSRF
    op = toks["operator"]
    ck = {"Cookie": "mf_session=" + op["token"]}
    st, h, js, _ = cl.req("GET", "/api/me", headers=ck)
    check(st == 200 and js["auth"] == "cookie" and js["csrf"] == op["csrf"], "cookie session, csrf echoed")
    st, h, js, _ = cl.req("POST", "/api/anomalies/1/state", {"state": "ack"}, headers=ck)
    check(is_error(st, js, 403) and "CSRF" in js["error"], "cookie POST without CSRF token -> 403")
    bad = dict(ck, **{"X-CSRF-Token": "0" * 64})
    st, h, js, _ = cl.req("POST", "/api/anomalies/1/state", {"state": "ack"}, headers=bad)
    check(is_error(st, js, 403), "cookie POST with a wrong CSRF token -> 403")
    good = dict(ck, **{"X-CSRF-Token": op["csrf"]})
    st, h, js, _ = cl.req("POST", "/api/anomalies/1/state", {"state": "ack"}, headers=good)
    check(st in (200, 404), "cookie POST with the CSRF token passes (%d)" % st)


def test_roles(cl, toks):
    v, o, a = (bearer(toks[r]["token"]) for r in ("viewer", "operator", "admin"))
    body = {"terminal": "4403-0001", "type": "read_current"}
    st, h, js, _ = cl.req("POST", "/api/commands", body, headers=v)
    check(is_error(st, js, 403), "viewer cannot command (403)")
    for path in ("/api/users", "/api/audit"):
        st, h, js, _ = cl.req("GET", path, headers=o)
        check(is_error(st, js, 403), "operator cannot GET %s" % path)
        st, h, js, _ = cl.req("GET", path, headers=a)
        check(st == 200 and isinstance(js.get("items"), list), "admin GET %s" % path)
    st, h, js, _ = cl.req("PUT", "/api/areas/X1", {"name": "x"}, headers=o)
    check(is_error(st, js, 403), "operator cannot change master data")
    st, h, js, _ = cl.req("POST", "/api/anomalies/1/state", {"state": "ack"}, headers=v)
    check(is_error(st, js, 403), "viewer cannot acknowledge anomalies")


def paginated(js):
    return isinstance(js, dict) and isinstance(js.get("items"), list) and \
        all(isinstance(js.get(k), int) for k in ("total", "page", "page_size"))


def test_reads(cl, toks):
    v = bearer(toks["viewer"]["token"])
    st, h, js, _ = cl.req("GET", "/api/terminals?page_size=5", headers=v)
    check(st == 200 and paginated(js) and len(js["items"]) == 5 and js["total"] >= 5,
          "terminals list paginates")
    t0 = js["items"][0]
    check(all(k in t0 for k in ("id", "name", "area", "online", "last_seen")), "terminal item shape")
    st, h, js, _ = cl.req("GET", "/api/terminals?online=true&page_size=100", headers=v)
    check(st == 200 and js["items"] and all(t["online"] is True for t in js["items"]), "online filter")
    st, h, js, _ = cl.req("GET", "/api/terminals?online=false&page_size=100", headers=v)
    check(st == 200 and js["items"] and all(t["online"] is False for t in js["items"]), "offline filter")
    offline = js["items"][0]["id"]
    st, h, js, _ = cl.req("GET", "/api/terminals?search=4403-0002", headers=v)
    check(st == 200 and [t["id"] for t in js["items"]] == ["4403-0002"], "search by id")
    st, h, js, _ = cl.req("GET", "/api/terminals?page_size=100000", headers=v)
    check(is_error(st, js, 400), "page_size over the cap -> 400")
    st, h, js, _ = cl.req("GET", "/api/terminals?page=0", headers=v)
    check(is_error(st, js, 400), "page 0 -> 400")
    st, h, js, _ = cl.req("GET", "/api/terminals?online=maybe", headers=v)
    check(is_error(st, js, 400), "bad online filter -> 400")
    st, h, js, _ = cl.req("GET", "/api/terminals/4403-0001", headers=v)
    check(st == 200 and js["id"] == "4403-0001" and js["online"] in (True, False) and
          isinstance(js["points"], list) and isinstance(js["frames"], list) and
          "clock_offset_s" in js and "version" in js, "terminal detail shape")
    st, h, js, _ = cl.req("GET", "/api/terminals/9999-FFFF", headers=v)
    check(is_error(st, js, 404), "unknown terminal -> 404")
    st, h, js, _ = cl.req("GET", "/api/terminals/44O3-0001", headers=v)
    check(is_error(st, js, 400), "malformed terminal id -> 400")
    base = "/api/terminals/4403-0001/points/2"
    st, h, js, _ = cl.req("GET", base + "/daily", headers=v)
    check(st == 200 and isinstance(js.get("frozen"), list) and len(js["frozen"]) > 0 and
          isinstance(js.get("use"), list), "point daily: frozen + use")
    st, h, js, _ = cl.req("GET", base + "/curve", headers=v)
    check(st == 200 and len(js["items"]) == 96 and js["items"][0]["ts"].endswith("Z"),
          "point curve of yesterday: 96 points, ISO times")
    st, h, js, _ = cl.req("GET", base + "/energy", headers=v)
    check(st == 200 and isinstance(js.get("items"), list), "point energy")
    st, h, js, _ = cl.req("GET", base + "/instant?from=2000-01-01&to=2100-01-01", headers=v)
    check(is_error(st, js, 400), "range over 400 days -> 400")
    st, h, js, _ = cl.req("GET", base + "/instant", headers=v)
    check(st == 200 and isinstance(js.get("items"), list), "point instant")
    st, h, js, _ = cl.req("GET", "/api/terminals/4403-0001/points/2041/daily", headers=v)
    check(is_error(st, js, 400), "pn over 2040 -> 400")
    st, h, js, _ = cl.req("GET", base + "/curve?date=2026-02-30", headers=v)
    check(is_error(st, js, 400), "impossible date -> 400")
    st, h, js, _ = cl.req("GET", "/api/events?page_size=3", headers=v)
    check(st == 200 and paginated(js) and len(js["items"]) == 3, "events paginated")
    st, h, js, _ = cl.req("GET", "/api/events?class=7", headers=v)
    check(is_error(st, js, 400), "bad event class -> 400")
    st, h, js, _ = cl.req("GET", "/api/anomalies", headers=v)
    check(st == 200 and paginated(js), "anomalies paginated")
    st, h, js, _ = cl.req("GET", "/api/kpi/online", headers=v)
    check(st == 200 and all(k in js for k in ("registered", "online", "rate", "history")), "kpi online")
    st, h, js, _ = cl.req("GET", "/api/kpi/collection", headers=v)
    check(st == 200 and isinstance(js.get("days"), list) and isinstance(js.get("areas"), list)
          and paginated(js.get("missing")), "kpi collection: days, areas, missing points")
    st, h, js, _ = cl.req("GET", "/api/kpi/lineloss", headers=v)
    check(st == 200 and js["items"] and all("rate" in r and "area" in r for r in js["items"]),
          "kpi line loss by area")
    st, h, js, _ = cl.req("GET", "/api/kpi/summary", headers=v)
    check(st == 200 and js["terminals"]["registered"] > 0 and "open_anomalies" in js and
          "rows_per_s" in js["ingest"], "dashboard summary")
    st, h, js, _ = cl.req("GET", "/api/areas", headers=v)
    check(st == 200 and js["items"], "areas")
    st, h, js, _ = cl.req("GET", "/api/meters?terminal=4403-0001", headers=v)
    check(st == 200 and paginated(js) and js["total"] > 0, "meters of a terminal")
    return offline


def test_commands(cl, toks, offline, args):
    o = bearer(toks["operator"]["token"])
    st, h, js, _ = cl.req("POST", "/api/commands", {"terminal": "4403-0001", "type": "read_current",
                                                    "pn": 1}, headers=o)
    ok = check(st == 201 and isinstance(js.get("id"), int) and js.get("state") == "queued",
               "operator creates read_current (201, queued)")
    cid = js["id"] if ok else 0
    if ok:
        check(js["request"]["units_hex"] == "01 01 01 10", "p1 F129 data unit 01 01 01 10")
    st, h, js, _ = cl.req("POST", "/api/commands", {"terminal": "4403-0001", "type": "read_daily",
                                                    "pn": 1, "date": "2011-12-25"}, headers=o)
    check(st == 201 and js["request"]["units_hex"] == "01 01 01 14 25 12 11",
          "read_daily p1 F161 2011-12-25 -> 01 01 01 14 25 12 11")
    st, h, js, _ = cl.req("POST", "/api/commands", {"terminal": "4403-0001", "type": "clock_sync"},
                          headers=o)
    check(st == 201 and js["afn"] == 5 and js["request"]["units_hex"].startswith("00 00 40 03"),
          "clock_sync: AFN 05 p0 F31")
    # AFN=10 F1 with a DL/T 645 read: the data-unit area of vector fwd-read-req
    # (public-3761.json, a Neusoft concentrator log): port 31, 6B BC 0A, k=16, the 645 frame.
    st, h, js, _ = cl.req("POST", "/api/commands", {"terminal": "4403-0001", "type": "meter_read",
                                                    "meter": "151230011061"}, headers=o)
    check(st == 201 and js["afn"] == 16 and js["request"]["units_hex"] ==
          "00 00 01 00 1F 6B BC 0A 10 00 68 61 10 01 30 12 15 68 11 04 33 33 34 33 7B 16",
          "meter_read = vector fwd-read-req data units (%s)" % (js or {}).get("request", {}).get("units_hex"))
    st, h, js, _ = cl.req("POST", "/api/commands", {"terminal": "4403-0001", "type": "relay_trip",
                                                    "meter": "151230011061"}, headers=o)
    u = bytes.fromhex(js["request"]["units_hex"].replace(" ", "")) if st == 201 else b""
    # 645 remote control: C=1C, L=16 (0x10), N1 = 1A (+33H = 4D) after PA+password and operator
    check(len(u) == 10 + 28 and u[4:8] == bytes([0x1F, 0x6B, 0xBC, 0x0A]) and u[8:10] == bytes([28, 0])
          and u[10:18] == bytes.fromhex("6861100130121568") and u[18] == 0x1C and u[19] == 0x10
          and u[20 + 8] == 0x1A + 0x33 and u[-1] == 0x16, "relay_trip: 645 control frame, N1 trip")
    st, h, js, _ = cl.req("POST", "/api/commands", {"terminal": offline, "type": "read_current"},
                          headers=o)
    check(is_error(st, js, 409) and "offline" in js["error"], "offline terminal fails fast (409)")
    st, h, js, _ = cl.req("POST", "/api/commands", {"terminal": "9999-0001", "type": "read_current"},
                          headers=o)
    check(is_error(st, js, 404), "unknown terminal -> 404")
    st, h, js, _ = cl.req("POST", "/api/commands", {"terminal": "4403-0001", "type": "format_disk"},
                          headers=o)
    check(is_error(st, js, 400), "unknown command type -> 400")
    st, h, js, _ = cl.req("POST", "/api/commands", raw=b"x" * 70000, headers=o)
    check(is_error(st, js, 413), "body over the cap -> 413")
    st, h, js, _ = cl.req("GET", "/api/commands?terminal=4403-0001", headers=o)
    check(st == 200 and paginated(js) and js["total"] >= 3, "command list by terminal")
    if cid and args.fixture:
        subprocess.run([args.fixture, args.db, "--answer-queued"], check=True,
                       stdout=subprocess.DEVNULL)
    if cid:
        st, h, js, _ = cl.req("GET", "/api/commands/%d" % cid, headers=o)
        want = "answered" if args.fixture else js.get("state")
        check(st == 200 and js["id"] == cid and js["state"] == want, "command status by id")
    st, h, js, _ = cl.req("GET", "/api/commands/999999", headers=o)
    check(is_error(st, js, 404), "unknown command -> 404")


def test_admin(cl, toks, args):
    a = bearer(toks["admin"]["token"])
    st, h, js, _ = cl.req("POST", "/api/users", {"name": "tmpuser", "role": "viewer",
                                                 "password": "tmp-password-1"}, headers=a)
    check(st == 201 and js["name"] == "tmpuser", "admin creates a user")
    st, h, js, _ = cl.req("POST", "/api/users", {"name": "tmpuser", "role": "viewer",
                                                 "password": "tmp-password-1"}, headers=a)
    check(is_error(st, js, 409), "duplicate user -> 409")
    st, h, js, _ = cl.req("POST", "/api/users", {"name": "bad name", "role": "viewer",
                                                 "password": "tmp-password-1"}, headers=a)
    check(is_error(st, js, 400), "bad user name -> 400")
    st, h, js, _ = cl.req("POST", "/api/users", {"name": "x2", "role": "root",
                                                 "password": "tmp-password-1"}, headers=a)
    check(is_error(st, js, 400), "unknown role -> 400")
    st, h, js, _ = cl.req("PATCH", "/api/users/tmpuser", {"role": "operator"}, headers=a)
    check(st == 200 and js["role"] == "operator", "change role")
    st, h, js = login(cl, "tmpuser", "tmp-password-1")
    check(st == 200 and js["role"] == "operator", "new user logs in with the new role")
    st, h, js, _ = cl.req("PATCH", "/api/users/tmpuser", {"password": "another-pass-2"}, headers=a)
    check(st == 200, "change password")
    st, h, js, _ = cl.req("DELETE", "/api/users/tmpuser", headers=a)
    check(st == 200, "delete user")
    st, h, js, _ = cl.req("DELETE", "/api/users/" + args.admin.split(":")[0], headers=a)
    check(is_error(st, js, 409), "admin cannot delete itself")
    st, h, js, _ = cl.req("PUT", "/api/areas/T01", {"name": "Test area", "loss_threshold": 0.05,
                                                    "supply_terminal": "4403-0001", "supply_pn": 1},
                          headers=a)
    check(st == 200 and js["id"] == "T01" and js["name"] == "Test area", "put area")
    st, h, js, _ = cl.req("PUT", "/api/areas/T01", {"loss_threshold": 2}, headers=a)
    check(is_error(st, js, 400), "loss_threshold out of range -> 400")
    st, h, js, _ = cl.req("DELETE", "/api/areas/T01", headers=a)
    check(st == 200, "delete area")
    csv = b"id,name\nT02,Imported area\nT03,Another\n"
    st, h, js, _ = cl.req("POST", "/api/import/areas", raw=csv, headers=a, ctype="text/csv")
    check(st == 200 and js["rows"] == 2, "CSV import of areas")
    st, h, js, _ = cl.req("POST", "/api/import/areas", raw=b"id,colour\nT04,red\n", headers=a,
                          ctype="text/csv")
    check(is_error(st, js, 400), "CSV with an unknown column -> 400, nothing imported")
    st, h, js, _ = cl.req("POST", "/api/import/areas", raw=csv, headers=a)
    check(is_error(st, js, 415), "CSV sent as JSON -> 415")
    st, h, js, _ = cl.req("GET", "/api/audit?page_size=200", headers=a)
    acts = {x["action"] for x in js["items"]} if st == 200 else set()
    check({"command.create", "user.create", "user.delete", "area.put", "import", "login"} <= acts,
          "audit holds commands, user and master-data changes, logins")
    check(not any("password" in json.dumps(x.get("detail")) for x in js.get("items", [])),
          "no password in the audit log")


def test_logout(cl, toks):
    t = toks["viewer"]["token"]
    st, h, js, _ = cl.req("POST", "/api/logout", headers=bearer(t))
    check(st == 200 and "Max-Age=0" in h.get("Set-Cookie", ""), "logout clears the cookie")
    st, h, js, _ = cl.req("GET", "/api/me", headers=bearer(t))
    check(is_error(st, js, 401), "token unusable after logout")


def test_ratelimit(cl, users, limit):
    u, pw = users["admin"]
    codes = [login(cl, u, "wrong-%d" % i)[0] for i in range(limit + 1)]
    check(codes[:limit - 1].count(401) >= 1 and codes[-1] == 429,
          "failed logins over the limit -> 429 (%s)" % codes)
    st, h, js = login(cl, u, pw)
    check(is_error(st, js, 429), "even the right password is refused while locked out")


def test_tls(base, users):
    cl = Client(base)
    st, h, js, _ = cl.req("GET", "/api/health")
    check(st == 200 and js and js["status"] == "ok", "TLS: health over HTTPS")
    check("max-age=" in h.get("Strict-Transport-Security", ""), "TLS: Strict-Transport-Security")
    st, h, js = login(cl, *users["viewer"])
    cookie = h.get("Set-Cookie", "")
    check(st == 200 and "Secure" in cookie and "HttpOnly" in cookie, "TLS: session cookie is Secure")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--admin", required=True)
    ap.add_argument("--operator", required=True)
    ap.add_argument("--viewer", required=True)
    ap.add_argument("--fixture", help="bench_web_fixture binary (answers commands, expired token)")
    ap.add_argument("--db", help="the SQLite file the fixture writes to")
    ap.add_argument("--login-limit", type=int, default=5)
    ap.add_argument("--tls-base", help="an HTTPS instance of the same store ([web] tls=true)")
    args = ap.parse_args()
    cl = Client(args.base)
    users = {r: tuple(getattr(args, r).split(":", 1)) for r in ("admin", "operator", "viewer")}
    test_public(cl)
    toks = test_login(cl, users)
    if len(toks) == 3:
        test_auth(cl, toks, args)
        test_roles(cl, toks)
        offline = test_reads(cl, toks)
        test_commands(cl, toks, offline, args)
        test_admin(cl, toks, args)
        test_logout(cl, toks)
    if args.tls_base:
        test_tls(args.tls_base, users)
    test_ratelimit(cl, users, args.login_limit)
    print("# %d passed, %d failed" % (PASS, FAIL))
    return 1 if FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
