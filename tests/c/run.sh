#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/c/run.sh: builds and runs every C test (tests/c/test_*.c) and the C examples
# (examples/c: aoai-cli, game-loop) against a freshly started emulator, each program under
# valgrind (any memory error or leak fails it), and prints one final line summing them all:
# `N passed, M failed`.
#
#   tests/c/run.sh                 # everything
#   tests/c/run.sh test_ops cli    # only these (test file names without .c; `cli`, `game-loop`)
#
# Environment:
#   AOAI_CARGO_BUILD=0   do not run `cargo build` first (use the existing target/debug build)
#   AOAI_VALGRIND=0      run without valgrind (quicker while debugging; `make test` keeps it on)
#   AOAI_TEST_TIMEOUT=N  seconds one program may run before it is killed (default 900)
#   CC, CXX              compilers (default cc, c++)
#
# Exit status: 0 only when every check passed and valgrind found nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

CC=${CC:-cc}
CXX=${CXX:-c++}
LIBDIR=$ROOT/target/debug
OUT=$ROOT/build/tests/c
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -g -O1 -I"$ROOT/include")
# Programs link through $OUT/lib (see below), which holds libaoai.so under its file name and
# under its SONAME, pointing at target/debug.
LINKDIR=$OUT/lib
LDFLAGS=(-L"$LINKDIR" -laoai -Wl,-rpath,"$LINKDIR" -lpthread)
VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect,possible
    --show-leak-kinds=definite,indirect,possible
    --suppressions="$ROOT/tests/c/valgrind.supp")

total_passed=0
total_failed=0
summary=()

note() { printf '\n== %s\n' "$*"; }

# Adds one program's result to the totals. $1 name, $2 passed, $3 failed.
record() {
    total_passed=$((total_passed + $2))
    total_failed=$((total_failed + $3))
    summary+=("$(printf '%-22s %s passed, %s failed' "$1" "$2" "$3")")
}

