#!/usr/bin/env python3
"""Converts a PyTorch translation-tutorial model into our model directory.

The input is a state_dict saved with `torch.save(model.state_dict(), path)`
from the `Seq2SeqTransformer` of PyTorch's "Language Translation with
nn.Transformer and torchtext" tutorial:

    src_tok_emb.embedding.weight          [Vs, D]   (TokenEmbedding: x * sqrt(D))
    tgt_tok_emb.embedding.weight          [Vt, D]
    positional_encoding.pos_embedding     [maxlen, 1, D]  (interleaved sin/cos)
    transformer.*                         nn.Transformer(batch_first=False)
    generator.weight / generator.bias     [Vt, D] / [Vt]

The output is a model directory as described in docs/FORMATS.md
(config.json + model.safetensors, each written atomically): in_proj_weight /
in_proj_bias split into q/k/v, norm1/norm2/norm3 -> self_attn_norm /
(cross_attn_norm) / ffn_norm, multihead_attn -> cross_attn,
transformer.{encoder,decoder}.norm -> {encoder,decoder}.norm (final_norm is
true: nn.Transformer always has them), tie_embeddings "none". Sizes come from
the tensor shapes; the head count, activation and norm placement cannot be
read from a state_dict and are options.

Usage:

    python3 tools/convert_pytorch.py --state-dict model.pt --heads 8 --out DIR
        [--activation relu|gelu] [--norm-first]
        [--unk-id 0] [--pad-id 1] [--bos-id 2] [--eos-id 3]
        [--max-length N] [--layer-norm-eps 1e-5] [--dropout 0.1]

The special ids default to the tutorial's (UNK 0, PAD 1, BOS 2, EOS 3).
max_length defaults to the length of the pos_embedding buffer, capped at
5000. The converter checks that the pos_embedding buffer is the interleaved
encoding our engine computes, that every expected key is present with the
expected shape and that no key is left over; any problem is an error that
names the key (exit status 1).
"""

import argparse
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_json, write_safetensors  # noqa: E402

MAX_LENGTH_CAP = 5000
PE_KEY = "positional_encoding.pos_embedding"


class ConversionError(Exception):
    pass


# ---------------------------------------------------------------- conversion

