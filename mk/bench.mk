# mk/bench.mk: `make bench` (issue 7). Included from the top-level Makefile with
#     include mk/bench.mk
# Everything lives in bench/ (see bench/README.md); results and binaries go to bench/out/.
#
#   make bench                      5 interleaved rounds of every case, then the table
#   make bench BENCH_ROUNDS=9       more rounds
#   make bench-quick                3 rounds at 1/5 of the work (a smoke run, not for figures)
#   make bench-profile              callgrind profiles of the aoai driver (bench/profile.sh)
BENCH_MK_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
BENCH_DIR    := $(BENCH_MK_DIR)/../bench

.PHONY: bench bench-quick bench-profile bench-clean
bench:
	$(BENCH_DIR)/run.sh

bench-quick:
	BENCH_ROUNDS=3 BENCH_SCALE=0.2 $(BENCH_DIR)/run.sh

bench-profile:
	$(BENCH_DIR)/profile.sh

bench-clean:
	rm -rf $(BENCH_DIR)/out
