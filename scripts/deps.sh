#!/usr/bin/env bash
# deps.sh -- install the Debian 12 packages meterflow builds, runs and tests with.
# Idempotent: installs only what is missing; runs apt-get update at most once.
# Usage: scripts/deps.sh [build|run|test|bench]   (default: test = everything but bench;
#        bench = build + gnuplot for the plots of `make bench`)
set -euo pipefail
what=${1:-test}

build_pkgs="build-essential pkg-config clang libclang-rt-14-dev libuv1-dev libmicrohttpd-dev
  librdkafka-dev libsqlite3-dev libpq-dev libjansson-dev libsodium-dev libinih-dev liburing-dev"
run_pkgs="nodejs npm"
test_pkgs="postgresql openjdk-17-jre-headless kcat chromium fonts-wqy-zenhei python3 curl procps iproute2 openssl"
bench_pkgs="gnuplot-nox linux-perf"

case "$what" in
build) pkgs="$build_pkgs" ;;
run) pkgs="$build_pkgs $run_pkgs" ;;
test) pkgs="$build_pkgs $run_pkgs $test_pkgs" ;;
bench) pkgs="$build_pkgs $test_pkgs $bench_pkgs" ;;
*) echo "usage: $0 [build|run|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node may come from outside Debian (e.g. nodesource); accept any working node+npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
filtered=()
for p in "${missing[@]}"; do [ -n "$p" ] && filtered+=("$p"); done
[ ${#filtered[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "deps: missing Debian packages: ${filtered[*]}" >&2
  echo "deps: run as root (or: sudo apt-get install ${filtered[*]})" >&2
  exit 1
fi
echo "deps: installing ${filtered[*]}"
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/meterflow-update-stamp
if [ ! -e "$stamp" ]; then
  apt-get update -qq
  mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
