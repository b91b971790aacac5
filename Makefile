# The two commands of the README: `make demo` and `make test`.
.PHONY: build assets demo test

build: assets
	go build -o bin/northstar ./cmd/northstar

# Copies the chart library from npm into the binary's embedded assets.
assets:
	scripts/assets.sh

demo: build
	./bin/northstar demo --force

test:
	scripts/test.sh
