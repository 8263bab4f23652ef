#!/usr/bin/python3
"""Speed of one training step: PyTorch 1.13 on the CPU against our engine.

Measures, in one run and on the same machine, the step that
`transformer bench train` times (forward in training mode, label-smoothed
cross-entropy, backward, Adam) for PyTorch's nn.Transformer with the same
architecture, batch shape and thread count, and for our binary; the two run
alternately (ours, PyTorch, ours, PyTorch, ... for --rounds rounds) so that
background noise hits both. Prints target tokens/s and source+target
tokens/s for each, and the ratio ours/PyTorch.

    /usr/bin/python3 bench/compare_train_pytorch.py --preset small --rounds 1 --iters 3

Run it with Debian's /usr/bin/python3 (torch 1.13 + numpy). It sets
OMP_WAIT_POLICY=PASSIVE for itself before importing torch (re-executing
itself if needed): without it PyTorch's OpenMP threads spin and fight
OpenBLAS's. The binary gets the environment the script was started with.

The PyTorch model, against ours:
  * same: shared embedding (source = target = output projection weight)
    scaled by sqrt(d_model), sinusoidal positions, dropout 0.1 on
    embeddings+positions, on each sub-layer output before the residual add
    and after the FFN ReLU; post-norm; output bias; label smoothing 0.1
    (mean per target token); Adam β (0.9, 0.98), ε 1e-9; random ids, no
    padding, causal target mask.
  * different: nn.MultiheadAttention also applies dropout (0.1) to the
    attention weights, which our engine does not (the paper does not
    either) - a little extra work on the PyTorch side. nn.Transformer's
    final encoder/decoder LayerNorms are removed (set to None) so that the
    stacks match our post-norm model, which has none.
"""

import os
import sys

_INJECTED = "_COMPARE_TRAIN_PYTORCH_SET_OMP_WAIT_POLICY"
if "OMP_WAIT_POLICY" not in os.environ:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    env[_INJECTED] = "1"
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)

