# Fleet build. Needs only Go (1.26+); everything else is fetched or installed by the targets below.
SHELL    := /bin/bash
GO       ?= go
BIN      ?= bin
ADDR     ?= 127.0.0.1:8080
GOCYCLO  := github.com/fzipp/gocyclo/cmd/gocyclo@v0.6.0
# Every Go module in the repository (the host, the SDK and its test harness, first-party plugins, examples).
MODULES  := . sdk sdk/plugintest plugins $(patsubst %/go.mod,%,$(wildcard examples/*/go.mod examples/plugins/*/go.mod))
# First-party plugins: each directory under plugins/ with a main.go is built to $(BIN)/plugins/NAME.wasm.
PLUGINS  := $(patsubst plugins/%/main.go,%,$(wildcard plugins/*/main.go))
# Those that ship a build of C source instead (plugins/NAME/c/NAME.c, with the Go package kept as the
# reference it is tested against): rebuilt by plugins/NAME/c/Makefile where clang exists, else the
# committed plugins/NAME/c/NAME.wasm is shipped. See RATIONALE.md (the agui mapper in C).
C_PLUGINS  := $(patsubst plugins/%/c/Makefile,%,$(wildcard plugins/*/c/Makefile))
GO_PLUGINS := $(filter-out $(C_PLUGINS),$(PLUGINS))
WASM_ENV := GOOS=wasip1 GOARCH=wasm

.PHONY: all build plugins run test test-go test-e2e test-deps bench check fmt example-plugins clean

all: build plugins

build:
	$(GO) build -o $(BIN)/fleet ./cmd/fleet

plugins: $(PLUGINS:%=$(BIN)/plugins/%.wasm)

$(GO_PLUGINS:%=$(BIN)/plugins/%.wasm): $(BIN)/plugins/%.wasm: FORCE
	@mkdir -p $(BIN)/plugins
	cd plugins && $(WASM_ENV) $(GO) build -buildmode=c-shared -trimpath -o ../$@ ./$*
	@if [ -f plugins/$*/manifest.yaml ]; then cp plugins/$*/manifest.yaml $(BIN)/plugins/$*.yaml; fi

$(C_PLUGINS:%=$(BIN)/plugins/%.wasm): $(BIN)/plugins/%.wasm: FORCE
	@mkdir -p $(BIN)/plugins
	@$(MAKE) --no-print-directory -C plugins/$*/c
	cp plugins/$*/c/$*.wasm $@
	@if [ -f plugins/$*/manifest.yaml ]; then cp plugins/$*/manifest.yaml $(BIN)/plugins/$*.yaml; fi

FORCE:

# The main job on embedded defaults: offline model, embedded store, first-party plugins.
run: build plugins
	$(BIN)/fleet serve --addr $(ADDR) --plugins $(BIN)/plugins

test: test-deps plugins test-go test-e2e

# Test dependencies beyond Go: the AG-UI TypeScript client (a real @ag-ui/client drives the SSE
# endpoint in host/server's tests), playwright-core and Debian's Chromium for the web page test;
# clang and lld where apt-get can install them, so that the C plugins are built from their source
# (without them the committed builds are tested).
CHROMIUM ?= /usr/bin/chromium
test-deps:
	@command -v clang >/dev/null && command -v wasm-ld >/dev/null || { command -v apt-get >/dev/null && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang lld; } || \
		echo "clang and lld not installed: the committed builds of the C plugins are used"; }
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	cd host/server/testdata/agui-client && npm ci --no-audit --no-fund
	cd tests/e2e && npm ci --no-audit --no-fund

# Real-browser tests of the web chat page (tests/e2e): the real `fleet serve`, with the page it
# embeds, driven in Debian's headless Chromium by playwright-core (pinned in tests/e2e/package-lock.json).
test-e2e: build plugins
	cd tests/e2e && CHROMIUM=$(CHROMIUM) FLEET_BIN=$(abspath $(BIN))/fleet FLEET_PLUGINS=$(abspath $(BIN))/plugins \
		node --test --test-concurrency=1 chat.test.mjs

test-go:
	@set -e; for m in $(MODULES); do echo "== go test -race $$m"; (cd $$m && $(GO) test -race -count=1 ./...); done

bench: plugins
	$(GO) test -run='^$$' -bench=. -benchmem -count=6 ./... | tee $(BIN)/bench.txt

check:
	@set -e; bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt: $$bad"; exit 1; fi
	@set -e; for m in $(MODULES); do echo "== vet $$m"; (cd $$m && $(GO) vet ./...); done
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy -diff) || { echo "go mod tidy changes $$m"; exit 1; }; done
	$(GO) run $(GOCYCLO) -over 15 $$(git ls-files '*.go' | xargs -n1 dirname | sort -u)
	@set -e; for p in $(C_PLUGINS); do $(MAKE) --no-print-directory -s -C plugins/$$p/c; \
		git diff --quiet -- plugins/$$p/c/$$p.wasm || { echo "plugins/$$p/c/$$p.wasm is not the build of its source: commit it"; exit 1; }; done

# Rebuilds the committed non-Go example plugin where its toolchain exists.
example-plugins:
	$(MAKE) -C examples/plugins/c-wordcount

clean:
	rm -rf $(BIN)
