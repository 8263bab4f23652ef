#!/usr/bin/env bash
# What subword sampling (train --subword-sampling) costs on Multi30k train
# (29,000 pairs): the time to prepare the corpus and to draw one epoch's
# segmentation, on 1 and 2 threads and for --nbest-size -1 and 64, and the
# training speed of the Multi30k recipe's `small` model with and without it
# (runs interleaved, ROUNDS of each). docs/RESULTS.md has the figures.
#
#   bash bench/subword_sampling.sh [BUILD_DIR] [STEPS] [ROUNDS]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="$(realpath "${1:-$repo/build}")"; steps="${2:-40}"; rounds="${3:-2}"
bin="$build/transformer"
data="$(bash "$repo/scripts/multi30k-data.sh" "$build/data/multi30k")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" vocab --input "$data/train.de" "$data/train.en" --out "$work/spm.model" --vocab-size 8000 >/dev/null
corpus=(--vocab "$work/spm.model" --train-source "$data/train.de" --train-target "$data/train.en")
uptime

echo "== preparing the corpus and drawing epoch 1 (tiny model, one step)"
for threads in 1 2; do
  for nbest in -1 64; do
    for run in 1 2 3; do
      rm -rf "$work/draw"
      "$bin" --threads "$threads" train --preset tiny "${corpus[@]}" --out "$work/draw" --max-steps 1 \
        --subword-sampling 0.1 --nbest-size "$nbest" 2>&1 |
        grep -E "prepared in|drawn in" | tr '\n' ' ' | sed "s/^/threads $threads, nbest $nbest, run $run: /"
      echo
    done
  done
done

echo "== training speed, small model, $steps steps, 2 threads (target tokens/s of the last $((steps / 2)) steps)"
speed() {  # median target_tokens_per_s over the second half of the logged steps
  /usr/bin/python3 -c "
import json, statistics, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '\"loss\"' in l]
print(round(statistics.median(x['target_tokens_per_s'] for x in r[len(r) // 2:])))" "$1"
}
for round in $(seq "$rounds"); do
  for mode in best sampled; do
    rm -rf "$work/$mode"
    extra=(); [[ $mode == sampled ]] && extra=(--subword-sampling 0.1)
    "$bin" --threads 2 train --preset small "${corpus[@]}" --out "$work/$mode" --max-steps "$steps" --log-every 1 \
      --max-tokens 4096 --schedule inverse-sqrt --lr 1e-3 --warmup 500 --clip-norm 1 "${extra[@]}" 2>/dev/null
    echo "round $round, $mode: $(speed "$work/$mode/metrics.jsonl") target tokens/s"
  done
done
uptime
