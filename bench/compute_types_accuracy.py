#!/usr/bin/env python3
"""What bf16 and int8 products cost in accuracy on a trained model: for each
--compute-type, BLEU on a test set (greedy and beam 4), the share of outputs
identical to float32's, and how far the per-token log-probabilities move.

    /usr/bin/python3 bench/compute_types_accuracy.py --model runs/m30k-30/model \\
        --source build/data/multi30k/test_2016_flickr.de \\
        --reference build/data/multi30k/test_2016_flickr.en

(bash scripts/multi30k-data.sh unpacks the repository's Multi30k copy into
build/data/multi30k.)

Log-probabilities are compared on the same tokens: float32's greedy outputs
scored (forced decoding, `score --per-token`) by each compute type against
float32's own scores of them, every token and EOS counted; outputs that
differ cannot be compared token by token. Prints a markdown table for
docs/RESULTS.md; the outputs stay in --work.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPES = ["float32", "bfloat16", "int8"]


def run(binary, threads, args, stdin=None):
    cmd = [binary, "--threads", str(threads)] + args
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, stdin=stdin)
    if r.returncode != 0:
        sys.exit("error: `%s` exited with %d:\n%s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="a float32 model directory")
    p.add_argument("--source", required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--bin", default="build/transformer")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--work", default=None, help="directory for the outputs (default: a temporary one)")
    a = p.parse_args()
    binary = a.bin if os.path.isabs(a.bin) else os.path.join(REPO, a.bin)
    work = a.work or tempfile.mkdtemp(prefix="compute-types-")
    os.makedirs(work, exist_ok=True)

    outputs, bleu = {}, {}
    for beam in (1, 4):
        for t in TYPES:
            path = os.path.join(work, "test.%s.beam%d.txt" % (t, beam))
            with open(a.source) as src:
                text = run(binary, a.threads, ["translate", "--model", a.model, "--compute-type", t, "--beam", str(beam)], src)
            with open(path, "w") as f:
                f.write(text)
            outputs[(t, beam)] = text.splitlines()
            line = run(binary, a.threads, ["bleu", a.reference, "-i", path]).strip()
            bleu[(t, beam)] = float(re.search(r"= ([0-9.]+) ", line).group(1))
            print("%s beam %d: %s" % (t, beam, line), file=sys.stderr, flush=True)

    # Per-token log-probabilities of float32's greedy outputs under each type.
    hyp = os.path.join(work, "test.float32.beam1.txt")
    scores = {}
    for t in TYPES:
        text = run(binary, a.threads, ["score", "--per-token", "--compute-type", t, "--model", a.model, a.source, hyp])
        scores[t] = [[float(v) for v in line.split(" ||| ")[1].split()] for line in text.splitlines()]

    n = len(outputs[("float32", 1)])
    print("model `%s`, %d sentences of `%s`, `--threads %d`" % (a.model, n, a.source, a.threads))
    print()
    print("| compute type | BLEU greedy | BLEU beam 4 | greedy outputs identical to float32 | beam 4 identical "
          "| mean \\|Δ log p\\| per token | max \\|Δ log p\\| |")
    print("|---|---|---|---|---|---|---|")
    for t in TYPES:
        same = [sum(x == y for x, y in zip(outputs[(t, b)], outputs[("float32", b)])) for b in (1, 4)]
        deltas = [abs(x - y) for s, r in zip(scores[t], scores["float32"]) for x, y in zip(s, r)]
        print("| %s | %.2f | %.2f | %d / %d (%.1f%%) | %d / %d (%.1f%%) | %.2e | %.2e |" % (
            t, bleu[(t, 1)], bleu[(t, 4)], same[0], n, 100.0 * same[0] / n, same[1], n, 100.0 * same[1] / n,
            statistics.mean(deltas), max(deltas)))
    print()
    print("(%d tokens scored, EOS included; outputs in %s)" % (sum(len(s) for s in scores["float32"]), work))


if __name__ == "__main__":
    main()
