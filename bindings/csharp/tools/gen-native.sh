#!/usr/bin/env bash
# Regenerates bindings/csharp/src/Native.g.cs from include/aoai.h (and its Unity copy).
# Usage: bindings/csharp/tools/gen-native.sh [OUTPUT]   (default: src/Native.g.cs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$here/../src/Native.g.cs}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mcs -langversion:7.2 -nologo -out:"$tmp/GenNative.exe" "$here/GenNative.cs"
mono "$tmp/GenNative.exe" "$root/include/aoai.h" "$out"
