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

    python3 tools/convert_pytorch.py --state-dict model.pt --heads 8 --out DIR \
        --spm spm.model
        [--activation relu|gelu] [--norm-first]
        [--unk-id 0] [--pad-id 1] [--bos-id 2] [--eos-id 3]
        [--no-source-bos] [--no-source-eos] [--decoder-start bos|eos]
        [--max-length N] [--layer-norm-eps 1e-5] [--dropout 0.1]

The special ids default to the tutorial's (UNK 0, PAD 1, BOS 2, EOS 3).

What wraps a sentence is part of what the model learnt: the tutorial's
collate_fn puts every source between BOS and EOS, and its decoder starts
with BOS. So the config says source_bos and source_eos true and
decoder_start "bos" unless --no-source-bos, --no-source-eos or
--decoder-start say otherwise; every command (translate, score, serve,
explain, bench decode) then reads the source as the model was trained to.
`transformer forward` takes ids as they are given.

translate, score, serve and explain turn text into ids with DIR/spm.model,
the SentencePiece model the training used: --spm copies it there, after
checking that it has no more pieces than the embeddings have rows and
that its special ids are the ones above (the tutorial's torchtext
vocabulary is not a SentencePiece model: a model trained on it can be
converted and run with `transformer forward`, not on text). Without --spm
the directory has config.json and model.safetensors only.

max_length defaults to the length of the pos_embedding buffer, capped at
5000. The converter checks that the pos_embedding buffer is the interleaved
encoding our engine computes, that every expected key is present with the
expected shape and that no key is left over; any problem is an error that
names the key (exit status 1). The file must hold a state_dict: it is read
with weights_only=True, so that converting never runs code from it, and a
whole module saved with torch.save(model) is refused with what to do.
"""

import argparse
import math
import os
import pickle
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
            max_length=None, layer_norm_eps=1e-5, dropout=0.1, source_bos=True, source_eos=True,
            decoder_start="bos"):
    """state: the tutorial model's state_dict. Returns (config dict,
    {our parameter name: float32 tensor}). The wrapping defaults to the
    tutorial's: BOS source EOS, and BOS first into the decoder."""
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
    if decoder_start not in ("bos", "eos"):
        raise ConversionError("decoder_start must be bos or eos, got %r" % decoder_start)
    if max_length <= int(source_bos) + int(source_eos):
        raise ConversionError("max_length %d leaves no room for a source piece beside the BOS/EOS around it"
                              % max_length)

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
        "source_bos": bool(source_bos),
        "source_eos": bool(source_eos),
        "decoder_start": decoder_start,
    }
    return config, out


def load_state_dict(path):
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except TypeError:  # torch without weights_only
            state = torch.load(path, map_location="cpu")
    except pickle.UnpicklingError as e:
        # weights_only refuses any class but tensors and containers; torch's
        # own message then suggests weights_only=False, which would run code
        # from the file. Say what the file must hold instead.
        message = str(e)
        if not message.startswith("Weights only load failed"):
            raise ConversionError("cannot load it: %s" % message)
        found = message.split("WeightsUnpickler error:", 1)[-1].strip() if "WeightsUnpickler error:" in message else ""
        raise ConversionError(
            "it holds more than tensors%s: a whole model saved with torch.save(model)? The converter reads "
            "only a state_dict (it never runs code from the file): save the weights with "
            "torch.save(model.state_dict(), PATH) and convert that file" % (" (%s)" % found if found else ""))
    except Exception as e:  # noqa: BLE001 - reported to the user
        raise ConversionError("cannot load it: %s" % e)
    if hasattr(state, "state_dict") and not isinstance(state, dict):
        raise ConversionError("it holds a whole model; save model.state_dict() instead")
    return dict(state) if isinstance(state, dict) else state


