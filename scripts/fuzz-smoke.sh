#!/usr/bin/env bash
# CI's fuzzing smoke test: every fuzz target for 10 s from its seeds (the
# seeds include each past finding, so a regression fails at once; the
# exploring is scripts/fuzz.sh's, for 600 s a target by default).
# scripts/fuzz.sh runs them longer; docs/FUZZING.md.
set -euo pipefail
exec "$(dirname "$0")/fuzz.sh" "${FUZZ_SECONDS:-10}" "$@"
