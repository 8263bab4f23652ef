#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (into build-fuzz/) and runs
# each for SECONDS (default 600, the 10-minute local run; docs/FUZZING.md).
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]     targets: safetensors config corpus prepared_corpus serve_request
#
# Seeds are read from fuzz/corpus/TARGET/ and never written; what a run
# learns goes to build-fuzz/corpus/TARGET/, a crashing input to
# build-fuzz/artifacts/TARGET/, the log to build-fuzz/logs/TARGET.log.
# Exits non-zero if any target found a crash. Needs clang, lld and
# libFuzzer (apt-get install -y clang lld libclang-rt-14-dev: the last is
# only recommended by clang), nlohmann-json3-dev and cmake.
# FUZZ_JOBS: parallel compile jobs (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(safetensors config corpus prepared_corpus serve_request)

for tool in clang clang++ ld.lld cmake; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool is missing (apt-get install -y clang lld cmake)" >&2; exit 2; }
done
if ! compgen -G "$(clang++ --print-runtime-dir)/libclang_rt.fuzzer*.a" >/dev/null; then
  echo "fuzz.sh: clang has no libFuzzer (apt-get install -y libclang-rt-14-dev)" >&2
  exit 2
fi

CC=clang CXX=clang++ cmake -S fuzz -B build-fuzz -DCMAKE_BUILD_TYPE= >/dev/null
cmake --build build-fuzz -j"${FUZZ_JOBS:-2}" >/dev/null

# UBSan stops at the first report (the targets are also built with
# -fno-sanitize-recover), with a stack trace.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

failed=()
for target in "${targets[@]}"; do
  binary=build-fuzz/fuzz_$target
  [[ -x $binary ]] || { echo "fuzz.sh: no target '$target'" >&2; exit 2; }
  mkdir -p "build-fuzz/corpus/$target" "build-fuzz/artifacts/$target" build-fuzz/logs
  dict=()
  [[ -f fuzz/dict/$target.dict ]] && dict=(-dict="fuzz/dict/$target.dict")
  log=build-fuzz/logs/$target.log
  echo "fuzz.sh: $target for ${seconds} s (log: $log)"
  # -timeout: one input running 10 s is a hang; -rss_limit_mb: a run over
  # 2 GiB is a finding (a huge allocation from a small input).
  if "$binary" "build-fuzz/corpus/$target" "fuzz/corpus/$target" "${dict[@]}" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
      -artifact_prefix="build-fuzz/artifacts/$target/" -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE|stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log" | sed "s/^/  $target: /"
  else
    echo "fuzz.sh: $target FAILED; the end of $log:" >&2
    tail -n 40 "$log" >&2
    ls "build-fuzz/artifacts/$target/" >&2
    failed+=("$target")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: findings in: ${failed[*]} (inputs in build-fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: no findings"
