#!/usr/bin/python3
"""Decoding speed: PyTorch 1.13 (the translation tutorial's model and decoding) on the CPU against our engine.

The standard fixed-length decoding benchmark (CTranslate2 reports the same
measurement): every sentence is SRC_LEN random source ids, every output is
forced to exactly TGT_LEN tokens (EOS is never chosen), greedy or beam search,
for several batch:beam configurations. Both sides decode the same weights in
the same run:

  * PyTorch: the `Seq2SeqTransformer` of PyTorch's "Language Translation with
    nn.Transformer and torchtext" tutorial (seq-first nn.Transformer, its
    TokenEmbedding, PositionalEncoding and generator; Xavier-uniform init with
    a fixed seed), decoded the tutorial's way: encode once, then at every step
    run model.decode over the WHOLE prefix (nn.Transformer has no KV cache),
    the generator on the last position, EOS masked to -inf. Greedy: argmax.
    Beam K: batch x K rows, log_softmax, top-K over K x V per sentence, rows
    reordered by their back-pointers. torch.no_grad(), eval mode.
  * ours: its state_dict converted with tools/convert_pytorch.py, then
    `build/transformer --threads N bench decode --model DIR --batch B
    --beam K --src-len S --tgt-len T --iters I` (encoder once, KV cache).

Both time the whole batch (encoder included), median of --iters runs after
one warm-up. Every PyTorch configuration runs in its own fresh subprocess
(this script, re-run as a worker), like ours, so each peak resident memory
(getrusage ru_maxrss, which includes the interpreter and libtorch) belongs
to that configuration alone; both are started through a small /bin/sh,
because Linux carries ru_maxrss over fork+exec and this script's own size
would otherwise be every child's floor. Rounds alternate (for each round, for each
configuration: ours, then PyTorch) so that background load hits both; the
table gives medians over rounds (and the largest peak memory).

    /usr/bin/python3 bench/compare_decode_pytorch.py --preset small

Presets (the converted models are untied: tie_embeddings "none", with the
tutorial's separate source/target embeddings and generator, and
nn.Transformer's final encoder/decoder LayerNorms, i.e. final_norm true):
  small: d_model 256, 4 heads, d_ff 1024, 3+3 layers, vocabulary 8000 both sides
  base:  d_model 512, 8 heads, d_ff 2048, 6+6 layers, vocabulary 37000 both
         sides (the paper's shared-vocabulary size, here untied)

Run it with Debian's /usr/bin/python3 (torch 1.13). It sets
OMP_WAIT_POLICY=PASSIVE for itself and its workers before importing torch
(re-executing itself if needed); the binary gets the environment the script
was started with.
"""

import os
import sys

_INJECTED = "_COMPARE_DECODE_PYTORCH_SET_OMP_WAIT_POLICY"
if "OMP_WAIT_POLICY" not in os.environ:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    env[_INJECTED] = "1"
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONVERTER = os.path.join(REPO, "tools", "convert_pytorch.py")

PRESETS = {
    "small": dict(d_model=256, heads=4, d_ff=1024, enc_layers=3, dec_layers=3, vocab=8000),
    "base": dict(d_model=512, heads=8, d_ff=2048, enc_layers=6, dec_layers=6, vocab=37000),
}
# the tutorial's special symbols (the converter's defaults)
UNK_IDX, PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2, 3
FIRST_ID = 4  # random ids avoid the special ones, as `transformer bench` draws them
SEED = 1234


def parse_configs(text):
    configs = []
    for item in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", item)
        if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
            raise argparse.ArgumentTypeError("expected batch:beam pairs like 1:1,32:4, got %r" % item)
        configs.append((int(m.group(1)), int(m.group(2))))
    return configs


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="small")
    p.add_argument("--configs", type=parse_configs, default=parse_configs("1:1,1:4,32:1,32:4"),
                   help="batch:beam pairs, comma-separated")
    p.add_argument("--src-len", type=int, default=30, help="source tokens per sentence")
    p.add_argument("--tgt-len", type=int, default=30, help="output tokens per sentence (EOS never chosen)")
    p.add_argument("--iters", type=int, default=3, help="timed batches per round and side (median taken)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds of ours then PyTorch")
    p.add_argument("--threads", type=int, default=2, help="threads for both sides")
    p.add_argument("--bin", default="build/transformer", help="our binary (relative paths: from the repo root)")
    p.add_argument("--wait", type=int, default=600,
                   help="seconds to wait for a binary that has `bench decode` (it may be being rebuilt)")
    # internal: one PyTorch configuration in a fresh process
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--state-dict", help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    p.add_argument("--beam", type=int, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    for name in ("src_len", "tgt_len", "iters", "rounds", "threads"):
        if getattr(a, name) < 1:
            p.error("--%s must be at least 1" % name.replace("_", "-"))
    return a


