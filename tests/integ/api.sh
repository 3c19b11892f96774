#!/usr/bin/env bash
# api.sh -- API tests over HTTP: starts `meterflow web` on a free port (port 0 + --port-file)
# with a temporary data directory filled by bench_web_fixture, creates one user per role
# with `meterflow user`, runs tests/api/api_test.py, stops the server.
# Appends "api <passed> <failed>" to $MF_RESULTS (when set). Works alone:
#   bash tests/integ/api.sh          (MF_BUILD=asan|release|tsan, default release)
set -u
cd "$(dirname "$0")/../.."
B=${MF_BUILD:-release}
bin=build/$B/meterflow
fx=build/$B/bench/bench_web_fixture
suite=api
record() { [ -n "${MF_RESULTS:-}" ] && echo "$suite $1 $2" >>"$MF_RESULTS"; echo "$suite: $1 passed, $2 failed"; }

if ! make -s -j2 BUILD="$B" "$bin" "$fx" >/tmp/mf-api-build.$$ 2>&1; then
  tail -20 /tmp/mf-api-build.$$; rm -f /tmp/mf-api-build.$$
  record 0 1; exit 1
fi
rm -f /tmp/mf-api-build.$$
[ -f web/dist/index.html ] || bash scripts/web-build.sh >/dev/null 2>&1 || true

tmp=$(mktemp -d /tmp/mf-api.XXXXXX)
pid=
tpid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$tpid" ] && kill "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

set_args=(--set meterflow.data_dir="$tmp" --set web.port=0 --set web.static_dir="$PWD/web/dist"
          --set web.login_max_failures=5 --set web.login_window_s=600 --set meterflow.log_level=warn)
"$fx" "$tmp/meterflow.db" --terminals 20 --points 4 --days 40 --curve-days 2 >/dev/null || { record 0 1; exit 1; }
for u in admin:admin-pass-1 operator:oper-pass-1 viewer:view-pass-1; do
  echo "${u#*:}" | "$bin" user "${set_args[@]}" add "${u%%:*}" --role "${u%%:*}" || { record 0 1; exit 1; }
done

"$bin" web "${set_args[@]}" --port-file "$tmp/port" 2>"$tmp/web.log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if [ ! -s "$tmp/port" ]; then
  echo "api: meterflow web did not start"; cat "$tmp/web.log"; record 0 1; exit 1
fi
port=$(cat "$tmp/port")

# A second instance on the same store with TLS (self-signed certificate made here).
tls_args=()
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
     -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1; then
  "$bin" web "${set_args[@]}" --set web.tls=true --set web.tls_cert="$tmp/cert.pem" \
    --set web.tls_key="$tmp/key.pem" --no-queue --port-file "$tmp/tport" 2>"$tmp/tls.log" &
  tpid=$!
  for _ in $(seq 100); do [ -s "$tmp/tport" ] && break; kill -0 "$tpid" 2>/dev/null || break; sleep 0.1; done
  [ -s "$tmp/tport" ] && tls_args=(--tls-base "https://127.0.0.1:$(cat "$tmp/tport")")
fi
[ ${#tls_args[@]} -eq 0 ] && echo "api: TLS instance did not start" && cat "$tmp/tls.log" 2>/dev/null

out=$(python3 tests/api/api_test.py --base "http://127.0.0.1:$port" --admin admin:admin-pass-1 \
  --operator operator:oper-pass-1 --viewer viewer:view-pass-1 --fixture "$fx" \
  --db "$tmp/meterflow.db" --login-limit 5 "${tls_args[@]}" 2>&1)
rc=$?
echo "$out" | grep -v '^ok ' | tail -40
p=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
p=${p:-0}; f=${f:-0}
[ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
[ ${#tls_args[@]} -eq 0 ] && f=$((f + 1))   # TLS could not be tested: a failure, not a skip
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
[ -n "$tpid" ] && { kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null; tpid=; }
# a sanitizer report at shutdown (leak, UB) fails the suite too
for log in "$tmp/web.log" "$tmp/tls.log"; do
  if [ -f "$log" ] && grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error:" "$log"; then
    grep -m1 -A30 "ERROR\|runtime error" "$log"; f=$((f + 1))
  fi
done
record "$p" "$f"
[ "$f" = 0 ]
