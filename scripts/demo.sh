#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the
# main job on built-in defaults (today: a tiny model and its forward pass,
# stage by stage).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
build/transformer summary --preset tiny
