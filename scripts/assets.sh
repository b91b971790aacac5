#!/usr/bin/env bash
# Installs the front-end libraries from npm (package-lock.json pins them) and
# copies the files the web UI serves into internal/web/assets/vendor, which
# //go:embed then bundles into the binary. Run it before `go build` or `go test`.
# Nothing is fetched when node_modules is already up to date.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# npm writes node_modules/.package-lock.json on every install; when it is
# missing or older than package-lock.json, node_modules does not match the lock.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "assets: installing npm packages from package-lock.json" >&2
	npm ci --no-audit --no-fund
fi

vendor="internal/web/assets/vendor"
mkdir -p "$vendor"
cp node_modules/echarts/dist/echarts.min.js "$vendor/echarts.min.js"
cp node_modules/echarts/LICENSE "$vendor/echarts.LICENSE"
echo "assets: copied echarts $(node -p 'require("./node_modules/echarts/package.json").version') into $vendor" >&2

# gridstack lays out and drags the widgets of a dashboard.
cp node_modules/gridstack/dist/gridstack-all.js "$vendor/gridstack-all.js"
cp node_modules/gridstack/dist/gridstack.min.css "$vendor/gridstack.min.css"
cp node_modules/gridstack/LICENSE "$vendor/gridstack.LICENSE"
echo "assets: copied gridstack $(node -p 'require("./node_modules/gridstack/package.json").version') into $vendor" >&2
