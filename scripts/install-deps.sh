#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs (and, with --test, the ones
# the test suite needs), skipping those already installed. Run as root.
set -euo pipefail

# libdnnl-dev: oneDNN, the matrix backend. libopenblas-openmp-dev: the
# optional OpenBLAS backend (-DTRANSFORMER_GEMM=openblas), kept installed so
# that both builds can be compared on one machine (docs/RESULTS.md).
packages=(g++ cmake make pkg-config xz-utils libdnnl-dev libopenblas-openmp-dev nlohmann-json3-dev libcli11-dev
          libsentencepiece-dev libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev
          libopenmpi-dev openmpi-bin  # Open MPI: data-parallel training (docs/DISTRIBUTED.md)
          pybind11-dev python3-pybind11 python3-dev python3-numpy)  # the Python package (docs/PYTHON.md)
if [[ "${1:-}" == "--test" ]]; then
  # The PyTorch converter's test runs PyTorch itself.
  packages+=(python3-torch python3-numpy)
  # The Python package's tests (tests/python/).
  packages+=(python3-pytest)
  # bench/greedy_parity_pytorch.py tokenizes with SentencePiece's Python module.
  packages+=(python3-sentencepiece)
  # The explorer's browser test: Debian's chromium driven by playwright-core
  # (from npm, tests/browser/package-lock.json); curl waits for the server.
  # Node may come from elsewhere (NodeSource's nodejs bundles npm, and
  # Debian's npm then cannot be installed beside it): only add it if missing.
  packages+=(chromium curl)
  # libFuzzer targets (fuzz/, scripts/fuzz-smoke.sh): clang 14, its runtime
  # (only recommended by clang) and lld, which drops unused sections.
  packages+=(clang lld libclang-rt-14-dev)
  command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
