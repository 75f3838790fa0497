# Everyday commands. Each wraps a script or the go tool, so a newcomer and CI run the same thing.
#   make build    bin/leadledger, stamped with the git version
#   make test     the whole suite, as CI runs it (scripts/test.sh)
#   make bench    ingest, then the audit trail over 300,000 events (a few minutes; prints numbers)
#   make demo     the ledger on leadledger.example.yaml, each vendor's example posted to it, then stopped

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Where make demo runs the ledger (LEDGER_LISTEN and LEDGER_DATABASE override the example file).
DEMO_LISTEN ?= 127.0.0.1:8080
DEMO_DATABASE ?= sqlite:./data/ledger.db

.PHONY: build test bench demo

build:
	go build -ldflags "-X main.version=$(VERSION)" -o bin/leadledger ./cmd/leadledger

test:
	scripts/test.sh

bench:
	scripts/bench-ingest.sh
	EVENTS=300000 scripts/bench-audit.sh

demo: build
	@LEDGER_LISTEN=$(DEMO_LISTEN) LEDGER_DATABASE=$(DEMO_DATABASE) bin/leadledger serve --config leadledger.example.yaml & \
	pid=$$!; trap 'kill $$pid; wait $$pid' EXIT; \
	for i in $$(seq 100); do curl -sf http://$(DEMO_LISTEN)/readyz >/dev/null && break; sleep 0.1; done; \
	scripts/demo.sh http://$(DEMO_LISTEN)