def interleaved_encoding(positions, D):
    """Our interleaved encoding, [positions, D] float64."""
    pos = torch.arange(positions, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(D // 2, dtype=torch.float64).unsqueeze(0)
    angle = pos * torch.exp(-math.log(10000.0) * (2.0 * i) / D)
    pe = torch.zeros(positions, D, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe


def check_positional_encoding(buf, D, rows):
    """The tutorial computes the buffer in float32, so the angle pos*den is
    off by up to ~pos * 2^-24 relative; allow that, nothing more."""
    got = buf.reshape(buf.shape[0], D)[:rows].to(torch.float64)
    want = interleaved_encoding(rows, D)
    pos = torch.arange(rows, dtype=torch.float64).unsqueeze(1)
    tol = 1e-5 + 4e-7 * pos
    bad = ((got - want).abs() > tol).any(dim=1).nonzero()
    if bad.numel():
        p = int(bad[0])
        j = int(((got[p] - want[p]).abs() - tol[p]).argmax())
        raise ConversionError(
            "%s does not match the interleaved sinusoidal encoding (first difference at position %d, "
            "dimension %d: %g, expected %g); only the tutorial's PositionalEncoding can be converted"
            % (PE_KEY, p, j, float(got[p, j]), float(want[p, j])))


def convert(state, heads, activation="relu", norm_first=False, unk_id=0, pad_id=1, bos_id=2, eos_id=3,
            max_length=None, layer_norm_eps=1e-5, dropout=0.1):
    """state: the tutorial model's state_dict. Returns (config dict,
    {our parameter name: float32 tensor})."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConversionError("the file does not hold a state_dict (a mapping of names to tensors); "
                              "save it with torch.save(model.state_dict(), path)")
    remaining = dict(state)

    def take(key, shape=None):
        if key not in remaining:
            if key in state:
                raise ConversionError("key %r used twice" % key)
            raise ConversionError("missing key %r in the state_dict" % key)
        t = remaining.pop(key)
        if shape is not None and tuple(t.shape) != tuple(shape):
            raise ConversionError("key %r has shape %s, expected %s" % (key, tuple(t.shape), tuple(shape)))
        if not t.is_floating_point():
            raise ConversionError("key %r is not a floating-point tensor (%s)" % (key, t.dtype))
        return t.detach().to(torch.float32).contiguous()

    for key in ("src_tok_emb.embedding.weight", "tgt_tok_emb.embedding.weight", "generator.weight", PE_KEY,
                "transformer.encoder.layers.0.linear1.weight"):
        if key not in state:
            raise ConversionError("missing key %r in the state_dict" % key)
    Vs, D = state["src_tok_emb.embedding.weight"].shape
    Vt = state["tgt_tok_emb.embedding.weight"].shape[0]
    F = state["transformer.encoder.layers.0.linear1.weight"].shape[0]

    def count_layers(prefix):
        # one more than the highest layer index named by any key
        n = 0
        for key in state:
            if key.startswith(prefix + "."):
                index = key[len(prefix) + 1:].split(".", 1)[0]
                if index.isdigit():
                    n = max(n, int(index) + 1)
        return n

    n_enc = count_layers("transformer.encoder.layers")
    n_dec = count_layers("transformer.decoder.layers")
    if n_dec == 0:
        raise ConversionError("missing key 'transformer.decoder.layers.0.linear1.weight' in the state_dict")
    if heads < 1 or D % heads:
        raise ConversionError("--heads %d does not divide d_model %d" % (heads, D))
    if D % 2:
        raise ConversionError("d_model %d is odd" % D)

    pe = take(PE_KEY)
    if pe.dim() != 3 or pe.shape[1] != 1 or pe.shape[2] != D:
        raise ConversionError("key %r has shape %s, expected [maxlen, 1, %d]" % (PE_KEY, tuple(pe.shape), D))
    if max_length is None:
        max_length = min(int(pe.shape[0]), MAX_LENGTH_CAP)
    if max_length < 1:
        raise ConversionError("max_length %d must be >= 1" % max_length)
    if max_length > pe.shape[0]:
        raise ConversionError("--max-length %d is longer than %s (%d positions)" % (max_length, PE_KEY, pe.shape[0]))
    check_positional_encoding(pe, D, max_length)

    out = {}
    out["encoder.embed.weight"] = take("src_tok_emb.embedding.weight", (Vs, D))
    out["decoder.embed.weight"] = take("tgt_tok_emb.embedding.weight", (Vt, D))
    out["generator.weight"] = take("generator.weight", (Vt, D))
    out["generator.bias"] = take("generator.bias", (Vt,))

    def attention(src, dst):
        w = take(src + ".in_proj_weight", (3 * D, D))
        b = take(src + ".in_proj_bias", (3 * D,))
        for j, name in enumerate(("q", "k", "v")):
            out["%s.%s_proj.weight" % (dst, name)] = w[j * D:(j + 1) * D].clone()
            out["%s.%s_proj.bias" % (dst, name)] = b[j * D:(j + 1) * D].clone()
        out[dst + ".out_proj.weight"] = take(src + ".out_proj.weight", (D, D))
        out[dst + ".out_proj.bias"] = take(src + ".out_proj.bias", (D,))

    def norm(src, dst):
        out[dst + ".weight"] = take(src + ".weight", (D,))
        out[dst + ".bias"] = take(src + ".bias", (D,))

    def ffn(src, dst):
        out[dst + ".linear1.weight"] = take(src + ".linear1.weight", (F, D))
        out[dst + ".linear1.bias"] = take(src + ".linear1.bias", (F,))
        out[dst + ".linear2.weight"] = take(src + ".linear2.weight", (D, F))
        out[dst + ".linear2.bias"] = take(src + ".linear2.bias", (D,))

    for i in range(n_enc):
        s, d = "transformer.encoder.layers.%d" % i, "encoder.layers.%d" % i
        attention(s + ".self_attn", d + ".self_attn")
        norm(s + ".norm1", d + ".self_attn_norm")
        ffn(s, d + ".ffn")
        norm(s + ".norm2", d + ".ffn_norm")
    norm("transformer.encoder.norm", "encoder.norm")
    for i in range(n_dec):
        s, d = "transformer.decoder.layers.%d" % i, "decoder.layers.%d" % i
        attention(s + ".self_attn", d + ".self_attn")
        norm(s + ".norm1", d + ".self_attn_norm")
        attention(s + ".multihead_attn", d + ".cross_attn")
        norm(s + ".norm2", d + ".cross_attn_norm")
        ffn(s, d + ".ffn")
        norm(s + ".norm3", d + ".ffn_norm")
    norm("transformer.decoder.norm", "decoder.norm")

    if remaining:
        names = sorted(remaining)
        raise ConversionError("unexpected key %r in the state_dict%s" % (
            names[0], "" if len(names) == 1 else " (and %d more: %s)" % (len(names) - 1, ", ".join(names[1:]))))

    ids = {"pad_id": pad_id, "unk_id": unk_id, "bos_id": bos_id, "eos_id": eos_id}
    for name, v in ids.items():
        if not 0 <= v < min(Vs, Vt):
            raise ConversionError("%s %d is outside both vocabularies [0, %d)" % (name, v, min(Vs, Vt)))
    if len(set(ids.values())) != len(ids):
        raise ConversionError("special ids must be distinct, got %s" % ids)
    if activation not in ("relu", "gelu"):
        raise ConversionError("activation must be relu or gelu, got %r" % activation)
    if not layer_norm_eps > 0:
        raise ConversionError("layer_norm_eps must be > 0")
    if not 0 <= dropout < 1:
        raise ConversionError("dropout must be in [0, 1)")

    config = {
        "src_vocab_size": int(Vs),
        "tgt_vocab_size": int(Vt),
        "d_model": int(D),
        "heads": int(heads),
        "d_ff": int(F),
        "encoder_layers": n_enc,
        "decoder_layers": n_dec,
        "norm": "pre" if norm_first else "post",
        "final_norm": True,
        "activation": activation,
        "positional_encoding": "interleaved",
        "tie_embeddings": "none",
        "max_length": int(max_length),
        "layer_norm_eps": float(layer_norm_eps),
        "dropout": float(dropout),
        "pad_id": pad_id,
        "unk_id": unk_id,
        "bos_id": bos_id,
        "eos_id": eos_id,
    }
    return config, out


def load_state_dict(path):
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except TypeError:  # torch without weights_only
            state = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - reported to the user
        raise ConversionError("cannot load %s: %s" % (path, e))
    if hasattr(state, "state_dict") and not isinstance(state, dict):
        raise ConversionError("%s holds a whole model; save model.state_dict() instead" % path)
    return dict(state) if isinstance(state, dict) else state


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Convert a PyTorch translation-tutorial Seq2SeqTransformer state_dict to a model directory.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--state-dict", required=True, help="the .pt file saved with torch.save(model.state_dict(), path)")
    p.add_argument("--out", required=True, help="the model directory to write (created if missing)")
    p.add_argument("--heads", type=int, required=True, help="nhead of the nn.Transformer")
    p.add_argument("--activation", choices=("relu", "gelu"), default="relu")
    p.add_argument("--norm-first", action="store_true", help="the nn.Transformer was built with norm_first=True")
    p.add_argument("--unk-id", type=int, default=0)
    p.add_argument("--pad-id", type=int, default=1)
    p.add_argument("--bos-id", type=int, default=2)
    p.add_argument("--eos-id", type=int, default=3)
    p.add_argument("--max-length", type=int, default=None,
                   help="default: pos_embedding length, capped at %d" % MAX_LENGTH_CAP)
    p.add_argument("--layer-norm-eps", type=float, default=1e-5)
    p.add_argument("--dropout", type=float, default=0.1)
    args = p.parse_args(argv)
    try:
        state = load_state_dict(args.state_dict)
        config, params = convert(state, args.heads, args.activation, args.norm_first, args.unk_id, args.pad_id,
                                 args.bos_id, args.eos_id, args.max_length, args.layer_norm_eps, args.dropout)
        os.makedirs(args.out, exist_ok=True)
        write_safetensors(os.path.join(args.out, "model.safetensors"),
                          {name: t.detach().to(torch.float32) for name, t in params.items()})
        write_json(os.path.join(args.out, "config.json"), config)
    except ConversionError as e:
        print("convert_pytorch: %s: %s" % (args.state_dict, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("convert_pytorch: %s" % e, file=sys.stderr)
        return 1
    print("wrote %s (%d tensors; d_model %d, heads %d, %d+%d layers, vocab %d/%d)" % (
        args.out, len(params), config["d_model"], config["heads"], config["encoder_layers"],
        config["decoder_layers"], config["src_vocab_size"], config["tgt_vocab_size"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
