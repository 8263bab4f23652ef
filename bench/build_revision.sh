#!/usr/bin/env bash
# bench/build_revision.sh REV DIR [CMAKE ARGS…]: builds the `transformer` of
# an earlier commit into DIR (Release), from a worktree of this repository,
# so that benchmarks can run it beside today's build in one run
# (bench/compare_builds.py). Issue 14 measures the trainer against the one
# of its filing, 038acda (OpenBLAS, then the only backend):
#
#   bash bench/build_revision.sh 038acda build-038acda
#
# DIR is relative to the repository root unless absolute. The worktree is
# removed afterwards; DIR keeps the build.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 2 ]] || { echo "usage: bash bench/build_revision.sh REV DIR [CMAKE ARGS…]" >&2; exit 2; }
rev=$1 dir=$2
shift 2
commit=$(git rev-parse --verify "$rev^{commit}") || { echo "build_revision.sh: no commit '$rev' in this repository" >&2; exit 2; }
[[ $dir = /* ]] || dir=$PWD/$dir
tree=$(mktemp -d)/src
trap 'git worktree remove --force "$tree" 2>/dev/null || true; rm -rf "$(dirname "$tree")"' EXIT
git worktree add --detach --quiet "$tree" "$commit"
cmake -S "$tree" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" --target transformer >/dev/null
echo "built $(git log -1 --format='%h %s' "$commit" | cut -c1-72) → $dir/transformer"
