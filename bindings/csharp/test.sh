#!/usr/bin/env bash
# Builds and tests the C# binding under Mono against the aoai emulator.
#
#   bindings/csharp/test.sh [FILTER]      FILTER: run only tests whose name contains it
#
# Steps: install Mono if mcs/mono are missing (apt-get; sudo only when not root), build
# libaoai and the emulator with cargo, check that Runtime/Native.g.cs (the Unity package's
# Runtime/ holds the binding's sources) matches include/aoai.h, compile the binding (also as Unity
# iOS, which links "__Internal"), compile the Unity sample against tests/UnityStubs.cs, start
# the emulator, run the tests. The last line is "N passed, M failed"; exit status 0 only when
# everything passed. Set AOAI_SKIP_CARGO=1 to use the already-built target/debug artifacts.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/build/csharp"
unity="$here/unity/com.aoai.client"
mkdir -p "$out"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- Mono
if ! command -v mcs >/dev/null 2>&1 || ! command -v mono >/dev/null 2>&1; then
    say "installing Mono (mono-mcs, mono-runtime)"
    command -v apt-get >/dev/null 2>&1 || die "mcs/mono missing and apt-get not available: install Mono 6.8+ yourself"
    if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else die "mcs/mono missing; run as root or install mono-mcs mono-runtime"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mono-mcs mono-runtime >/dev/null
fi
MCS=(mcs -langversion:7.2 -nologo -warnaserror+ -nowarn:1591)

# ---------------------------------------------------------------- native library + emulator
if [ "${AOAI_SKIP_CARGO:-0}" != 1 ]; then
    say "cargo build --lib --bin aoai-emulator"
    (cd "$root" && cargo build --quiet --lib --bin aoai-emulator)
fi
[ -f "$root/target/debug/libaoai.so" ] || die "target/debug/libaoai.so is missing"
[ -x "$root/target/debug/aoai-emulator" ] || die "target/debug/aoai-emulator is missing"

# ---------------------------------------------------------------- drift checks
say "checking Runtime/Native.g.cs against include/aoai.h"
"${MCS[@]}" -out:"$out/GenNative.exe" "$here/tools/GenNative.cs"
mono "$out/GenNative.exe" "$root/include/aoai.h" "$out/Native.g.cs"
if ! diff -u "$unity/Runtime/Native.g.cs" "$out/Native.g.cs" > "$out/Native.g.diff"; then
    head -40 "$out/Native.g.diff" >&2
    die "Runtime/Native.g.cs is stale: include/aoai.h changed. Run bindings/csharp/tools/gen-native.sh and review the binding"
fi

# ---------------------------------------------------------------- compile
say "compiling the binding (netstandard-style, Unity iOS variant, Unity sample)"
"${MCS[@]}" -unsafe -target:library -out:"$out/Aoai.dll" "$unity"/Runtime/*.cs
"${MCS[@]}" -unsafe -target:library -define:UNITY_IOS -out:"$out/Aoai.ios.dll" "$unity"/Runtime/*.cs
"${MCS[@]}" -unsafe -target:library -define:UNITY_WEBGL -out:"$out/Aoai.webgl.dll" "$unity"/Runtime/*.cs
# The sample as a player build (no UNITY_EDITOR) and, inside the test program, as the editor.
"${MCS[@]}" -target:library -r:"$out/Aoai.dll" -out:"$out/StreamingChat.player.dll" \
    "$here/tests/UnityStubs.cs" "$unity/Samples~/StreamingChat/StreamingChat.cs"
"${MCS[@]}" -target:exe -define:UNITY_EDITOR -r:"$out/Aoai.dll" -r:System.Core.dll -out:"$out/Aoai.Tests.exe" \
    "$here/tests/Tests.cs" "$here/tests/UnityStubs.cs" "$unity/Samples~/StreamingChat/StreamingChat.cs"

# ---------------------------------------------------------------- emulator
emu_out="$out/emulator.out"
: > "$emu_out"
# --token: the bearer token the emulator accepts (the TokenProvider tests hand it out).
emu_token="cs-host-token"
"$root/target/debug/aoai-emulator" --port 0 --quiet --token "$emu_token" > "$emu_out" 2> "$out/emulator.err" &
emu_pid=$!
cleanup() { kill "$emu_pid" 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true; }
trap cleanup EXIT
url=""
for _ in $(seq 1 100); do
    line="$(head -n 1 "$emu_out" 2>/dev/null || true)"
    case "$line" in
        "aoai-emulator listening on http://127.0.0.1:"*) url="${line#aoai-emulator listening on }"; break ;;
    esac
    kill -0 "$emu_pid" 2>/dev/null || { cat "$out/emulator.err" >&2; die "the emulator exited"; }
    sleep 0.1
done
[ -n "$url" ] || die "the emulator did not print its listening line within 10 s"
say "emulator at $url"

# ---------------------------------------------------------------- run
say "running the tests under Mono"
set +e
env -u AZURE_OPENAI_ENDPOINT -u AZURE_OPENAI_API_KEY -u AZURE_OPENAI_AD_TOKEN -u AZURE_OPENAI_DEPLOYMENT_NAME \
    -u OPENAI_API_KEY -u OPENAI_BASE_URL -u OPENAI_API_TYPE -u OPENAI_API_VERSION -u OPENAI_ORG_ID -u OPENAI_PROJECT_ID \
    AOAI_EMULATOR_URL="$url" AOAI_EMULATOR_TOKEN="$emu_token" LD_LIBRARY_PATH="$root/target/debug${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    timeout 900 mono --debug "$out/Aoai.Tests.exe" "$@" | tee "$out/test-output.txt"
rc=${PIPESTATUS[0]}
set -e
last="$(tail -n 1 "$out/test-output.txt")"
if ! [[ "$last" =~ ^[0-9]+\ passed,\ [0-9]+\ failed$ ]]; then
    echo "0 passed, 1 failed"
    die "the test program did not finish (exit $rc)"
fi
exit "$rc"
