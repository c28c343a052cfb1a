#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/install/run.sh (`make test-install`): aoai as its users get it.
#
#  1. `make install` into a temporary prefix (mk/install.mk), and checks what it installed:
#     the files and symlinks, the SONAME (readelf -d), the exported symbols (only aoai_*, and
#     exactly the functions include/aoai.h declares), the pkg-config and CMake files.
#  2. Versions: Cargo.toml == the header's AOAI_VERSION_MAJOR/MINOR/PATCH/STRING and the
#     composed AOAI_VERSION_NUMBER == aoai_version() / aoai_version_number() at run time.
#  3. Builds tests/install/consumer.c outside the tree, against the installed copy only:
#     with `pkg-config --cflags --libs aoai`, as C++, with CMake find_package(aoai) (aoai::aoai,
#     aoai::aoai_static), statically with pkg-config (aoai-static), and from a moved prefix;
#     runs each against the emulator (a real chat call).
#  4. tests/install/features.c: embeddings and the log callback through the C ABI; AOAI_LOG.
#  5. The C samples of docs/ (tests/install/doc_samples, checked not stale) compile with
#     cc -std=c99 -Wall -Wextra -Werror -pedantic.
#  6. `make uninstall` leaves the prefix empty (and removed, as install created it); a staged
#     DESTDIR install; a prefix shared with other files keeps them.
# Prints `N passed, M failed`; exit status 0 only when nothing failed.
#
# Environment: AOAI_CARGO_BUILD=0 skips `cargo build` of the emulator; AOAI_KEEP_TMP=1 keeps
# the temporary directory; CC, CXX, CMAKE.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
CC=${CC:-cc}
CXX=${CXX:-c++}
CMAKE=${CMAKE:-cmake}
MAKE_INSTALL=(make --no-print-directory -f "$ROOT/mk/install.mk")
STRICT=(-std=c99 -Wall -Wextra -Werror -pedantic)
# The key the emulator accepts: a distinctive fake secret that no output may contain.
SECRET=sk-aoai-install-test-SECRET-7f3a9c

passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
check() { # check "description" command...: passes when the command succeeds
    local what=$1
    shift
    if "$@" >"$TMP/check.out" 2>&1; then pass "$what"; else
        fail "$what"
        sed 's/^/     | /' "$TMP/check.out" | tail -n 40
    fi
}
note() { printf '\n== %s\n' "$*"; }

