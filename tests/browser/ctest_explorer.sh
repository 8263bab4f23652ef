#!/usr/bin/env bash
# The explorer's browser test as ctest runs it: a tiny German→English model
# trained here in seconds on the first 3,000 Multi30k pairs (it must only be
# a real model, not a good one; --probes 1 records "watch it learn"), then
# tests/browser/run.sh on it, offline page and served page.
#
#   tests/browser/ctest_explorer.sh TRANSFORMER MULTI30K_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$(realpath "$1")"; data="$(realpath "$2")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

head -3000 "$data/train.de" >"$work/train.de"
head -3000 "$data/train.en" >"$work/train.en"
head -100 "$data/val.de" >"$work/val.de"
head -100 "$data/val.en" >"$work/val.en"
"$bin" vocab --input "$work/train.de" "$work/train.en" --out "$work/spm.model" --vocab-size 1000 >/dev/null
"$bin" train --preset tiny --vocab "$work/spm.model" --train-source "$work/train.de" --train-target "$work/train.en" \
  --valid-source "$work/val.de" --valid-target "$work/val.en" --valid-bleu-max 50 \
  --out "$work/model" --max-steps 120 --schedule inverse-sqrt --lr 3e-3 --warmup 40 --max-tokens 2048 \
  --valid-every 40 --log-every 20 --probes 1 >/dev/null
# The same architecture untrained (seeded weights, the same vocabulary): the
# offline page sets the trained model beside it (explain --compare).
"$bin" init --config "$work/model/config.json" --seed 2 --out "$work/untrained" >/dev/null
cp "$work/model/spm.model" "$work/untrained/"
bash "$here/run.sh" "$bin" "$work/model" --serve --sentence "Ein Mann fährt mit dem Fahrrad." --beam 3 --prefix "Two dogs" \
  --compare "$work/untrained"

# Long sentences (docs/RESULTS.md): every view drawn, and the times printed.
# A real record of a 250-piece source (the first validation sentences, 690
# characters; this model's translation of it is short), then a synthetic
# record of 250 source and 250 target positions for the long target.
long="$(node -e 'const fs = require("fs"); process.stdout.write(fs.readFileSync(process.argv[1], "utf8").split("\n").slice(0, 40).join(" ").slice(0, 690))' "$work/val.de")"
echo "== long sentence: $bin explain --html --beam 4 (${#long} characters)"
"$bin" explain --html "$work/long.html" --beam 4 --model "$work/model" "$long"
node "$here/long_sentence.mjs" "$work/long.html"
echo "== long sentence: a synthetic 250 × 250 record"
node "$here/make_synthetic_record.mjs" --length 250 --d-model 64 --heads 4 --layers 2 --html "$work/long-synthetic.html"
node "$here/long_sentence.mjs" "$work/long-synthetic.html"
