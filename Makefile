# tte-agent — the Makefile mirrors CI: .ci/run runs `make test`.
SHELL := /bin/bash
GO ?= go
export GOTOOLCHAIN := local
export CGO_ENABLED := 1
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/tte-agent/tte-agent/agent.Version=$(VERSION)
FUZZTIME ?= 15s

.PHONY: all build test test-loaded lint fmt vet windows-build staticcheck unit js fuzz demo bench deps-test deps-demo deps-package windows msi deb clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/tte-agent ./cmd/tte-agent

deps-test:
	scripts/install-deps.sh test

deps-demo:
	scripts/install-deps.sh demo

deps-package:
	scripts/install-deps.sh package

## windows: the Windows amd64 agent, cross-compiled with mingw (cgo).
WINCC ?= x86_64-w64-mingw32-gcc
# Packages need a numeric, growing version: 0.1.<commits>.
PKG_VERSION ?= 0.1.$(shell git rev-list --count HEAD 2>/dev/null || echo 0)
windows: deps-package
	GOOS=windows GOARCH=amd64 CC=$(WINCC) $(GO) build -trimpath -ldflags "$(LDFLAGS) -s -w" -o dist/windows/tte-agent.exe ./cmd/tte-agent
	# The same agent without a console window, for the start at logon.
	GOOS=windows GOARCH=amd64 CC=$(WINCC) $(GO) build -trimpath -ldflags "$(LDFLAGS) -s -w -H windowsgui" -o dist/windows/tte-agentw.exe ./cmd/tte-agent

## msi: dist/tte-agent-VERSION-x64.msi (wixl): per-machine install, logon
## start for every user, policy from ORIGINS/MODULES (docs/deployment.md).
msi: windows
	installer/windows/build-msi.sh dist/windows/tte-agent.exe dist/windows/tte-agentw.exe $(PKG_VERSION) dist/tte-agent-$(PKG_VERSION)-x64.msi

## deb: dist/tte-agent_VERSION_amd64.deb with the systemd user unit and
## the policy file.
deb: deps-package
	$(GO) build -trimpath -ldflags "$(LDFLAGS) -s -w" -o dist/linux/tte-agent ./cmd/tte-agent
	installer/debian/build-deb.sh dist/linux/tte-agent $(PKG_VERSION) dist/tte-agent_$(PKG_VERSION)_amd64.deb

## test: every check CI runs: formatting, vet, staticcheck, unit and
## SoftHSM integration tests under the race detector (with the browser
## tests in chromium, web/e2e), the JS client's tests and typecheck,
## bounded fuzzing.
## Every step runs even when an earlier one fails; the failures are
## listed at the end and make test exits non-zero.
TEST_STEPS := fmt vet windows-build staticcheck unit js fuzz
test: deps-test
	@failed=""; for step in $(TEST_STEPS); do \
		echo "=== make $$step"; \
		$(MAKE) --no-print-directory $$step || failed="$$failed $$step"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: these steps FAILED:$$failed (see their output above)"; exit 1; fi; \
	echo "make test: every step passed ($(TEST_STEPS))"

## test-loaded: make test while stress-ng saturates the machine (four
## CPU hogs on two cores); waits scale with the load (internal/testscale).
test-loaded: deps-test
	@stress-ng --cpu 4 --timeout 60m --quiet & pid=$$!; \
	trap 'kill $$pid 2>/dev/null' EXIT; sleep 20; \
	$(MAKE) test

lint: fmt vet windows-build staticcheck

fmt:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt would change:"; echo "$$bad"; exit 1; fi

vet:
	$(GO) vet ./...

# Every package must build for Windows too (mingw, cgo).
windows-build:
	GOOS=windows GOARCH=amd64 CC=$(WINCC) $(GO) build ./...

staticcheck:
	$(GO) tool staticcheck ./...

unit:
	$(GO) test -race -count=1 ./...

## js: the client's node:test unit tests and its TypeScript declarations.
js:
	cd web && npm test && npm run typecheck

# scripts/fuzz.sh runs each target with -fuzzminimizetime 2s (which
# bounds the minimisation of each new input, otherwise stalling short runs
# on PDF-sized inputs) and repeats a run that only hit Go 1.26's fuzztime
# deadline race (see the script).
FUZZ := FUZZTIME=$(FUZZTIME) scripts/fuzz.sh
fuzz:
	$(FUZZ) FuzzParseRequest ./protocol
	$(FUZZ) FuzzResponses ./agent/pinentry
	$(FUZZ) FuzzPrepare ./pades
	$(FUZZ) FuzzInspect ./pades
	$(FUZZ) FuzzContentText ./pades
	$(FUZZ) FuzzParse ./cms
	$(FUZZ) FuzzParseAnswer ./revocation
	$(FUZZ) FuzzParseImage ./appearance
	$(FUZZ) FuzzBinaryFrame ./agent/wsserver
	$(FUZZ) FuzzRead ./nativemsg
	$(FUZZ) FuzzParse ./envelope

## bench: the measurements of docs/performance.md, rewritten in place
## (its "## Results" part). Takes a few minutes and about 2 GB of disk.
bench: deps-test build
	$(GO) run ./cmd/tte-bench -agent bin/tte-agent -runs 7 -out docs/performance.md

## demo: a demo token, the agent and the demo e-office page on 127.0.0.1.
demo: deps-demo
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/tte-demo $(if $(ORIGINS),-origins "$(ORIGINS)")

clean:
	rm -rf bin dist
