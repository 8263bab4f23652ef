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
      key and a wrong pos_embedding (non-zero exit, message names the key),
      and a whole module saved with torch.save(model) (message says to save
      model.state_dict());
  (d) a tutorial model trained here for a few hundred steps on a generated
      corpus, with a SentencePiece vocabulary of the tutorial's ids (UNK 0,
      PAD 1, BOS 2, EOS 3), converted with --spm, --source-bos and
      --source-eos: `PATH translate --beam 1` prints exactly what the
      tutorial's greedy decoding gives on the same wrapped sources, `PATH
      score` gives its log-probabilities, and converted without the wrapping
      the same weights translate differently (so the wrapping is what the
      comparison checks);
  (e) ids that differ between config.json and spm.model are an error naming
      both: from the converter (--spm) and from `translate` (an spm.model
      made by `transformer vocab`, PAD 0, UNK 1, beside the tutorial's ids),
      and a missing spm.model says to pass --spm.

    /usr/bin/python3 tests/python/test_convert_pytorch.py [--bin build/transformer]

Prints one PASS/FAIL line per check and ends with "N passed, M failed";
exits non-zero on any failure.
"""

import argparse
import json
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_model as ref  # noqa: E402
import tutorial_model as tm  # noqa: E402
from tutorial_model import BOS_IDX, EOS_IDX, PAD_IDX, UNK_IDX, Seq2SeqTransformer, create_mask  # noqa: E402

TOL = 1e-4


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



# ------------------------------------------------- a trained tutorial model

# A toy language pair: each source word has one target word, in the same
# order. Learnt well enough in a few hundred steps that greedy decoding is
# decisive, which a comparison of two implementations needs.
SOURCE_WORDS = "rot gruen blau katze hund vogel laeuft sitzt springt der ein gross".split()
TARGET_WORDS = "red green blue cat dog bird runs sits jumps the a big".split()
TRAIN_PAIRS, TEST_PAIRS = 700, 30
VOCAB_SIZE = 48
TRAINED = dict(num_encoder_layers=2, num_decoder_layers=2, emb_size=32, nhead=4, dim_feedforward=64)
# translate's default output limit: 1.5 * source tokens (BOS and EOS included) + 10
MAX_LENGTH_A, MAX_LENGTH_B = 1.5, 10


def make_corpus(seed):
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for _ in range(TRAIN_PAIRS + TEST_PAIRS):
        n = int(torch.randint(2, 7, (1,), generator=g))
        words = torch.randint(len(SOURCE_WORDS), (n,), generator=g).tolist()
        pairs.append((" ".join(SOURCE_WORDS[w] for w in words), " ".join(TARGET_WORDS[w] for w in words)))
    return pairs


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def check_trained_tutorial(results, tmp, binary):
    import sentencepiece as spm

    pairs = make_corpus(seed=5)
    src_path, tgt_path = os.path.join(tmp, "corpus.src"), os.path.join(tmp, "corpus.tgt")
    write_lines(src_path, [s for s, _ in pairs])
    write_lines(tgt_path, [t for _, t in pairs])
    spm_prefix = os.path.join(tmp, "tutorial_spm")
    spm.SentencePieceTrainer.train(input=src_path + "," + tgt_path, model_prefix=spm_prefix, vocab_size=VOCAB_SIZE,
                                   unk_id=UNK_IDX, pad_id=PAD_IDX, bos_id=BOS_IDX, eos_id=EOS_IDX, num_threads=1,
                                   character_coverage=1.0, minloglevel=2)
    spm_path = spm_prefix + ".model"
    sp = spm.SentencePieceProcessor(model_file=spm_path)
    ids = [(sp.encode(s), sp.encode(t)) for s, t in pairs]
    train_ids, test_ids = ids[:TRAIN_PAIRS], ids[TRAIN_PAIRS:]
    test_sources = [s for s, _ in pairs[TRAIN_PAIRS:]]

    torch.manual_seed(3)
    V = sp.get_piece_size()
    model = Seq2SeqTransformer(src_vocab_size=V, tgt_vocab_size=V, **TRAINED)
    for p in model.parameters():  # the tutorial's init
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    loss = tm.train(model, train_ids, steps=200, batch_size=32, lr=5e-3, seed=1)
    state_path = os.path.join(tmp, "trained.pt")
    torch.save(model.state_dict(), state_path)
    heads = ["--heads", str(TRAINED["nhead"])]

    # what PyTorch says, the tutorial's way
    expected = []
    for s, _ in test_ids:
        limit = int(MAX_LENGTH_A * (len(s) + 2)) + MAX_LENGTH_B
        expected.append(sp.decode(tm.greedy_decode(model, s, limit)))
    learnt = sum(e == t for e, (_, t) in zip(expected, pairs[TRAIN_PAIRS:]))
    sources_path = os.path.join(tmp, "test.src")
    write_lines(sources_path, test_sources)

    wrapped_dir = os.path.join(tmp, "trained_wrapped")

    def convert_with_spm():
        r = run([sys.executable, CONVERTER, "--state-dict", state_path, "--out", wrapped_dir, "--spm", spm_path,
                 "--source-bos", "--source-eos"] + heads)
        assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr.strip())
        with open(os.path.join(wrapped_dir, "spm.model"), "rb") as got, open(spm_path, "rb") as want:
            assert got.read() == want.read(), "spm.model is not a copy of --spm"
        with open(os.path.join(wrapped_dir, "config.json")) as f:
            cfg = json.load(f)
        for k, v in dict(source_bos=True, source_eos=True, decoder_start="bos").items():
            assert cfg.get(k) == v, "config %s = %r, expected %r" % (k, cfg.get(k), v)
        return "training loss %.3f; PyTorch's greedy output is the corpus's translation for %d/%d test sentences" % (
            loss, learnt, TEST_PAIRS)

    results.check("trained: convert --spm --source-bos --source-eos", convert_with_spm)
    if not os.path.exists(os.path.join(wrapped_dir, "spm.model")):
        return

    def translate(model_dir):
        r = run([binary, "--threads", "1", "translate", "--model", model_dir, "--beam", "1", sources_path])
        assert r.returncode == 0, "translate exit %d: %s" % (r.returncode, r.stderr.strip())
        return r.stdout.split("\n")[:-1]

    def translate_matches_pytorch():
        got = translate(wrapped_dir)
        assert len(got) == TEST_PAIRS, "%d lines out, %d in" % (len(got), TEST_PAIRS)
        differ = [(i, g, e) for i, (g, e) in enumerate(zip(got, expected)) if g != e]
        assert not differ, "%d/%d lines differ from PyTorch, first: line %d %r, PyTorch %r" % (
            len(differ), TEST_PAIRS, differ[0][0] + 1, differ[0][1], differ[0][2])
        return "%d/%d lines identical" % (TEST_PAIRS, TEST_PAIRS)

    results.check("trained: translate --beam 1 == PyTorch greedy", translate_matches_pytorch)

    def score_matches_pytorch():
        targets_path = os.path.join(tmp, "test.tgt")
        write_lines(targets_path, [t for _, t in pairs[TRAIN_PAIRS:]])
        r = run([binary, "--threads", "1", "score", "--model", wrapped_dir, sources_path, targets_path])
        assert r.returncode == 0, "score exit %d: %s" % (r.returncode, r.stderr.strip())
        got = [float(x) for x in r.stdout.split()]
        want = [tm.log_prob(model, s, t) for s, t in test_ids]
        assert len(got) == len(want), "%d scores for %d pairs" % (len(got), len(want))
        d = max(abs(g - w) for g, w in zip(got, want))
        assert d <= TOL, "max |diff| %.3g > %g" % (d, TOL)
        return "max |diff| %.2e" % d

    results.check("trained: score == PyTorch log-probabilities", score_matches_pytorch)

    def unwrapped_differs():
        bare_dir = os.path.join(tmp, "trained_bare")
        r = run([sys.executable, CONVERTER, "--state-dict", state_path, "--out", bare_dir, "--spm", spm_path,
                 "--no-source-bos", "--no-source-eos"] + heads)
        assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr.strip())
        differ = sum(g != e for g, e in zip(translate(bare_dir), expected))
        assert differ > 0, "the bare source translates as the wrapped one: the parity check proves nothing"
        return "%d/%d lines change without the wrapping" % (differ, TEST_PAIRS)

    results.check("trained: converted without the wrapping, translate differs", unwrapped_differs)

    def converter_refuses_other_ids():
        out_dir = os.path.join(tmp, "trained_our_ids")
        r = run([sys.executable, CONVERTER, "--state-dict", state_path, "--out", out_dir, "--spm", spm_path,
                 "--pad-id", "0", "--unk-id", "1"] + heads)
        assert r.returncode != 0, "converter accepted it (exit 0)"
        want = "pad_id 0 (--pad-id), but --spm %s has pad id 1 ('<pad>')" % spm_path
        assert want in r.stderr, "message does not say %r: %s" % (want, r.stderr.strip())
        assert not os.path.exists(os.path.join(out_dir, "config.json")), "wrote a model anyway"
        return r.stderr.strip().splitlines()[-1]

    results.check("trained: converter refuses --spm whose ids differ", converter_refuses_other_ids)

    def translate_refuses_other_ids():
        # converted without --spm, then given what `transformer vocab` makes
        model_dir = os.path.join(tmp, "trained_vocab_ids")
        r = run([sys.executable, CONVERTER, "--state-dict", state_path, "--out", model_dir] + heads)
        assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr.strip())
        assert "spm.model" in r.stdout, "no word of spm.model without --spm: %s" % r.stdout.strip()
        r = run([binary, "translate", "--model", model_dir, sources_path])
        assert r.returncode != 0 and "--spm" in r.stderr, "without spm.model: exit %d, %s" % (
            r.returncode, r.stderr.strip())
        r = run([binary, "--threads", "1", "vocab", "--input", src_path, tgt_path, "--vocab-size", str(VOCAB_SIZE),
                 "--out", os.path.join(model_dir, "spm.model")])
        assert r.returncode == 0, "vocab exit %d: %s" % (r.returncode, r.stderr.strip())
        for command in (["translate", "--model", model_dir, sources_path],
                        ["score", "--model", model_dir, sources_path, sources_path]):
            r = run([binary] + command)
            want = ("%s/config.json: field 'pad_id' = 1, but %s/spm.model has pad id 0 ('<pad>')"
                    % (model_dir, model_dir))
            assert r.returncode != 0, "%s accepted it (exit 0)" % command[0]
            assert want in r.stderr, "%s: message does not say %r: %s" % (command[0], want, r.stderr.strip())
        return r.stderr.strip().splitlines()[-1]

    results.check("trained: translate and score refuse spm.model ids that differ", translate_refuses_other_ids)


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
                            unk_id=UNK_IDX, bos_id=BOS_IDX, eos_id=EOS_IDX, source_bos=True, source_eos=True,
                            decoder_start="bos",
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

        def rejects_whole_module():
            path = os.path.join(tmp, "whole_module.pt")
            torch.save(build_model(kwargs, seed=7), path)  # the module, not its state_dict
            r = run_converter(path, os.path.join(tmp, "whole_module_model"), options)
            assert r.returncode != 0, "converter accepted it (exit 0)"
            for want in ("torch.save(model.state_dict(), PATH)", "tutorial_model.Seq2SeqTransformer"):
                assert want in r.stderr, "message does not say %r: %s" % (want, r.stderr.strip())
            assert "weights_only" not in r.stderr, "torch's advice to load unsafely leaks through: %s" % (
                r.stderr.strip())
            return r.stderr.strip().splitlines()[-1]
        results.check("rejects a whole module (torch.save(model))", rejects_whole_module)

        if args.bin:
            check_trained_tutorial(results, tmp, args.bin)

    print("%d passed, %d failed" % (results.passed, results.failed))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
