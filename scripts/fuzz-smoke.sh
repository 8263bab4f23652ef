#!/usr/bin/env bash
# CI's fuzzing smoke test: every fuzz target for 20 s from its seeds (the
# seeds include each past finding, so a regression fails at once).
# scripts/fuzz.sh runs them longer; docs/FUZZING.md.
set -euo pipefail
exec "$(dirname "$0")/fuzz.sh" "${FUZZ_SECONDS:-20}" "$@"
