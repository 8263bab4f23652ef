#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the
# main job on built-in defaults: `transformer demo` writes a synthetic
# translation task (dates in words → ISO dates), trains a small Transformer
# on it for two minutes, translates, and writes the explorer page
# (runs/demo/explain.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
build/transformer demo
