#!/usr/bin/env bash
# Installs what the tests need and runs them all. As root it installs Debian's
# chromium for the browser tests and poppler-utils (pdftotext) for the PDF
# report tests, and installs and starts PostgreSQL 15 on
# 127.0.0.1 for the PostgreSQL store tests unless NORTHSTAR_TEST_POSTGRES
# already names a server. Otherwise a missing chromium, pdftotext or PostgreSQL makes
# those tests skip with a message, except under CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && ! command -v chromium >/dev/null 2>&1; then
	echo "installing Debian's chromium for the browser tests"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if [ "$(id -u)" = 0 ] && ! command -v pdftotext >/dev/null 2>&1; then
	echo "installing Debian's poppler-utils (pdftotext) for the PDF report tests"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
fi

if [ "$(id -u)" = 0 ] && [ -z "${NORTHSTAR_TEST_POSTGRES:-}" ]; then
	NORTHSTAR_TEST_POSTGRES="$(scripts/start-postgres.sh)"
	export NORTHSTAR_TEST_POSTGRES
fi

scripts/assets.sh

go vet ./...
go test -count=1 ./... "$@"
