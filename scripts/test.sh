#!/usr/bin/env bash
# The README's second command, and all that CI runs: installs what is missing,
# builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
bash scripts/build.sh
# A model some suites train only to have one is trained once in this run,
# by the Release tests, and copied by the ASan tests
# (tests/support/trained_model_cache.h).
export TRANSFORMER_TEST_MODEL_CACHE
TRANSFORMER_TEST_MODEL_CACHE=$(mktemp -d)
trap 'rm -rf "$TRANSFORMER_TEST_MODEL_CACHE"' EXIT
ctest --test-dir build --output-on-failure -j"$(nproc)"
# libFuzzer targets (clang): every seed replayed, then 10 s of fuzzing each.
bash scripts/fuzz-smoke.sh
# The unit tests again under AddressSanitizer+UBSan and ThreadSanitizer.
bash scripts/test-sanitizers.sh