# ------------------------------------------------- the tutorial's model

def tutorial_classes():
    import torch
    from torch import nn

    class PositionalEncoding(nn.Module):
        def __init__(self, emb_size, dropout, maxlen=5000):
            super().__init__()
            den = torch.exp(-torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
            pos = torch.arange(0, maxlen).reshape(maxlen, 1)
            pos_embedding = torch.zeros((maxlen, emb_size))
            pos_embedding[:, 0::2] = torch.sin(pos * den)
            pos_embedding[:, 1::2] = torch.cos(pos * den)
            pos_embedding = pos_embedding.unsqueeze(-2)
            self.dropout = nn.Dropout(dropout)
            self.register_buffer("pos_embedding", pos_embedding)

        def forward(self, token_embedding):
            return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])

    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size, emb_size):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, emb_size)
            self.emb_size = emb_size

        def forward(self, tokens):
            return self.embedding(tokens.long()) * math.sqrt(self.emb_size)

    class Seq2SeqTransformer(nn.Module):
        def __init__(self, num_encoder_layers, num_decoder_layers, emb_size, nhead, src_vocab_size,
                     tgt_vocab_size, dim_feedforward=512, dropout=0.1):
            super().__init__()
            self.transformer = nn.Transformer(d_model=emb_size, nhead=nhead, num_encoder_layers=num_encoder_layers,
                                              num_decoder_layers=num_decoder_layers,
                                              dim_feedforward=dim_feedforward, dropout=dropout)
            self.generator = nn.Linear(emb_size, tgt_vocab_size)
            self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
            self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
            self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

        def encode(self, src, src_mask):
            return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)

        def decode(self, tgt, memory, tgt_mask):
            return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask)

    return Seq2SeqTransformer


def generate_square_subsequent_mask(sz):
    import torch
    mask = (torch.triu(torch.ones((sz, sz))) == 1).transpose(0, 1)
    return mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))


def build_model(preset):
    import torch
    from torch import nn
    c = PRESETS[preset]
    torch.manual_seed(SEED)
    model = tutorial_classes()(c["enc_layers"], c["dec_layers"], c["d_model"], c["heads"], c["vocab"], c["vocab"],
                               dim_feedforward=c["d_ff"])
    for p in model.parameters():  # the tutorial's init
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    model.eval()
    return model


# ------------------------------------------------- PyTorch decoding (the tutorial's way)

def decode_batch(model, src, tgt_len, beam):
    """src [S, B] (seq-first). Returns the output ids [tgt_len, B] (BOS
    dropped); every output is exactly tgt_len tokens (EOS masked)."""
    import torch
    S, B = src.shape
    src_mask = torch.zeros((S, S)).type(torch.bool)
    memory = model.encode(src, src_mask)  # [S, B, D]
    if beam == 1:
        ys = torch.full((1, B), BOS_IDX, dtype=torch.long)
        for _ in range(tgt_len):
            tgt_mask = generate_square_subsequent_mask(ys.size(0)).type(torch.bool)
            out = model.decode(ys, memory, tgt_mask)  # [t, B, D]: the whole prefix again
            logits = model.generator(out[-1])  # [B, V]
            logits[:, EOS_IDX] = float("-inf")
            next_word = logits.argmax(dim=1)
            ys = torch.cat([ys, next_word.unsqueeze(0)], dim=0)
        return ys[1:]
    K = beam
    memory = memory.repeat_interleave(K, dim=1)  # [S, B*K, D], sentence-major rows
    scores = torch.full((B, K), float("-inf"))
    scores[:, 0] = 0.0  # at the first step every row holds BOS: expand one
    ys = torch.full((1, B * K), BOS_IDX, dtype=torch.long)
    base = (torch.arange(B) * K).unsqueeze(1)
    for _ in range(tgt_len):
        tgt_mask = generate_square_subsequent_mask(ys.size(0)).type(torch.bool)
        out = model.decode(ys, memory, tgt_mask)
        logp = torch.log_softmax(model.generator(out[-1]), dim=-1)  # [B*K, V]
        logp[:, EOS_IDX] = float("-inf")
        V = logp.shape[1]
        cand = (scores.reshape(B * K, 1) + logp).reshape(B, K * V)
        scores, flat = cand.topk(K, dim=1)  # [B, K]
        rows = (base + torch.div(flat, V, rounding_mode="floor")).reshape(-1)
        ys = torch.cat([ys[:, rows], (flat % V).reshape(1, -1)], dim=0)
    best = scores.argmax(dim=1)  # all hypotheses have the same length: no length penalty matters
    return ys[1:, (torch.arange(B) * K + best)]


