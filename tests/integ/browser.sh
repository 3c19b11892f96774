#!/usr/bin/env bash
# browser.sh -- panel test in Chromium (playwright-core): starts `meterflow web` on a free
# port with a temporary store filled by bench_web_fixture and an admin user, then runs
# tests/browser/panel.mjs. Queued commands are answered by `bench_web_fixture --answer-queued`
# (standalone web has no front). Set MF_BASE_URL/MF_USER/MF_PASSWORD to test a running
# instance instead (e.g. `meterflow run` fed by the simulator). Appends "browser P F".
set -u
cd "$(dirname "$0")/../.."
B=${MF_BUILD:-release}
suite=browser
record() { [ -n "${MF_RESULTS:-}" ] && echo "$suite $1 $2" >>"$MF_RESULTS"; echo "$suite: $1 passed, $2 failed"; }
if ! command -v node >/dev/null || [ ! -x "${MF_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "browser: node or chromium missing (scripts/deps.sh test)"; record 0 1; exit 1
fi
bash scripts/web-build.sh >/dev/null || { record 0 1; exit 1; }
tmp=$(mktemp -d /tmp/mf-browser.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
if [ -z "${MF_BASE_URL:-}" ]; then
  bin=build/$B/meterflow; fx=build/$B/bench/bench_web_fixture
  make -s -j2 BUILD="$B" "$bin" "$fx" >/dev/null 2>&1 || { record 0 1; exit 1; }
  args=(--set meterflow.data_dir="$tmp" --set web.port=0 --set web.static_dir="$PWD/web/dist"
        --set meterflow.log_level=warn)
  "$fx" "$tmp/meterflow.db" --terminals 30 --points 4 --days 40 --curve-days 3 >/dev/null || { record 0 1; exit 1; }
  echo "browser-pass-1" | "$bin" user "${args[@]}" add admin --role admin || { record 0 1; exit 1; }
  "$bin" web "${args[@]}" --port-file "$tmp/port" 2>"$tmp/web.log" &
  pid=$!
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  [ -s "$tmp/port" ] || { cat "$tmp/web.log"; record 0 1; exit 1; }
  export MF_BASE_URL="http://127.0.0.1:$(cat "$tmp/port")" MF_USER=admin MF_PASSWORD=browser-pass-1
  export MF_ANSWER_CMD="$PWD/$fx $tmp/meterflow.db --answer-queued"
fi
out=$(node tests/browser/panel.mjs 2>&1); rc=$?
echo "$out" | grep -v '^ok ' | tail -30
p=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p'); p=${p:-0}
f=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p'); f=${f:-0}
[ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
record "$p" "$f"
[ "$f" = 0 ]