def check_vocabulary(spm_path, config):
    """The bytes of the SentencePiece model at spm_path, after checking it
    against config: no more pieces than either embedding has rows, and the
    same four special ids (the C++ side checks the same at load)."""
    try:
        import sentencepiece  # only needed with --spm
    except ImportError:
        raise ConversionError("--spm needs the sentencepiece module (Debian: python3-sentencepiece)")
    try:
        with open(spm_path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConversionError("--spm %s: cannot read: %s" % (spm_path, e.strerror or e))
    sp = sentencepiece.SentencePieceProcessor()
    try:
        sp.LoadFromSerializedProto(data)
    except Exception as e:  # noqa: BLE001 - reported to the user
        raise ConversionError("--spm %s: not a SentencePiece model (%s)" % (spm_path, e))
    pieces = sp.get_piece_size()
    vocab = min(config["src_vocab_size"], config["tgt_vocab_size"])
    if pieces > vocab:
        raise ConversionError("--spm %s has %d pieces, more than the model's vocabulary (src_vocab_size %d, "
                              "tgt_vocab_size %d)" % (spm_path, pieces, config["src_vocab_size"],
                                                      config["tgt_vocab_size"]))
    for kind, spm_id in (("pad", sp.pad_id()), ("unk", sp.unk_id()), ("bos", sp.bos_id()), ("eos", sp.eos_id())):
        ours = config[kind + "_id"]
        if ours == spm_id:
            continue
        if spm_id < 0:
            raise ConversionError("%s_id %d (--%s-id), but --spm %s has no %s piece: our engine needs all four "
                                  "special pieces (pad, unk, bos, eos) in the vocabulary"
                                  % (kind, ours, kind, spm_path, kind))
        raise ConversionError("%s_id %d (--%s-id), but --spm %s has %s id %d (%r): convert with the ids of the "
                              "vocabulary the model was trained on (--%s-id %d if it is this one)"
                              % (kind, ours, kind, spm_path, kind, spm_id, sp.id_to_piece(spm_id), kind, spm_id))
    return data


def write_bytes_atomic(path, data):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Convert a PyTorch translation-tutorial Seq2SeqTransformer state_dict to a model directory "
                    "(config.json, model.safetensors, and spm.model with --spm).",
        epilog="translate, score, serve and explain need DIR/spm.model, the SentencePiece model the training "
               "used: give it as --spm. The special ids and the wrapping default to the tutorial's.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--state-dict", required=True, help="the .pt file saved with torch.save(model.state_dict(), path)")
    p.add_argument("--out", required=True, help="the model directory to write (created if missing)")
    p.add_argument("--heads", type=int, required=True, help="nhead of the nn.Transformer")
    p.add_argument("--spm", help="the SentencePiece model the training used, copied to OUT/spm.model after its "
                                 "size and special ids are checked (needed by translate, score, serve, explain)")
    p.add_argument("--activation", choices=("relu", "gelu"), default="relu", help="activation of the nn.Transformer")
    p.add_argument("--norm-first", action="store_true", help="the nn.Transformer was built with norm_first=True")
    p.add_argument("--unk-id", type=int, default=0, help="the id of UNK in the training's vocabulary (the tutorial's)")
    p.add_argument("--pad-id", type=int, default=1, help="the id of PAD in the training's vocabulary (the tutorial's)")
    p.add_argument("--bos-id", type=int, default=2, help="the id of BOS in the training's vocabulary (the tutorial's)")
    p.add_argument("--eos-id", type=int, default=3, help="the id of EOS in the training's vocabulary (the tutorial's)")
    p.add_argument("--source-bos", action=argparse.BooleanOptionalAction, default=True,
                   help="the training put BOS before every source (the tutorial does)")
    p.add_argument("--source-eos", action=argparse.BooleanOptionalAction, default=True,
                   help="the training put EOS after every source (the tutorial does)")
    p.add_argument("--decoder-start", choices=("bos", "eos"), default="bos",
                   help="the decoder's first input token in training (the tutorial's: BOS)")
    p.add_argument("--max-length", type=int, default=None,
                   help="default: pos_embedding length, capped at %d" % MAX_LENGTH_CAP)
    p.add_argument("--layer-norm-eps", type=float, default=1e-5, help="eps of the nn.Transformer's LayerNorms")
    p.add_argument("--dropout", type=float, default=0.1, help="config.json's dropout (used only in training)")
    args = p.parse_args(argv)
    try:
        state = load_state_dict(args.state_dict)
        config, params = convert(state, args.heads, args.activation, args.norm_first, args.unk_id, args.pad_id,
                                 args.bos_id, args.eos_id, args.max_length, args.layer_norm_eps, args.dropout,
                                 args.source_bos, args.source_eos, args.decoder_start)
        vocabulary = check_vocabulary(args.spm, config) if args.spm else None
        os.makedirs(args.out, exist_ok=True)
        write_safetensors(os.path.join(args.out, "model.safetensors"),
                          {name: t.detach().to(torch.float32) for name, t in params.items()})
        write_json(os.path.join(args.out, "config.json"), config)
        if vocabulary is not None:
            write_bytes_atomic(os.path.join(args.out, "spm.model"), vocabulary)
    except ConversionError as e:
        print("convert_pytorch: %s: %s" % (args.state_dict, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("convert_pytorch: %s" % e, file=sys.stderr)
        return 1
    wrapping = " ".join(w for w, on in (("BOS", config["source_bos"]), ("source", True), ("EOS", config["source_eos"]))
                        if on)
    print("wrote %s (%d tensors; d_model %d, heads %d, %d+%d layers, vocab %d/%d; reads %s, decoder starts with %s)"
          % (args.out, len(params), config["d_model"], config["heads"], config["encoder_layers"],
             config["decoder_layers"], config["src_vocab_size"], config["tgt_vocab_size"], wrapping,
             config["decoder_start"].upper()))
    if vocabulary is None:
        print("no --spm: translate, score, serve and explain need the training's SentencePiece model as %s"
              % os.path.join(args.out, "spm.model"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
