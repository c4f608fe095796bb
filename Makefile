# bitlm — `make run` builds and generates text with the bundled model; `make test` builds and runs every test.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
NEON_BUILD ?= build-neon
TSAN_BUILD ?= build-tsan
TSAN_TESTS ?= ThreadPool\.|ForwardThreads\.|BatchedForward\.|Trainer\.|TrainModel\.ResultsDoNotDependOnThreadCount|ServerTest\.|ServerLimits\.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20
CLANGXX ?= clang++-19
SHARED ?= $(abspath ../shared)
JOBS ?= $(shell nproc)
MODEL ?= $(firstword $(wildcard models/*.gguf) $(SHARED)/fixtures/tiny-bitnet/tiny-bitnet-TQ2_0.gguf)
PROMPT ?= Once upon a time
CMAKE_FLAGS ?=

.PHONY: all bootstrap configure build build-cli run test test-asan test-asan-all test-tsan test-neon test-fuzz fuzz fuzz-build bench clean

all: build

bootstrap:
	@tools/bootstrap.sh

configure: bootstrap
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DBITLM_SHARED_DIR=$(SHARED) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Only the binary: every test and benchmark took 18 min on 2 cores for a first `make run`.
build-cli: configure
	@cmake --build $(BUILD) -j $(JOBS) --target bitlm_cli

run: build-cli
	$(BUILD)/bin/bitlm generate -m $(MODEL) -p "$(PROMPT)" -n 64

# The fuzz smoke (test-fuzz) is part of it: ~7 min on 2 cores, its clang build included (docs/reliability.md, "Cost").
test: build test-asan test-neon test-fuzz
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

# The file parsers (io, tokenizer) again under AddressSanitizer + UBSan (part of make test).
test-asan: bootstrap
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITLM_SANITIZE=ON -DBITLM_BENCH=OFF \
	  -DBITLM_SANITIZE_MODULES="core;io;tokenizer" -DBITLM_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target test_core test_io test_tokenizer
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L asan

# The whole unit suite under AddressSanitizer + UBSan (every module's tests, the CLI's binary too).
test-asan-all: bootstrap
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITLM_SANITIZE=ON -DBITLM_BENCH=OFF \
	  -DBITLM_SANITIZE_MODULES=all -DBITLM_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L asan

# The threaded code under ThreadSanitizer: the thread pool, the threaded and batched forward,
# training's parallel sequences, the server's batching and connection handling.
test-tsan: bootstrap
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITLM_TSAN=ON -DBITLM_BENCH=OFF \
	  -DBITLM_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target test_core test_model test_train test_serve
	@cd $(TSAN_BUILD) && TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" ctest --output-on-failure -j $(JOBS) -L tsan -R '$(TSAN_TESTS)'

# The NEON kernels, cross-compiled for aarch64 and run under qemu-user against the scalar reference.
test-neon:
	@BITLM_SHARED_DIR=$(SHARED) tools/test_neon.sh $(NEON_BUILD)

# libFuzzer targets (tests/fuzz/, docs/reliability.md), built with clang + ASan + UBSan in $(FUZZ_BUILD).
fuzz-build:
	@tools/bootstrap.sh --with-fuzz
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=$(CLANGXX) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITLM_FUZZ=ON \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" \
	  -DBITLM_TESTS=OFF -DBITLM_BENCH=OFF -DBITLM_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all

# Each target FUZZ_SECONDS from its seeds (and what earlier runs found, $(FUZZ_BUILD)/corpus/work).
fuzz: fuzz-build
	@cd $(FUZZ_BUILD) && BITLM_FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --output-on-failure -j $(JOBS) -L fuzz

# The smoke make test runs: the committed crash inputs, then FUZZ_SMOKE_SECONDS per target.
test-fuzz: fuzz-build
	@cd $(FUZZ_BUILD) && BITLM_FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) ctest --output-on-failure -j $(JOBS) -L fuzz

bench: build
	@for b in $(BUILD)/bench/*_bench; do $$b; done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(NEON_BUILD) $(FUZZ_BUILD)
