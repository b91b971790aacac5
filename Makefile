# The two commands of the README: `make demo` and `make test`.
.PHONY: build assets demo test

build: assets
	go build -o bin/northstar ./cmd/northstar

# Copies the chart library from npm into the binary's embedded assets.
assets:
	scripts/assets.sh

# ADDR picks where the demo serves: make demo ADDR=127.0.0.1:9000
ADDR ?= 127.0.0.1:8080

demo: build
	./bin/northstar demo --force --addr $(ADDR)

test:
	scripts/test.sh
