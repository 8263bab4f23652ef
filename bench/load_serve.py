#!/usr/bin/python3
"""A bounded load test of `transformer serve`, on loopback only.

Starts the server on a free port with a model directory, asks every request
of the mix once on its own (the reference answers), then lets --clients
threads send --requests each, all at once: translations (one sentence or a
batch, greedy or beam), explain requests, and malformed ones (bad JSON,
wrong types, unknown fields, oversized bodies, unknown paths). Every answer
is checked: the status is the reference's, a translation equals the
single-request answer, an explain record names the same output. The
load runs --passes times; the first pass warms up (sizes every buffer and
allocator arena), and the server's resident memory may not peak higher in
the later half of the remaining passes than in the earlier half beyond a
margin: a leak keeps growing.

Prints requests/s, p50/p99 latency per kind and memory, and exits 1 on a
wrong answer, a crash or growing memory.

    /usr/bin/python3 bench/load_serve.py --model runs/demo/model [--clients 64] [--requests 20]
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


def request_mix(sentences):
    """(kind, method, path, body) of every request the clients draw from."""
    mix = []
    for s in sentences:
        mix.append(("translate", "POST", "/v1/translate", json.dumps({"text": s, "beam": 1})))
        mix.append(("translate", "POST", "/v1/translate", json.dumps({"text": s, "beam": 4, "n_best": 2})))
    mix.append(("translate", "POST", "/v1/translate", json.dumps({"text": sentences[:8], "beam": 2})))
    for s in sentences[:3]:
        mix.append(("explain", "POST", "/v1/explain", json.dumps({"text": s, "beam": 2})))
    mix += [
        ("malformed", "POST", "/v1/translate", "{\"text\": "),
        ("malformed", "POST", "/v1/translate", json.dumps({"text": 7})),
        ("malformed", "POST", "/v1/translate", json.dumps({"text": "a", "beam": "four"})),
        ("malformed", "POST", "/v1/translate", json.dumps({"text": "a", "colour": "red"})),
        ("malformed", "POST", "/v1/translate", json.dumps({"text": "x" * (2 << 20)})),
        ("malformed", "GET", "/v1/nowhere", None),
        ("malformed", "GET", "/v1/translate", None),
        ("health", "GET", "/healthz", None),
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


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model directory (config.json, model.safetensors, spm.model)")
    p.add_argument("--bin", default="build/transformer")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--requests", type=int, default=20, help="requests per client")
    p.add_argument("--workers", type=int, default=2, help="the server's model replicas")
    p.add_argument("--sentences", default=os.path.join(REPO, "tests", "fixtures", "multi30k", "val.de"),
                   help="file whose first lines are the sentences to translate")
    p.add_argument("--passes", type=int, default=5, help="runs of the whole load; the first warms up, the rest are timed")
    p.add_argument("--memory-margin", type=float, default=0.10, help="allowed growth of resident memory after the first pass")
    a = p.parse_args()
    if a.passes < 3:
        p.error("--passes must be at least 3: one to warm up, and two halves to compare")

    if os.path.exists(a.sentences):
        with open(a.sentences, encoding="utf-8") as f:
            sentences = [line.strip() for line, _ in zip(f, range(24)) if line.strip()]
    else:
        sentences = ["the twenty-first of June nineteen ninety-four", "March third, twenty twenty-five",
                     "the ninth of November nineteen eighty-nine", "December fifth, two thousand and seven"]
    port = free_port()
    binary = os.path.join(REPO, a.bin) if not os.path.isabs(a.bin) else a.bin
    server = subprocess.Popen([binary, "serve", "--model", a.model, "--port", str(port), "--workers", str(a.workers)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            try:
                if request(port, "GET", "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None:
                sys.exit("the server exited: " + server.stderr.read().decode(errors="replace"))
            time.sleep(0.1)
        mix = request_mix(sentences)
        reference = [comparable(kind, *request(port, method, path, body)) for kind, method, path, body in mix]
        baseline = resident_mib(server.pid)

        latencies = {}
        failures = []
        lock = threading.Lock()

        def client(seed):
            rng = random.Random(seed)
            for _ in range(a.requests):
                i = rng.randrange(len(mix))
                kind, method, path, body = mix[i]
                start = time.perf_counter()
                try:
                    got = comparable(kind, *request(port, method, path, body))
                except Exception as e:  # a dropped connection is a failure, not a crash of the test
                    got = ("exception", repr(e))
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.setdefault(kind, []).append(elapsed)
                    if got != reference[i]:
                        failures.append((kind, path, (body or "")[:80], got, reference[i]))

        def run_pass(first_seed):
            """All clients at once; returns the wall time and the peak resident memory."""
            memory = [resident_mib(server.pid)]
            stop_sampling = threading.Event()

            def sample_memory():
                while not stop_sampling.wait(0.1):
                    memory.append(resident_mib(server.pid))

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

        # Pass 1 sizes every buffer (and the allocator's per-thread arenas);
        # the timed passes after it may need no more memory.
        walls, peaks = [], []
        for n in range(a.passes):
            if n == 1:
                latencies.clear()
            wall, peak = run_pass(1000 * n)
            peaks.append(peak)
            if n > 0:
                walls.append(wall)
        wall = sum(walls)
        alive = server.poll() is None and request(port, "GET", "/healthz")[0] == 200

        total = sum(len(v) for v in latencies.values())
        timed = a.passes - 1
        print(f"{a.clients} clients x {a.requests} requests x {timed} timed pass(es) = {total} requests in {wall:.1f} s: "
              f"{total / wall:.1f} requests/s ({a.workers} model replicas, {os.cpu_count()} cores)")
        print(f"{'kind':<10} {'count':>6} {'p50 ms':>9} {'p99 ms':>9}")
        for kind, values in sorted(latencies.items()):
            values.sort()
            p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
            print(f"{kind:<10} {len(values):>6} {1e3 * statistics.median(values):>9.1f} {1e3 * p99:>9.1f}")
        # After the warm-up pass memory wanders with the allocator's per-thread
        # arenas; a leak shows as a later half of the passes peaking higher
        # than the earlier half.
        timed_peaks = peaks[1:]
        half = len(timed_peaks) // 2
        early, late = max(timed_peaks[:half]), max(timed_peaks[half:])
        print(f"resident memory: {baseline:.1f} MiB before; peak per pass (MiB): "
              + " ".join(f"{m:.1f}" for m in peaks) + " (the first warms up)")
        ok = True
        if failures:
            ok = False
            print(f"WRONG: {len(failures)} answers differ from the single-request ones, e.g.:")
            for f in failures[:5]:
                print("   ", f)
        if not alive:
            ok = False
            print("WRONG: the server is not answering after the run")
        if late > early * (1 + a.memory_margin):
            ok = False
            print(f"WRONG: memory grew from {early:.1f} to {late:.1f} MiB")
        print("load test: " + ("passed" if ok else "FAILED"))
        sys.exit(0 if ok else 1)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
