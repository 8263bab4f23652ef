#!/usr/bin/env bash
# Data parallelism on one machine against gradient accumulation: the Multi30k
# recipe (examples/multi30k.sh's options) for 30 steps as
#   A. 1 process × 2 threads, 2 batches accumulated per step, and
#   B. mpirun -np 2 × 1 thread, 1 batch per process per step,
# which take the same batches per step. Prints each run's losses and the
# target tokens/s of steps 21–30 (metrics.jsonl), so the cost of the gradient
# exchange and the agreement of the losses can be read off one run.
#
#   bash bench/mpi_vs_accumulate.sh [OUT]      (default: runs/mpi-vs-accumulate)
#
# Needs the build (scripts/build.sh) and Open MPI (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/mpi-vs-accumulate}
bin=build/transformer
data=$(bash scripts/multi30k-data.sh)
mkdir -p "$out"
[[ -f "$out/spm.model" ]] || $bin vocab --input "$data/train.de" "$data/train.en" --out "$out/spm.model" --vocab-size 8000 >/dev/null

recipe=(train --preset small --vocab "$out/spm.model" --train-source "$data/train.de" --train-target "$data/train.en"
        --max-tokens 4096 --schedule inverse-sqrt --lr 1e-3 --warmup 500 --clip-norm 1.0 --label-smoothing 0.1
        --dropout 0.1 --seed 1 --max-steps 30 --log-every 10)
export OMP_WAIT_POLICY=PASSIVE OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$out/accumulate" "$out/mpi"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
$bin --threads 2 "${recipe[@]}" --accumulate 2 --out "$out/accumulate" 2>"$out/accumulate.log"
mpirun -np 2 --mca btl self,tcp --mca btl_tcp_if_include lo \
  $bin --threads 1 "${recipe[@]}" --out "$out/mpi" 2>"$out/mpi.log"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

for run in accumulate mpi; do
  /usr/bin/python3 - "$out/$run/metrics.jsonl" "$run" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l]
print("%-10s losses at steps %s: %s; steps 21-30: %.0f target tokens/s" % (
    sys.argv[2], ", ".join(str(r["step"]) for r in rows), ", ".join("%.4f" % r["loss"] for r in rows),
    rows[-1]["target_tokens_per_s"]))
EOF
done
