# Redoubt: `make run` starts the whole stack locally, `make test` runs every test.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_TARGETS := fuzz_client_frame fuzz_server_frames fuzz_text fuzz_envelope fuzz_attachment_input \
                fuzz_email_webhook
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

.PHONY: all deps build asan-build fuzz-build test test-release test-asan test-fuzz test-web test-e2e web fuzz run bench sqlmap clean format

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN_BUILD)/build.ninja: | deps
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DREDOUBT_SANITIZE=ON \
	  -DREDOUBT_FAULT_INJECTION=ON

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

asan-build: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# libFuzzer targets (clang, ASan+UBSan) for the parsers of untrusted input; see tests/fuzz/.
$(FUZZ_BUILD)/build.ninja: | deps
	cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++ -DREDOUBT_FUZZ=ON

fuzz-build: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Every test: the release build, then unit and integration tests again under ASan+UBSan (with
# the fault-injection switches of the crash tests, which release builds never compile),
# then a short deterministic libFuzzer smoke run of each fuzz target, then the web client
# (Vitest unit tests, then end to end in Chromium against a real server).
test: test-release test-asan test-fuzz test-e2e

test-release: build
	cd $(BUILD) && ctest --output-on-failure --timeout 1200

test-asan: asan-build
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure --timeout 1800

test-fuzz: fuzz-build
	cd $(FUZZ_BUILD) && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure --timeout 300

# Long fuzzing: each target for FUZZ_SECONDS. New inputs go to $(FUZZ_BUILD)/corpus/<target>
# (copy interesting ones into tests/fuzz/corpus/ by hand), crashes to $(FUZZ_BUILD)/artifacts/.
fuzz: fuzz-build
	@rc=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts; \
	  dict=tests/fuzz/dict/$$t.dict; \
	  echo "== $$t for $(FUZZ_SECONDS) s"; \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(FUZZ_BUILD)/tests/fuzz/$$t \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- $$( [ -f $$dict ] && echo -dict=$$dict ) \
	    $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t || rc=1; \
	done; exit $$rc

# The web client (web/): npm ci when the lock file changes, vite build when a source changes.
# No browser download: the e2e tests drive Debian's chromium.
WEB_SOURCES := $(shell find web/src web/public web/index.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)

web/node_modules/.package-lock.json: web/package.json web/package-lock.json | deps
	cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build

web: web/dist/index.html

test-web: web/node_modules/.package-lock.json
	cd web && npx vitest run

# A private stack on free ports in a temp dir; screenshots go to $(BUILD)/e2e-artifacts/.
test-e2e: test-web web build
	tests/e2e/run.sh $(BUILD)

run: deps $(BUILD)/build.ninja web
	cmake --build $(BUILD) -j $(JOBS) --target redoubt-server redoubt-worker redoubtctl
	scripts/run-stack.sh $(BUILD)

# CHAT-09: sqlmap (Debian's package, installed here when missing) against a private stack;
# fails on any injection point. About 3 minutes; not part of make test.
sqlmap: build
	@command -v sqlmap >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q sqlmap; }
	scripts/sqlmap-scan.sh $(BUILD)

# Throughput through TLS WebSockets, group commit and fan-out; see docs/benchmarks.md.
bench: build
	$(BUILD)/bench/ws_throughput 8 48 10 0
	$(BUILD)/bench/ws_throughput 4 16 10 2
	$(BUILD)/bench/ws_idle_memory 10000 2000
	$(BUILD)/bench/jobs_throughput 2000 8
	$(BUILD)/bench/jobs_throughput 2000 32
	$(BUILD)/bench/files_throughput 1024

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) web/dist
