#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh: `make bench`. Builds libaoai (release), the loopback server, the libcurl
# floor, the aoai C driver and the C# driver (Mono), then runs every case interleaved
# (curl, aoai, aoai-op, C# ... per case, ROUNDS times), each run a fresh process, and prints
# the table (bench/report.c): medians, min-max, per-round ratio to libcurl, server CPU,
# targets. A wrong answer (text that differs from the server's expected text) aborts.
#
# Environment:
#   BENCH_ROUNDS=N    rounds (default 5; at least 5 for the issue's figures)
#   BENCH_SCALE=F     multiply the work per run (default 1; 0.2 for a quick look)
#   BENCH_CASES="..." subset of: seq inflight stream-paced stream-oneshot mem startup cs
#   BENCH_GAP_US=N    pause between events of the paced stream (default 100)
#   BENCH_NO_BUILD=1  use the already-built target/release/libaoai.so
#   BENCH_LIB=PATH    benchmark another libaoai.so (e.g. a scratch build); implies NO_BUILD
#   BENCH_OUT=DIR     where binaries and results go (default bench/out)
#   BENCH_BUILD_ONLY=1 build everything, run nothing (bench/profile.sh uses it)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${BENCH_OUT:-$here/out}"
rounds="${BENCH_ROUNDS:-5}"
cases="${BENCH_CASES:-seq inflight stream-paced stream-oneshot mem startup cs}"
mkdir -p "$out"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

need_root() {
    if [ "$(id -u)" = 0 ]; then echo ""; elif command -v sudo >/dev/null 2>&1; then echo sudo; else
        die "$1 is missing; run as root or install it"; fi
}
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "missing $*, and apt-get is not available: install them"
    local s; s="$(need_root "$*")"
    say "installing $*"
    $s apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $s apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---------------------------------------------------------------- tools
command -v cc >/dev/null 2>&1 || apt_install gcc libc6-dev
pkg-config --exists libcurl 2>/dev/null || apt_install libcurl4-openssl-dev pkg-config
with_cs=0
case " $cases " in *" cs "*)
    if ! command -v mcs >/dev/null 2>&1 || ! command -v mono >/dev/null 2>&1; then
        apt_install mono-mcs mono-runtime || true
    fi
    command -v mcs >/dev/null 2>&1 && command -v mono >/dev/null 2>&1 && with_cs=1 ;;
esac

# ---------------------------------------------------------------- build
lib="${BENCH_LIB:-}"
if [ -z "$lib" ]; then
    lib="$root/target/release/libaoai.so"
    if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
        say "cargo build --release --lib"
        (cd "$root" && cargo build --quiet --release --lib)
    fi
fi
[ -f "$lib" ] || die "$lib is missing (cargo build --release --lib)"
lib="$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")"
# The drivers link through $out/lib, which holds the library under its file name and under
# its SONAME (libaoai.so.0 when the build sets one), both pointing at $lib.
libdir="$out/lib"
rm -rf "$libdir" && mkdir -p "$libdir"
ln -s "$lib" "$libdir/libaoai.so"
soname="$(readelf -d "$lib" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ -n "$soname" ] && [ "$soname" != libaoai.so ] && ln -s "$lib" "$libdir/$soname"
CFLAGS=(-O2 -g -std=gnu11 -Wall -Wextra)
say "building the server and drivers in $out"
cc "${CFLAGS[@]}" -o "$out/server" "$here/server.c"
cc "${CFLAGS[@]}" -o "$out/curl_driver" "$here/curl_driver.c" $(pkg-config --cflags --libs libcurl)
cc "${CFLAGS[@]}" -I"$root/include" -o "$out/aoai_driver" "$here/aoai_driver.c" \
    -L"$libdir" -Wl,-rpath,"$libdir" -laoai -lpthread
