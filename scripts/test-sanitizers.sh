#!/usr/bin/env bash
# The unit tests again, built with sanitizers; any report fails CI.
#
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (with leak
#                checks): out-of-bounds reads and writes, use after free,
#                leaks, signed overflow, misaligned or null accesses, bad
#                shifts and casts. Runs TESTS_ASAN below.
#   build-tsan/  ThreadSanitizer: data races between the server's threads
#                (cpp-httplib's pool, the replica pool, the listener) and in
#                whatever they call. Runs TESTS_TSAN below.
#
# OpenMP under ThreadSanitizer: GCC's libgomp is not built with TSan, and its
# barriers are futexes TSan cannot see, so TSan reports the writes of every
# OpenMP loop as racing with the code after the loop. Those reports sit in our
# own functions, not in libgomp, so a suppression that silenced them would
# silence real races there too. The TSan run therefore sets
# OMP_NUM_THREADS=1: OpenMP regions (and OpenBLAS, its OpenMP build) run on
# the calling thread, and every other thread is one we start ourselves with
# std::thread, whose synchronisation TSan sees completely. The kernels' own
# threading is held to their plain references by the ordinary tests, which
# run on all cores.
#
# Both builds: Debug (so invariants asserted in debug builds are checked
# too) at -O1 (sanitized -O0 is several times slower for no more findings),
# with -g1: line tables, all a report's stack needs (function, file:line),
# compiled in two thirds of the time full debug information takes (-g: 20 s
# against 13 s for src/core/safetensors.cpp under ASan).
set -euo pipefail
cd "$(dirname "$0")/.."

# Every test but the two that drive external programs over long end-to-end
# runs (the Python converter against PyTorch, the explorer in Chromium): they
# exercise the same C++ paths as the unit tests, at many times the cost.
# Not under ASan: the PyTorch and browser tests run other programs; the MPI
# test runs on its own below; the busy-machine test compares the bits of six
# training runs beside busy loops, which a Debug build makes several times
# slower and which the unit tests' kernels and training loop cover; and
# Learning.TinyModelLearnsToCopy, 1,200 steps of the training loop until the
# model copies its input (45 s under ASan): a test of learning, whose code
# is the few steps TrainerTest and the gradient checks run under ASan; and
# the demo end to end (45 s under ASan, 11 s in Release), whose training,
# translating and explorer page are TrainerTest's, TranslateCli's and
# Explain's code, which run under ASan.
TESTS_ASAN_EXCLUDE='^(convert_pytorch|explorer_browser|mpi_data_parallel|training_under_load|Learning\.TinyModelLearnsToCopy|Demo\.TrainsTranslatesAndWritesTheExplorerPage)$'
# The code that runs on threads we start: model replicas in one process
# (test_replicas.cpp: the collectives, and two replicas of a model stepping
# together), the server (every Serve* suite:
# test_serve*.cpp, batching across requests, back-pressure, keys, metrics,
# errors; and the raw-socket tests of test_bad_input.cpp), and,
# single-threaded as said above, the kernels it calls (test_kernels.cpp,
# test_backward.cpp). A `transformer serve` the tests start inherits
# OMP_NUM_THREADS=1 too (core/threads.h). The TSan build compiles only the
# test files that hold these suites (TRANSFORMER_TEST_FILES): 9 of 40.
SUITES_TSAN='Replicas|Serve[A-Za-z]*|BadHttp|KernelGradients|Dropout|ArticleNumbers|PositionalEncoding|LayerNorm|GemmTest|Linear|Softmax|FastExp|Activations|Embedding|Attention'
TESTS_TSAN="^([A-Za-z]+/)?($SUITES_TSAN)\\."  # a parameterized suite's name has its instantiation's prefix: Shapes/GemmTest
tsan_test_files() {  # the tests/ files that define a suite of SUITES_TSAN, ;-separated; every suite must have one
  local suite files
  for suite in ${SUITES_TSAN//|/ }; do
    files=$(grep -lE "^(TEST|TEST_F|TEST_P)\(${suite}," tests/test_*.cpp) ||
      { echo "test-sanitizers.sh: no test file defines a suite $suite" >&2; exit 1; }
    echo "$files"
  done | xargs -n1 basename | sort -u | paste -sd';'
}

jobs=$(nproc)
# No Python module (TRANSFORMER_PYTHON=OFF): Python cannot load a module
# built with a sanitizer (its runtime must come first in the process), and
# the module's C++ is the library these tests already run.
build() {  # build() DIR SANITIZERS [TEST FILES]
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1" -DTRANSFORMER_SANITIZE="$2" \
        -DTRANSFORMER_BUILD_BENCH=OFF -DTRANSFORMER_PYTHON=OFF -DTRANSFORMER_TEST_FILES="${3:-}" >/dev/null
  cmake --build "$1" -j"$jobs"
}

# A report ends the process with exit code 86 (ASan, UBSan) or 66 (TSan),
# which no test expects. A test that only expects a child `transformer` to
# fail could still mistake that exit for the failure it wanted, so ASan and
# TSan also write every report to DIR/reports/ (UBSan, linked with ASan,
# cannot: its reports go to stderr), and any report file, or any report in
# the output ctest logged, fails CI.
check_reports() {  # check_reports DIR
  if compgen -G "$1/reports/*" >/dev/null; then
    echo "sanitizer reports in $1/reports:" >&2
    cat "$1"/reports/* >&2
    exit 1
  fi
  if grep -E "^SUMMARY: [A-Za-z]+Sanitizer|runtime error:" "$1/Testing/Temporary/LastTest.log" >&2; then
    echo "sanitizer reports in $1/Testing/Temporary/LastTest.log" >&2
    exit 1
  fi
}

build build-asan address,undefined
rm -rf build-asan/reports && mkdir -p build-asan/reports
asan_options() {  # asan_options DETECT_LEAKS (1 or 0)
  echo "halt_on_error=1:exitcode=86:detect_leaks=$1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$PWD/build-asan/reports/asan"
}
export UBSAN_OPTIONS="halt_on_error=1:exitcode=86:print_stacktrace=1"
ASAN_OPTIONS="$(asan_options 1)" ctest --test-dir build-asan --output-on-failure -j"$jobs" -E "$TESTS_ASAN_EXCLUDE"
check_reports build-asan
# The MPI test (2-process jobs: stopped, resumed, killed, signalled) under
# ASan+UBSan without the leak check: Open MPI's own start-up allocations,
# never freed, would be reported as leaks. 46 s here.
ASAN_OPTIONS="$(asan_options 0)" ctest --test-dir build-asan --output-on-failure -R '^mpi_data_parallel$'
check_reports build-asan
unset UBSAN_OPTIONS

tsan_files=$(tsan_test_files)
build build-tsan thread "$tsan_files"
rm -rf build-tsan/reports && mkdir -p build-tsan/reports
OMP_NUM_THREADS=1 \
TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan-suppressions.txt:log_path=$PWD/build-tsan/reports/tsan" \
  ctest --test-dir build-tsan --output-on-failure -j"$jobs" -R "$TESTS_TSAN"
check_reports build-tsan
