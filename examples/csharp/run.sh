#!/usr/bin/env bash
# Builds and runs the C# console chat (examples/csharp/Chat.cs) under Mono.
#
#   examples/csharp/run.sh                 interactive when stdin is a terminal
#   examples/csharp/run.sh "a question"    answers one prompt and exits
#   echo "a question" | examples/csharp/run.sh
#
# Without AZURE_OPENAI_ENDPOINT in the environment it starts the local emulator
# (target/debug/aoai-emulator) and points the example at it (key emulator-key, deployment
# gpt-4o); with it, the example talks to your Azure OpenAI resource (set AZURE_OPENAI_API_KEY
# and AZURE_OPENAI_DEPLOYMENT_NAME too). Needs mcs/mono (bindings/csharp/test.sh installs them).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/build/csharp/example"
mkdir -p "$out"

command -v mcs >/dev/null 2>&1 && command -v mono >/dev/null 2>&1 || {
    echo "run.sh: mcs/mono not found: apt-get install mono-mcs mono-runtime (or run bindings/csharp/test.sh once)" >&2
    exit 1
}
if [ "${AOAI_SKIP_CARGO:-0}" != 1 ]; then
    (cd "$root" && cargo build --quiet --lib --bin aoai-emulator)
fi

mcs -langversion:7.2 -nologo -unsafe -target:library -out:"$out/Aoai.dll" "$root"/bindings/csharp/unity/com.aoai.client/Runtime/*.cs
mcs -langversion:7.2 -nologo -r:"$out/Aoai.dll" -out:"$out/Chat.exe" "$here/Chat.cs"

export LD_LIBRARY_PATH="$root/target/debug${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${AZURE_OPENAI_ENDPOINT:-}" ]; then
    emu_out="$out/emulator.out"
    : > "$emu_out"
    "$root/target/debug/aoai-emulator" --port 0 --quiet > "$emu_out" &
    emu_pid=$!
    trap 'kill "$emu_pid" 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true' EXIT
    url=""
    for _ in $(seq 1 100); do
        line="$(head -n 1 "$emu_out" 2>/dev/null || true)"
        case "$line" in "aoai-emulator listening on "*) url="${line#aoai-emulator listening on }"; break ;; esac
        sleep 0.1
    done
    [ -n "$url" ] || { echo "run.sh: the emulator did not start" >&2; exit 1; }
    echo "(using the local emulator at $url; set AZURE_OPENAI_ENDPOINT to use Azure)" >&2
    export AZURE_OPENAI_ENDPOINT="$url" AZURE_OPENAI_API_KEY="emulator-key" AZURE_OPENAI_DEPLOYMENT_NAME="gpt-4o"
    unset OPENAI_API_TYPE OPENAI_BASE_URL AZURE_OPENAI_AD_TOKEN
fi
mono "$out/Chat.exe" "$@"
