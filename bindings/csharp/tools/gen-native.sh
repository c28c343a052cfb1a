#!/usr/bin/env bash
# Regenerates the raw P/Invoke layer (Runtime/Native.g.cs of the Unity package, where the
# binding's sources live) from include/aoai.h.
# Usage: bindings/csharp/tools/gen-native.sh [OUTPUT]   (default: unity/com.aoai.client/Runtime/Native.g.cs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$here/../unity/com.aoai.client/Runtime/Native.g.cs}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mcs -langversion:7.2 -nologo -out:"$tmp/GenNative.exe" "$here/GenNative.cs"
mono "$tmp/GenNative.exe" "$root/include/aoai.h" "$out"
