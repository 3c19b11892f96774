#!/usr/bin/env bash
# web-build.sh -- build the panel: install the npm packages pinned by web/package-lock.json
# (npm ci), then assemble web/dist = web/src + Apache ECharts' echarts.min.js copied from
# node_modules (the library is never committed). [web] static_dir points at web/dist.
# Usage: scripts/web-build.sh   (idempotent; skips npm ci when node_modules matches the lock)
set -euo pipefail
cd "$(dirname "$0")/../web"
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json .lock-installed; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json .lock-installed
fi
rm -rf dist.tmp
cp -r src dist.tmp
mkdir -p dist.tmp/vendor
cp node_modules/echarts/dist/echarts.min.js dist.tmp/vendor/
cp node_modules/echarts/LICENSE dist.tmp/vendor/echarts.LICENSE.txt
rm -rf dist
mv dist.tmp dist
echo "web-build: panel in $(pwd)/dist"
