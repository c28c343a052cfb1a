#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# fuzz/make_corpus.sh: (re)captures the seed corpus from the emulator, whose answers follow
# the wire reference (Azure chat/completions bodies and SSE streams with prompt-filter events,
# per-chunk filter results, async filter annotations, include_usage, tool calls; the error
# bodies and headers of 400 content_filter, 401, 404, 429, 5xx). Hand-written seeds (configs,
# odd framings) live beside the captured ones and are kept.
#
#   fuzz/make_corpus.sh        # needs target/debug/aoai-emulator (cargo build --bin aoai-emulator)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
C=$ROOT/fuzz/corpus
EMU=$ROOT/target/debug/aoai-emulator
[ -x "$EMU" ] || (cd "$ROOT" && cargo build --bin aoai-emulator)
mkdir -p "$C/sse" "$C/response" "$C/error_response" "$C/config"
PORTFILE=$(mktemp)
"$EMU" --port 0 --port-file "$PORTFILE" --quiet > /dev/null &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$PORTFILE"' EXIT
for _ in $(seq 100); do [ -s "$PORTFILE" ] && break; sleep 0.05; done
BASE=http://127.0.0.1:$(cat "$PORTFILE")
KEY=emulator-key

post() { # $1 deployment, $2 op path, $3 body JSON; extra curl args after
    local dep=$1 op=$2 body=$3
    shift 3
    curl -sS "$@" -H "api-key: $KEY" -H 'content-type: application/json' \
        --data-binary "$body" "$BASE/openai/deployments/$dep/$op?api-version=2024-10-21"
}
chat() { printf '{"messages":[{"role":"user","content":"%s"}]%s}' "$1" "${2:-}"; }

n=0
stream_seed() { # $1 name, $2 deployment, $3 op, $4 body
    post "$2" "$3" "$4" > "$C/response/stream-$1.txt"
    # The SSE target takes a split seed byte first.
    { printf '\x07'; cat "$C/response/stream-$1.txt"; } > "$C/sse/$1.txt"
}
stream_seed chat gpt-4o chat/completions "$(chat 'Hello there, caf\u00e9 \ud83d\ude00 \u4e16\u754c' ',"stream":true')"
stream_seed usage gpt-4o chat/completions "$(chat 'count my tokens' ',"stream":true,"stream_options":{"include_usage":true}')"
stream_seed n2 gpt-4o chat/completions "$(chat 'two choices' ',"stream":true,"n":2')"
stream_seed tools gpt-4o chat/completions "$(chat 'weather in Paris?' ',"stream":true,"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]')"
stream_seed async-filter gpt-4o chat/completions "$(chat '[[emu:async-filter=1]] filtered later' ',"stream":true')"
stream_seed content-filter gpt-4o chat/completions "$(chat '[[emu:finish=content_filter]] a b c d' ',"stream":true')"
stream_seed crlf gpt-4o chat/completions "$(chat '[[emu:crlf=1;heartbeat=1]] crlf lines' ',"stream":true')"
stream_seed done-no-blank gpt-4o chat/completions "$(chat '[[emu:done-no-blank=1;prompt-annotations=1]] old api' ',"stream":true')"
stream_seed error-after gpt-4o chat/completions "$(chat '[[emu:error-after=3]] a b c d e' ',"stream":true')"
stream_seed no-finish gpt-4o chat/completions "$(chat '[[emu:no-finish=1]] cut short' ',"stream":true')"
stream_seed logprobs gpt-4o chat/completions "$(chat 'with logprobs' ',"stream":true,"logprobs":true,"top_logprobs":2')"
stream_seed o1 o1 chat/completions "$(chat 'think hard' ',"stream":true,"max_completion_tokens":10')"
stream_seed completion gpt-35-turbo-instruct completions '{"prompt":["first","second"],"stream":true,"echo":true,"max_tokens":8}'

body_seed() { post "$2" "$3" "$4" > "$C/response/body-$1.json"; }
body_seed chat gpt-4o chat/completions "$(chat 'Hello!' ',"logprobs":true,"top_logprobs":1')"
body_seed n3 gpt-4o chat/completions "$(chat 'three' ',"n":3,"max_tokens":3')"
body_seed tools gpt-4o chat/completions "$(chat 'call it' ',"tools":[{"type":"function","function":{"name":"lookup"}}],"tool_choice":"lookup"')"
body_seed json-object gpt-4o chat/completions "$(chat 'as json' ',"response_format":{"type":"json_object"}')"
body_seed o1-empty o1 chat/completions "$(chat 'ran out' ',"max_completion_tokens":10')"
body_seed completion gpt-35-turbo-instruct completions '{"prompt":["a","b"],"logprobs":2,"max_tokens":5}'
body_seed embeddings text-embedding-3-small embeddings '{"input":["alpha","beta"],"dimensions":4}'
body_seed embeddings-b64 text-embedding-3-small embeddings '{"input":"alpha","encoding_format":"base64"}'

err_seed() { post "$2" chat/completions "$(chat "$3")" -i > "$C/error_response/$1.txt" || true; }
err_seed content-filter gpt-4o '[[emu:status=400;code=content_filter;category=hate]] x'
err_seed content-filter-no-inner gpt-4o '[[emu:status=400;code=content_filter;inner=none]] x'
err_seed bad-request gpt-4o '[[emu:status=400]] x'
err_seed rate-limit gpt-4o '[[emu:status=429;retry-after=7;retry-after-ms=6500;x-ms-retry-after-ms=6400]] x'
err_seed rate-limit-none gpt-4o '[[emu:status=429;retry-after=none]] x'
err_seed server gpt-4o '[[emu:status=503]] x'
err_seed html gpt-4o '[[emu:status=502;body=html]] x'
err_seed forbidden gpt-4o '[[emu:status=403]] x'
err_seed not-found nope 'x'
curl -sS -i -H 'api-key: wrong' -H 'content-type: application/json' --data-binary "$(chat x)" \
    "$BASE/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21" > "$C/error_response/unauthorized.txt" || true
curl -sS -i -H 'authorization: Bearer wrong' -H 'content-type: application/json' \
    --data-binary '{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}' \
    "$BASE/v1/chat/completions" > "$C/error_response/openai-unauthorized.txt" || true
echo "corpus: $(find "$C" -type f | wc -l) files in $C"
