#!/usr/bin/env bash
# sim.sh -- `meterflow sim` as a user runs it: the CLI, --procs (forked workers sharing one
# ledger), --progress, the exit status, against a confirming master written here by hand
# in Python from the protocol text (docs/protocol-3761.md sections 1, 5, 7, 9.4): it ignores
# the first copy of every report (so each is retransmitted with the same bytes) and counts
# the F129 values it confirmed. Appends "sim <passed> <failed>" to $MF_RESULTS.
set -u
cd "$(dirname "$0")/../.."
bin=build/${MF_BUILD:-release}/meterflow
[ -x "$bin" ] || bin=build/asan/meterflow
tmp=$(mktemp -d /tmp/mf-sim-integ.XXXXXX)
pass=0; fail=0
ok() { echo "ok   sim: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL sim: $1"; fail=$((fail + 1)); }
cleanup() { [ -n "${peer:-}" ] && kill "$peer" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

cat >"$tmp/peer.py" <<'PY'
import socket, selectors, sys, signal
sel = selectors.DefaultSelector()
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(512); ls.setblocking(False)
open(sys.argv[1], "w").write(str(ls.getsockname()[1]))
sel.register(ls, selectors.EVENT_READ)
bufs, seen = {}, {}
st = {"values": 0, "reports": 0, "same": 0, "diff": 0, "logins": 0, "logouts": 0}
sources = set()
def done(*_):
    st["sources"] = ",".join(sorted(sources))
    open(sys.argv[2], "w").write(" ".join(f"{k}={v}" for k, v in st.items()) + "\n"); sys.exit(0)
signal.signal(signal.SIGTERM, done)
def confirm(c, fr):  # AFN=00 F1, C=0B, MSA 0, SEQ 6x (section 7)
    b = bytes([0x0B]) + fr[7:11] + bytes([0, 0, 0x60 | (fr[13] & 15), 0, 0, 1, 0])
    c.sendall(bytes([0x68, 0x32, 0, 0x32, 0, 0x68]) + b + bytes([sum(b) & 0xFF, 0x16]))
def frame(c, fr):
    if not fr[13] & 0x10: return
    if fr[12] == 2:
        st["logins"] += fr[16] == 1; st["logouts"] += fr[16] == 2; confirm(c, fr); return
    key = (fr[9], fr[10], fr[13] & 15, fr[14:])
    if key not in seen: seen[key] = fr; return      # first copy: no confirm
    st["same" if seen.pop(key) == fr else "diff"] += 1
    st["reports"] += 1
    u = fr[14:len(fr) - 2 - (2 if fr[6] & 0x20 else 0)]
    off = 0
    while off + 4 <= len(u):                        # 0C F129: DA DT time(5) M total+M tariffs
        m = u[off + 9]; st["values"] += m + 1; off += 4 + 11 + 5 * m
    confirm(c, fr)
while True:
    for k, _ in sel.select():
        if k.fileobj is ls:
            c, a = ls.accept(); sources.add(a[0]); c.setblocking(True); sel.register(c, selectors.EVENT_READ); bufs[c] = b""; continue
        c = k.fileobj
        d = c.recv(65536)
        if not d: sel.unregister(c); c.close(); continue
        b = bufs[c] + d
        while True:
            i = b.find(b"\x68")
            if i < 0: b = b""; break
            b = b[i:]
            if len(b) < 6: break
            n = ((b[1] | b[2] << 8) >> 2) + 8
            if len(b) < n: break
            fr, b = b[:n], b[n:]
            if sum(fr[6:n - 2]) & 0xFF == fr[n - 2] and fr[n - 1] == 0x16: frame(c, fr)
        bufs[c] = b
PY
python3 "$tmp/peer.py" "$tmp/port" "$tmp/peer.out" & peer=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")

"$bin" sim --help | grep -q -- "--source-addrs" && ok "--help documents the flags" || ko "--help"
"$bin" sim --terminals 0 >/dev/null 2>&1; [ $? = 2 ] && ok "bad option: exit 2" || ko "bad option"

"$bin" sim --target 127.0.0.1:$port --terminals 40 --points 4 --procs 2 --speed 120 \
  --report-interval 60 --duration 3 --confirm-timeout 300 --no-daily --heartbeat 1 \
  --source-addrs 127.0.0.2-127.0.0.3 \
  --ledger "$tmp/ledger" --progress >"$tmp/sim.out" 2>"$tmp/sim.err"
rc=$?
kill -TERM $peer; wait $peer 2>/dev/null; peer=
cat "$tmp/sim.out"
[ $rc = 0 ] && ok "40 terminals in 2 processes: exit 0" || { ko "exit $rc"; tail -5 "$tmp/sim.err"; }
eval "$(cat "$tmp/peer.out")"
lines=$(grep -vc '^#' "$tmp/ledger")
[ "$logins" = 40 ] && [ "$logouts" = 40 ] && ok "40 logins, 40 logouts" || ko "logins=$logins logouts=$logouts"
[ "$reports" -ge 40 ] && [ "$diff" = 0 ] && [ "$same" = "$reports" ] \
  && ok "every report retransmitted with the same bytes ($reports)" || ko "reports=$reports same=$same diff=$diff"
[ "$lines" = "$values" ] && [ "$values" -gt 0 ] && ok "ledger lines = values the master confirmed ($values)" \
  || ko "ledger $lines lines, master confirmed $values values"
[ "$sources" = "127.0.0.2,127.0.0.3" ] && ok "--source-addrs: connections from 127.0.0.2 and .3" \
  || ko "source addresses seen: $sources"
grep -q "unconfirmed=0 " "$tmp/sim.out" && ok "summary: unconfirmed=0" || ko "summary"
grep -q "online" "$tmp/sim.err" && ok "--progress line" || ko "--progress"
# nobody listening: terminals never log in -> exit 3
"$bin" sim --target 127.0.0.1:$port --terminals 2 --duration 1 >/dev/null 2>&1
[ $? = 3 ] && ok "no master: exit 3" || ko "no master: exit not 3"

echo "sim $pass $fail"
[ -n "${MF_RESULTS:-}" ] && echo "sim $pass $fail" >>"$MF_RESULTS"
[ $fail = 0 ]
