# aoai: Azure OpenAI / OpenAI client library with a C ABI.
#
#   make            release library, emulator, build/bin/aoai-cli and build/bin/game-loop
#   make demo       run the C example against Azure (AZURE_OPENAI_ENDPOINT set) or the emulator
#   make test       install what is missing, then every test: Rust, C (valgrind), C++, C#
#
# GNU make. Tests use debug builds (faster to compile); `all` and `demo` use release builds.

SHELL := /bin/bash
.DEFAULT_GOAL := all

CARGO      ?= cargo
CC         ?= cc
CFLAGS     ?= -std=c99 -O2 -g -Wall -Wextra -Werror -pedantic
RELEASE    := target/release
DEBUG      := target/debug
BIN        := build/bin
LIBLINK    := build/lib
# The examples link through build/lib (symlinks to the release library under its file name
# and its SONAME) and find it through an rpath relative to themselves, so they run without
# LD_LIBRARY_PATH and keep working if the checkout moves.
EXAMPLE_LDFLAGS := -L$(LIBLINK) -laoai -Wl,-rpath,'$$ORIGIN/../lib' -lpthread

DEMO_PROMPT := Say hello to a C programmer in one sentence.
# What `make test` needs on a fresh Debian 12 machine (besides the Rust toolchain).
DEPS := valgrind gcc g++ make pkg-config mono-mcs mono-runtime cmake openssl python3
# Variables that would redirect the demo's emulator run to another service.
NO_USER_CONFIG := -u AZURE_OPENAI_AD_TOKEN -u OPENAI_API_TYPE -u OPENAI_BASE_URL -u OPENAI_API_BASE \
                  -u OPENAI_API_KEY -u OPENAI_API_VERSION -u AZURE_OPENAI_API_VERSION

.PHONY: all demo deps test header emulator clean soak fuzz asan FORCE

# all: the release library (.so and .a) and emulator, then the C examples linked against it.
all: $(BIN)/aoai-cli $(BIN)/game-loop

# The release build; cargo decides what is stale (FORCE), and the examples relink only when
# the library file really changed.
$(RELEASE)/libaoai.so $(RELEASE)/aoai-emulator &: FORCE
	$(CARGO) build --release

$(BIN):
	mkdir -p $@

# build/lib: libaoai.so, and libaoai.so.MAJOR when the library has that SONAME (build.rs):
# cargo does not create the SONAME link, and programs linked with -laoai load that name.
$(LIBLINK)/.links: $(RELEASE)/libaoai.so
	mkdir -p $(LIBLINK)
	ln -sfn ../../$(RELEASE)/libaoai.so $(LIBLINK)/libaoai.so
	@soname=$$(objdump -p $< | awk '$$1 == "SONAME" { print $$2 }'); \
	if [ -n "$$soname" ] && [ "$$soname" != libaoai.so ]; then \
	    echo "ln -sfn ../../$(RELEASE)/libaoai.so $(LIBLINK)/$$soname"; \
	    ln -sfn ../../$(RELEASE)/libaoai.so $(LIBLINK)/$$soname; \
	fi
	touch $@

# build/bin/aoai-cli: the command-line example (public header only).
$(BIN)/aoai-cli: examples/c/aoai_cli.c include/aoai.h $(LIBLINK)/.links | $(BIN)
	$(CC) $(CFLAGS) -Iinclude -o $@ $< $(EXAMPLE_LDFLAGS)

# build/bin/game-loop: the 60 Hz non-blocking streaming example.
$(BIN)/game-loop: examples/c/game_loop.c include/aoai.h $(LIBLINK)/.links | $(BIN)
	$(CC) $(CFLAGS) -Iinclude -o $@ $< $(EXAMPLE_LDFLAGS)

