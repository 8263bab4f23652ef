#!/usr/bin/python3
"""Several builds of `transformer`, the same `bench` commands, interleaved.

On a machine others share, the load changes from one minute to the next,
so two builds measured an hour apart are not comparable. This runs every
benchmark on every build back to back, round after round (round 1: bench A
on each build, bench B on each build, ...; round 2: the same again), reads
/proc/loadavg before each run, and keeps each run's figures and same-run
peak. Each round starts one build later than the one before (A B C, then
B C A, ...), so that no build always takes the same place: two builds of
`base` measured 1.05 with one of them first in every round and 0.98 with
the other first (docs/RESULTS.md, 2026-12-04). At the end it prints, per benchmark and build, the median and range
over the rounds, and per round the ratio of each build to the first one;
the ratio is the steadier figure when the load varies.

    /usr/bin/python3 bench/compare_builds.py --rounds 5 \\
        openblas=build-openblas/transformer onednn=build/transformer

A build may carry arguments of its own, after a comma, appended to every
benchmark it runs: one binary is then two builds, as issue 14's training
targets compare (the trainer at the issue's filing, the OpenBLAS build, and
oneDNN in fp32 and in bf16; bench/build_revision.sh builds the first):

    /usr/bin/python3 bench/compare_builds.py --rounds 5 --bench train --bench train-base \\
        filing=build-038acda/transformer openblas=build-openblas/transformer \\
        fp32=build/transformer "bf16=build/transformer,--precision bfloat16" \\
        --ratio fp32/filing --ratio fp32/openblas --ratio bf16/fp32

--ratio A/B prints the per-round ratio of build A to build B (default: every
build to the first). Each run's same-run peaks (fp32, and bf16 where the run
measures it) are kept and summarised too.

docs/RESULTS.md ("oneDNN as the matrix backend", "bf16 mixed-precision
training") has what this measured. --jsonl FILE appends one line per run,
for a look at each run's load.
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import time

# name: (arguments after --threads N, the figure to compare)
BENCHES = {  # in the order each round runs them
    "decode-1-greedy": (["bench", "decode", "--preset", "small", "--batch", "1", "--iters", "5"], "sentences/s"),
    "decode-32-greedy": (["bench", "decode", "--preset", "small", "--batch", "32", "--iters", "5"], "sentences/s"),
    "forward": (["bench", "forward", "--preset", "small"], "target tokens/s"),
    "decode-1-beam4": (["bench", "decode", "--preset", "small", "--batch", "1", "--beam", "4", "--iters", "5"],
                       "sentences/s"),
    "decode-32-beam4": (["bench", "decode", "--preset", "small", "--batch", "32", "--beam", "4", "--iters", "3"],
                        "sentences/s"),
    "train": (["bench", "train", "--preset", "small", "--iters", "5"], "target tokens/s"),
    "train-base": (["bench", "train", "--preset", "base", "--iters", "3"], "target tokens/s"),
}

PATTERNS = {
    "target tokens/s": r"^\s*target tokens\s+([0-9.]+) tokens/s",
    "sentences/s": r"^\s*sentences\s+([0-9.]+) sentences/s",
    "ms": r"^\s*time per batch\s+([0-9.]+) ms",
    "GFLOP/s": r"^\s*achieved\s+([0-9.]+) GFLOP/s",
    "peak": r"(?:fp32|sgemm) peak \(2048³\)\s+([0-9.]+) GFLOP/s",
    "bf16 peak": r"bfloat16 peak \(2048³\)\s+([0-9.]+) GFLOP/s",
    "share %": r"-> ([0-9]+)% of peak",  # of the fp32 peak, whatever the precision
    "bf16 share %": r"bfloat16 peak \(2048³\).*-> ([0-9]+)% of it",
    "memory MiB": r"^\s*peak memory\s+([0-9.]+) MiB",
}


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run(binary, threads, args):
    load = load_average()
    r = subprocess.run([binary, "--threads", str(threads)] + args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("error: %s failed with status %d:\n%s%s" % (binary, r.returncode, r.stdout, r.stderr))
    figures = {"load": load}
    for name, pattern in PATTERNS.items():
        m = re.search(pattern, r.stdout, re.M)
        if m:
            figures[name] = float(m.group(1))
    return figures


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("builds", nargs="+",
                   help="NAME=PATH of a transformer binary, or NAME=PATH,ARGS with arguments appended to every "
                        "benchmark it runs; the first is the baseline")
    p.add_argument("--ratio", action="append", default=[], metavar="A/B",
                   help="also print build A's figure over build B's, per round (default: each over the first)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bench", action="append", choices=sorted(BENCHES), help="only these (default: all)")
    p.add_argument("--jsonl", help="append every run's figures to this file")
    a = p.parse_args()
    builds = [b.split("=", 1) for b in a.builds]
    if any(len(b) != 2 for b in builds):
        sys.exit("error: give builds as NAME=PATH or NAME=PATH,ARGS")
    extra = {}  # build name → its own arguments
    for b in builds:
        path, _, args = b[1].partition(",")
        b[1], extra[b[0]] = path, args.split()
    names = [name for name, _ in builds]
    if len(set(names)) != len(names):
        sys.exit("error: two builds are named alike")
    ratios = [r.split("/") for r in a.ratio]
    for r, text in zip(ratios, a.ratio):
        if len(r) != 2 or r[0] not in names or r[1] not in names:
            sys.exit("error: --ratio %s: give A/B with A and B among the builds' names (%s)" % (text, ", ".join(names)))
    if not ratios:
        ratios = [[name, names[0]] for name in names[1:]]
    benches = [b for b in BENCHES if not a.bench or b in a.bench]
    results = {}  # (bench, build) -> [figures per round]
    out = open(a.jsonl, "a") if a.jsonl else None
    for rnd in range(a.rounds):
        for bench in benches:
            args, _ = BENCHES[bench]
            for name, binary in builds[rnd % len(builds):] + builds[:rnd % len(builds)]:
                figures = run(binary, a.threads, args + extra[name])
                results.setdefault((bench, name), []).append(figures)
                record = dict(round=rnd, bench=bench, build=name, time=time.strftime("%H:%M:%S"), **figures)
                print(json.dumps(record), flush=True)
                if out:
                    out.write(json.dumps(record) + "\n")
                    out.flush()
    print()
    for bench in benches:
        metric = BENCHES[bench][1]
        for name, _ in builds:
            runs = results[(bench, name)]
            values = [r[metric] for r in runs]
            line = "%-17s %-10s %s median %9.1f [%.1f-%.1f]" % (bench, name, metric, statistics.median(values),
                                                                 min(values), max(values))
            for peak in ("peak", "bf16 peak"):
                if all(peak in r for r in runs):
                    line += "   %s %.0f-%.0f GFLOP/s" % (peak, min(r[peak] for r in runs), max(r[peak] for r in runs))
            loads = [r["load"] for r in runs]
            line += "   load %.1f-%.1f" % (min(loads), max(loads))
            print(line)
        for top, bottom in ratios:
            per_round = [t[metric] / b[metric] for t, b in zip(results[(bench, top)], results[(bench, bottom)])]
            print("%-17s %s / %s per round: median %.2f [%.2f-%.2f]  (%s)" % (
                bench, top, bottom, statistics.median(per_round), min(per_round), max(per_round),
                " ".join("%.2f" % x for x in per_round)))


if __name__ == "__main__":
    main()