import argparse  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# docs/FORMATS.md: d_model, heads, d_ff, encoder layers, decoder layers, shared vocab.
PRESETS = {
    "small": dict(d_model=256, heads=4, d_ff=1024, enc_layers=3, dec_layers=3, vocab=8000),
    "base": dict(d_model=512, heads=8, d_ff=2048, enc_layers=6, dec_layers=6, vocab=37000),
}
DROPOUT = 0.1
SMOOTHING = 0.1
FIRST_ID = 4  # ids 0-3 are the special tokens, as `transformer bench` draws them


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="small")
    p.add_argument("--batch", type=int, default=128, help="sentences per batch")
    p.add_argument("--src-len", type=int, default=30, help="source tokens per sentence")
    p.add_argument("--tgt-len", type=int, default=30, help="target tokens per sentence")
    p.add_argument("--iters", type=int, default=5, help="timed steps per round (median taken)")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds of ours then PyTorch")
    p.add_argument("--threads", type=int, default=2, help="threads for both sides")
    p.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                   help="our linear layers' products (train --precision); PyTorch trains in float32 either way")
    p.add_argument("--replicas", type=int, default=1,
                   help="ours: model replicas (bench train --replicas), each a batch of --batch on threads/replicas "
                        "threads; PyTorch stays one model on all the threads")
    p.add_argument("--bin", default="build/transformer", help="our binary (relative paths: from the repo root)")
    a = p.parse_args()
    for name in ("batch", "src_len", "tgt_len", "iters", "rounds", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return a


# ---------------------------------------------------------------- our engine

def binary_path(arg):
    path = arg if os.path.isabs(arg) else os.path.join(REPO, arg)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        sys.exit(f"error: our binary {path} is missing or not executable; build it first "
                 f"(cmake --build build --target transformer) or pass --bin PATH")
    return path


def binary_env():
    env = dict(os.environ)
    if env.pop(_INJECTED, None):  # the binary runs with the environment we were started with
        env.pop("OMP_WAIT_POLICY", None)
    return env


def run_ours(binary, a):
    cmd = [binary, "--threads", str(a.threads), "bench", "train", "--preset", a.preset,
           "--batch", str(a.batch), "--src-len", str(a.src_len), "--tgt-len", str(a.tgt_len),
           "--iters", str(a.iters), "--precision", a.precision, "--replicas", str(a.replicas)]
    r = subprocess.run(cmd, cwd=REPO, env=binary_env(), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed with status {r.returncode}:\n{r.stdout}{r.stderr}")
    ms = re.search(r"time per batch\s+([0-9.]+)\s*ms", r.stdout, re.M)
    tgt = re.search(r"^\s*target tokens\s+([0-9.]+)\s*tokens/s", r.stdout, re.M)
    if not ms or not tgt:
        sys.exit(f"error: could not find 'time per batch' / 'target tokens' in the output of "
                 f"{' '.join(cmd)}:\n{r.stdout}{r.stderr}")
    seconds = float(ms.group(1)) * 1e-3
    # Cross-check the printed (rounded) rate against the time we compute from.
    printed = float(tgt.group(1))
    computed = a.batch * a.tgt_len / seconds
    if abs(printed - computed) > 0.01 * computed + 1:
        sys.exit(f"error: parsed time {seconds * 1e3:.2f} ms disagrees with the printed "
                 f"{printed:.0f} target tokens/s:\n{r.stdout}")
    return seconds, " ".join(cmd)


# ------------------------------------------------------------------- PyTorch

def build_torch(a):
    import torch
    from torch import nn

    c = PRESETS[a.preset]

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            d, v = c["d_model"], c["vocab"]
            self.scale = math.sqrt(d)
            self.embedding = nn.Embedding(v, d)  # source = target = output projection
            nn.init.normal_(self.embedding.weight, 0.0, d ** -0.5)
            self.out_bias = nn.Parameter(torch.zeros(v))
            self.dropout = nn.Dropout(DROPOUT)
            n = max(a.src_len, a.tgt_len)
            pos = torch.arange(n, dtype=torch.float32)[:, None]
            div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
            pe = torch.zeros(n, d)
            pe[:, 0::2] = torch.sin(pos * div)
            pe[:, 1::2] = torch.cos(pos * div)
            self.register_buffer("positions", pe)
            self.transformer = nn.Transformer(
                d_model=d, nhead=c["heads"], num_encoder_layers=c["enc_layers"],
                num_decoder_layers=c["dec_layers"], dim_feedforward=c["d_ff"], dropout=DROPOUT,
                activation="relu", batch_first=True, norm_first=False)
            # Post-norm with no LayerNorm after each stack, as our engine builds it.
            self.transformer.encoder.norm = None
            self.transformer.decoder.norm = None
            self.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(a.tgt_len))

        def embed(self, ids):
            return self.dropout(self.embedding(ids) * self.scale + self.positions[: ids.shape[1]])

        def forward(self, src, tgt):
            h = self.transformer(self.embed(src), self.embed(tgt), tgt_mask=self.causal)
            return nn.functional.linear(h, self.embedding.weight, self.out_bias)

    torch.manual_seed(1)
    model = Model()
    model.train()
    criterion = nn.CrossEntropyLoss(label_smoothing=SMOOTHING)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
    v = c["vocab"]
    src = torch.randint(FIRST_ID, v, (a.batch, a.src_len))
    tgt = torch.randint(FIRST_ID, v, (a.batch, a.tgt_len))
    labels = torch.randint(FIRST_ID, v, (a.batch, a.tgt_len))
    params = sum(p.numel() for p in model.parameters())

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(src, tgt)
        loss = criterion(logits.reshape(-1, v), labels.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss.item()

    return step, params


def run_torch(step, a):
    step()  # warm-up: allocations, Adam state
    times = []
    for _ in range(a.iters):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ---------------------------------------------------------------------- main

def main():
    a = parse_args()
    binary = binary_path(a.bin)  # fail before the (slow) torch import

    import torch
    torch.set_num_threads(a.threads)

    c = PRESETS[a.preset]
    tgt_tokens = a.batch * a.tgt_len
    all_tokens = a.batch * (a.src_len + a.tgt_len)
    print(f"preset {a.preset}: d_model {c['d_model']}, {c['heads']} heads, d_ff {c['d_ff']}, "
          f"{c['enc_layers']}+{c['dec_layers']} layers, shared vocab {c['vocab']}")
    print(f"batch {a.batch} x ({a.src_len} source + {a.tgt_len} target tokens), {a.threads} threads, "
          f"{a.rounds} round(s) of ours then PyTorch, median of {a.iters} steps each after 1 warm-up")
    print(f"PyTorch {torch.__version__}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')} "
          f"(ours: {binary_env().get('OMP_WAIT_POLICY', 'unset')})")
    step, params = build_torch(a)
    print(f"PyTorch model: {params / 1e6:.2f} M parameters")
    sys.stdout.flush()

    print(f"ours: products in {a.precision}" + (f", {a.replicas} replicas, a batch each (time per batch: the step's "
                                                f"÷ {a.replicas})" if a.replicas > 1 else "") + "; PyTorch: float32")
    ours, theirs = [], []
    command = None
    for r in range(a.rounds):
        t, command = run_ours(binary, a)
        ours.append(t)
        print(f"  round {r + 1}: ours    {t * 1e3:9.2f} ms/batch  {tgt_tokens / t:8.0f} target tokens/s", flush=True)
        t = run_torch(step, a)
        theirs.append(t)
        print(f"  round {r + 1}: PyTorch {t * 1e3:9.2f} ms/batch  {tgt_tokens / t:8.0f} target tokens/s", flush=True)
    print(f"ours: {command}")

    t_ours, t_torch = statistics.median(ours), statistics.median(theirs)
    shape = f"{a.batch}x({a.src_len}+{a.tgt_len})"
    rows = [
        ("preset", a.preset, a.preset, ""),
        ("batch shape", shape, shape, ""),
        ("time per batch (ms)", f"{t_torch * 1e3:.2f}", f"{t_ours * 1e3:.2f}", ""),
        ("target tokens/s", f"{tgt_tokens / t_torch:.0f}", f"{tgt_tokens / t_ours:.0f}", f"{t_torch / t_ours:.2f}"),
        ("source+target tokens/s", f"{all_tokens / t_torch:.0f}", f"{all_tokens / t_ours:.0f}",
         f"{t_torch / t_ours:.2f}"),
    ]
    header = ("", "PyTorch", "ours", "ours/PyTorch")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(4)]
    print()
    print(f"{header[0]:<{widths[0]}}  {header[1]:>{widths[1]}}  {header[2]:>{widths[2]}}  {header[3]:>{widths[3]}}")
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}")
    print("(medians over rounds of per-round medians; ratio = our tokens/s / PyTorch's, > 1: ours is faster)")
    print("Differences: nn.MultiheadAttention also drops out attention weights (ours does not); "
          "nn.Transformer's final encoder/decoder LayerNorms are removed to match our post-norm stacks.")


if __name__ == "__main__":
    main()