want() { # Is $1 selected on the command line (or is nothing selected)?
    [ ${#SELECTED[@]} -eq 0 ] && return 0
    local s
    for s in "${SELECTED[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}
SELECTED=("$@")

# ---- build ---------------------------------------------------------------------------
if [ "${AOAI_CARGO_BUILD:-1}" != 0 ]; then
    note "cargo build (debug library and emulator)"
    cargo build --lib --bin aoai-emulator
fi
for f in "$LIBDIR/libaoai.so" "$LIBDIR/aoai-emulator"; do
    [ -e "$f" ] || { echo "missing $f: run cargo build" >&2; exit 1; }
done
if [ "${AOAI_VALGRIND:-1}" = 0 ]; then
    VALGRIND=()
elif ! command -v valgrind >/dev/null; then
    echo "valgrind is not installed: run 'make deps' (or set AOAI_VALGRIND=0 to skip it)" >&2
    exit 1
fi

mkdir -p "$OUT" "$LINKDIR"
# The library carries a SONAME (libaoai.so.MAJOR, from build.rs) that cargo does not create in
# target/debug; a program linked with -laoai asks the loader for the SONAME, so provide both.
ln -sfn "$LIBDIR/libaoai.so" "$LINKDIR/libaoai.so"
soname=$(objdump -p "$LIBDIR/libaoai.so" | awk '$1 == "SONAME" { print $2 }')
if [ -n "$soname" ] && [ "$soname" != libaoai.so ]; then ln -sfn "$LIBDIR/libaoai.so" "$LINKDIR/$soname"; fi
note "compile (C99 and C++11 header checks, tests, examples)"
# The public header alone, as strict C99 and as C++11.
# (through a one-line file: compiling the header itself as the main file warns on #pragma once)
printf '#include "aoai.h"\n#include "aoai.h"\nint aoai_header_check;\n' >"$OUT/header_check.c"
"$CC" "${CFLAGS[@]}" -x c -fsyntax-only "$OUT/header_check.c"
"$CXX" -std=c++11 -Wall -Wextra -Werror -pedantic -I"$ROOT/include" -x c++ -fsyntax-only "$OUT/header_check.c"
TESTS=()
for src in tests/c/test_*.c; do
    name=$(basename "$src" .c)
    want "$name" || continue
    "$CC" "${CFLAGS[@]}" -o "$OUT/$name" "$src" "${LDFLAGS[@]}"
    TESTS+=("$name")
done
if want cli || want game-loop; then
    "$CC" "${CFLAGS[@]}" -o "$OUT/aoai-cli" examples/c/aoai_cli.c "${LDFLAGS[@]}"
    "$CC" "${CFLAGS[@]}" -o "$OUT/game-loop" examples/c/game_loop.c "${LDFLAGS[@]}"
fi

# ---- emulator ------------------------------------------------------------------------
TMP=$(mktemp -d)
. tests/emulator.sh
cleanup() {
    stop_emulator
    rm -rf "$TMP"
}
trap cleanup EXIT
start_emulator "$LIBDIR/aoai-emulator" "$TMP" || exit 1
export AOAI_TEST_EMULATOR=$URL
echo "emulator: $URL (pid $EMU_PID)"

# Runs "$@" under valgrind, with the environment changes in RUN_ENV (arguments of env(1));
# its output goes to $TMP/out and $TMP/err. Sets RC and VG (1 when valgrind reported errors
# or leaks).
RUN_ENV=()
run_vg() {
    set +e
    timeout --kill-after=10 "${AOAI_TEST_TIMEOUT:-900}" \
        env "${RUN_ENV[@]}" "${VALGRIND[@]}" "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    set -e
    VG=0
    if [ ${#VALGRIND[@]} -gt 0 ] && { [ "$RC" -eq 99 ] || grep -q '^==[0-9]*==' "$TMP/err"; }; then
        VG=1
    fi
}

# ---- C tests -------------------------------------------------------------------------
for name in "${TESTS[@]}"; do
    note "$name"
    run_vg "$OUT/$name"
    cat "$TMP/out"
    cat "$TMP/err" >&2
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$TMP/out" | tail -n 1 || true)
    if [ -z "$line" ]; then
        if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then echo "FAIL $name: timed out" >&2; fi
        echo "FAIL $name: no summary line (exit status $RC)" >&2
        record "$name" 0 1
        continue
    fi
    p=${line%% passed*}
    f=${line#*passed, }
    f=${f%% failed}
    if [ "$VG" -ne 0 ]; then
        echo "FAIL $name: valgrind reported errors or leaks (see above)" >&2
        f=$((f + 1))
    elif [ "$RC" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: exit status $RC" >&2
        f=1
    fi
    record "$name" "$p" "$f"
done

# ---- examples ------------------------------------------------------------------------
# Checks on the example programs, counted like test checks.
ex_passed=0
ex_failed=0
pass() { ex_passed=$((ex_passed + 1)); }
fail() { ex_failed=$((ex_failed + 1)); echo "FAIL $*" >&2; }
expect() { # expect DESCRIPTION COMMAND...: a shell condition
    local what=$1
    shift
    if "$@"; then pass; else fail "$what"; fi
}
vg_clean() { # the last run_vg was clean
    if [ "$VG" -ne 0 ]; then
        fail "valgrind: $1"
        cat "$TMP/err" >&2
    else
        pass
    fi
}

# The examples get the emulator through the environment, as a user would configure them
# (and nothing of the caller's own configuration).
NO_CONFIG=(-u AZURE_OPENAI_ENDPOINT -u AZURE_OPENAI_API_KEY -u AZURE_OPENAI_DEPLOYMENT_NAME
    -u AZURE_OPENAI_AD_TOKEN -u OPENAI_API_KEY -u OPENAI_BASE_URL -u OPENAI_API_BASE
    -u OPENAI_API_TYPE -u OPENAI_API_VERSION -u AZURE_OPENAI_API_VERSION)
EMU_ENV=("${NO_CONFIG[@]}" AZURE_OPENAI_ENDPOINT="$URL" AZURE_OPENAI_API_KEY=emulator-key
    AZURE_OPENAI_DEPLOYMENT_NAME=gpt-4o)
one_line_error() { # stderr is exactly one line in the documented shape
    [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
        grep -Eq "^aoai-cli: error: .+ \(status [0-9]+\), http=[0-9]+, code=[^:]+: .+$" "$TMP/err"
}

if want cli; then
    note "examples: aoai-cli"
    CLI=$OUT/aoai-cli
    RUN_ENV=("${EMU_ENV[@]}")

    run_vg "$CLI" "Hello from C"
    expect "cli chat: exit 0" [ "$RC" -eq 0 ]
    expect "cli chat: stdout" [ "$(cat "$TMP/out")" = "Hello from the aoai emulator! You said: Hello from C" ]
    expect "cli chat: nothing on stderr" [ ! -s "$TMP/err" ]
    vg_clean "cli chat"

    run_vg "$CLI" --system "Be brief." --max-tokens 3 --temperature 0.5 --usage "one two three four five"
    expect "cli max-tokens: exit 0" [ "$RC" -eq 0 ]
    expect "cli max-tokens: truncated text" [ "$(cat "$TMP/out")" = "Hello from the" ]
    # prompt: "Be brief." (2 words) + the user message (5 words); completion: 3 words.
    expect "cli --usage line" [ "$(cat "$TMP/err")" = "usage: prompt=7 completion=3 total=10" ]
    vg_clean "cli --usage"

    run_vg "$CLI" --completion --deployment gpt-35-turbo-instruct "Once upon a time"
    expect "cli --completion: exit 0" [ "$RC" -eq 0 ]
    expect "cli --completion: text" [ "$(cat "$TMP/out")" = " This is a completion from the aoai emulator for: Once upon a time" ]
    vg_clean "cli --completion"

    run_vg "$CLI" --json "json please"
    expect "cli --json: exit 0" [ "$RC" -eq 0 ]
    expect "cli --json: raw body" grep -q '"object":"chat.completion"' "$TMP/out"
    expect "cli --json: has filter results" grep -q '"prompt_filter_results"' "$TMP/out"
    vg_clean "cli --json"

    run_vg "$CLI" --stream "[[emu:chunk-delay-ms=5]] stream me"
    expect "cli --stream: exit 0" [ "$RC" -eq 0 ]
    expect "cli --stream: joined deltas" [ "$(cat "$TMP/out")" = "Hello from the aoai emulator! You said: stream me" ]
    vg_clean "cli --stream"

    run_vg "$CLI" --stream --usage "count these words"
    expect "cli --stream --usage: exit 0" [ "$RC" -eq 0 ]
    expect "cli --stream --usage: text" [ "$(cat "$TMP/out")" = "Hello from the aoai emulator! You said: count these words" ]
    expect "cli --stream --usage: line" [ "$(cat "$TMP/err")" = "usage: prompt=3 completion=10 total=13" ]
    vg_clean "cli --stream --usage"

    run_vg "$CLI" --stream --completion --deployment gpt-35-turbo-instruct --max-tokens 4 "streamed completion"
    expect "cli --stream --completion: exit 0" [ "$RC" -eq 0 ]
    expect "cli --stream --completion: text" [ "$(cat "$TMP/out")" = " This is a completion" ]
    vg_clean "cli --stream --completion"

    # Failures: exactly one stderr line with status name, number, HTTP status, code, message.
    RUN_ENV=("${EMU_ENV[@]}" AZURE_OPENAI_API_KEY=wrong-key)
    run_vg "$CLI" hi
    RUN_ENV=("${EMU_ENV[@]}")
    expect "cli bad key: exit 1" [ "$RC" -eq 1 ]
    expect "cli bad key: one error line" one_line_error
    expect "cli bad key: details" grep -q "(status 202), http=401, code=401: " "$TMP/err"
    expect "cli bad key: no stdout" [ ! -s "$TMP/out" ]
    vg_clean "cli bad key"

    run_vg "$CLI" --deployment no-such-deployment hi
    expect "cli unknown deployment: exit 1" [ "$RC" -eq 1 ]
    expect "cli unknown deployment: one error line" one_line_error
    expect "cli unknown deployment: details" grep -q "(status 204), http=404, code=DeploymentNotFound: " "$TMP/err"
    vg_clean "cli unknown deployment"

    run_vg "$CLI" --stream "[[emu:reset-after=4]] broken stream"
    expect "cli broken stream: exit 1" [ "$RC" -eq 1 ]
    expect "cli broken stream: one error line" one_line_error
    vg_clean "cli broken stream"

    RUN_ENV=("${NO_CONFIG[@]}")
    run_vg "$CLI" hi
    RUN_ENV=("${EMU_ENV[@]}")
    expect "cli no configuration: exit 1" [ "$RC" -eq 1 ]
    expect "cli no configuration: one error line" one_line_error
    expect "cli no configuration: names the variable" grep -q "AZURE_OPENAI_ENDPOINT" "$TMP/err"
    vg_clean "cli no configuration"

    # Usage errors: exit 2, one line naming the flag.
    for args in "--max-tokens abc hi" "--max-tokens 0 hi" "--temperature 9 hi" "--temperature x hi"; do
        # shellcheck disable=SC2086
        run_vg "$CLI" $args
        flag=${args%% *}
        expect "cli '$args': exit 2" [ "$RC" -eq 2 ]
        expect "cli '$args': one line naming $flag" \
            sh -c '[ "$(wc -l <"$1")" -eq 1 ] && grep -q -- "^aoai-cli: error: .*$2" "$1"' _ "$TMP/err" "$flag"
        vg_clean "cli $args"
    done
    run_vg "$CLI" --bogus hi
    expect "cli unknown flag: exit 2" [ "$RC" -eq 2 ]
    expect "cli unknown flag: named" grep -q -- "--bogus" "$TMP/err"
    run_vg "$CLI"
    expect "cli no prompt: exit 2" [ "$RC" -eq 2 ]
    run_vg "$CLI" --help
    expect "cli --help: exit 0" [ "$RC" -eq 0 ]
    expect "cli --help: usage on stdout" grep -q "^usage: aoai-cli" "$TMP/out"
fi

if want game-loop; then
    note "examples: game-loop"
    RUN_ENV=("${EMU_ENV[@]}")
    run_vg "$OUT/game-loop"
    cat "$TMP/out"
    expect "game-loop: exit 0" [ "$RC" -eq 0 ]
    expect "game-loop: stream 0 done" grep -Eq "^stream 0: [1-9][0-9]* bytes, DONE" "$TMP/out"
    expect "game-loop: stream 1 cancelled" grep -Eq "^stream 1: [1-9][0-9]* bytes, CANCELLED" "$TMP/out"
    expect "game-loop: stream 2 done" grep -Eq "^stream 2: [1-9][0-9]* bytes, DONE" "$TMP/out"
    expect "game-loop: worst frame line" grep -Eq "^worst frame: [0-9]+\.[0-9]{2} ms over [0-9]+ frames$" "$TMP/out"
    vg_clean "game-loop"
    [ -s "$TMP/err" ] && cat "$TMP/err" >&2
fi

if want cli || want game-loop; then
    echo "$ex_passed passed, $ex_failed failed"
    record "examples" "$ex_passed" "$ex_failed"
fi

# ---- summary -------------------------------------------------------------------------
note "summary"
printf '%s\n' "${summary[@]}"
if [ ${#VALGRIND[@]} -gt 0 ]; then echo "(every program ran under valgrind memcheck)"; fi
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
