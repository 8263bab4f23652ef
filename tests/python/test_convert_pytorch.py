"""Tests tools/convert_pytorch.py against the PyTorch translation tutorial's model.

Builds the tutorial's Seq2SeqTransformer (seq-first nn.Transformer, seeded
Xavier init, then random biases and LayerNorm parameters so that every
parameter matters), runs it in eval mode on a padded batch of three sentences,
converts its state_dict and checks:

  (a) tests/fixtures/reference_model.py on the converted directory gives the
      same logits (max |diff| <= 1e-4);
  (b) with --bin PATH: `PATH forward --model DIR --input batch.safetensors
      --output out.safetensors` gives the same logits at the valid target
      positions (padded rows are meaningless per docs/FORMATS.md);
  (c) the converter rejects a state_dict with a missing key, an unexpected
      key and a wrong pos_embedding (non-zero exit, message names the key).

    /usr/bin/python3 tests/python/test_convert_pytorch.py [--bin build/transformer]

Prints one PASS/FAIL line per check and ends with "N passed, M failed";
exits non-zero on any failure.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import traceback

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONVERTER = os.path.join(ROOT, "tools", "convert_pytorch.py")
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import reference_model as ref  # noqa: E402

# the tutorial's special symbols
UNK_IDX, PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2, 3
TOL = 1e-4


# ------------------------------------------------- the tutorial's model

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
                 tgt_vocab_size, dim_feedforward=512, dropout=0.1, **transformer_kwargs):
        super().__init__()
        self.transformer = nn.Transformer(d_model=emb_size, nhead=nhead, num_encoder_layers=num_encoder_layers,
                                          num_decoder_layers=num_decoder_layers,
                                          dim_feedforward=dim_feedforward, dropout=dropout,
                                          **transformer_kwargs)
        self.generator = nn.Linear(emb_size, tgt_vocab_size)
        self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
        self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
        self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

    def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, memory_key_padding_mask):
        src_emb = self.positional_encoding(self.src_tok_emb(src))
        tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
        outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
        return self.generator(outs)


def generate_square_subsequent_mask(sz):
    mask = (torch.triu(torch.ones((sz, sz))) == 1).transpose(0, 1)
    return mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))


def create_mask(src, tgt):
    src_seq_len, tgt_seq_len = src.shape[0], tgt.shape[0]
    tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
    src_mask = torch.zeros((src_seq_len, src_seq_len)).type(torch.bool)
    src_padding_mask = (src == PAD_IDX).transpose(0, 1)
    tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
    return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask


# ------------------------------------------------- fixtures

VARIANTS = [
    # name, model kwargs, converter options
    ("post_relu", dict(num_encoder_layers=3, num_decoder_layers=2, emb_size=64, nhead=4, src_vocab_size=50,
                       tgt_vocab_size=60, dim_feedforward=128),
     ["--heads", "4"]),
    ("pre_gelu", dict(num_encoder_layers=2, num_decoder_layers=3, emb_size=48, nhead=6, src_vocab_size=45,
                      tgt_vocab_size=40, dim_feedforward=96, activation="gelu", norm_first=True),
     ["--heads", "6", "--activation", "gelu", "--norm-first"]),
]

SRC_LENGTHS = [9, 5, 2]
TGT_LENGTHS = [4, 8, 6]


def build_model(kwargs, seed):
    torch.manual_seed(seed)
    model = Seq2SeqTransformer(**kwargs)
    for p in model.parameters():  # the tutorial's init
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    with torch.no_grad():  # then non-trivial biases and LayerNorms, so every mapping is exercised
        for name, p in model.named_parameters():
            if p.dim() == 1:
                if ".norm" in name and name.endswith("weight"):
                    p.copy_(1.0 + 0.2 * torch.randn_like(p))
                else:
                    p.copy_(0.1 * torch.randn_like(p))
    model.eval()
    return model


def make_batch(src_vocab, tgt_vocab, seed):
    """Seq-first [S, B] / [T, B] id tensors padded with PAD_IDX; tgt starts with BOS."""
    g = torch.Generator().manual_seed(seed)
    S, T, B = max(SRC_LENGTHS), max(TGT_LENGTHS), len(SRC_LENGTHS)
    src = torch.full((S, B), PAD_IDX, dtype=torch.int64)
    tgt = torch.full((T, B), PAD_IDX, dtype=torch.int64)
    for b in range(B):
        src[:SRC_LENGTHS[b], b] = torch.randint(4, src_vocab, (SRC_LENGTHS[b],), generator=g)
        src[SRC_LENGTHS[b] - 1, b] = EOS_IDX
        tgt[:TGT_LENGTHS[b], b] = torch.randint(4, tgt_vocab, (TGT_LENGTHS[b],), generator=g)
        tgt[0, b] = BOS_IDX
    return src, tgt


def run_converter(state_path, out_dir, options):
    cmd = [sys.executable, CONVERTER, "--state-dict", state_path, "--out", out_dir] + options
    return subprocess.run(cmd, capture_output=True, text=True)


# ------------------------------------------------- checks

class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, fn):
        try:
            detail = fn()
            self.passed += 1
            print("PASS %s%s" % (name, (": " + detail) if detail else ""))
        except Exception as e:  # noqa: BLE001 - every failure is reported
            self.failed += 1
            msg = str(e).strip().replace("\n", " | ")
            if not isinstance(e, AssertionError):
                msg = "%s: %s" % (type(e).__name__, msg)
                traceback.print_exc(file=sys.stderr)
            print("FAIL %s: %s" % (name, msg))


def main():
    parser = argparse.ArgumentParser(description="test tools/convert_pytorch.py")
    parser.add_argument("--bin", help="the C++ transformer program; enables the engine parity check")
    args = parser.parse_args()
    if args.bin and not os.path.isfile(args.bin):
        print("FAIL --bin %s: no such file" % args.bin)
        print("0 passed, 1 failed")
        return 1

    torch.set_num_threads(1)
    results = Results()
    with tempfile.TemporaryDirectory(prefix="test_convert_pytorch.") as tmp:
        for vi, (name, kwargs, options) in enumerate(VARIANTS):
            model = build_model(kwargs, seed=1234 + vi)
            src, tgt = make_batch(kwargs["src_vocab_size"], kwargs["tgt_vocab_size"], seed=99 + vi)
            src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt)
            with torch.no_grad():
                logits_seq = model(src, tgt, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                                   src_padding_mask)
            expected = logits_seq.transpose(0, 1).contiguous()  # [B, T, Vt]
            state_path = os.path.join(tmp, name + ".pt")
            torch.save(model.state_dict(), state_path)
            model_dir = os.path.join(tmp, name + "_model")

            def convert():
                r = run_converter(state_path, model_dir, options)
                assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr.strip())
                with open(os.path.join(model_dir, "config.json")) as f:
                    cfg = ref.resolve_config(json.load(f))
                want = dict(d_model=kwargs["emb_size"], heads=kwargs["nhead"],
                            encoder_layers=kwargs["num_encoder_layers"],
                            decoder_layers=kwargs["num_decoder_layers"], d_ff=kwargs["dim_feedforward"],
                            src_vocab_size=kwargs["src_vocab_size"], tgt_vocab_size=kwargs["tgt_vocab_size"],
                            final_norm=True, tie_embeddings="none", max_length=5000, pad_id=PAD_IDX,
                            unk_id=UNK_IDX, bos_id=BOS_IDX, eos_id=EOS_IDX,
                            norm="pre" if kwargs.get("norm_first") else "post",
                            activation=kwargs.get("activation", "relu"), positional_encoding="interleaved")
                for k, v in want.items():
                    assert cfg[k] == v, "config %s = %r, expected %r" % (k, cfg[k], v)
                return None

            results.check("%s: convert" % name, convert)
            if not os.path.exists(os.path.join(model_dir, "model.safetensors")):
                continue

            batch = {
                "src_ids": src.transpose(0, 1).contiguous(),
                "tgt_ids": tgt.transpose(0, 1).contiguous(),
                "src_lengths": torch.tensor(SRC_LENGTHS, dtype=torch.int64),
                "tgt_lengths": torch.tensor(TGT_LENGTHS, dtype=torch.int64),
            }

            def reference_parity():
                logits, _ = ref.forward(ref.load_model(model_dir), batch)
                assert logits.shape == expected.shape, "shape %s, expected %s" % (
                    tuple(logits.shape), tuple(expected.shape))
                d = (logits - expected.double()).abs().max().item()
                assert d <= TOL, "max |diff| %.3g > %g" % (d, TOL)
                return "max |diff| %.2e" % d

            results.check("%s: reference_model logits == PyTorch" % name, reference_parity)

            if args.bin:
                def engine_parity():
                    batch_path = os.path.join(tmp, name + "_batch.safetensors")
                    out_path = os.path.join(tmp, name + "_out.safetensors")
                    ref.write_safetensors(batch_path, batch)
                    r = subprocess.run([args.bin, "forward", "--model", model_dir, "--input", batch_path,
                                        "--output", out_path], capture_output=True, text=True)
                    assert r.returncode == 0, "exit %d: %s" % (r.returncode, (r.stderr or r.stdout).strip())
                    out = ref.read_safetensors(out_path)
                    assert "logits" in out, "no 'logits' in %s (has %s)" % (out_path, sorted(out))
                    got = out["logits"]
                    assert tuple(got.shape) == tuple(expected.shape), "logits shape %s, expected %s" % (
                        tuple(got.shape), tuple(expected.shape))
                    d = 0.0
                    for b, n in enumerate(TGT_LENGTHS):  # padded rows are meaningless
                        d = max(d, (got[b, :n].double() - expected[b, :n].double()).abs().max().item())
                    assert d <= TOL, "max |diff| %.3g > %g" % (d, TOL)
                    return "max |diff| %.2e" % d

                results.check("%s: %s forward logits == PyTorch" % (name, os.path.basename(args.bin)),
                              engine_parity)

        # ---- rejections
        name, kwargs, options = VARIANTS[0]
        state = build_model(kwargs, seed=7).state_dict()

        def rejects(tag, mutate, key):
            def fn():
                s = dict(state)
                mutate(s)
                path = os.path.join(tmp, "bad_%s.pt" % tag.replace(" ", "_"))
                torch.save(s, path)
                out_dir = os.path.join(tmp, "bad_%s_model" % tag.replace(" ", "_"))
                r = run_converter(path, out_dir, options)
                assert r.returncode != 0, "converter accepted it (exit 0)"
                assert key in r.stderr, "message does not name %r: %s" % (key, r.stderr.strip())
                assert not os.path.exists(os.path.join(out_dir, "model.safetensors")), "wrote a model anyway"
                return r.stderr.strip().splitlines()[-1]
            results.check("rejects %s" % tag, fn)

        missing = "transformer.decoder.layers.1.multihead_attn.in_proj_bias"
        rejects("missing key", lambda s: s.pop(missing), missing)
        extra = "transformer.encoder.layers.0.extra_scale"
        rejects("unexpected key", lambda s: s.__setitem__(extra, torch.ones(3)), extra)

        def wrong_pe(s):
            pe = s["positional_encoding.pos_embedding"].clone()
            D = pe.shape[-1]
            half = D // 2  # the concatenated (Tensor2Tensor) layout instead of the interleaved one
            pe[:, 0, :half], pe[:, 0, half:] = pe[:, 0, 0::2].clone(), pe[:, 0, 1::2].clone()
            s["positional_encoding.pos_embedding"] = pe
        rejects("wrong pos_embedding", wrong_pe, "positional_encoding.pos_embedding")

    print("%d passed, %d failed" % (results.passed, results.failed))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