# demo: builds, then asks for a completion. With AZURE_OPENAI_ENDPOINT set it talks to your
# Azure resource (configured by your AZURE_OPENAI_* variables); otherwise it starts the
# emulator on a free port, runs aoai-cli against it (plain and --stream) with the emulator's
# settings exported for those commands only, and stops it.
demo: all
	@set -euo pipefail; \
	if [ -n "$${AZURE_OPENAI_ENDPOINT:-}" ]; then \
	    echo "demo: talking to Azure OpenAI at $$AZURE_OPENAI_ENDPOINT (AZURE_OPENAI_ENDPOINT is set)"; \
	    $(BIN)/aoai-cli "$(DEMO_PROMPT)"; \
	    exit 0; \
	fi; \
	tmp=$$(mktemp -d); \
	$(RELEASE)/aoai-emulator --port 0 --quiet >"$$tmp/emu.out" 2>"$$tmp/emu.err" & pid=$$!; \
	trap 'kill $$pid 2>/dev/null || true; wait $$pid 2>/dev/null || true; rm -rf "$$tmp"' EXIT; \
	url=; \
	for i in $$(seq 100); do \
	    url=$$(sed -n 's/^aoai-emulator listening on //p' "$$tmp/emu.out"); \
	    [ -n "$$url" ] && break; sleep 0.1; \
	done; \
	if [ -z "$$url" ]; then echo "demo: the emulator did not start" >&2; cat "$$tmp/emu.err" >&2; exit 1; fi; \
	echo "demo: AZURE_OPENAI_ENDPOINT is not set, so this talks to the local emulator at $$url"; \
	echo "demo: (a stand-in for Azure OpenAI with a fake key; set AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY"; \
	echo "demo:  and AZURE_OPENAI_DEPLOYMENT_NAME to talk to your Azure resource instead)"; \
	emu=(env $(NO_USER_CONFIG) AZURE_OPENAI_ENDPOINT="$$url" AZURE_OPENAI_API_KEY=emulator-key \
	     AZURE_OPENAI_DEPLOYMENT_NAME=gpt-4o); \
	echo; echo "\$$ build/bin/aoai-cli \"$(DEMO_PROMPT)\""; \
	"$${emu[@]}" $(BIN)/aoai-cli "$(DEMO_PROMPT)"; \
	echo; echo "\$$ build/bin/aoai-cli --stream \"$(DEMO_PROMPT)\""; \
	"$${emu[@]}" $(BIN)/aoai-cli --stream "[[emu:chunk-delay-ms=60]] $(DEMO_PROMPT)"; \
	echo; echo "demo: stopping the emulator"

# deps: installs with apt-get whatever of $(DEPS) is missing (sudo only when not root).
deps:
	@set -euo pipefail; \
	missing=; \
	for p in $(DEPS); do \
	    dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all present ($(DEPS))"; exit 0; fi; \
	command -v apt-get >/dev/null || { echo "deps: missing:$$missing (no apt-get here: install them by hand)" >&2; exit 1; }; \
	sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	echo "deps: installing:$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing

# test: every test, in order, stopping at the first failure.
test: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) test
	bash tests/c/run.sh
	bash tests/entra/cli.sh
	@if [ -f bindings/cpp/test.sh ]; then echo "== bindings/cpp/test.sh"; bash bindings/cpp/test.sh; \
	 else echo "test: bindings/cpp/test.sh not present, skipped"; fi
	@if [ -f bindings/csharp/test.sh ]; then echo "== bindings/csharp/test.sh"; bash bindings/csharp/test.sh; \
	 else echo "test: bindings/csharp/test.sh not present, skipped"; fi
	$(MAKE) --no-print-directory test-install

# header: regenerates include/aoai.h from the Rust sources (cbindgen); commit the result.
header:
	UPDATE_HEADER=1 $(CARGO) test --test header

# emulator: the local Azure OpenAI emulator in the foreground on port 8080 (Ctrl-C stops it).
emulator:
	$(CARGO) build --bin aoai-emulator
	$(DEBUG)/aoai-emulator --port 8080

# soak: 100 000 requests from 16 threads, 1 000 operations in flight, frees and cancel races
# (release build; prints resident memory at start, peak and end). SOAK_REQUESTS/SOAK_THREADS.
soak:
	bash tests/soak/run.sh

# fuzz: each cargo-fuzz target (SSE parser, response and error parsers, configuration) for
# FUZZ_SECONDS (default 60) from the committed seed corpus.
FUZZ_SECONDS ?= 60
fuzz:
	bash fuzz/run.sh $(FUZZ_SECONDS)

# asan: the C tests and examples built with AddressSanitizer and UBSan.
asan:
	bash tests/asan/run.sh

# clean: removes build/ and cargo's target/.
clean:
	rm -rf build
	$(CARGO) clean

FORCE:

# install, uninstall, test-install: mk/install.mk (shared library with SONAME, static
# library, header, pkg-config and CMake files), when present.
-include mk/install.mk

# bench: the benchmark suite against the libcurl floor (mk/bench.mk).
-include mk/bench.mk
