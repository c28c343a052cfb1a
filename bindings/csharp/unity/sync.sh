#!/usr/bin/env bash
# Writes a .meta file (stable GUID derived from the path) for every file and folder of the
# Unity package that lacks one, and drops the .meta of files that are gone. Runtime/ holds the
# binding's only copy of its sources; run this after adding or removing a file there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg="$here/com.aoai.client"
# Remove metas of sources that no longer exist.
for m in "$pkg"/Runtime/*.cs.meta; do
    [ -e "$m" ] || continue
    [ -f "${m%.meta}" ] || rm -f "$m"
done

guid() { printf '%s' "com.aoai.client/$1" | md5sum | cut -c1-32; }

write_meta() {   # $1: path relative to the package
    local rel="$1" path="$pkg/$1"
    local meta="$path.meta"
    [ -e "$meta" ] && return 0
    case "$rel" in
        *~|*~/*) return 0 ;;                 # Samples~ is not imported: no metas needed
    esac
    if [ -d "$path" ]; then
        printf 'fileFormatVersion: 2\nguid: %s\nfolderAsset: yes\nDefaultImporter:\n  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n' "$(guid "$rel")" > "$meta"
    elif [[ "$rel" == *.cs ]]; then
        printf 'fileFormatVersion: 2\nguid: %s\nMonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n  executionOrder: 0\n  icon: {instanceID: 0}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n' "$(guid "$rel")" > "$meta"
    elif [[ "$rel" == *.asmdef ]]; then
        printf 'fileFormatVersion: 2\nguid: %s\nAssemblyDefinitionImporter:\n  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n' "$(guid "$rel")" > "$meta"
    else
        printf 'fileFormatVersion: 2\nguid: %s\nDefaultImporter:\n  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n' "$(guid "$rel")" > "$meta"
    fi
}

cd "$pkg"
find . -mindepth 1 ! -name '*.meta' | sed 's|^\./||' | sort | while read -r rel; do write_meta "$rel"; done
echo ".meta files up to date for $(ls "$pkg"/Runtime/*.cs | wc -l) sources in $pkg/Runtime"
