#!/usr/bin/env bash
# Training gives the same curve and the same weights, to the last bit, however
# busy the machine is. For each thread count T below, a quiet run, then two
# runs started together beside a busy loop on every core, must log the same
# loss, gradient norm and validation loss at every step and write
# byte-identical weights. Only the command line is used, so the test holds
# whatever library does the matrix products.
#
#   T = 2: all cores of the 2-core CI machine, the default there;
#   T = 4: more threads than cores (there), so the order in which the threads
#          finish their shares changes from run to run. A sum that adds the
#          threads' partial results in that order changes in its last bit
#          (two partial sums cannot show it: a + b = b + a).
#
# The second busy run also sets OMP_DYNAMIC=true, which lets OpenMP give a
# parallel region fewer threads when the load average is high (libgomp reads
# the 15-minute one: this bites on a machine that has been busy for a while).
# The thread count must stay the one asked for: with fewer, OpenBLAS hung in
# sgemm, waiting for a thread that never came.
#
# Batches of 4,096 tokens are large enough for every kernel to split its work
# over the threads (loss, layer norm, dropout, attention, matrix products); a
# validation every other step sums the loss over two thousand sentences.
#
#   tests/determinism/ctest_busy_machine.sh TRANSFORMER
set -euo pipefail
bin="$(realpath "$1")"
work="$(mktemp -d)"
hogs=()
stop_hogs() {
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${hogs[@]}"; do wait "$pid" 2>/dev/null || true; done
  hogs=()
}
trap 'stop_hogs; rm -rf "$work"' EXIT
cd "$work"

# 2,000 sentences of 2 to 7 words out of 12, reversed on the target side,
# from a Park–Miller generator (exact in awk's doubles): no file from outside.
awk 'BEGIN {
  split("red green blue cat dog bird runs sits jumps the a big", word, " ")
  x = 7
  for (i = 0; i < 2000; i++) {
    x = (x * 16807) % 2147483647; n = 2 + x % 6
    src = ""; tgt = ""
    for (k = 0; k < n; k++) {
      x = (x * 16807) % 2147483647; w = word[1 + x % 12]
      src = src (k ? " " : "") w; tgt = w (k ? " " : "") tgt
    }
    print src > "train.src"; print tgt > "train.tgt"
  }
}'
"$bin" --threads 1 vocab --input train.src train.tgt --out spm.model --vocab-size 40 >/dev/null
# The tiny preset with one layer a side: every kind of layer, half the time.
echo '{"preset": "tiny", "encoder_layers": 1, "decoder_layers": 1}' >model.json

steps=20
# train THREADS OUT. A run still going after 150 s is killed and fails the
# test (KILL 10 s after TERM: the trainer heeds TERM only between steps).
train() {
  timeout -k 10 150 "$bin" --threads "$1" train --config model.json --vocab spm.model --out "$2" --seed 5 \
    --train-source train.src --train-target train.tgt --valid-source train.src --valid-target train.tgt \
    --max-tokens 4096 --warmup 50 --max-steps $steps --log-every 1 --valid-every 2 --valid-bleu-max 1 2>"$2.log"
}
# Everything a run logs but its clock: step, epoch, loss, lr, grad_norm,
# valid_loss, valid_bleu, best.
curve() { sed -E 's/"(elapsed_s|target_tokens_per_s)":[^,}]*,?//g; s/,}/}/' "$1/metrics.jsonl"; }

failed=0
for threads in 2 4; do
  echo "== $threads threads: a quiet run, then two together beside a busy loop on each of $(nproc) cores"
  train "$threads" quiet$threads
  lines=$(wc -l <quiet$threads/metrics.jsonl)
  [[ $lines -eq $((steps + steps / 2)) ]] || { echo "the quiet run logged $lines lines, not $((steps + steps / 2))"; exit 1; }
  for _ in $(seq "$(nproc)"); do
    timeout 300 sh -c 'while :; do :; done' &
    hogs+=($!)
  done
  start=$SECONDS
  train "$threads" busy${threads}a & a=$!
  OMP_DYNAMIC=true train "$threads" busy${threads}b & b=$!
  status=0
  wait "$a" || status=$?
  wait "$b" || status=$?
  stop_hogs
  if [[ $status -ne 0 ]]; then
    echo "a busy run failed (exit $status; 124 or 137: still running after 150 s, killed):"; tail -n 3 busy${threads}a.log busy${threads}b.log
    exit 1
  fi
  echo "   the two busy runs took $((SECONDS - start)) s"
  for run in busy${threads}a busy${threads}b; do
    if ! diff <(curve quiet$threads) <(curve $run) >$run.diff; then
      echo "$run: $(grep -c '^<' $run.diff) of $lines metrics lines differ from the quiet run's; the first:"
      head -4 $run.diff
      failed=1
    fi
    if ! cmp -s quiet$threads/model.safetensors $run/model.safetensors; then
      echo "$run: its weights differ from the quiet run's"
      failed=1
    fi
  done
done
[[ $failed -eq 0 ]] && echo "every run: the same $lines metrics lines and the same weights"
exit $failed