cc "${CFLAGS[@]}" -o "$out/report" "$here/report.c"
cs_impl=""
if [ "$with_cs" = 1 ]; then
    rm -f "$out/AoaiBench.exe"
    if ls "$root"/bindings/csharp/unity/com.aoai.client/Runtime/*.cs >/dev/null 2>&1 &&
        mcs -langversion:7.2 -nologo -unsafe -nowarn:219 -out:"$out/AoaiBench.exe" "$here/AoaiBench.cs" \
            "$root"/bindings/csharp/unity/com.aoai.client/Runtime/*.cs >"$out/mcs.log" 2>&1; then
        cs_impl="the C# binding (public API) + raw P/Invoke"
    elif mcs -nologo -unsafe -nowarn:219 -define:AOAI_BENCH_PINVOKE -out:"$out/AoaiBench.exe" \
        "$here/AoaiBench.cs" >>"$out/mcs.log" 2>&1; then
        cs_impl="minimal P/Invoke only (the binding did not compile: $out/mcs.log)"
    else
        cs_impl=""
        say "C# driver did not compile (see $out/mcs.log): skipping the C# case"
    fi
fi

[ "${BENCH_BUILD_ONLY:-0}" = 1 ] && exit 0

# ---------------------------------------------------------------- server
rm -f "$out/port"
"$out/server" --port-file "$out/port" >"$out/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$out/port" ] && break; sleep 0.05; done
[ -s "$out/port" ] || die "the bench server did not start (see $out/server.log)"
port="$(cat "$out/port")"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$out/results-$stamp.txt"
: >"$results"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

run() { # impl-command... ; appends RESULT lines, aborts on failure
    local o
    if ! o="$("$@" 2>&1)"; then
        printf '%s\n' "$o" >&2
        die "FAILED: $* (a wrong answer or a broken run aborts the bench)"
    fi
    printf '%s\n' "$o" | grep '^RESULT ' >>"$results" || die "no RESULT from: $*"
}

size_mib="$(awk -v b="$(stat -c %s "$lib")" 'BEGIN { printf "%.2f", b / 1048576 }')"
echo "RESULT case=size impl=aoai round=0 value=$size_mib unit=MiB srv=0" >>"$results"
stripped="yes"; if command -v nm >/dev/null && nm "$lib" 2>/dev/null | grep -q ' T '; then stripped="no"; fi
exports="$(nm -D --defined-only "$lib" 2>/dev/null | awk '$2 ~ /^[TDBR]$/' | grep -vc ' aoai_' || true)"

say "server on 127.0.0.1:$port; $rounds rounds; cases: $cases"
for r in $(seq 1 "$rounds"); do
    say "round $r/$rounds (load $(cut -d' ' -f1-3 /proc/loadavg))"
    for c in $cases; do
        case "$c" in
        cs)
            [ -n "$cs_impl" ] || continue
            run "$out/aoai_driver" seq "$port" "$r"   # the C figure of the same round
            run env LD_LIBRARY_PATH="$libdir" mono "$out/AoaiBench.exe" seq "$port" "$r" ;;
        stream-paced | stream-oneshot)
            run "$out/curl_driver" "$c" "$port" "$r"
            run "$out/aoai_driver" "$c" "$port" "$r"
            run "$out/aoai_driver" "$c-op" "$port" "$r" ;;
        seq | inflight | mem | startup)
            run "$out/curl_driver" "$c" "$port" "$r"
            run "$out/aoai_driver" "$c" "$port" "$r" ;;
        *) die "unknown case $c" ;;
        esac
    done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "aoai bench $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $rounds rounds, scale ${BENCH_SCALE:-1}"
echo "library: $lib ($size_mib MiB, stripped: $stripped, non-aoai exports: $exports)"
echo "load average before: $load_before, after: $load_after"
[ -n "$cs_impl" ] && echo "C#: Mono $(mono --version | head -1 | sed 's/.*version \([^ ]*\).*/\1/'), $cs_impl"
echo "client CPU = getrusage(RUSAGE_SELF) user+sys of the driver process (all its threads); server CPU the same for the server, per unit"
echo
"$out/report" <"$results"
echo
echo "raw results: $results"
kill "$server_pid" 2>/dev/null || true
