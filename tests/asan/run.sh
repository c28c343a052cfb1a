#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/asan/run.sh: builds the C tests (tests/c/test_*.c) and the C examples (aoai-cli,
# game-loop) with AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer on) against
# target/debug/libaoai.so and runs them against a fresh emulator, the way tests/c/run.sh does
# under valgrind. Any sanitizer report fails the program. Prints one line per program and a
# final `N passed, M failed`.
#
#   tests/asan/run.sh                  # everything
#   tests/asan/run.sh test_ops cli     # only these (test names without .c; `cli`, `game-loop`)
#
# Environment: AOAI_CARGO_BUILD=0 skips `cargo build`; CC (default cc: gcc or clang).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
CC=${CC:-cc}
LIBDIR=$ROOT/target/debug
OUT=$ROOT/build/tests/asan
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -g -O1 "${SAN[@]}" -I"$ROOT/include")
LDFLAGS=("${SAN[@]}" -L"$LIBDIR" -laoai -Wl,-rpath,"$LIBDIR" -lpthread)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=97:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}
export LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=96}

SELECTED=("$@")
want() {
    [ ${#SELECTED[@]} -eq 0 ] && return 0
    local s
    for s in "${SELECTED[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}

if [ ! -d tests/c ] || ! ls tests/c/test_*.c >/dev/null 2>&1; then
    echo "tests/c has no test_*.c yet: nothing to build" >&2
    exit 1
fi
if [ "${AOAI_CARGO_BUILD:-1}" != 0 ]; then
    cargo build --lib --bin aoai-emulator
fi
echo 'int main(void){return 0;}' | "$CC" "${SAN[@]}" -x c - -o /dev/null 2>/dev/null || {
    echo "$CC cannot build with -fsanitize=address,undefined (install libasan/libubsan)" >&2
    exit 1
}

mkdir -p "$OUT"
PROGS=()
for src in tests/c/test_*.c; do
    name=$(basename "$src" .c)
    want "$name" || continue
    "$CC" "${CFLAGS[@]}" -o "$OUT/$name" "$src" "${LDFLAGS[@]}"
    PROGS+=("$name")
done
if want cli || want game-loop; then
    [ -f examples/c/aoai_cli.c ] && "$CC" "${CFLAGS[@]}" -o "$OUT/aoai-cli" examples/c/aoai_cli.c "${LDFLAGS[@]}"
    [ -f examples/c/game_loop.c ] && "$CC" "${CFLAGS[@]}" -o "$OUT/game-loop" examples/c/game_loop.c "${LDFLAGS[@]}"
fi

TMP=$(mktemp -d)
. tests/emulator.sh
cleanup() {
    stop_emulator
    rm -rf "$TMP"
}
trap cleanup EXIT
start_emulator "$LIBDIR/aoai-emulator" "$TMP" || exit 1
export AOAI_TEST_EMULATOR=$URL
NO_CONFIG=(-u AZURE_OPENAI_ENDPOINT -u AZURE_OPENAI_API_KEY -u AZURE_OPENAI_DEPLOYMENT_NAME
    -u AZURE_OPENAI_AD_TOKEN -u OPENAI_API_KEY -u OPENAI_BASE_URL -u OPENAI_API_BASE
    -u OPENAI_API_TYPE -u OPENAI_API_VERSION -u AZURE_OPENAI_API_VERSION)
EMU_ENV=("${NO_CONFIG[@]}" AZURE_OPENAI_ENDPOINT="$URL" AZURE_OPENAI_API_KEY=emulator-key
    AZURE_OPENAI_DEPLOYMENT_NAME=gpt-4o)

passed=0
failed=0
summary=()
findings=0
# run NAME EXPECTED_RC COMMAND...: one program; a sanitizer report or a wrong exit fails it.
run() {
    local name=$1 want_rc=$2
    shift 2
    set +e
    timeout --kill-after=10 "${AOAI_TEST_TIMEOUT:-600}" env "${EMU_ENV[@]}" "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    set -e
    local p=0 f=0 line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$TMP/out" | tail -n 1 || true)
    if [ -n "$line" ]; then
        p=${line%% passed*}
        f=${line#*passed, }
        f=${f%% failed}
    fi
    local san=0
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' "$TMP/err"; then
        san=1
        findings=$((findings + 1))
        echo "== sanitizer report from $name:" >&2
        cat "$TMP/err" >&2
    fi
    if [ "$san" -eq 1 ] || { [ "$rc" -ne "$want_rc" ] && [ "$f" -eq 0 ]; }; then
        [ "$san" -eq 0 ] && { echo "FAIL $name: exit status $rc (want $want_rc)" >&2; tail -n 20 "$TMP/err" >&2; }
        f=$((f + 1))
    fi
    if [ "$f" -gt 0 ] && [ "$san" -eq 0 ]; then
        echo "== $name failed checks:" >&2
        grep -h -A1 'FAIL' "$TMP/out" "$TMP/err" >&2 || tail -n 20 "$TMP/err" >&2
    fi
    [ -z "$line" ] && [ "$f" -eq 0 ] && p=1
    passed=$((passed + p))
    failed=$((failed + f))
    summary+=("$(printf '%-34s %s passed, %s failed' "$name" "$p" "$f")")
}

for name in "${PROGS[@]}"; do
    run "$name" 0 "$OUT/$name"
done
if want cli && [ -x "$OUT/aoai-cli" ]; then
    run "cli chat" 0 "$OUT/aoai-cli" "Hello from ASan"
    run "cli stream usage" 0 "$OUT/aoai-cli" --stream --usage "[[emu:chunk-delay-ms=2]] stream me"
    run "cli completion" 0 "$OUT/aoai-cli" --completion --deployment gpt-35-turbo-instruct "Once"
    run "cli json" 0 "$OUT/aoai-cli" --json "json please"
    run "cli broken stream" 1 "$OUT/aoai-cli" --stream "[[emu:reset-after=4]] broken stream"
    run "cli unknown deployment" 1 "$OUT/aoai-cli" --deployment nope hi
    run "cli usage error" 2 "$OUT/aoai-cli" --max-tokens abc hi
fi
if want game-loop && [ -x "$OUT/game-loop" ]; then
    run "game-loop" 0 "$OUT/game-loop"
fi

printf '%s\n' "${summary[@]}"
echo "(built with ${SAN[*]}; ASAN_OPTIONS=$ASAN_OPTIONS; sanitizer findings: $findings)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
