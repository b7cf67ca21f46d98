# supportgate — build, test, bench.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build test test-short fuzz bench bench-load lint demo package clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/supportgate ./cmd/supportgate
	$(GO) build -o bin/devmail ./cmd/devmail
	$(GO) build -o bin/smtpload ./cmd/smtpload
	$(GO) build -o bin/fakeportal ./cmd/fakeportal
	$(GO) build -o bin/loadbench ./cmd/loadbench

# Every test, under the race detector: unit, end to end over real TCP, the
# kill -9 subprocess test, swaks interop (skipped with a note when swaks is
# missing; .ci/run installs it), and each fuzz target's seed corpus.
test:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short ./...

# Longer fuzzing runs: FUZZTIME per target (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Go benchmarks and the load run side by side with Postfix, then the
# real-time-under-load scenario (bench/run.sh, its step h).
bench: build
	bash bench/run.sh
	bash bench/rss-tasks.sh

# Real time under load (cmd/loadbench): a 1,000-message burst and a steady
# 10 msg/s for STEADY (default 2m) against the fake portal at its real
# budget (2 req/s, burst 50). Needs no root. Quick run: make bench-load STEADY=20s
STEADY ?= 2m
bench-load:
	@mkdir -p bench/results
	@$(GO) run ./cmd/loadbench -steady $(STEADY) >bench/results/load.txt; s=$$?; cat bench/results/load.txt; exit $$s

lint:
	$(GO) vet ./...
	gofmt -l $$(git ls-files '*.go')

# The local demo: supportgate on the example config with devmail standing in
# for the mailbox server and the smarthost, and a fake Bitrix24 portal.
demo: build
	bash scripts/demo.sh

# The Debian package: a static binary, the unit, the man page and an example
# config under /etc/supportgate (packaging/nfpm.yaml). nfpm is built from
# source through the Go module proxy at the pinned version; nothing else is
# downloaded. The .deb lands in $(DIST).
NFPM         ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
DIST         ?= dist
# Debian versions must start with a digit; git describe may give a bare hash.
DEB_VERSION  ?= 0.0~git$(subst -,.,$(VERSION))
GOARCH       ?= $(shell $(GO) env GOARCH)
package:
	mkdir -p bin/package $(DIST)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build -trimpath \
	  -ldflags "-s -w $(LDFLAGS)" -o bin/package/supportgate ./cmd/supportgate
	gzip -9n -c packaging/supportgate.8 > bin/package/supportgate.8.gz
	SUPPORTGATE_DEB_VERSION=$(DEB_VERSION) GOARCH=$(GOARCH) \
	  $(NFPM) package --config packaging/nfpm.yaml --packager deb --target $(DIST)/
	@ls -l $(DIST)/supportgate_*.deb

clean:
	rm -rf bin demo-state dist
