#!/usr/bin/python3
"""The Multi30k recipe (examples/multi30k.sh) trained by PyTorch 1.13 instead
of our engine, for the same wall time on the same machine, then translated
and scored by our binary, so that the two BLEU scores differ only in who
trained the weights.

Same as examples/multi30k.sh: the joint SentencePiece vocabulary it made
(--spm), the `small` shape (d_model 256, 4 heads, d_ff 1024, 3+3 layers,
post-norm, one embedding matrix for source, target and output, sinusoidal
positions, dropout 0.1), batches of at most 4,096 tokens cut from
length-sorted pairs and shuffled every epoch, label smoothing 0.1, Adam
(0.9, 0.98, 1e-9), the inverse-square-root schedule with 500 warm-up steps
to a peak of 1e-3, clipping at norm 1, validation loss every 400 steps (the
best model is kept), and a limit on the wall time that includes validation.

Different, because that is how PyTorch's nn.Transformer is built (the
translation tutorial's model, which tools/convert_pytorch.py converts): a
final LayerNorm after each stack, and dropout on the attention weights. The
batches are cut by the same rule but shuffled by numpy, so they are not the
same batches in the same order.

    /usr/bin/python3 bench/train_multi30k_pytorch.py --spm runs/multi30k-90min/spm.model \\
        --minutes 30 --out runs/pytorch-30min

Writes OUT/model (our model directory, converted), OUT/log.txt, and
OUT/test.beam{1,4}.en, and prints BLEU (sacreBLEU-compatible, 13a) on
test_2016_flickr.
"""

import os
import sys

if "OMP_WAIT_POLICY" not in os.environ:  # PyTorch's OpenMP threads must not spin (DEVELOPERS.md)
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
              dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))

import argparse  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
from convert_pytorch import convert  # noqa: E402
from safetensors_io import write_json, write_safetensors  # noqa: E402

PAD, UNK, BOS, EOS = 0, 1, 2, 3  # our vocabulary's special ids (transformer vocab)
MAX_LENGTH = 256                 # the small preset's


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--spm", required=True, help="the SentencePiece model examples/multi30k.sh made")
    p.add_argument("--data", default=os.path.join(REPO, "build", "data", "multi30k"),
                   help="train, val and test_2016_flickr in .de and .en; the default is unpacked from "
                        "data/multi30k/ by scripts/multi30k-data.sh when missing")
    p.add_argument("--out", required=True)
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--max-tokens", type=int, default=4096)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--clip-norm", type=float, default=1.0)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--valid-every", type=int, default=400)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bin", default=os.path.join(REPO, "build", "transformer"))
    return p.parse_args()


def read_pairs(sp, data, split):
    with open(os.path.join(data, split + ".de"), encoding="utf-8") as f:
        src = [sp.encode(line.rstrip("\n")) for line in f]
    with open(os.path.join(data, split + ".en"), encoding="utf-8") as f:
        tgt = [sp.encode(line.rstrip("\n")) for line in f]
    if len(src) != len(tgt):
        sys.exit(f"error: {split}.de has {len(src)} lines, {split}.en {len(tgt)}")
    return [(s, t) for s, t in zip(src, tgt) if s and len(s) <= MAX_LENGTH and len(t) + 1 <= MAX_LENGTH]


