#!/usr/bin/env bash
# Installs what the tests need and runs them all. As root it installs Debian's
# chromium for the browser tests; otherwise a missing chromium makes those
# tests skip with a message, except under CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && ! command -v chromium >/dev/null 2>&1; then
	echo "installing Debian's chromium for the browser tests"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

scripts/assets.sh

go vet ./...
go test -count=1 ./... "$@"
