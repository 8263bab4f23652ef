#!/usr/bin/env python3
"""Runs `transformer bench` commands several times, interleaved, and prints
each figure's median and spread with the machine's load: the form in which
docs/RESULTS.md quotes every speed figure.

    /usr/bin/python3 bench/repeat.py --runs 5 -- \\
        "bench decode --preset small --batch 32 --beam 4" \\
        "bench decode --preset small --batch 1 --beam 1"

Each quoted argument is one `transformer --threads T …` command. Round r runs
every command once, in the order given, so a slow minute of the machine falls
on all of them alike and ratios between them are measured in the same run.
Every line of `bench`'s report that reads "label  number unit" becomes a
figure; the table gives, per command and figure, the median over the runs and
the lowest and highest value. The load average (`/proc/loadavg`, 1 minute) is
read before every run: a figure measured above a load of about 0.5 on this
2-core machine is not a quiet-machine figure, and the table says so.
"""
import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# "  sentences                   18.5 sentences/s" → ("sentences", 18.5, "sentences/s")
FIGURE = re.compile(r"^\s+(\S.*?)\s{2,}(-?[0-9][0-9.]*)\s+(\S.*)$")


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run_once(binary, threads, command, omp_wait):
    cmd = [binary, "--threads", str(threads)] + shlex.split(command)
    env = dict(os.environ)
    if omp_wait == "passive":
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    else:  # as a user runs it: transformer bounds OpenMP's spinning itself (GOMP_SPINCOUNT)
        env.pop("OMP_WAIT_POLICY", None)
        env.pop("GOMP_SPINCOUNT", None)
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("error: `%s` exited with %d:\n%s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    figures = {}
    for line in r.stdout.splitlines():
        m = FIGURE.match(line)
        if m:
            figures[m.group(1).strip()] = (float(m.group(2)), m.group(3).split()[0])
    if not figures:
        sys.exit("error: `%s` printed no figure:\n%s" % (" ".join(cmd), r.stdout.strip()))
    return figures


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--runs", type=int, default=5, help="rounds; each runs every command once")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bin", default="build/transformer")
    p.add_argument("--omp-wait", choices=["passive", "cli"], default="passive",
                   help="passive: OMP_WAIT_POLICY=PASSIVE (unless set), fair to a busy machine; cli: as a user runs "
                        "transformer, which then bounds OpenMP's spinning itself; small batches (many short "
                        "parallel regions) are several times faster so")
    p.add_argument("commands", nargs="+", help="`transformer` arguments after --threads, one quoted string each")
    a = p.parse_args()
    if a.runs < 1 or a.threads < 1:
        p.error("--runs and --threads must be at least 1")
    binary = a.bin if os.path.isabs(a.bin) else os.path.join(REPO, a.bin)
    if not os.access(binary, os.X_OK):
        sys.exit("error: %s is missing or not executable; build it first or pass --bin" % binary)

    results = {c: [] for c in a.commands}  # command → list of {label: (value, unit)}
    loads = []
    for r in range(a.runs):
        for c in a.commands:
            loads.append(load_average())
            results[c].append(run_once(binary, a.threads, c, a.omp_wait))
            print("round %d/%d: %s" % (r + 1, a.runs, c), file=sys.stderr, flush=True)

    print("`%s --threads %d COMMAND`, %d interleaved runs each; load average before the runs %.2f–%.2f%s"
          % (a.bin, a.threads, a.runs, min(loads), max(loads),
             "" if max(loads) < 0.5 else " (NOT a quiet machine)"))
    print()
    print("| command | figure | median | min – max | unit |")
    print("|---|---|---|---|---|")
    for c in a.commands:
        labels = [label for label in results[c][0] if all(label in run for run in results[c])]
        for label in labels:
            values = [run[label][0] for run in results[c]]
            print("| `%s` | %s | %.4g | %.4g – %.4g | %s |"
                  % (c, label, statistics.median(values), min(values), max(values), results[c][0][label][1]))


if __name__ == "__main__":
    main()
