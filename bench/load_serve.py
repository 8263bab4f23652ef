#!/usr/bin/python3
"""A bounded load test of `transformer serve`, on loopback only.

Starts the server on a free port with a model directory and checks, then
measures, it:

1. References. Every request of the mix is sent once on its own, and its
   status must be the one it is for: 200 for a translation, an explain
   request or a health check, and the documented 4xx for a malformed one
   (400 bad JSON, wrong types, unknown fields; 413 an oversized body; 404 an
   unknown path; 405 a wrong method). A server answering 500 to everything
   fails here.
2. Batch independence. Each sentence's translation inside one request with
   all the others (so inside a batch with them) must equal its translation
   alone, for every option set of the mix.
3. Closed loop. --clients threads send --requests each, all at once, drawn
   from the mix (translations of one sentence or eight, greedy and beam,
   explain requests, malformed ones, health checks). Every answer must have
   its reference's status and equal its reference (translations: text and
   n-best texts). The load runs --passes times; the first warms up, and the
   server's resident memory may not peak higher in the later half of the
   remaining passes than in the earlier half beyond a margin: a leak keeps
   growing.
4. Open loop (--rate R --seconds S): translation requests arrive at R per
   second, evenly spaced, whatever the server's pace, for S seconds; each
   latency counts from the request's scheduled arrival, so a server that
   falls behind shows it (no coordinated omission). Reports the offered and
   achieved rates and p50/p99 latency.

With --baseline-bin OLD the same measurements run against OLD first, in the
same run, and the targets of issue 16 are checked: at --clients, at least 3x
the requests/s with a translation p99 no worse; in the open loop at a rate
OLD can just sustain (--rate auto: 85% of OLD's translation throughput in
the closed loop), a translation p99 at least 2x lower.

With a baseline, --alternate N lone requests of each kind then go to both
servers in turn (both running, one request at a time): the latency of a
request alone, which batching may lengthen by at most the batch delay.

Exits 1 on a wrong status or answer, a crash or growing memory; with
--require-targets also when a target is missed.

    /usr/bin/python3 bench/load_serve.py --model runs/demo/model [--clients 64] [--requests 20]
    /usr/bin/python3 bench/load_serve.py --model MODEL --baseline-bin OLD/build/transformer --rate auto --seconds 20
"""

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def resident_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


TRANSLATE_OPTIONS = [{"beam": 1}, {"beam": 4, "n_best": 2}, {"beam": 2}]


def request_mix(sentences):
    """(kind, method, path, body, status it must get) of every request the clients draw from."""
    mix = []
    for s in sentences:
        mix.append(("translate", "POST", "/v1/translate", json.dumps({"text": s, **TRANSLATE_OPTIONS[0]}), 200))
        mix.append(("translate", "POST", "/v1/translate", json.dumps({"text": s, **TRANSLATE_OPTIONS[1]}), 200))
    mix.append(("translate", "POST", "/v1/translate", json.dumps({"text": sentences[:8], **TRANSLATE_OPTIONS[2]}), 200))
    for s in sentences[:3]:
        mix.append(("explain", "POST", "/v1/explain", json.dumps({"text": s, "beam": 2}), 200))
    mix += [
        ("malformed", "POST", "/v1/translate", "{\"text\": ", 400),
        ("malformed", "POST", "/v1/translate", json.dumps({"text": 7}), 400),
        ("malformed", "POST", "/v1/translate", json.dumps({"text": "a", "beam": "four"}), 400),
        ("malformed", "POST", "/v1/translate", json.dumps({"text": "a", "colour": "red"}), 400),
        ("malformed", "POST", "/v1/translate", json.dumps({"text": "x" * (2 << 20)}), 413),
        ("malformed", "GET", "/v1/nowhere", None, 404),
        ("malformed", "GET", "/v1/translate", None, 405),
        ("health", "GET", "/healthz", None, 200),
    ]
    return mix


def comparable(kind, status, payload):
    """What must be equal between a loaded answer and the reference."""
    if status != 200:
        return status, None
    data = json.loads(payload)
    if kind == "translate":
        return status, [(t["text"], [h["text"] for h in t.get("n_best", [])]) for t in data["translations"]]
    if kind == "explain":
        return status, data["output"]["text"]
    return status, data.get("status")