TMP=$(mktemp -d /tmp/aoai-install-test.XXXXXX)
EMU_PID=
cleanup() {
    if [ -n "$EMU_PID" ]; then kill "$EMU_PID" 2>/dev/null; wait "$EMU_PID" 2>/dev/null; fi
    if [ "${AOAI_KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# ---- tools -------------------------------------------------------------------------------
need_apt=()
command -v "$CMAKE" >/dev/null || need_apt+=(cmake)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v readelf >/dev/null || need_apt+=(binutils)
if [ ${#need_apt[@]} -gt 0 ]; then
    note "installing ${need_apt[*]} (apt-get)"
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null ||
        { echo "cannot install ${need_apt[*]}" >&2; exit 1; }
fi

VERSION=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
IFS=. read -r V_MAJOR V_MINOR V_PATCH <<<"$VERSION"
SONAME=libaoai.so.$V_MAJOR
echo "aoai $VERSION (Cargo.toml), SONAME $SONAME, temporary directory $TMP"

# ---- 1. install ------------------------------------------------------------------------------
note "make install PREFIX=$TMP/prefix"
if [ "${AOAI_CARGO_BUILD:-1}" != 0 ]; then
    cargo build --quiet --bin aoai-emulator || { echo "cargo build failed" >&2; exit 1; }
fi
PREFIX=$TMP/prefix
if ! "${MAKE_INSTALL[@]}" install PREFIX="$PREFIX" >"$TMP/install.log" 2>&1; then
    tail -n 40 "$TMP/install.log"
    fail "make install"
    echo "$passed passed, $failed failed"
    exit 1
fi
pass "make install"
L=$PREFIX/lib
REAL=$L/libaoai.so.$VERSION

files_ok() {
    local f
    for f in "$REAL" "$L/libaoai.a" "$PREFIX/include/aoai.h" "$L/pkgconfig/aoai.pc" \
        "$L/pkgconfig/aoai-static.pc" "$L/cmake/aoai/aoaiConfig.cmake" \
        "$L/cmake/aoai/aoaiConfigVersion.cmake"; do
        [ -f "$f" ] && [ ! -L "$f" ] || { echo "missing: $f"; return 1; }
    done
    [ "$(readlink "$L/$SONAME")" = "libaoai.so.$VERSION" ] || { echo "$SONAME -> $(readlink "$L/$SONAME")"; return 1; }
    [ "$(readlink "$L/libaoai.so")" = "$SONAME" ] || { echo "libaoai.so -> $(readlink "$L/libaoai.so")"; return 1; }
    cmp "$PREFIX/include/aoai.h" include/aoai.h
    if [ -f include/aoai.hpp ]; then cmp "$PREFIX/include/aoai.hpp" include/aoai.hpp; fi
}
check "installed files and symlinks (libaoai.so.$VERSION <- $SONAME <- libaoai.so)" files_ok

soname_ok() {
    readelf -d "$REAL" | grep SONAME
    [ "$(readelf -d "$REAL" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')" = "$SONAME" ]
}
check "readelf -d: SONAME is $SONAME" soname_ok

nm -D --defined-only "$REAL" | awk '{ print $NF }' | sort -u >"$TMP/exported.txt"
# The functions the header declares: declarations start in column 0 (comments do not).
grep -E '^[A-Za-z].*[ *]aoai_[a-z0-9_]+\(' include/aoai.h |
    sed -E 's/.*[ *](aoai_[a-z0-9_]+)\(.*/\1/' | sort -u >"$TMP/declared.txt"
only_aoai() {
    echo "$(wc -l <"$TMP/exported.txt") exported symbols"
    ! grep -v '^aoai_' "$TMP/exported.txt"
}
check "nm -D --defined-only: only aoai_* symbols are exported" only_aoai
check "every function declared in aoai.h is exported, and nothing else" \
    diff "$TMP/declared.txt" "$TMP/exported.txt"
static_ok() { # the archive defines the same aoai_* functions
    # readelf, not nm: binutils 2.40's nm reports "no symbols" for the object in the archive of
    # the LTO release build, though the linker (the static consumers below) and readelf read it.
    readelf -sW "$L/libaoai.a" 2>/dev/null | awk '$5 == "GLOBAL" && $7 != "UND" && $8 ~ /^aoai_/ { print $8 }' | sort -u >"$TMP/static.txt"
    diff "$TMP/declared.txt" "$TMP/static.txt"
}
check "libaoai.a defines every declared function" static_ok

export PKG_CONFIG_PATH=$L/pkgconfig
pc_ok() {
    [ "$(pkg-config --modversion aoai)" = "$VERSION" ] || { pkg-config --modversion aoai; return 1; }
    [ "$(pkg-config --variable=libdir aoai)" = "$L" ] || return 1
    pkg-config --cflags --libs aoai
    pkg-config --libs aoai | grep -q -- '-laoai' || return 1
    pkg-config --static --libs aoai
    for lib in -lpthread -ldl -lm -lgcc_s; do pkg-config --static --libs aoai | grep -q -- "$lib" || return 1; done
    pkg-config --libs aoai-static
    pkg-config --libs aoai-static | grep -q -- "$L/libaoai.a" || return 1
    pkg-config --validate aoai && pkg-config --validate aoai-static
}
check "pkg-config: version $VERSION, -laoai, --static adds the native libs, aoai-static" pc_ok

# ---- 2. versions -----------------------------------------------------------------------------
note "versions: Cargo.toml, header, library"
header_version_ok() {
    local h=$PREFIX/include/aoai.h
    grep -q "^#define AOAI_VERSION_MAJOR $V_MAJOR\$" "$h" &&
        grep -q "^#define AOAI_VERSION_MINOR $V_MINOR\$" "$h" &&
        grep -q "^#define AOAI_VERSION_PATCH $V_PATCH\$" "$h" &&
        grep -q "^#define AOAI_VERSION_STRING \"$VERSION\"\$" "$h"
}
check "header AOAI_VERSION_MAJOR/MINOR/PATCH/STRING == Cargo.toml $VERSION" header_version_ok
composed_ok() { # the composed macro, evaluated by the compiler (rustls-ffi got it wrong once)
    local want=$(((V_MAJOR << 16) | (V_MINOR << 8) | V_PATCH))
    printf '#include <aoai.h>\n#include <stdio.h>\nint main(void) { printf("%%lu\\n", (unsigned long)AOAI_VERSION_NUMBER); return 0; }\n' >"$TMP/vnum.c"
    "$CC" "${STRICT[@]}" -I"$PREFIX/include" "$TMP/vnum.c" -o "$TMP/vnum" || return 1
    echo "AOAI_VERSION_NUMBER = $("$TMP/vnum"), want $want"
    [ "$("$TMP/vnum")" = "$want" ]
}
check "AOAI_VERSION_NUMBER == (MAJOR << 16) | (MINOR << 8) | PATCH from Cargo.toml" composed_ok
declares_constants() { # AOAI_EVENT_* / AOAI_OP_* are documented and used by every streaming program
    local c missing=0
    for c in AOAI_EVENT_TEXT_DELTA AOAI_EVENT_TOOL_CALL_DELTA AOAI_EVENT_FINISH AOAI_EVENT_USAGE \
        AOAI_EVENT_CONTENT_FILTER AOAI_EVENT_REFUSAL_DELTA AOAI_OP_PENDING AOAI_OP_DONE AOAI_OP_FAILED \
        AOAI_OP_CANCELLED; do
        grep -q "^#define $c " include/aoai.h || { echo "include/aoai.h does not define $c"; missing=1; }
    done
    return $missing
}
check "the header defines the AOAI_EVENT_* and AOAI_OP_* constants it documents" declares_constants

# ---- emulator --------------------------------------------------------------------------------
note "emulator"
target/debug/aoai-emulator --port 0 --quiet --api-key "$SECRET" >"$TMP/emu.out" 2>"$TMP/emu.err" &
EMU_PID=$!
URL=
for _ in $(seq 100); do
    line=$(head -n 1 "$TMP/emu.out" 2>/dev/null || true)
    case $line in *"listening on http://"*) URL=${line##*listening on }; break ;; esac
    sleep 0.1
done
if [ -z "$URL" ]; then
    fail "emulator start"
    cat "$TMP/emu.err"
    echo "$passed passed, $failed failed"
    exit 1
fi
pass "emulator listening on $URL"
export AZURE_OPENAI_ENDPOINT=$URL AZURE_OPENAI_API_KEY=$SECRET AZURE_OPENAI_DEPLOYMENT_NAME=gpt-4o
unset AZURE_OPENAI_AD_TOKEN OPENAI_API_TYPE OPENAI_API_VERSION OPENAI_BASE_URL OPENAI_API_KEY AOAI_LOG

# Runs a consumer build and checks its output: exit 0, the library version it reports.
run_consumer() { # $1 program
    local out
    out=$("$1" 2>&1)
    local rc=$?
    echo "$out"
    [ $rc = 0 ] || return 1
    grep -qx "version $VERSION" <<<"$out" || { echo "runtime version is not $VERSION"; return 1; }
    ! grep -q "$SECRET" <<<"$out"
}
needs() { # $1 binary, $2 "yes"/"no": whether it must have a NEEDED entry for libaoai
    local n
    n=$(readelf -d "$1" | grep NEEDED | grep -c libaoai)
    readelf -d "$1" | grep NEEDED
    if [ "$2" = yes ]; then readelf -d "$1" | grep -q "NEEDED.*\[$SONAME\]"; else [ "$n" = 0 ]; fi
}

# ---- 3. consumers ----------------------------------------------------------------------------
note "consumer with pkg-config"
B=$TMP/build
mkdir -p "$B"
cp tests/install/consumer.c tests/install/consumer.cpp tests/install/features.c "$B/"
RPATH=-Wl,-rpath,$(pkg-config --variable=libdir aoai)
# shellcheck disable=SC2046 # word splitting of pkg-config output is intended
check "cc \$(pkg-config --cflags --libs aoai)" \
    "$CC" "${STRICT[@]}" "$B/consumer.c" $(pkg-config --cflags --libs aoai) "$RPATH" -o "$B/consumer-pc"
check "consumer-pc links $SONAME (not libaoai.so)" needs "$B/consumer-pc" yes
check "consumer-pc runs: versions agree, chat through the emulator" run_consumer "$B/consumer-pc"
# shellcheck disable=SC2046
check "c++ -std=c++11 \$(pkg-config --cflags --libs aoai) (the header from C++)" \
    "$CXX" -std=c++11 -Wall -Wextra -Werror -pedantic "$B/consumer.cpp" $(pkg-config --cflags --libs aoai) "$RPATH" -o "$B/consumer-cxx"
check "consumer-cxx runs" run_consumer "$B/consumer-cxx"

note "consumer linked statically"
# shellcheck disable=SC2046
check "cc \$(pkg-config --cflags --libs aoai-static)" \
    "$CC" "${STRICT[@]}" "$B/consumer.c" $(pkg-config --cflags --libs aoai-static) -o "$B/consumer-static-pc"
check "consumer-static-pc does not need libaoai.so" needs "$B/consumer-static-pc" no
check "consumer-static-pc runs" run_consumer "$B/consumer-static-pc"

note "consumer with CMake find_package(aoai)"
cmake_build() { # $1 prefix, $2 build dir
    "$CMAKE" -S tests/install/cmake-consumer -B "$2" -DCMAKE_PREFIX_PATH="$1" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >"$2.log" 2>&1 &&
        "$CMAKE" --build "$2" >>"$2.log" 2>&1 || { tail -n 30 "$2.log"; return 1; }
    grep 'aoai ' "$2.log" | head -n 1
}
check "cmake: find_package(aoai 0.1), aoai::aoai, aoai::aoai_static, version file" cmake_build "$PREFIX" "$B/cmake"
check "CMake consumer_shared links $SONAME" needs "$B/cmake/consumer_shared" yes
check "CMake consumer_shared runs" run_consumer "$B/cmake/consumer_shared"
check "CMake consumer_static does not need libaoai.so" needs "$B/cmake/consumer_static" no
check "CMake consumer_static runs" run_consumer "$B/cmake/consumer_static"
check "CMake consumer_cxx runs" run_consumer "$B/cmake/consumer_cxx"
moved_ok() { # the CMake package is relocatable: move the prefix, configure again
    mv "$PREFIX" "$TMP/moved" || return 1
    local rc=0
    cmake_build "$TMP/moved" "$B/cmake-moved" && grep -q "$TMP/moved/include" "$B/cmake-moved.log" &&
        run_consumer "$B/cmake-moved/consumer_static" || rc=1
    mv "$TMP/moved" "$PREFIX" || return 1
    return $rc
}
check "CMake package of a moved prefix" moved_ok

# ---- 4. embeddings and logging -------------------------------------------------------------
note "embeddings and logging through the C ABI"
# shellcheck disable=SC2046
check "cc features.c \$(pkg-config --cflags --libs aoai)" \
    "$CC" "${STRICT[@]}" -D_POSIX_C_SOURCE=200809L "$B/features.c" $(pkg-config --cflags --libs aoai) \
    "$RPATH" -lm -pthread -o "$B/features"
features_ok() {
    "$B/features" >"$TMP/features.out" 2>&1
    local rc=$?
    cat "$TMP/features.out"
    [ $rc = 0 ] && ! grep -q '^not ok' "$TMP/features.out"
}
check "embeddings (Azure, OpenAI, base64, non-blocking, errors) and the log callback" features_ok
log_env_ok() {
    AOAI_LOG=debug "$B/features" --log-env >"$TMP/log.out" 2>"$TMP/log.err" || { cat "$TMP/log.out" "$TMP/log.err"; return 1; }
    cat "$TMP/log.err"
    grep -q '^aoai\[info\]: client created' "$TMP/log.err" &&
        grep -q '^aoai\[info\]: attempt 1 failed' "$TMP/log.err" &&
        grep -q '^aoai\[debug\]: call failed' "$TMP/log.err" &&
        ! grep -q "$SECRET" "$TMP/log.err"
}
check "AOAI_LOG=debug: info and debug lines on stderr, without the key" log_env_ok
log_env_level_ok() {
    AOAI_LOG=warn "$B/features" --log-env >"$TMP/log.out" 2>"$TMP/log.err" || return 1
    cat "$TMP/log.err"
    ! grep -q 'aoai\[info\]\|aoai\[debug\]' "$TMP/log.err"
}
check "AOAI_LOG=warn: no info or debug lines" log_env_level_ok
log_off_ok() {
    "$B/features" --log-env >"$TMP/log.out" 2>"$TMP/log.err" || return 1
    cat "$TMP/log.err"
    ! grep -q 'aoai\[' "$TMP/log.err"
}
check "without AOAI_LOG: the library prints nothing" log_off_ok

# ---- 5. documentation samples ----------------------------------------------------------------
note "C samples of docs/"
samples_fresh() {
    tests/install/extract-doc-samples.sh "$TMP/doc_samples" &&
        diff -r "$TMP/doc_samples" tests/install/doc_samples
}
check "tests/install/doc_samples matches docs/*.md (else run tests/install/extract-doc-samples.sh)" samples_fresh
n_samples=0
for f in tests/install/doc_samples/*.c; do
    [ -e "$f" ] || continue
    n_samples=$((n_samples + 1))
    check "compiles: $f" "$CC" "${STRICT[@]}" -fsyntax-only -Iinclude "$f"
done
[ "$n_samples" -gt 0 ] && pass "$n_samples C doc samples" || fail "no C doc samples found"
# The C# samples, against the binding's sources (Mono's mcs, as bindings/csharp/test.sh uses it).
cs_samples=(tests/install/doc_samples/*.cs)
if [ ! -e "${cs_samples[0]}" ]; then
    :
elif command -v mcs >/dev/null && [ -d bindings/csharp/unity/com.aoai.client/Runtime ]; then
    check "C# doc samples compile against the C# binding (mcs)" \
        mcs -langversion:7.2 -nologo -warnaserror+ -nowarn:1591 -unsafe -target:library \
        -out:"$TMP/doc_samples.dll" bindings/csharp/unity/com.aoai.client/Runtime/*.cs "${cs_samples[@]}"
else
    echo "skip C# doc samples: mcs not installed (bindings/csharp/test.sh installs Mono)"
fi

# ---- 6. uninstall ----------------------------------------------------------------------------
note "make uninstall"
check "make uninstall PREFIX=$PREFIX" "${MAKE_INSTALL[@]}" uninstall PREFIX="$PREFIX"
prefix_empty() {
    if [ -d "$PREFIX" ]; then find "$PREFIX" -mindepth 1; [ -z "$(find "$PREFIX" -mindepth 1)" ]; fi
}
check "the prefix is empty (install created it, uninstall removed it)" prefix_empty
check "the prefix directory itself is gone" test ! -e "$PREFIX"

staged_ok() { # packaging: DESTDIR staging with PREFIX=/usr; paths in the files say /usr
    local S=$TMP/stage
    "${MAKE_INSTALL[@]}" install DESTDIR="$S" PREFIX=/usr AOAI_NO_BUILD=1 >/dev/null || return 1
    grep -qx 'prefix=/usr' "$S/usr/lib/pkgconfig/aoai.pc" || return 1
    grep -qx "libdir=\${prefix}/lib" "$S/usr/lib/pkgconfig/aoai.pc" || return 1
    [ -f "$S/usr/lib/cmake/aoai/aoaiConfig.cmake" ] && [ -L "$S/usr/lib/$SONAME" ] || return 1
    "${MAKE_INSTALL[@]}" uninstall DESTDIR="$S" PREFIX=/usr >/dev/null || return 1
    find "$S"
    [ -z "$(find "$S" -mindepth 1)" ]
}
check "DESTDIR=stage PREFIX=/usr install, then uninstall leaves the stage empty" staged_ok

shared_ok() { # a prefix with other software: uninstall removes only aoai's files and dirs
    local P=$TMP/shared
    mkdir -p "$P/lib/pkgconfig" "$P/share"
    echo other >"$P/lib/pkgconfig/other.pc"
    "${MAKE_INSTALL[@]}" install PREFIX="$P" AOAI_NO_BUILD=1 >/dev/null || return 1
    "${MAKE_INSTALL[@]}" install PREFIX="$P" AOAI_NO_BUILD=1 >/dev/null || return 1 # twice
    "${MAKE_INSTALL[@]}" uninstall PREFIX="$P" >/dev/null || return 1
    (cd "$P" && find . | sort) >"$TMP/left.txt"
    cat "$TMP/left.txt"
    printf '.\n./lib\n./lib/pkgconfig\n./lib/pkgconfig/other.pc\n./share\n' | diff - "$TMP/left.txt"
}
check "a shared prefix keeps its other files; installing twice then uninstalling is clean" shared_ok

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
