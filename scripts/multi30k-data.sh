#!/usr/bin/env bash
# Unpacks the repository's copy of Multi30k (data/multi30k/*.xz) into a folder
# and checks every file against data/multi30k/SHA256SUMS.
#
#   bash scripts/multi30k-data.sh [DEST]      (default: build/data/multi30k)
#
# Prints the folder it filled. Files already there with the right checksum are
# kept, so a second call costs nothing.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
src="$repo/data/multi30k"
dest="${1:-$repo/build/data/multi30k}"
command -v xz >/dev/null || { echo "multi30k-data: xz not found (apt-get install xz-utils)" >&2; exit 1; }
mkdir -p "$dest"
while read -r sum name; do
  if [[ -f "$dest/$name" ]] && echo "$sum  $dest/$name" | sha256sum --check --status; then
    continue
  fi
  [[ -f "$src/$name.xz" ]] || { echo "multi30k-data: $src/$name.xz is missing" >&2; exit 1; }
  xz --decompress --stdout "$src/$name.xz" >"$dest/$name.tmp"
  if ! echo "$sum  $dest/$name.tmp" | sha256sum --check --status; then
    rm -f "$dest/$name.tmp"
    echo "multi30k-data: $src/$name.xz does not unpack to the file SHA256SUMS names (sha256 $sum)" >&2
    exit 1
  fi
  mv "$dest/$name.tmp" "$dest/$name"
done <"$src/SHA256SUMS"
echo "$dest"