class Server:
    """`transformer serve` on a free port, its log in a file (a pipe nobody reads would fill and block it)."""

    def __init__(self, binary, model, workers, threads, extra):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen([binary] + (["--threads", str(threads)] if threads else [])
                                        + ["serve", "--model", model, "--port", str(self.port),
                                         "--workers", str(workers)] + extra,
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        for _ in range(600):
            try:
                if request(self.port, "GET", "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                self.log.seek(0)
                sys.exit("the server exited: " + self.log.read().decode(errors="replace"))
            time.sleep(0.1)
        sys.exit("the server did not get ready within 60 s")

    def alive(self):
        return self.process.poll() is None and request(self.port, "GET", "/healthz")[0] == 200

    def stop(self):
        self.process.terminate()
        return self.process.wait(timeout=60)


def check_references(port, mix):
    """The answer of every request alone, and a failure for each whose status is not the one it must get."""
    reference, failures = [], []
    for kind, method, path, body, status in mix:
        got = comparable(kind, *request(port, method, path, body))
        reference.append(got)
        if got[0] != status:
            failures.append(f"{method} {path} {(body or '')[:60]!r}: status {got[0]}, must be {status}")
    return reference, failures


def check_batch_independence(port, sentences):
    """Each sentence inside one request with all the others must translate as it does alone."""
    failures = []
    for options in TRANSLATE_OPTIONS:
        status, payload = request(port, "POST", "/v1/translate", json.dumps({"text": sentences, **options}))
        if status != 200:
            failures.append(f"{options}: the request of {len(sentences)} sentences got {status}")
            continue
        together = comparable("translate", status, payload)[1]
        for s, got in zip(sentences, together):
            alone = comparable("translate", *request(port, "POST", "/v1/translate", json.dumps({"text": s, **options})))
            if alone != (200, [got]):
                failures.append(f"{options} {s[:40]!r}: {got} inside the batch, {alone} alone")
    return failures


def size_buffers(port, mix, sentences, batch_sentences, workers):
    """Batches of the largest shape the load can form, for every kind of translation, on every replica.

    A model replica's buffers grow to the largest batch it has decoded, and a
    server batching across requests forms larger batches the more clients
    happen to wait at once; sent first, these make the memory check below
    compare like with like."""
    longest = max(sentences, key=len)
    kinds = {json.dumps({k: v for k, v in json.loads(body).items() if k != "text"}, sort_keys=True)
             for kind, _, _, body, _ in mix if kind == "translate"}
    bodies = [json.dumps({"text": [longest] * batch_sentences, **json.loads(k)}) for k in sorted(kinds)]
    threads = [threading.Thread(target=request, args=(port, "POST", "/v1/translate", body))
               for body in bodies for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def closed_loop(server, mix, reference, a):
    """--clients at once, --requests each, --passes times: latencies by kind, wall time, memory peaks, failures."""
    latencies, failures, lock = {}, [], threading.Lock()

    def client(seed):
        rng = random.Random(seed)
        for _ in range(a.requests):
            i = rng.randrange(len(mix))
            kind, method, path, body, _ = mix[i]
            start = time.perf_counter()
            try:
                got = comparable(kind, *request(server.port, method, path, body))
            except Exception as e:  # a dropped connection is a failure, not a crash of the test
                got = ("exception", repr(e))
            elapsed = time.perf_counter() - start
            with lock:
                latencies.setdefault(kind, []).append(elapsed)
                if got != reference[i]:
                    failures.append((kind, path, (body or "")[:80], got, reference[i]))

    def run_pass(first_seed):
        memory = [resident_mib(server.process.pid)]
        stop_sampling = threading.Event()

        def sample_memory():
            while not stop_sampling.wait(0.1):
                memory.append(resident_mib(server.process.pid))

        sampler = threading.Thread(target=sample_memory)
        sampler.start()
        threads = [threading.Thread(target=client, args=(first_seed + c,)) for c in range(a.clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        stop_sampling.set()
        sampler.join()
        return wall, max(memory)

    walls, peaks = [], []
    for n in range(a.passes):
        if n == 1:
            latencies.clear()  # pass 1 warms up (and sizes the allocator's per-thread arenas)
        wall, peak = run_pass(1000 * n)
        peaks.append(peak)
        if n > 0:
            walls.append(wall)
    return {"latencies": latencies, "wall": sum(walls), "peaks": peaks, "failures": failures}


def keeps_up(o):
    """Whether an open-loop run was sustained: everything done at about the offered rate, latency not growing."""
    lat = o["latencies"]
    third = max(1, len(lat) // 3)
    early, late = statistics.median(lat[:third]), statistics.median(lat[-third:])
    return o["achieved"] >= 0.95 * o["offered"] and late <= 2 * early + 0.1


def sustainable_rate(server, mix, reference, seconds):
    """The highest arrival rate of translations the server keeps up with: doubled from 1/s until it falls
    behind, then halved between the last rate kept up with and the first one not, three times."""
    good, bad, rate = 0.0, None, 1.0
    while bad is None or (bad - good) / bad > 0.15:
        o = open_loop(server, mix, reference, rate, seconds)
        sustained = keeps_up(o) and not o["failures"]
        print(f"  {rate:.2f}/s for {seconds:.0f} s: done at {o['achieved']:.2f}/s, p50 {1e3 * o['p50']:.0f} ms, "
              f"p99 {1e3 * o['p99']:.0f} ms: " + ("kept up" if sustained else "fell behind"))
        if sustained:
            good = rate
        else:
            bad = rate
        rate = rate * 2 if bad is None else (good + bad) / 2
        if good == 0 and bad is not None:
            break
    return good


def open_loop(server, mix, reference, rate, seconds):
    """Translations arriving at `rate` per second for `seconds`: latencies from their scheduled arrival."""
    translations = [i for i, entry in enumerate(mix) if entry[0] == "translate"]
    count = max(1, int(rate * seconds))
    rng = random.Random(7)
    picks = [rng.choice(translations) for _ in range(count)]
    latencies, failures, lock = [0.0] * count, [], threading.Lock()  # by arrival
    begin = time.perf_counter() + 0.2

    def send(n):
        scheduled = begin + n / rate
        time.sleep(max(0.0, scheduled - time.perf_counter()))
        kind, method, path, body, _ = mix[picks[n]]
        try:
            got = comparable(kind, *request(server.port, method, path, body))
        except Exception as e:
            got = ("exception", repr(e))
        done = time.perf_counter()
        with lock:
            latencies[n] = done - scheduled
            if got != reference[picks[n]]:
                failures.append((kind, path, (body or "")[:80], got, reference[picks[n]]))

    # One thread per request, started ahead of its time: a request never
    # waits for an earlier one to finish before it is sent.
    threads = []
    for n in range(count):
        while n / rate - (time.perf_counter() - begin) > 1.0:  # keep at most ~1 s of threads waiting
            time.sleep(0.05)
        t = threading.Thread(target=send, args=(n,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    wall = time.perf_counter() - begin
    return {"offered": rate, "count": count, "achieved": count / wall, "wall": wall, "latencies": latencies,
            "p50": statistics.median(latencies), "p99": percentile(latencies, 0.99), "failures": failures}


def alternate(old_binary, old_model, binary, model, sentences, a):
    """One request at a time, to the baseline and to this server in turn (both running, only one busy): the
    latency of a lone request, which batching may lengthen by at most the batch delay."""
    old = Server(old_binary, old_model, a.workers, a.threads, [])
    new = Server(binary, model, a.workers, a.threads, a.server_arg)
    try:
        for name, options in (("greedy", TRANSLATE_OPTIONS[0]), ("beam 4", TRANSLATE_OPTIONS[1])):
            times = {"old": [], "new": []}
            for i in range(a.alternate):
                body = json.dumps({"text": sentences[i % len(sentences)], **options})
                order = (("old", old), ("new", new)) if i % 2 else (("new", new), ("old", old))
                for label, server in order:
                    start = time.perf_counter()
                    status, _ = request(server.port, "POST", "/v1/translate", body)
                    times[label].append(time.perf_counter() - start)
                    assert status == 200, f"{label}: status {status}"
            print(f"one request at a time, {name}: median {1e3 * statistics.median(times['old']):.1f} ms before, "
                  f"{1e3 * statistics.median(times['new']):.1f} ms now ({a.alternate} each, alternating)")
    finally:
        old.stop()
        new.stop()


def measure(label, binary, model, sentences, a, extra, rate=None):
    """Everything above against one server binary; prints as it goes, returns the figures."""
    print(f"== {label}: {binary}")
    server = Server(binary, model, a.workers, a.threads, extra)
    result = {"ok": True}
    try:
        mix = request_mix(sentences)
        reference, failures = check_references(server.port, mix)
        for f in failures:
            print("WRONG status alone:", f)
        batch_failures = check_batch_independence(server.port, sentences[: a.batch_check])
        for f in batch_failures:
            print("WRONG in a batch:", f)
        print(f"references: {len(mix)} requests alone, {len(failures)} with a wrong status; batch independence: "
              f"{min(a.batch_check, len(sentences))} sentences x {len(TRANSLATE_OPTIONS)} option sets, "
              f"{len(batch_failures)} different")
        result["ok"] &= not failures and not batch_failures
        size_buffers(server.port, mix, sentences, a.batch_sentences, a.workers)
        baseline = resident_mib(server.process.pid)

        loop = closed_loop(server, mix, reference, a)
        latencies, wall = loop["latencies"], loop["wall"]
        total = sum(len(v) for v in latencies.values())
        result["rps"] = total / wall
        result["translate_rps"] = len(latencies.get("translate", [])) / wall
        result["p50"] = {k: statistics.median(v) for k, v in latencies.items()}
        result["p99"] = {k: percentile(v, 0.99) for k, v in latencies.items()}
        print(f"closed loop: {a.clients} clients x {a.requests} requests x {a.passes - 1} timed pass(es) = {total} "
              f"requests in {wall:.1f} s: {total / wall:.1f} requests/s ({a.workers} model replicas, "
              f"{os.cpu_count()} cores)")
        print(f"{'kind':<10} {'count':>6} {'p50 ms':>9} {'p99 ms':>9}")
        for kind, values in sorted(latencies.items()):
            print(f"{kind:<10} {len(values):>6} {1e3 * result['p50'][kind]:>9.1f} {1e3 * result['p99'][kind]:>9.1f}")
        # After the warm-up pass memory wanders with the allocator; a leak
        # shows as the later half of the passes peaking higher than the earlier.
        peaks = loop["peaks"][1:]
        early, late = max(peaks[: len(peaks) // 2]), max(peaks[len(peaks) // 2:])
        print(f"resident memory: {baseline:.1f} MiB before; peak per pass (MiB): "
              + " ".join(f"{m:.1f}" for m in loop["peaks"]) + " (the first warms up)")
        if loop["failures"]:
            result["ok"] = False
            print(f"WRONG: {len(loop['failures'])} answers differ from the single-request ones, e.g.:")
            for f in loop["failures"][:5]:
                print("   ", f)
        if a.memory_margin is not None and late > early * (1 + a.memory_margin):
            result["ok"] = False
            print(f"WRONG: memory grew from {early:.1f} to {late:.1f} MiB")

        if rate == "auto":
            # The rate this server can just sustain, found by trying rates.
            print("searching the highest rate of translations it keeps up with:")
            highest = sustainable_rate(server, mix, reference, a.probe_seconds)
            # A short try can keep up with a rate a longer run falls behind
            # at; 90% of it is one the server sustains for the whole run.
            rate = 0.9 * highest
            print(f"kept up with {highest:.2f} translations/s; the open loop runs at 90%: {rate:.2f}/s")
        if rate:
            o = open_loop(server, mix, reference, rate, a.seconds)
            result["open"] = o
            print(f"open loop: {o['count']} translations offered at {o['offered']:.1f}/s, done at {o['achieved']:.1f}/s "
                  f"in {o['wall']:.1f} s: p50 {1e3 * o['p50']:.1f} ms, p99 {1e3 * o['p99']:.1f} ms")
            if o["failures"]:
                result["ok"] = False
                print(f"WRONG: {len(o['failures'])} open-loop answers differ, e.g.:", o["failures"][:3])
        if not server.alive():
            result["ok"] = False
            print("WRONG: the server is not answering after the run")
    finally:
        code = server.stop()
        if code != 0:
            result["ok"] = False
            print(f"WRONG: the server exited {code} after SIGTERM")
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model directory (config.json, model.safetensors, spm.model)")
    p.add_argument("--bin", default="build/transformer")
    p.add_argument("--baseline-bin", help="an older `transformer` to measure first, in the same run, for the targets")
    p.add_argument("--baseline-model", help="the model directory for the baseline, if its config.json must differ "
                                            "(an older binary refuses fields it does not know); default: --model")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--requests", type=int, default=20, help="requests per client")
    p.add_argument("--workers", type=int, default=2, help="the server's model replicas")
    p.add_argument("--threads", type=int, help="cores each replica's matrix products use (transformer --threads); "
                                               "default: the binary's (all)")
    p.add_argument("--sentences", default=os.path.join(REPO, "tests", "fixtures", "multi30k", "val.de"),
                   help="file whose first lines are the sentences to translate")
    p.add_argument("--passes", type=int, default=5, help="runs of the whole load; the first warms up, the rest are timed")
    p.add_argument("--memory-margin", type=float, default=0.10, help="allowed growth of resident memory after the first pass")
    p.add_argument("--no-memory-check", dest="memory_margin", action="store_const", const=None,
                   help="report resident memory but do not judge it (a sanitizer build's allocator keeps freed "
                        "memory on purpose; its leak checker judges leaks instead)")
    p.add_argument("--batch-check", type=int, default=24, help="sentences of the batch-independence check")
    p.add_argument("--batch-sentences", type=int, default=64,
                   help="the server's largest batch in sentences (--max-batch-sentences), to size its buffers first")
    p.add_argument("--rate", help="open loop: translations per second, or 'auto': the highest rate the baseline (or, "
                                  "without one, this server) keeps up with, found by trying rates")
    p.add_argument("--probe-seconds", type=float, default=10, help="length of each try of --rate auto")
    p.add_argument("--seconds", type=float, default=20, help="open loop: how long requests arrive")
    p.add_argument("--server-arg", action="append", default=[],
                   help="one more argument for the server under test (repeat it: --server-arg=--http-threads "
                        "--server-arg=64); not for the baseline")
    p.add_argument("--alternate", type=int, default=30,
                   help="with --baseline-bin: lone requests of each kind sent to both servers in turn (0: none)")
    p.add_argument("--require-targets", action="store_true", help="exit 1 when a target of issue 16 is missed")
    a = p.parse_args()
    if a.passes < 3:
        p.error("--passes must be at least 3: one to warm up, and two halves to compare")
    rate = None if a.rate is None else ("auto" if a.rate == "auto" else float(a.rate))

    if os.path.exists(a.sentences):
        with open(a.sentences, encoding="utf-8") as f:
            sentences = [line.strip() for line, _ in zip(f, range(24)) if line.strip()]
    else:
        sentences = ["the twenty-first of June nineteen ninety-four", "March third, twenty twenty-five",
                     "the ninth of November nineteen eighty-nine", "December fifth, two thousand and seven"]
    resolve = lambda b: b if os.path.isabs(b) else os.path.join(REPO, b)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    old = None
    if a.baseline_bin:
        old = measure("baseline", resolve(a.baseline_bin), a.baseline_model or a.model, sentences, a, [], rate)
        if rate == "auto":
            rate = old["open"]["offered"]  # the same arrival rate for both
    new = measure("server", resolve(a.bin), a.model, sentences, a, a.server_arg, rate)
    if a.baseline_bin and a.alternate > 0:
        alternate(resolve(a.baseline_bin), a.baseline_model or a.model, resolve(a.bin), a.model, sentences, a)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    ok = new["ok"] and (old is None or old["ok"])
    if old:
        speedup = new["rps"] / old["rps"]
        p99_old, p99_new = old["p99"]["translate"], new["p99"]["translate"]
        first = speedup >= 3 and p99_new <= p99_old
        print(f"target 1, {a.clients} clients: {speedup:.2f}x the requests/s ({old['rps']:.1f} -> {new['rps']:.1f}); "
              f"translation p99 {1e3 * p99_old:.0f} -> {1e3 * p99_new:.0f} ms: " + ("met" if first else "MISSED"))
        targets = first
        if rate:
            o_old, o_new = old["open"], new["open"]
            second = o_new["p99"] * 2 <= o_old["p99"]
            print(f"target 2, open loop at {o_old['offered']:.1f}/s: p99 {1e3 * o_old['p99']:.0f} -> "
                  f"{1e3 * o_new['p99']:.0f} ms ({o_old['p99'] / o_new['p99']:.2f}x lower): "
                  + ("met" if second else "MISSED"))
            targets = targets and second
        if a.require_targets:
            ok = ok and targets
    print("load test: " + ("passed" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
