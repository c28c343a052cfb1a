#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/profile.sh: where the instructions go, deterministically (valgrind callgrind), for
# the libcurl floor and the aoai C driver. For each case every driver runs twice with a
# different amount of work; the difference of the instruction counts divided by the
# difference of the work is the cost per call / per event, without start-up and warm-up.
# The top functions (self cost) of the larger run go to bench/out/profile-CASE-IMPL.txt.
#
#   bench/profile.sh [CASE...]     CASE: seq inflight stream-oneshot stream-paced
#                                  (default: seq stream-oneshot)
#   BENCH_LIB=PATH                 profile another libaoai.so (an unstripped scratch build
#                                  gives function names; the shipped one is stripped)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${BENCH_OUT:-$here/out}"
command -v valgrind >/dev/null 2>&1 || { echo "profile.sh: valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
BENCH_BUILD_ONLY=1 "$here/run.sh"
cases="${*:-seq stream-oneshot}"

rm -f "$out/port"
"$out/server" --port-file "$out/port" >"$out/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$out/port" ] && break; sleep 0.05; done
port="$(cat "$out/port")"

# scale pairs: small and large run of each case (work = base * scale)
scales() {
    case "$1" in
    seq) echo "0.01 0.06" ;;          # 20 and 120 calls
    inflight) echo "0.02 0.07" ;;     # 80 and 280 calls
    stream-oneshot) echo "0.025 0.1" ;; # 1 and 4 streams of 500 events
    stream-paced) echo "0.1 0.4" ;;     # 1 and 4 streams
    *) echo "profile.sh: unknown case $1" >&2; exit 1 ;;
    esac
}

ir_of() { # file -> total instructions
    awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

printf '%-16s %-6s %14s %10s\n' case impl "instr/unit" unit
for c in $cases; do
    read -r s1 s2 < <(scales "$c")
    for impl in curl aoai; do
        irs=() units=()
        for s in "$s1" "$s2"; do
            f="$out/callgrind.$c.$impl.$s"
            line="$(BENCH_SCALE=$s valgrind --tool=callgrind --callgrind-out-file="$f" \
                "$out/${impl}_driver" "$c" "$port" 0 2>/dev/null | grep '^RESULT ')" ||
                { echo "profile.sh: $impl $c failed under valgrind" >&2; exit 1; }
            irs+=("$(ir_of "$f")")
            units+=("$(sed 's/.* units=\([0-9]*\).*/\1/' <<<"$line")")
        done
        per="$(awk -v a="${irs[0]}" -v b="${irs[1]}" -v x="${units[0]}" -v y="${units[1]}" 'BEGIN { printf "%.0f", (b - a) / (y - x) }')"
        case "$c" in seq | inflight) per_unit=per-call ;; *) per_unit=per-event ;; esac
        printf '%-16s %-6s %14s %10s\n' "$c" "$impl" "$per" "$per_unit"
        callgrind_annotate --inclusive=no "$out/callgrind.$c.$impl.$s2" 2>/dev/null | head -60 >"$out/profile-$c-$impl.txt" || true
    done
done
echo "(top functions: $out/profile-CASE-IMPL.txt)"
