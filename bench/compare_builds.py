#!/usr/bin/python3
"""Several builds of `transformer`, the same `bench` commands, interleaved.

On a machine others share, the load changes from one minute to the next,
so two builds measured an hour apart are not comparable. This runs every
benchmark on every build back to back, round after round (round 1: bench A
on each build, bench B on each build, ...; round 2: the same again), reads
/proc/loadavg before each run, and keeps each run's figures and same-run
peak. At the end it prints, per benchmark and build, the median and range
over the rounds, and per round the ratio of each build to the first one;
the ratio is the steadier figure when the load varies.

    /usr/bin/python3 bench/compare_builds.py --rounds 5 \\
        openblas=build-openblas/transformer onednn=build/transformer

docs/RESULTS.md ("oneDNN as the matrix backend") has what this measured.
--jsonl FILE appends one line per run, for a look at each run's load.
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
}

PATTERNS = {
    "target tokens/s": r"^\s*target tokens\s+([0-9.]+) tokens/s",
    "sentences/s": r"^\s*sentences\s+([0-9.]+) sentences/s",
    "ms": r"^\s*time per batch\s+([0-9.]+) ms",
    "GFLOP/s": r"^\s*achieved\s+([0-9.]+) GFLOP/s",
    "peak": r"peak \(2048³\)\s+([0-9.]+) GFLOP/s",
    "share %": r"-> ([0-9]+)% of peak",
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
    p.add_argument("builds", nargs="+", help="NAME=PATH of a transformer binary; the first is the baseline")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bench", action="append", choices=sorted(BENCHES), help="only these (default: all)")
    p.add_argument("--jsonl", help="append every run's figures to this file")
    a = p.parse_args()
    builds = [b.split("=", 1) for b in a.builds]
    if any(len(b) != 2 for b in builds):
        sys.exit("error: give builds as NAME=PATH")
    benches = [b for b in BENCHES if not a.bench or b in a.bench]
    results = {}  # (bench, build) -> [figures per round]
    out = open(a.jsonl, "a") if a.jsonl else None
    for rnd in range(a.rounds):
        for bench in benches:
            args, _ = BENCHES[bench]
            for name, binary in builds:
                figures = run(binary, a.threads, args)
                results.setdefault((bench, name), []).append(figures)
                record = dict(round=rnd, bench=bench, build=name, time=time.strftime("%H:%M:%S"), **figures)
                print(json.dumps(record), flush=True)
                if out:
                    out.write(json.dumps(record) + "\n")
                    out.flush()
    print()
    base = builds[0][0]
    for bench in benches:
        metric = BENCHES[bench][1]
        for name, _ in builds:
            runs = results[(bench, name)]
            values = [r[metric] for r in runs]
            line = "%-17s %-10s %s median %9.1f [%.1f-%.1f]" % (bench, name, metric, statistics.median(values),
                                                                 min(values), max(values))
            if name != base:
                ratios = [r[metric] / b[metric] for r, b in zip(runs, results[(bench, base)])]
                line += "   / %s per round: median %.2f [%.2f-%.2f]" % (base, statistics.median(ratios), min(ratios),
                                                                        max(ratios))
            loads = [r["load"] for r in runs]
            line += "   load %.1f-%.1f" % (min(loads), max(loads))
            print(line)


if __name__ == "__main__":
    main()
