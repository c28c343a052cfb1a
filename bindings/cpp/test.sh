#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bindings/cpp/test.sh: builds the library and the emulator (cargo, incremental), compiles the
# C++ wrapper's header check, tests (bindings/cpp/tests/test_cpp.cpp) and examples
# (examples/cpp) with `-std=c++17 -Wall -Wextra -Werror -pedantic`, starts the emulator, runs
# the tests and the examples under valgrind memcheck (any error or leak fails), and prints one
# final line: `N passed, M failed`.
#
#   bindings/cpp/test.sh
#
# Environment:
#   AOAI_CARGO_BUILD=0   do not run `cargo build` first (use the existing target/debug build)
#   AOAI_VALGRIND=0      run without valgrind (quicker while debugging; `make test` keeps it on)
#   CXX                  C++ compiler (default c++)
#
# Exit status: 0 only when the build succeeded, every check passed and valgrind found nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

CXX=${CXX:-c++}
LIBDIR=$ROOT/target/debug
OUT=$ROOT/build/cpp
CXXFLAGS=(-std=c++17 -Wall -Wextra -Werror -pedantic -g -O1 -I"$ROOT/include")
LDFLAGS=(-L"$LIBDIR" -laoai -Wl,-rpath,"$LIBDIR" -lpthread)
VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect,possible
    --show-leak-kinds=definite,indirect,possible)

note() { printf '\n== %s\n' "$*"; }

# ---- build ---------------------------------------------------------------------------
if [ "${AOAI_CARGO_BUILD:-1}" != 0 ]; then
    note "cargo build (debug library and emulator)"
    cargo build --lib --bin aoai-emulator
fi
for f in "$LIBDIR/libaoai.so" "$LIBDIR/aoai-emulator"; do
    [ -e "$f" ] || { echo "missing $f: run cargo build --lib --bin aoai-emulator" >&2; exit 1; }
done

if [ "${AOAI_VALGRIND:-1}" = 0 ]; then
    VALGRIND=()
elif ! command -v valgrind >/dev/null; then
    note "installing valgrind"
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends valgrind
fi

mkdir -p "$OUT"
note "compile (header check, tests, examples)"
# The header alone, twice (include guard), as strict C++17 and C++20.
printf '#include "aoai.hpp"\n#include "aoai.hpp"\nint aoai_hpp_check;\n' >"$OUT/header_check.cpp"
"$CXX" "${CXXFLAGS[@]}" -fsyntax-only "$OUT/header_check.cpp"
"$CXX" -std=c++20 -Wall -Wextra -Werror -pedantic -I"$ROOT/include" -fsyntax-only "$OUT/header_check.cpp"
"$CXX" "${CXXFLAGS[@]}" -o "$OUT/test_cpp" bindings/cpp/tests/test_cpp.cpp "${LDFLAGS[@]}"
"$CXX" "${CXXFLAGS[@]}" -o "$OUT/chat" examples/cpp/chat.cpp "${LDFLAGS[@]}"
"$CXX" "${CXXFLAGS[@]}" -o "$OUT/stream" examples/cpp/stream.cpp "${LDFLAGS[@]}"
echo "ok"

# ---- emulator ------------------------------------------------------------------------
TMP=$(mktemp -d)
. tests/emulator.sh
cleanup() {
    stop_emulator
    rm -rf "$TMP"
}
trap cleanup EXIT
start_emulator "$LIBDIR/aoai-emulator" "$TMP" || exit 1
echo "emulator: $URL (pid $EMU_PID)"

