#!/usr/bin/env python3
"""The Python package's overhead: Translator.translate_batch against the
CLI's `bench decode` on the same model and the same work, rounds interleaved.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_decode.py --rounds 5
    PYTHONPATH=build/python /usr/bin/python3 bench/python_decode.py --two-threads --rounds 3
    PYTHONPATH=build/python /usr/bin/python3 bench/python_decode.py --replicas 2 --rounds 5

Both decode 32 sentences of 30 source tokens into outputs forced to 30
tokens (min_length = the length limit = 30, as `bench decode` forces them),
in one batch, with the same beam and thread count, on a `small` model
(initialised, not trained: the work does not depend on the weights) with a
1,000-piece vocabulary trained on tests/fixtures/multi30k. `bench decode`
times the search alone; translate_batch adds everything a user pays for:
the arguments, the Translator's checks, encoding and length sorting, the
GIL, and the results as Python objects. Each figure is the median time of
--iters batches after one warm-up, measured in a process of its own (the
two alternate which runs first); the table gives per round both medians and
their ratio, and the median and spread of the ratios, with the load average
before each round.

With --replicas N, the comparison is Translator(replicas=N) against
Translator(replicas=1), both in Python: each translates N batches' worth of
sentences (N × 32) in one call with max_batch_size=32, so each replica gets
a batch of 32 on threads ÷ N threads; the figure per round is the time of a
call, and the ratio is the speed-up.
"""
import argparse
import os
import pathlib
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def make_model(binary, work):
    data = REPO / "tests" / "fixtures" / "multi30k"
    subprocess.run([binary, "vocab", "--input", data / "train.de", data / "train.en", "--out", work / "spm.model",
                    "--vocab-size", "1000"], check=True, capture_output=True)
    (work / "config.json").write_text('{"preset": "small", "src_vocab_size": 1000, "tgt_vocab_size": 1000}')
    subprocess.run([binary, "init", "--config", work / "config.json", "--out", work / "model"], check=True,
                   capture_output=True)
    (work / "model" / "spm.model").write_bytes((work / "spm.model").read_bytes())
    return work / "model"


def cli_time(binary, model, threads, beam, iters):
    out = subprocess.run([binary, "--threads", str(threads), "bench", "decode", "--model", model, "--batch", "32",
                          "--beam", str(beam), "--iters", str(iters)], check=True, capture_output=True, text=True,
                         env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}).stdout
    return float(re.search(r"time per batch\s+([0-9.]+) ms", out).group(1)) / 1e3


def python_time(model, threads, beam, iters, replicas=1, batches=1):
    out = subprocess.run([sys.executable, __file__, "--child", str(model), "--threads", str(threads), "--beam",
                          str(beam), "--iters", str(iters), "--child-replicas", str(replicas), "--child-batches",
                          str(batches)], check=True, capture_output=True, text=True,
                         env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}).stdout
    return float(out)


def workload(translator, beam, batches=1):
    """bench decode's work for translate_batch: 32 sentences (a batch) of
    random pieces (none special, ids 0-3) filling 30 encoder positions with
    the BOS/EOS the config adds, and outputs forced to 30 tokens; `batches`
    such batches in one call."""
    config = translator.model.config
    vocabulary = translator.model.pieces
    length = 30 - int(config["source_bos"]) - int(config["source_eos"])
    rng = random.Random(1)
    sentences = [[vocabulary[rng.randrange(4, len(vocabulary))] for _ in range(length)] for _ in range(32 * batches)]
    return sentences, dict(beam_size=beam, min_length=30, max_length_a=0, max_length_b=30, max_batch_size=32)


def child(model, threads, beam, iters, replicas, batches):
    import transformer
    translator = transformer.Translator(model, threads=threads, replicas=replicas)
    sentences, options = workload(translator, beam, batches)
    assert all(len(r.ids) == 30 for r in translator.translate_batch(sentences, **options))  # warm-up
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        translator.translate_batch(sentences, **options)
        times.append(time.perf_counter() - start)
    print(statistics.median(times))


def two_threads(model, beam, iters):
    """The GIL released: two Translators (one OpenMP thread each) translate
    the batch one after the other, then at once on two Python threads; the
    wall times and their ratio (2 would be perfect overlap)."""
    import threading
    import transformer
    translators = [transformer.Translator(model, threads=1) for _ in range(2)]
    sentences, options = workload(translators[0], beam)
    for t in translators:
        t.translate_batch(sentences, **options)  # warm-up

    def work(t):
        for _ in range(iters):
            t.translate_batch(sentences, **options)

    start = time.perf_counter()
    for t in translators:
        work(t)
    sequential = time.perf_counter() - start
    threads = [threading.Thread(target=work, args=(t,)) for t in translators]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    concurrent = time.perf_counter() - start
    print(f"load {load_average():.2f}: one after the other {sequential:.2f} s, at once {concurrent:.2f} s, "
          f"ratio {sequential / concurrent:.2f}")


def replicas(model, a):
    n = a.replicas
    ratios = []
    print(f"{n} batches of 32 in one call, beam {a.beam}, {a.threads} threads, median of {a.iters} calls per figure")
    print(f"round  load   replicas=1   replicas={n}   speed-up")
    for r in range(a.rounds):
        load = load_average()
        if r % 2 == 0:
            one = python_time(model, a.threads, a.beam, a.iters, 1, n)
            many = python_time(model, a.threads, a.beam, a.iters, n, n)
        else:
            many = python_time(model, a.threads, a.beam, a.iters, n, n)
            one = python_time(model, a.threads, a.beam, a.iters, 1, n)
        ratios.append(one / many)
        print(f"{r + 1:5d}  {load:4.2f}   {one * 1e3:7.1f} ms   {many * 1e3:7.1f} ms   {one / many:8.3f}")
    print(f"speed-up: median {statistics.median(ratios):.3f}, range {min(ratios):.3f}–{max(ratios):.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO / "build" / "transformer"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--two-threads", action="store_true",
                        help="instead: two Python threads with a Translator each, against one after the other")
    parser.add_argument("--replicas", type=int, default=1,
                        help="instead: Translator(replicas=N) against replicas=1 on N batches in one call")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-replicas", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--child-batches", type=int, default=1, help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.child:
        child(a.child, a.threads, a.beam, a.iters, a.child_replicas, a.child_batches)
        return
    with tempfile.TemporaryDirectory() as work:
        model = make_model(a.bin, pathlib.Path(work))
        if a.two_threads:
            for _ in range(a.rounds):
                two_threads(model, a.beam, a.iters)
            return
        if a.replicas > 1:
            replicas(model, a)
            return
        ratios = []
        print(f"batch 32, beam {a.beam}, {a.threads} threads, median of {a.iters} batches per figure")
        print("round  load   bench decode   translate_batch   Python / CLI")
        for r in range(a.rounds):
            load = load_average()
            # Which goes first alternates, so neither always follows the other.
            if r % 2 == 0:
                cli = cli_time(a.bin, model, a.threads, a.beam, a.iters)
                py = python_time(model, a.threads, a.beam, a.iters)
            else:
                py = python_time(model, a.threads, a.beam, a.iters)
                cli = cli_time(a.bin, model, a.threads, a.beam, a.iters)
            ratios.append(py / cli)
            print(f"{r + 1:5d}  {load:4.2f}   {cli * 1e3:9.2f} ms   {py * 1e3:12.2f} ms   {py / cli:10.3f}")
        print(f"ratio: median {statistics.median(ratios):.3f}, range {min(ratios):.3f}–{max(ratios):.3f}")


if __name__ == "__main__":
    main()
