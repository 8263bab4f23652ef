#!/usr/bin/python3
"""Greedy decoding: do we output the same tokens as PyTorch, sentence by sentence?

Translates a source file (default: Multi30k's test_2016_flickr.de, 1000
lines) with one of OUR trained model directories (config.json,
model.safetensors, spm.model) twice:

  * ours:    `build/transformer --threads N translate --model DIR --beam 1 FILE`
  * PyTorch: tests/fixtures/reference_model.py (our architecture written in
             plain torch ops, imported, not edited) on the same weights, greedy:
             encode once, then at each step run its `decode` over the whole
             prefix (no KV cache), take the last position's logits, argmax, stop
             at EOS or at the length limit min(a * source length + b,
             max_length - 1) tokens - the limits `translate` uses (a 1.5, b 10).
             Sentences are sorted by length and decoded in padded batches
             (--batch, default 50) with the same length masks as ours.

Source ids are `sp.encode(line)` with spm.model, wrapped in BOS/EOS where
config.json's source_bos/source_eos say so, and the decoder starts with its
decoder_start token, as `translate` does. `translate` prints text, so the
comparison is made on text (PyTorch's ids decoded with the same spm.model,
lines compared exactly) and again on ids (both texts re-encoded with
spm.model). For each line that differs it prints the line number, both
outputs and the first differing token position with both tokens'
probabilities there, computed by the reference model in float64 on the
common prefix: the margin
log p(PyTorch's token) - log p(our token) shows whether it is a near-tie.

    /usr/bin/python3 bench/greedy_parity_pytorch.py --model runs/multi30k-30min/model

--dtype float32 (default) runs the reference model in float32: its float64
parameters are cast to float32 after load_model and its positional_encoding
is wrapped (at run time, in this process) to return float32; --dtype float64
runs it unchanged (the exact answer for the weights; about twice as slow).
Needs Debian's python3-torch, python3-numpy and python3-sentencepiece. Sets
OMP_WAIT_POLICY=PASSIVE for itself (re-executing itself if needed); the binary
gets the environment the script was started with. Exits 0 whether or not the
outputs agree; non-zero only when something fails to run. Last line:
`identical: N/M`.
"""

import os
import sys

_INJECTED = "_GREEDY_PARITY_PYTORCH_SET_OMP_WAIT_POLICY"
if "OMP_WAIT_POLICY" not in os.environ:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    env[_INJECTED] = "1"
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)

import argparse  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="runs/multi30k-30min/model",
                   help="our model directory (config.json, model.safetensors, spm.model)")
    p.add_argument("--src", default="build/data/multi30k/test_2016_flickr.de",
                   help="source file, one sentence a line (relative paths: from the repo root; the default is "
                        "unpacked from data/multi30k/ by scripts/multi30k-data.sh when missing)")
    p.add_argument("--bin", default="build/transformer", help="our binary")
    p.add_argument("--threads", type=int, default=2, help="threads for both sides")
    p.add_argument("--batch", type=int, default=50, help="sentences per PyTorch batch")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="PyTorch compute type for the decoding")
    p.add_argument("--max-length-a", type=float, default=1.5, help="output limit a * source length + b")
    p.add_argument("--max-length-b", type=int, default=10, help="output limit a * source length + b")
    p.add_argument("--limit", type=int, default=0, help="only the first N lines (0: all)")
    p.add_argument("--show", type=int, default=20, help="print at most this many differing lines in full")
    a = p.parse_args()
    if a.threads < 1 or a.batch < 1:
        p.error("--threads and --batch must be at least 1")
    return a


def repo_path(path):
    return path if os.path.isabs(path) else os.path.join(REPO, path)


def binary_env():
    env = dict(os.environ)
    if env.pop(_INJECTED, None):
        env.pop("OMP_WAIT_POLICY", None)
    return env


# ---------------------------------------------------------------------- ours