# Runs "$@" (under valgrind unless disabled) with the environment changes in RUN_ENV
# (arguments of env(1)); output in $TMP/out and $TMP/err. Sets RC, and VG=1 when valgrind
# reported errors or leaks.
RUN_ENV=()
run_vg() {
    set +e
    env "${RUN_ENV[@]}" "${VALGRIND[@]}" "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    set -e
    VG=0
    if [ ${#VALGRIND[@]} -gt 0 ] && { [ "$RC" -eq 99 ] || grep -q '^==[0-9]*==' "$TMP/err"; }; then
        VG=1
    fi
}

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL $*" >&2; }
expect() { # expect DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then pass; else fail "$what"; fi
}
vg_clean() {
    if [ "$VG" -ne 0 ]; then
        fail "valgrind: $1"
        cat "$TMP/err" >&2
    else
        pass
    fi
}

# Nothing of the caller's own configuration reaches the programs.
NO_CONFIG=(-u AZURE_OPENAI_ENDPOINT -u AZURE_OPENAI_API_KEY -u AZURE_OPENAI_DEPLOYMENT_NAME
    -u AZURE_OPENAI_AD_TOKEN -u OPENAI_API_KEY -u OPENAI_BASE_URL -u OPENAI_API_BASE
    -u OPENAI_API_TYPE -u OPENAI_API_VERSION -u AZURE_OPENAI_API_VERSION -u OPENAI_ORG_ID
    -u OPENAI_PROJECT_ID)

# ---- tests ---------------------------------------------------------------------------
note "test_cpp${VALGRIND:+ (under valgrind)}"
RUN_ENV=("${NO_CONFIG[@]}" AOAI_TEST_EMULATOR="$URL")
run_vg "$OUT/test_cpp"
cat "$TMP/out"
cat "$TMP/err" >&2
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$TMP/out" | tail -n 1 || true)
if [ -z "$line" ]; then
    fail "test_cpp: no summary line (exit status $RC)"
else
    p=${line%% passed*}
    f=${line#*passed, }
    f=${f%% failed}
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$VG" -ne 0 ]; then
        fail "test_cpp: valgrind reported errors or leaks (see above)"
    elif [ "$RC" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail "test_cpp: exit status $RC"
    fi
fi

# ---- examples ------------------------------------------------------------------------
note "examples/cpp"
ECHO="Hello from the aoai emulator! You said:"
RUN_ENV=("${NO_CONFIG[@]}" AZURE_OPENAI_ENDPOINT="$URL" AZURE_OPENAI_API_KEY=emulator-key
    AZURE_OPENAI_DEPLOYMENT_NAME=gpt-4o)

run_vg "$OUT/chat" "Hello from C++"
expect "chat: exit 0" [ "$RC" -eq 0 ]
expect "chat: answer" grep -qxF "$ECHO Hello from C++" "$TMP/out"
expect "chat: tool round trip" grep -q '^Tool result received: {"city_query":{"query":"What is the weather in Paris?"}' "$TMP/out"
expect "chat: tool call line" grep -q '^tool call call_emu_[0-9]*: get_weather(' "$TMP/err"
vg_clean "chat"

run_vg "$OUT/stream" "[[emu:chunk-delay-ms=5]] stream from C++"
expect "stream: exit 0" [ "$RC" -eq 0 ]
expect "stream: joined deltas" [ "$(cat "$TMP/out")" = "$ECHO stream from C++" ]
expect "stream: usage line" grep -qx 'usage: prompt=[0-9]* completion=[0-9]* total=[0-9]*' "$TMP/err"
vg_clean "stream"

run_vg "$OUT/stream" --max-chars 10 "[[emu:chunk-delay-ms=5]] stop early"
expect "stream --max-chars: exit 0" [ "$RC" -eq 0 ]
expect "stream --max-chars: stopped" grep -q '^\[stopped after [0-9]* bytes\]$' "$TMP/out"
vg_clean "stream --max-chars"

RUN_ENV=("${NO_CONFIG[@]}" AZURE_OPENAI_ENDPOINT="$URL" AZURE_OPENAI_API_KEY=not-the-key
    AZURE_OPENAI_DEPLOYMENT_NAME=gpt-4o)
run_vg "$OUT/chat" "hi"
expect "chat, bad key: exit 1" [ "$RC" -eq 1 ]
expect "chat, bad key: error detail" grep -q '^chat: error: .*(HTTP 401, code 401' "$TMP/err"
expect "chat, bad key: key not printed" sh -c '! grep -q "not-the-key" "$1" "$2"' _ "$TMP/out" "$TMP/err"
vg_clean "chat, bad key"

# ---- summary -------------------------------------------------------------------------
note "summary"
if [ ${#VALGRIND[@]} -gt 0 ]; then echo "(tests and examples ran under valgrind memcheck)"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