def cut_batches(pairs, max_tokens, rng):
    """Length-sorted (ties shuffled), cut so that B x S and B x T stay within max_tokens."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1]), rng.random()))
    batches, current, s_max, t_max = [], [], 0, 0
    for i in order:
        s, t = len(pairs[i][0]), len(pairs[i][1]) + 1
        if current and (len(current) + 1) * max(s_max, s) > max_tokens or \
                current and (len(current) + 1) * max(t_max, t) > max_tokens:
            batches.append(current)
            current, s_max, t_max = [], 0, 0
        current.append(i)
        s_max, t_max = max(s_max, s), max(t_max, t)
    if current:
        batches.append(current)
    return batches


def tensors(pairs, batch):
    B = len(batch)
    S = max(len(pairs[i][0]) for i in batch)
    T = max(len(pairs[i][1]) for i in batch) + 1
    src = torch.full((B, S), PAD, dtype=torch.long)
    tgt_in = torch.full((B, T), PAD, dtype=torch.long)
    tgt_out = torch.full((B, T), PAD, dtype=torch.long)
    for b, i in enumerate(batch):
        s, t = pairs[i]
        src[b, :len(s)] = torch.tensor(s)
        tgt_in[b, :len(t) + 1] = torch.tensor([BOS] + t)
        tgt_out[b, :len(t) + 1] = torch.tensor(t + [EOS])
    return src, tgt_in, tgt_out


class Seq2Seq(nn.Module):
    """The tutorial's Seq2SeqTransformer, with one embedding matrix for source,
    target and output, as our `small` ties them."""

    def __init__(self, vocab, d=256, heads=4, d_ff=1024, layers=3, dropout=0.1):
        super().__init__()
        self.d = d
        self.embedding = nn.Embedding(vocab, d)
        self.out_bias = nn.Parameter(torch.zeros(vocab))
        pos = torch.arange(MAX_LENGTH, dtype=torch.float64)[:, None]
        angle = pos * torch.exp(-math.log(10000.0) * torch.arange(0, d, 2, dtype=torch.float64) / d)
        pe = torch.zeros(MAX_LENGTH, d, dtype=torch.float64)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
        self.register_buffer("pe", pe.float())
        self.dropout = nn.Dropout(dropout)
        self.transformer = nn.Transformer(d, heads, layers, layers, d_ff, dropout, batch_first=True)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def embed(self, ids):
        return self.dropout(self.embedding(ids) * math.sqrt(self.d) + self.pe[: ids.shape[1]])

    def forward(self, src, tgt_in):
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_in.shape[1])
        h = self.transformer(self.embed(src), self.embed(tgt_in), tgt_mask=causal,
                             src_key_padding_mask=src == PAD, tgt_key_padding_mask=tgt_in == PAD,
                             memory_key_padding_mask=src == PAD)
        return nn.functional.linear(h, self.embedding.weight, self.out_bias)

    def tutorial_state_dict(self):
        """The layout tools/convert_pytorch.py reads."""
        state = {"transformer." + k: v for k, v in self.transformer.state_dict().items()}
        for key in ("src_tok_emb.embedding.weight", "tgt_tok_emb.embedding.weight", "generator.weight"):
            state[key] = self.embedding.weight.detach()
        state["generator.bias"] = self.out_bias.detach()
        state["positional_encoding.pos_embedding"] = self.pe.unsqueeze(1)
        return state


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    log = open(os.path.join(a.out, "log.txt"), "w")

    def say(text):
        print(text, flush=True)
        log.write(text + "\n")
        log.flush()

    if not os.path.exists(a.data) and a.data == os.path.join(REPO, "build", "data", "multi30k"):
        subprocess.run(["bash", os.path.join(REPO, "scripts", "multi30k-data.sh")], check=True, stdout=subprocess.DEVNULL)
    sp = spm.SentencePieceProcessor(model_file=a.spm)
    train, valid = read_pairs(sp, a.data, "train"), read_pairs(sp, a.data, "val")
    batches = cut_batches(train, a.max_tokens, rng)
    valid_batches = [tensors(valid, b) for b in cut_batches(valid, a.max_tokens, rng)]
    say(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads; {len(train)} training pairs in "
        f"{len(batches)} batches, {len(valid)} validation pairs")

    model = Seq2Seq(sp.get_piece_size(), dropout=a.dropout)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=a.label_smoothing)
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.98), eps=1e-9)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: min((i + 1) / a.warmup, math.sqrt(a.warmup / (i + 1))))

    def validation_loss():
        model.eval()
        total, tokens = 0.0, 0
        with torch.no_grad():
            for src, tgt_in, tgt_out in valid_batches:
                n = int((tgt_out != PAD).sum())
                total += float(criterion(model(src, tgt_in).flatten(0, 1), tgt_out.flatten())) * n
                tokens += n
        model.train()
        return total / tokens

    start = time.perf_counter()
    step, epoch, best, best_state = 0, 0, math.inf, None
    window_tokens, window_start, window_loss = 0, time.perf_counter(), 0.0
    done = False
    while not done:
        epoch += 1
        for b in rng.permutation(len(batches)):
            src, tgt_in, tgt_out = tensors(train, batches[b])
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(src, tgt_in).flatten(0, 1), tgt_out.flatten())
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), a.clip_norm)
            optimizer.step()
            schedule.step()
            step += 1
            window_tokens += int((tgt_out != PAD).sum())
            window_loss += float(loss)
            if step % 50 == 0:
                now = time.perf_counter()
                say(f"step {step}  epoch {epoch}  loss {window_loss / 50:.4f}  lr {optimizer.param_groups[0]['lr']:.2e}"
                    f"  {window_tokens / (now - window_start):.0f} tok/s  {(now - start) / 60:.1f} min")
                window_tokens, window_start, window_loss = 0, now, 0.0
            out_of_time = time.perf_counter() - start >= a.minutes * 60
            if step % a.valid_every == 0 or out_of_time:
                v = validation_loss()
                if v < best:
                    best = v
                    best_state = {k: t.clone() for k, t in model.tutorial_state_dict().items()}
                say(f"step {step}  validation loss {v:.4f}{'  (best so far)' if v == best else ''}")
            if out_of_time:
                done = True
                break
    say(f"stopped at step {step} after {(time.perf_counter() - start) / 60:.1f} min; best validation loss {best:.4f}")

    # This recipe feeds the source bare (as our trainer does), not wrapped in
    # BOS … EOS as the tutorial does, which is the converter's default.
    config, params = convert(best_state, heads=4, unk_id=UNK, pad_id=PAD, bos_id=BOS, eos_id=EOS,
                             max_length=MAX_LENGTH, dropout=a.dropout, source_bos=False, source_eos=False)
    model_dir = os.path.join(a.out, "model")
    os.makedirs(model_dir, exist_ok=True)
    write_safetensors(os.path.join(model_dir, "model.safetensors"), params)
    write_json(os.path.join(model_dir, "config.json"), config)
    shutil.copyfile(a.spm, os.path.join(model_dir, "spm.model"))

    test_src = os.path.join(a.data, "test_2016_flickr.de")
    test_ref = os.path.join(a.data, "test_2016_flickr.en")
    for beam in (1, 4):
        hyp = os.path.join(a.out, f"test.beam{beam}.en")
        with open(test_src, "rb") as fin, open(hyp, "wb") as fout:
            subprocess.run([a.bin, "translate", "--model", model_dir, "--beam", str(beam)], stdin=fin, stdout=fout,
                           check=True)
        bleu = subprocess.run([a.bin, "bleu", test_ref, "-i", hyp], capture_output=True, text=True, check=True)
        say(f"beam {beam}: {bleu.stdout.strip()}")


if __name__ == "__main__":
    main()