def worker(a):
    """One configuration in this fresh process; prints one JSON line."""
    import resource
    import torch
    torch.set_num_threads(a.threads)
    c = PRESETS[a.preset]
    model = tutorial_classes()(c["enc_layers"], c["dec_layers"], c["d_model"], c["heads"], c["vocab"], c["vocab"],
                               dim_feedforward=c["d_ff"])
    model.load_state_dict(torch.load(a.state_dict, map_location="cpu"))
    model.eval()
    g = torch.Generator().manual_seed(SEED + a.batch)
    src = torch.randint(FIRST_ID, c["vocab"], (a.src_len, a.batch), generator=g)
    times = []
    with torch.no_grad():
        out = decode_batch(model, src, a.tgt_len, a.beam)  # warm-up
        if tuple(out.shape) != (a.tgt_len, a.batch) or bool((out == EOS_IDX).any()):
            raise RuntimeError("output is not %d tokens without EOS" % a.tgt_len)
        for _ in range(a.iters):
            start = time.perf_counter()
            decode_batch(model, src, a.tgt_len, a.beam)
            times.append(time.perf_counter() - start)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"times": times, "peak_mib": peak_kib / 1024.0}))


def run_fresh(cmd, env=None):
    """subprocess.run(cmd) through a small /bin/sh that forks it: Linux carries
    a process's peak resident size (ru_maxrss) over fork and exec, so a child
    forked straight from this Python process (torch loaded, several hundred
    MiB) would report at least our size as its own peak."""
    return subprocess.run(["/bin/sh", "-c", '"$@"; exit $?', "sh"] + cmd, cwd=REPO, env=env,
                          capture_output=True, text=True)


def run_torch(a, state_path, batch, beam):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--preset", a.preset, "--state-dict", state_path,
           "--batch", str(batch), "--beam", str(beam), "--src-len", str(a.src_len), "--tgt-len", str(a.tgt_len),
           "--iters", str(a.iters), "--threads", str(a.threads)]
    r = run_fresh(cmd)  # our environment: OMP_WAIT_POLICY=PASSIVE
    if r.returncode != 0:
        sys.exit("error: the PyTorch worker for batch %d, beam %d failed with status %d:\n%s%s"
                 % (batch, beam, r.returncode, r.stdout, r.stderr))
    result = json.loads(r.stdout.strip().splitlines()[-1])
    return statistics.median(result["times"]), result["peak_mib"]


# ---------------------------------------------------------------- our engine

def binary_path(arg):
    path = arg if os.path.isabs(arg) else os.path.join(REPO, arg)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        sys.exit("error: our binary %s is missing or not executable; build it first "
                 "(cmake --build build --target transformer) or pass --bin PATH" % path)
    return path


def binary_env():
    env = dict(os.environ)
    if env.pop(_INJECTED, None):  # the binary runs with the environment we were started with
        env.pop("OMP_WAIT_POLICY", None)
    return env


def wait_for_bench_decode(binary, seconds):
    deadline = time.time() + seconds
    while True:
        r = subprocess.run([binary, "bench", "decode", "--help"], capture_output=True, text=True, env=binary_env())
        if r.returncode == 0 and "--beam" in r.stdout:
            return
        if time.time() >= deadline:
            sys.exit("error: %s has no `bench decode` (waited %d s):\n%s%s" % (binary, seconds, r.stdout, r.stderr))
        print("  (%s has no `bench decode` yet; retrying in 30 s)" % binary, flush=True)
        time.sleep(30)


