#!/usr/bin/env bash
# Entra ID "done when" check: aoai-cli with OPENAI_API_TYPE=azure_ad and no key, against the
# emulator's App Service managed-identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER),
# sends the token that endpoint issued. Offline, 127.0.0.1 only.
#
#   tests/entra/cli.sh            (from anywhere; builds what it needs)
#   AOAI_CLI=/path/to/aoai-cli tests/entra/cli.sh
#
# Uses build/bin/aoai-cli when it is newer than the library sources, otherwise compiles
# examples/c/aoai_cli.c against the debug library into a temporary directory.
# Prints `N passed, M failed`; exits non-zero when anything failed. CLI_SH_DEBUG=1 also
# prints the failure message of the wrong-header case.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tmp=$(mktemp -d)
emu_pid=
cleanup() {
    if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null; wait "$emu_pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; [ $# -gt 1 ] && printf '     %s\n' "${@:2}"; failed=$((failed + 1)); }
die() { echo "cli.sh: $*" >&2; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

secret="fake-identity-header-$$"

# --- build -----------------------------------------------------------------------------
cargo build --quiet --bin aoai-emulator --lib || die "cargo build failed"
cli="${AOAI_CLI:-}"
if [ -z "$cli" ] && [ -x build/bin/aoai-cli ] && [ -f target/release/libaoai.so ] \
    && [ -z "$(find src -newer target/release/libaoai.so -print -quit)" ]; then
    cli=build/bin/aoai-cli
fi
if [ -z "$cli" ]; then
    cli="$tmp/aoai-cli"
    cc -std=c99 -Iinclude examples/c/aoai_cli.c -L"$root/target/debug" -laoai \
        -Wl,-rpath,"$root/target/debug" -o "$cli" || die "cannot compile examples/c/aoai_cli.c"
fi
echo "cli.sh: using $cli"

# --- emulator with the identity endpoint ---------------------------------------------------
target/debug/aoai-emulator --port 0 --quiet --identity-header "$secret" \
    >"$tmp/emu.out" 2>"$tmp/emu.err" &
emu_pid=$!
url=
for _ in $(seq 100); do
    url=$(sed -n 's/^aoai-emulator listening on //p' "$tmp/emu.out")
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || die "the emulator did not start: $(cat "$tmp/emu.err")"

# GET/DELETE on the emulator's control API (python3: no curl needed).
control() {
    python3 - "$1" "$url$2" <<'EOF'
import sys, urllib.request
req = urllib.request.Request(sys.argv[2], method=sys.argv[1])
print(urllib.request.urlopen(req, timeout=10).read().decode())
EOF
}

# aoai-cli with nothing from the caller's environment but what is given here: no key, no
# AZURE_* credentials, no az/azd on PATH.
run_cli() {
    env -i HOME="$tmp" PATH=/nonexistent-aoai-path \
        OPENAI_API_TYPE=azure_ad AZURE_OPENAI_ENDPOINT="$url" AZURE_OPENAI_DEPLOYMENT_NAME=gpt-4o \
        IDENTITY_ENDPOINT="$url/msi/token" "$@" "$cli" "hi" >"$tmp/out" 2>"$tmp/err"
}

answer="Hello from the aoai emulator! You said: hi"

# --- 1: the default chain reaches managed identity and the call succeeds --------------------
run_cli IDENTITY_HEADER="$secret"
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = "$answer" ]; then
    ok "aoai-cli with OPENAI_API_TYPE=azure_ad and no key printed the answer"
else
    bad "aoai-cli failed (exit $rc)" "stdout: $(cat "$tmp/out")" "stderr: $(cat "$tmp/err")"
fi

control GET /_emulator/requests >"$tmp/requests.json"
control GET /_emulator/identity >"$tmp/identity.json"
check=$(python3 - "$tmp/requests.json" "$tmp/identity.json" "$secret" <<'EOF'
import json, sys
reqs = json.load(open(sys.argv[1]))
issued = [t["access_token"] for t in json.load(open(sys.argv[2]))["tokens"]]
secret = sys.argv[3]
msi = [r for r in reqs if r["path"] == "/msi/token"]
api = [r for r in reqs if r["path"] != "/msi/token"]
out = []
out.append(("one token request to the identity endpoint, with x-identity-header",
            len(msi) == 1 and msi[0]["headers"].get("x-identity-header") == secret
            and "api-version=2019-08-01" in msi[0]["query"], f"{msi}"))
out.append(("the endpoint issued exactly one token", len(issued) == 1, f"{issued}"))
auth = api[0]["headers"].get("authorization") if api else None
out.append(("the chat request carried Authorization: Bearer <the issued token>",
            len(api) == 1 and len(issued) == 1 and auth == "Bearer " + issued[0],
            f"authorization={auth!r} issued={issued}"))
out.append(("the chat request carried no api-key header",
            len(api) == 1 and "api-key" not in api[0]["headers"], f"{api}"))
for name, good, detail in out:
    print(("ok" if good else "bad") + "\t" + name + "\t" + detail)
EOF
)
while IFS=$'\t' read -r verdict name detail; do
    if [ "$verdict" = ok ]; then ok "$name"; else bad "$name" "$detail"; fi
done <<<"$check"

# --- 2: a wrong identity header fails with every source named, and no secret -----------------
control DELETE /_emulator/requests >/dev/null
run_cli IDENTITY_HEADER="wrong-$secret"
rc=$?
err=$(cat "$tmp/err")
if [ $rc -eq 1 ] && [[ "$err" == *"credential"* ]] && [[ "$err" == *"managed_identity"* ]] \
    && [[ "$err" == *"HTTP 401"* ]] && [[ "$err" == *"azure_cli: az not found on PATH"* ]]; then
    ok "a rejected identity header fails with the sources of the chain and why"
else
    bad "unexpected failure report (exit $rc)" "stderr: $err"
fi
if [[ "$err" != *"$secret"* ]]; then
    ok "the failure message does not contain the identity header"
else
    bad "the failure message leaks the identity header" "$err"
fi
api_calls=$(control GET /_emulator/requests | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["path"] != "/msi/token"))')
if [ "$api_calls" = 0 ]; then
    ok "no API request was sent without a token"
else
    bad "$api_calls API requests were sent without a token"
fi

[ -n "${CLI_SH_DEBUG:-}" ] && cat "$tmp/err"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
