# bitlm — `make run` builds and generates text with the bundled model; `make test` builds and runs every test.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
NEON_BUILD ?= build-neon
SHARED ?= $(abspath ../shared)
JOBS ?= $(shell nproc)
MODEL ?= $(firstword $(wildcard models/*.gguf) $(SHARED)/fixtures/tiny-bitnet/tiny-bitnet-TQ2_0.gguf)
PROMPT ?= Once upon a time
CMAKE_FLAGS ?=

.PHONY: all bootstrap configure build build-cli run test test-asan test-neon bench clean

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

test: build test-asan test-neon
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

# The file parsers (io, tokenizer) again under AddressSanitizer + UBSan.
test-asan: bootstrap
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITLM_SANITIZE=ON -DBITLM_BENCH=OFF \
	  -DBITLM_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target test_core test_io test_tokenizer
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L asan

# The NEON kernels, cross-compiled for aarch64 and run under qemu-user against the scalar reference.
test-neon:
	@BITLM_SHARED_DIR=$(SHARED) tools/test_neon.sh $(NEON_BUILD)

bench: build
	@for b in $(BUILD)/bench/*_bench; do $$b; done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(NEON_BUILD)
