#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/install/extract-doc-samples.sh [OUTDIR]: copies every ```c and ```csharp code block of
# docs/*.md into OUTDIR (default tests/install/doc_samples) as <doc>-<n>.c / <doc>-<n>.cs, so
# that tests/install/run.sh can compile them (C: cc -std=c99 -Wall -Wextra -Werror -pedantic;
# C#: mcs against the binding in bindings/csharp/unity/com.aoai.client/Runtime) and check that the committed copies are not stale. Run it
# after editing a sample in docs/ and commit the result.
#
# Every ```c block in docs/ is a complete translation unit, every ```csharp block a complete
# C# compilation unit. A block whose info string has a second word ("c fragment") is shown to
# readers but not extracted (keep those to a few lines).
# docs/entra-id.md and docs/reliability.md have other owners and are not extracted (yet):
# add them to DOCS once their C blocks follow the rule above.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/tests/install/doc_samples}
mkdir -p "$OUT"
rm -f "$OUT"/*.c "$OUT"/*.cs

for md in "$ROOT"/docs/*.md; do
    case $(basename "$md") in entra-id.md | reliability.md) continue ;; esac
    name=$(basename "$md" .md)
    awk -v out="$OUT" -v name="$name" -v src="docs/$(basename "$md")" '
        /^```/ {
            if (open) { open = 0; if (inblock) { inblock = 0; close(file) }; next }
            open = 1
            info = substr($0, 4); sub(/[ \t]+$/, "", info)
            if (info == "c" || info == "csharp") {
                n++; inblock = 1
                file = sprintf("%s/%s-%d.%s", out, name, n, info == "c" ? "c" : "cs")
                printf "/* Extracted from %s (code block %d) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */\n", src, n > file
            }
            next
        }
        inblock { print > file }
    ' "$md"
done