def run_ours(a, binary, model_dir, src_path):
    cmd = [binary, "--threads", str(a.threads), "translate", "--model", model_dir, "--beam", "1",
           "--max-length-a", repr(a.max_length_a), "--max-length-b", str(a.max_length_b), src_path]
    start = time.perf_counter()
    r = subprocess.run(cmd, cwd=REPO, env=binary_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit("error: %s failed with status %d:\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    lines = r.stdout.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines, seconds, " ".join(cmd)


# ------------------------------------------------------------------- PyTorch

def load_reference(model_dir, dtype):
    """reference_model's model dict with its parameters in `dtype`."""
    import torch
    import reference_model as ref
    model = ref.load_model(model_dir)
    if dtype != torch.float64:
        cast = {}
        for name, t in model["params"].items():  # tied names stay one tensor
            if id(t) not in cast:
                cast[id(t)] = t.to(dtype)
            model["params"][name] = cast[id(t)]
    return model


class positional_encoding_in(object):
    """Context manager: encode/decode add ref.positional_encoding(...)
    (float64) to the embeddings; inside `with`, it returns `dtype` so that it
    matches the parameters' dtype. reference_model.py itself is not changed."""

    def __init__(self, ref, dtype):
        self.ref, self.dtype, self.cache = ref, dtype, {}
        self.original = ref.positional_encoding

    def __enter__(self):
        def positional_encoding(positions, D, form):
            key = (positions, D, form)
            if key not in self.cache:
                self.cache[key] = self.original(positions, D, form).to(self.dtype)
            return self.cache[key]
        self.ref.positional_encoding = positional_encoding
        return self

    def __exit__(self, *exc):
        self.ref.positional_encoding = self.original
        return False


def greedy_pytorch(a, ref, model, sources, limits, progress=True):
    """Greedy ids (EOS not included) of every source, in input order."""
    import torch
    cfg = model["config"]
    pad, first_token, eos = cfg["pad_id"], cfg[cfg["decoder_start"] + "_id"], cfg["eos_id"]
    outputs = [[] for _ in sources]
    order = sorted((i for i in range(len(sources)) if sources[i]), key=lambda i: len(sources[i]))
    batches = [order[k:k + a.batch] for k in range(0, len(order), a.batch)]
    start = time.perf_counter()
    done_sentences = 0
    for n, members in enumerate(batches):
        B = len(members)
        S = max(len(sources[i]) for i in members)
        src = torch.full((B, S), pad, dtype=torch.int64)
        for r, i in enumerate(members):
            src[r, :len(sources[i])] = torch.tensor(sources[i], dtype=torch.int64)
        src_lengths = torch.tensor([len(sources[i]) for i in members], dtype=torch.int64)
        limit = torch.tensor([limits[i] for i in members], dtype=torch.int64)
        longest = int(limit.max())
        with torch.no_grad():
            memory = ref.encode(model, src, src_lengths)
            tgt = torch.full((B, 1), first_token, dtype=torch.int64)
            finished = torch.zeros(B, dtype=torch.bool)
            produced = torch.zeros(B, dtype=torch.int64)
            steps = 0
            for step in range(longest):
                T = tgt.shape[1]
                logits = ref.decode(model, tgt, torch.full((B,), T, dtype=torch.int64), memory, src_lengths)
                nxt = logits[:, -1].argmax(dim=-1)
                alive = ~finished
                for r in alive.nonzero().flatten().tolist():
                    token = int(nxt[r])
                    if token == eos:
                        finished[r] = True
                        continue
                    outputs[members[r]].append(token)
                    produced[r] += 1
                    if produced[r] >= limit[r]:
                        finished[r] = True
                nxt = torch.where(alive, nxt, torch.full_like(nxt, eos))  # finished rows keep feeding EOS
                tgt = torch.cat([tgt, nxt.unsqueeze(1)], dim=1)
                steps = step + 1
                if bool(finished.all()):
                    break
        done_sentences += B
        if progress:
            print("  PyTorch batch %2d/%d: %3d sentences, source length %3d, %3d steps; %4d/%d done, %.1f s"
                  % (n + 1, len(batches), B, S, steps, done_sentences, len(order), time.perf_counter() - start),
                  flush=True)
    return outputs, time.perf_counter() - start


def ours_ids_aligned(sp, t_ids, ours_text):
    """Our ids for the comparison: the re-encoding of our text, unless
    PyTorch's ids do not survive decode+encode; then PyTorch's ids up to the
    last word boundary whose text our line starts with, followed by the
    re-encoding of the rest of our line, so that a segmentation difference
    of the re-encoding does not show up as an early divergence."""
    reenc = sp.encode(ours_text)
    if sp.encode(sp.decode(t_ids)) == t_ids:
        return reenc, False
    for k in range(len(t_ids), -1, -1):
        if k < len(t_ids) and not sp.id_to_piece(t_ids[k]).startswith("\u2581"):
            continue  # not a word boundary
        head = sp.decode(t_ids[:k])
        rest = ours_text[len(head):]
        if ours_text.startswith(head) and (rest == "" or rest.startswith(" ") or k == 0):
            return list(t_ids[:k]) + sp.encode(rest), True
    return reenc, False


def first_difference(x, y):
    j = 0
    while j < len(x) and j < len(y) and x[j] == y[j]:
        j += 1
    return j


def explain_difference(ref, model64, source, prefix, tok_a, tok_b):
    """log-probabilities (float64 reference) of tok_a and tok_b after prefix,
    and the argmax there."""
    import torch
    cfg = model64["config"]
    with torch.no_grad():
        src = torch.tensor([source], dtype=torch.int64)
        sl = torch.tensor([len(source)], dtype=torch.int64)
        memory = ref.encode(model64, src, sl)
        tgt = torch.tensor([[cfg[cfg["decoder_start"] + "_id"]] + list(prefix)], dtype=torch.int64)
        logits = ref.decode(model64, tgt, torch.tensor([tgt.shape[1]], dtype=torch.int64), memory, sl)
        lp = torch.log_softmax(logits[0, -1], dim=-1)
    top2 = torch.topk(lp, 2)
    return float(lp[tok_a]), float(lp[tok_b]), [int(t) for t in top2.indices], [float(v) for v in top2.values]


# ---------------------------------------------------------------------- main

def main():
    a = parse_args()
    binary = repo_path(a.bin)
    model_dir = repo_path(a.model)
    src_path = repo_path(a.src)
    if not os.path.exists(src_path) and src_path.startswith(os.path.join(REPO, "build", "data", "multi30k")):
        subprocess.run(["bash", os.path.join(REPO, "scripts", "multi30k-data.sh")], check=True, stdout=subprocess.DEVNULL)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        sys.exit("error: our binary %s is missing or not executable; build it first or pass --bin" % binary)
    for f in ("config.json", "model.safetensors", "spm.model"):
        if not os.path.isfile(os.path.join(model_dir, f)):
            sys.exit("error: %s has no %s" % (model_dir, f))
    if not os.path.isfile(src_path):
        sys.exit("error: no source file %s" % src_path)
    try:
        import sentencepiece as spm
    except ImportError:
        sys.exit("error: no Python sentencepiece for %s: apt-get install python3-sentencepiece" % sys.executable)
    import torch
    torch.set_num_threads(a.threads)
    sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
    import reference_model as ref

    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "spm.model"))
    with open(src_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if a.limit > 0:
        lines = lines[:a.limit]
    N = len(lines)

    dtype = torch.float32 if a.dtype == "float32" else torch.float64
    model64 = ref.load_model(model_dir)
    cfg = model64["config"]
    if sp.get_piece_size() > min(cfg["src_vocab_size"], cfg["tgt_vocab_size"]):
        sys.exit("error: spm.model has %d pieces, more than the model's vocabulary" % sp.get_piece_size())
    def wrapped(ids):  # as translate wraps a non-empty line
        return ([cfg["bos_id"]] if cfg["source_bos"] and ids else []) + ids + (
            [cfg["eos_id"]] if cfg["source_eos"] and ids else [])
    sources = [wrapped(sp.encode(line)) for line in lines]
    too_long = [i + 1 for i, s in enumerate(sources) if len(s) > cfg["max_length"]]
    if too_long:
        sys.exit("error: lines %s are longer than max_length %d" % (too_long[:10], cfg["max_length"]))
    limits = [min(cfg["max_length"] - 1, int(a.max_length_a * len(s)) + a.max_length_b) for s in sources]

    print("model %s: d_model %d, %d heads, d_ff %d, %d+%d layers, vocab %d/%d, %s-norm, tie %s"
          % (a.model, cfg["d_model"], cfg["heads"], cfg["d_ff"], cfg["encoder_layers"], cfg["decoder_layers"],
             cfg["src_vocab_size"], cfg["tgt_vocab_size"], cfg["norm"], cfg["tie_embeddings"]))
    print("source %s: %d lines, %d source tokens (mean %.1f); output limit min(%g * len + %d, %d)"
          % (a.src, N, sum(map(len, sources)), sum(map(len, sources)) / max(N, 1), a.max_length_a,
             a.max_length_b, cfg["max_length"] - 1))
    print("PyTorch %s, %s, %d threads, batches of %d, no KV cache; OMP_WAIT_POLICY=%s"
          % (torch.__version__, a.dtype, a.threads, a.batch, os.environ.get("OMP_WAIT_POLICY")), flush=True)

    # ours
    with tempfile.TemporaryDirectory(prefix="greedy_parity.") as tmp:
        path = src_path
        if a.limit > 0:
            path = os.path.join(tmp, "src.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
        ours_text, ours_seconds, command = run_ours(a, binary, model_dir, path)
    print("ours: %s\n  %d lines in %.1f s" % (command, len(ours_text), ours_seconds), flush=True)
    if len(ours_text) != N:
        sys.exit("error: ours printed %d lines for %d source lines" % (len(ours_text), N))

    # PyTorch
    model = load_reference(model_dir, dtype) if dtype != torch.float64 else model64
    with positional_encoding_in(ref, dtype):
        torch_ids, torch_seconds = greedy_pytorch(a, ref, model, sources, limits)
    print("PyTorch: %d sentences in %.1f s" % (N, torch_seconds), flush=True)

    torch_text = [sp.decode(ids) for ids in torch_ids]
    text_same = sum(1 for x, y in zip(ours_text, torch_text) if x == y)
    ours_reenc = [sp.encode(t) for t in ours_text]
    torch_reenc = [sp.encode(t) for t in torch_text]
    ids_same = sum(1 for x, y in zip(ours_reenc, torch_reenc) if x == y)
    roundtrip = sum(1 for x, y in zip(torch_ids, torch_reenc) if x == y)
    at_limit_t = sum(1 for ids, lim in zip(torch_ids, limits) if len(ids) >= lim)
    at_limit_o = sum(1 for ids, lim in zip(ours_reenc, limits) if len(ids) >= lim)
    print()
    print("sentences                               %d" % N)
    print("identical text lines                    %d/%d" % (text_same, N))
    print("identical ids (both texts re-encoded)   %d/%d" % (ids_same, N))
    print("PyTorch ids == re-encoding of its text  %d/%d (decode+encode round trip)" % (roundtrip, N))
    print("outputs cut at the length limit         PyTorch %d, ours %d (re-encoded)" % (at_limit_t, at_limit_o))
    print("output tokens                           PyTorch %d, ours %d (re-encoded)"
          % (sum(map(len, torch_ids)), sum(map(len, ours_reenc))))
    print("time                                    ours %.1f s (translate, incl. loading), PyTorch %.1f s "
          "(no KV cache, %s)" % (ours_seconds, torch_seconds, a.dtype))

    differing = [i for i in range(N) if ours_text[i] != torch_text[i] or ours_reenc[i] != torch_reenc[i]]
    if differing:
        # The PyTorch ids are the exact tokens; ours are the re-encoding of its text
        # (translate prints text), exact where that round trip is (see above).
        print("\ndifferences (line: first differing token position j; log p from the float64 reference on "
              "the common prefix; margin = log p(PyTorch's) - log p(ours)):")
        eos = cfg["eos_id"]
        margins = []
        kinds = {"ours ended (EOS), PyTorch's 2nd choice": 0, "PyTorch ended (EOS), ours went on": 0,
                 "ours took PyTorch's 2nd choice (not EOS)": 0, "other": 0}
        for n_shown, i in enumerate(differing):
            t_ids = torch_ids[i]
            o_ids, aligned = ours_ids_aligned(sp, t_ids, ours_text[i])
            j = first_difference(t_ids, o_ids)
            tok_t = t_ids[j] if j < len(t_ids) else eos
            tok_o = o_ids[j] if j < len(o_ids) else eos
            lp_t, lp_o, top_ids, top_lps = explain_difference(ref, model64, sources[i], t_ids[:j], tok_t, tok_o)
            margins.append(lp_t - lp_o)
            if tok_o == eos and top_ids[1] == eos:
                kinds["ours ended (EOS), PyTorch's 2nd choice"] += 1
            elif tok_t == eos:
                kinds["PyTorch ended (EOS), ours went on"] += 1
            elif tok_o == top_ids[1]:
                kinds["ours took PyTorch's 2nd choice (not EOS)"] += 1
            else:
                kinds["other"] += 1
            if n_shown >= a.show:
                continue

            def name(t):
                return "</s>" if t == eos else "%d %r" % (t, sp.id_to_piece(t))
            print("line %d:" % (i + 1))
            print("  source : %s" % lines[i])
            print("  PyTorch: %s" % torch_text[i])
            print("  ours   : %s" % ours_text[i])
            print("  j=%d: PyTorch %s p=%.4f, ours %s p=%.4f, margin %.4g (float64 top-2: %s)%s"
                  % (j, name(tok_t), math.exp(lp_t), name(tok_o), math.exp(lp_o), lp_t - lp_o,
                     ", ".join("%s %.4f" % (name(t), math.exp(v)) for t, v in zip(top_ids, top_lps)),
                     " [PyTorch's ids do not survive decode+encode; ours aligned on PyTorch's up to a word "
                     "boundary]" if aligned else ""))
        if len(differing) > a.show:
            print("(%d more differing lines not shown; --show N)" % (len(differing) - a.show))
        print("margins |log p(PyTorch's) - log p(ours)|: min %.4g, median %.4g, max %.4g (near-ties: < 0.01: %d)"
              % (min(abs(m) for m in margins), sorted(abs(m) for m in margins)[len(margins) // 2],
                 max(abs(m) for m in margins), sum(1 for m in margins if abs(m) < 0.01)))
        print("kinds of first difference: " + "; ".join("%s: %d" % kv for kv in kinds.items()))
    print()
    print("identical: %d/%d" % (N - len(differing), N))
    return 0


if __name__ == "__main__":
    sys.exit(main())
