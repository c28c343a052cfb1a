#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# fuzz/run.sh [SECONDS]: runs every cargo-fuzz target for a bounded time (default 60 s each)
# from the committed seed corpus (fuzz/corpus/<target>, read only: new inputs go to a scratch
# directory), with debug assertions on (integer overflow panics), and prints per target the
# executions, speed, coverage, new inputs and crashes. Exit status 1 when a target crashed
# (the input is saved in fuzz/artifacts/<target>/; replay it with
# `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>`).
#
#   fuzz/run.sh            # 4 targets x 60 s
#   fuzz/run.sh 300 sse    # one target, 5 minutes
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ compiler. libFuzzer needs nightly
# flags (-Zsanitizer): on a stable toolchain the script sets RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SECS=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(sse response error_response config)
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2; exit 2; }
rustc --version | grep -q nightly || export RUSTC_BOOTSTRAP=1
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

cargo fuzz build -O -a "${TARGETS[@]:0:1}" >/dev/null 2>&1 || cargo fuzz build -O -a
status=0
summary=()
for t in "${TARGETS[@]}"; do
    mkdir -p "$SCRATCH/$t" "artifacts/$t"
    log=$SCRATCH/$t.log
    set +e
    timeout --kill-after=30 $((SECS + 120)) cargo fuzz run -O -a "$t" "$SCRATCH/$t" "corpus/$t" -- \
        -max_total_time="$SECS" -rss_limit_mb=2048 -max_len=262144 -timeout=10 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    stat() { { grep -h "^stat::$1:" "$log" || true; } | awk '{s+=$2} END {print s+0}'; }
    execs=$(stat number_of_executed_units)
    speed=$(stat average_exec_per_sec)
    newu=$(stat new_units_added)
    rss=$(stat peak_rss_mb)
    cov=$({ grep -ho 'cov: [0-9]*' "$log" || true; } | tail -n 1 | awk '{print $2}')
    crashes=$(find "artifacts/$t" -type f -newer "$SCRATCH" 2>/dev/null | wc -l)
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        status=1
        echo "== $t: exit $rc, crash inputs in fuzz/artifacts/$t:" >&2
        grep -E -A15 'panicked|ERROR: libFuzzer|SUMMARY' "$log" | head -40 >&2 || tail -n 40 "$log" >&2
    fi
    summary+=("$(printf '%-15s %6ss %12s execs %8s/s  cov %-6s new units %-6s peak %s MB  crashes %s' \
        "$t" "$SECS" "$execs" "$speed" "${cov:-?}" "$newu" "$rss" "$crashes")")
done
printf '%s\n' "${summary[@]}"
exit $status
