#!/usr/bin/env bash
# front.sh -- `meterflow front` as a process: starts it on a free port (port 0 + --port-file)
# with the embedded queue, logs a terminal in over TCP with the public login-01 frame and
# checks the AFN=00 F1 answer byte for byte (written by hand from the protocol text), checks
# that a bad config key fails naming the key, and that SIGTERM stops it cleanly (exit 0).
# Appends "front_process <passed> <failed>" to $MF_RESULTS (when set). Works alone:
#   bash tests/integ/front.sh        (MF_BUILD=asan|release|tsan, default release)
set -u
cd "$(dirname "$0")/../.."
B=${MF_BUILD:-release}
bin=build/$B/meterflow
suite=front_process
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
record() { [ -n "${MF_RESULTS:-}" ] && echo "$suite $pass $fail" >>"$MF_RESULTS"; echo "$suite: $pass passed, $fail failed"; }
make -s -j2 BUILD="$B" "$bin" >/dev/null 2>&1 || { bad build; record; exit 1; }
tmp=$(mktemp -d /tmp/mf-front.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

if "$bin" front --set front.prot=1 2>"$tmp/err"; then bad "unknown key accepted"
elif grep -q "prot" "$tmp/err"; then ok "unknown key names the key"; else bad "unknown key message"; fi
"$bin" front --help >/dev/null && ok "--help" || bad "--help"

"$bin" front --set meterflow.data_dir="$tmp" --set front.port=0 --set front.listen=127.0.0.1 \
  --port-file "$tmp/port" 2>"$tmp/front.log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port" 2>/dev/null)
if [ -n "$port" ]; then ok "listening on $port"; else bad "no port file"; fi

# login-01 -> C=0B, MSA 0, SEQ 68 (RSEQ = PSEQ 8), p0 F1, CS 0x10
got=$(python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(bytes.fromhex("68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16"))
b = b""
while len(b) < 20:
    k = s.recv(20 - len(b))
    if not k: break
    b += k
print(b.hex(" ").upper())
PY
)
want="68 32 00 32 00 68 0B 71 01 22 08 00 00 68 00 00 01 00 10 16"
[ "$got" = "$want" ] && ok "login answered byte for byte" || bad "login answer: '$got'"

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ $rc -eq 0 ] && ok "SIGTERM: clean exit" || bad "SIGTERM: exit $rc"
grep -q "logins=1" "$tmp/front.log" && ok "final report counts the login" || bad "final report: $(tail -2 "$tmp/front.log")"
record
[ $fail -eq 0 ]
