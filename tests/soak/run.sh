#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/soak/run.sh: the soak and concurrency runs of tests/soak.rs in release mode, one at a
# time (so the resident-memory figures are per run), against the emulator. Prints the figures;
# fails only on wrong answers, crashes, hangs or memory growth (never on time).
#
#   tests/soak/run.sh                         # the full run (100 000 requests, 16 threads)
#   SOAK_REQUESTS=20000 SOAK_THREADS=8 tests/soak/run.sh
#   tests/soak/run.sh soak_cancel_racing_completion   # one run by name
#
# Environment (defaults): SOAK_REQUESTS (100000), SOAK_THREADS (16), SOAK_OPS (1000 in flight),
# SOAK_OP_ROUNDS (3), SOAK_FREE_ITERATIONS (300 clients freed with 16 operations in flight),
# SOAK_CANCEL_ITERATIONS (10000 start + cancel races).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec cargo test --release --test soak -- --ignored --nocapture --test-threads=1 "$@"