def run_ours(binary, a, model_dir, batch, beam):
    cmd = [binary, "--threads", str(a.threads), "bench", "decode", "--model", model_dir, "--batch", str(batch),
           "--beam", str(beam), "--src-len", str(a.src_len), "--tgt-len", str(a.tgt_len), "--iters", str(a.iters)]
    r = run_fresh(cmd, binary_env())
    if r.returncode != 0:
        sys.exit("error: %s failed with status %d:\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    out = r.stdout
    ms = re.search(r"time per batch\s+([0-9.]+)\s*ms", out)
    sent = re.search(r"sentences\s+([0-9.]+)\s*sentences/s", out)
    tok = re.search(r"target tokens\s+([0-9.]+)\s*tokens/s", out)
    mem = re.search(r"peak memory\s+([0-9.]+)\s*MiB", out)
    if not (ms and sent and tok and mem):
        sys.exit("error: could not find 'time per batch' / 'sentences' / 'target tokens' / 'peak memory' in the "
                 "output of %s:\n%s%s" % (" ".join(cmd), out, r.stderr))
    seconds = float(ms.group(1)) * 1e-3
    # Cross-check the printed (rounded) rates against the time we compute from.
    for printed, computed, what in ((float(sent.group(1)), batch / seconds, "sentences/s"),
                                    (float(tok.group(1)), batch * a.tgt_len / seconds, "target tokens/s")):
        if abs(printed - computed) > 0.01 * computed + 1:
            sys.exit("error: parsed time %.2f ms disagrees with the printed %s %s:\n%s"
                     % (seconds * 1e3, printed, what, out))
    return seconds, float(mem.group(1)), " ".join(cmd)


# ---------------------------------------------------------------------- main

def prepare_model(a, tmp):
    """The tutorial model with seeded weights: its state_dict and our converted directory."""
    import torch
    model = build_model(a.preset)
    state_path = os.path.join(tmp, "tutorial.pt")
    torch.save(model.state_dict(), state_path)
    params = sum(p.numel() for p in model.parameters())
    model_dir = os.path.join(tmp, "model")
    cmd = [sys.executable, CONVERTER, "--state-dict", state_path, "--out", model_dir,
           "--heads", str(PRESETS[a.preset]["heads"])]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("error: %s failed with status %d:\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return state_path, model_dir, params


def print_table(rows, header):
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    line = lambda row: "  ".join((str(v).ljust(widths[i]) if i == 0 else str(v).rjust(widths[i]))  # noqa: E731
                                 for i, v in enumerate(row))
    print(line(header))
    for row in rows:
        print(line(row))


def main():
    a = parse_args()
    if a.worker:
        worker(a)
        return
    binary = binary_path(a.bin)
    wait_for_bench_decode(binary, a.wait)

    import torch
    torch.set_num_threads(a.threads)
    c = PRESETS[a.preset]
    print("preset %s: d_model %d, %d heads, d_ff %d, %d+%d layers, vocabulary %d both sides (untied, final norms)"
          % (a.preset, c["d_model"], c["heads"], c["d_ff"], c["enc_layers"], c["dec_layers"], c["vocab"]))
    print("every sentence: %d random source ids, output forced to %d tokens (EOS masked); %d threads; "
          "%d round(s) of ours then PyTorch per configuration, median of %d batches each after 1 warm-up"
          % (a.src_len, a.tgt_len, a.threads, a.rounds, a.iters))
    print("PyTorch %s, OMP_WAIT_POLICY=%s (ours: %s); load average at start: %s"
          % (torch.__version__, os.environ.get("OMP_WAIT_POLICY"), binary_env().get("OMP_WAIT_POLICY", "unset"),
             " ".join("%.2f" % x for x in os.getloadavg())))

    results = {cfg: {"ours": [], "torch": [], "ours_mem": [], "torch_mem": []} for cfg in a.configs}
    commands = {}
    with tempfile.TemporaryDirectory(prefix="compare_decode_pytorch.") as tmp:
        state_path, model_dir, params = prepare_model(a, tmp)
        print("PyTorch model: %.2f M parameters; converted with tools/convert_pytorch.py to %s"
              % (params / 1e6, model_dir), flush=True)
        started = time.perf_counter()
        for r in range(a.rounds):
            for batch, beam in a.configs:
                cfg = (batch, beam)
                t, mem, commands[cfg] = run_ours(binary, a, model_dir, batch, beam)
                results[cfg]["ours"].append(t)
                results[cfg]["ours_mem"].append(mem)
                print("  round %d, batch %2d beam %d: ours    %9.2f ms/batch %8.1f sentences/s  peak %7.1f MiB"
                      % (r + 1, batch, beam, t * 1e3, batch / t, mem), flush=True)
                t, mem = run_torch(a, state_path, batch, beam)
                results[cfg]["torch"].append(t)
                results[cfg]["torch_mem"].append(mem)
                print("  round %d, batch %2d beam %d: PyTorch %9.2f ms/batch %8.1f sentences/s  peak %7.1f MiB"
                      % (r + 1, batch, beam, t * 1e3, batch / t, mem), flush=True)
        elapsed = time.perf_counter() - started
    for cfg in a.configs:
        print("ours: %s" % commands[cfg].replace(model_dir, "MODEL"))
    print("(MODEL: the converted temporary directory; %.0f s of measuring; load average at the end: %s)"
          % (elapsed, " ".join("%.2f" % x for x in os.getloadavg())))

    for batch, beam in a.configs:
        res = results[(batch, beam)]
        t_o, t_t = statistics.median(res["ours"]), statistics.median(res["torch"])
        m_o, m_t = max(res["ours_mem"]), max(res["torch_mem"])
        print()
        print("batch %d, %s (%d+%d tokens per sentence)" % (batch, "greedy" if beam == 1 else "beam %d" % beam,
                                                            a.src_len, a.tgt_len))
        rows = [
            ("time per batch (ms)", "%.2f" % (t_t * 1e3), "%.2f" % (t_o * 1e3), "%.2f" % (t_o / t_t)),
            ("sentences/s", "%.1f" % (batch / t_t), "%.1f" % (batch / t_o), "%.2f" % (t_t / t_o)),
            ("target tokens/s", "%.0f" % (batch * a.tgt_len / t_t), "%.0f" % (batch * a.tgt_len / t_o),
             "%.2f" % (t_t / t_o)),
            ("sentences/s, best round", "%.1f" % (batch / min(res["torch"])), "%.1f" % (batch / min(res["ours"])),
             "%.2f" % (min(res["torch"]) / min(res["ours"]))),
            ("peak memory (MiB, resident)", "%.1f" % m_t, "%.1f" % m_o, "%.2f" % (m_o / m_t)),
        ]
        print_table(rows, ("", "PyTorch", "ours", "ours/PyTorch"))

    print()
    print("summary (%s, %d threads; speed ratio = our sentences/s / PyTorch's, > 1: ours is faster)"
          % (a.preset, a.threads))
    rows = []
    for batch, beam in a.configs:
        res = results[(batch, beam)]
        t_o, t_t = statistics.median(res["ours"]), statistics.median(res["torch"])
        rows.append(("%d:%d" % (batch, beam), "%.1f" % (batch / t_t), "%.1f" % (batch / t_o),
                     "%.0f" % (batch * a.tgt_len / t_t), "%.0f" % (batch * a.tgt_len / t_o), "%.2f" % (t_t / t_o),
                     "%.0f" % max(res["torch_mem"]), "%.0f" % max(res["ours_mem"]),
                     "%.2f" % (max(res["ours_mem"]) / max(res["torch_mem"]))))
    print_table(rows, ("batch:beam", "PyTorch sent/s", "ours sent/s", "PyTorch tok/s", "ours tok/s",
                       "speed ours/PyTorch", "PyTorch MiB", "ours MiB", "memory ours/PyTorch"))
    print("(times: medians over rounds of per-round medians, encoder included; 'best round' in the tables above: "
          "the fastest round, less exposed to other load on the machine; memory: the largest peak resident set "
          "over rounds, whole process: PyTorch's includes the interpreter and libtorch)")
    print("PyTorch decodes as its tutorial does: no KV cache, the whole prefix through the decoder at every step; "
          "ours keeps a KV cache. Same weights (converted), untied embeddings, final LayerNorms.")


if __name__ == "__main__":
    main()
