#!/usr/bin/env bash
# Start-up time and peak memory of `transformer train` on a large corpus, as
# text (--train-source/--train-target) and prepared (transformer prepare,
# then --data): a synthetic corpus of PAIRS pairs (default 5,000,000; made
# by bench/synthetic_corpus.py, no download), a vocabulary of 8,000 pieces,
# and RUNS runs (default 3) of each path, one training step each (the
# `tiny` architecture: the step itself is milliseconds, so the wall time is
# the start-up). Prints each run's wall time and peak RSS (/usr/bin/time -v)
# and the medians. The corpus (about 0.9 GB of text) stays in OUT.
# COLD=1 evicts the run's corpus files from the page cache before each run
# (`dd iflag=nocache`: those files only, nothing else of the machine's
# cache), so that the run reads them from the disk; every run also prints
# what it read from the disk (/usr/bin/time's file system inputs).
#
#   bash bench/prepared_corpus.sh [OUT]      (default: build/bench-prepared)
#   PAIRS=100000 RUNS=1 bash bench/prepared_corpus.sh /tmp/small   (a quick look)
#   COLD=1 bash bench/prepared_corpus.sh     (cold start, the corpus made already)
#
# Needs the build (scripts/build.sh) and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench-prepared}
pairs=${PAIRS:-5000000}
runs=${RUNS:-3}
bin=build/transformer
export OMP_WAIT_POLICY=PASSIVE
mkdir -p "$out"
if [[ ! -f "$out/train.src" || "$(wc -l < "$out/train.src")" != "$pairs" ]]; then
  /usr/bin/python3 bench/synthetic_corpus.py --pairs "$pairs" --out "$out"
fi
[[ -f "$out/spm.model" ]] || $bin --threads 2 vocab --input "$out/train.src" "$out/train.tgt" --out "$out/spm.model" \
    --vocab-size 8000 --max-sentences 200000 >/dev/null

# "SECONDS MB READ_MB" of the command's wall time, peak resident memory and
# what it read from the disk (file system inputs, 512-byte blocks).
measure() {
  local log=$1; shift
  /usr/bin/time -v "$@" >"$log" 2>&1 || { tail -5 "$log"; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = t[n] + 60 * t[n - 1] + (n > 2 ? 3600 * t[n - 2] : 0) }
              /Maximum resident set size/ { kb = $2 }
              /File system inputs/ { blocks = $2 }
              END { printf "%.1f %.0f %.0f\n", s, kb / 1024, blocks * 512 / 1048576 }' "$log"
}
evict() { for f in "$@"; do dd if="$f" iflag=nocache count=0 status=none; done; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "corpus: $pairs pairs, $(du -ch "$out/train.src" "$out/train.tgt" | tail -1 | cut -f1) of text; $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -z "${COLD:-}" || ! -f "$out/train.prepared" ]]; then
  read -r s mb _ < <(measure "$out/prepare.log" $bin --threads 1 prepare --vocab "$out/spm.model" \
      --source "$out/train.src" --target "$out/train.tgt" --out "$out/train.prepared")
  echo "prepare: ${s} s, peak RSS ${mb} MB, $(du -h "$out/train.prepared" | cut -f1) written ($(grep wrote "$out/prepare.log"))"
fi

train=($bin --threads 1 train --preset tiny --vocab "$out/spm.model" --max-steps 1 --valid-every 1000 --log-every 1)
for path in text prepared; do
  : >"$out/$path.results"
  for run in $(seq "$runs"); do
    rm -rf "$out/run-$path"
    if [[ $path == text ]]; then files=("$out/train.src" "$out/train.tgt"); corpus=(--train-source "${files[0]}" --train-target "${files[1]}")
    else files=("$out/train.prepared"); corpus=(--data "${files[0]}"); fi
    [[ -z "${COLD:-}" ]] || evict "${files[@]}"
    read -r s mb disk < <(measure "$out/$path-$run.log" "${train[@]}" "${corpus[@]}" --out "$out/run-$path")
    echo "$path run $run: ${s} s to the end of step 1, peak RSS ${mb} MB, ${disk} MB read from the disk (load $(cut -d' ' -f1 /proc/loadavg))"
    echo "$s $mb $disk" >>"$out/$path.results"
  done
  echo "$path median: $(cut -d' ' -f1 "$out/$path.results" | median) s, $(cut -d' ' -f2 "$out/$path.results" | median) MB," \
       "$(cut -d' ' -f3 "$out/$path.results" | median) MB read"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
