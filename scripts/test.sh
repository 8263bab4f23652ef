#!/usr/bin/env bash
# The README's second command, and all that CI runs: installs what is missing,
# builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
# libFuzzer targets (clang): every seed replayed, then 20 s of fuzzing each.
bash scripts/fuzz-smoke.sh
# The unit tests again under AddressSanitizer+UBSan and ThreadSanitizer.
bash scripts/test-sanitizers.sh
