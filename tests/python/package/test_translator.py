"""Translator against the CLI on the same model: the same translations and
the same scores, printed to the last digit the CLI prints."""
import pytest

import transformer
from conftest import cli


def f6(x):
    return f"{x:.6f}"  # what the CLI's %.6f prints


def test_greedy_and_beam_equal_the_cli(model_dir, data_dir, sentences):
    translator = transformer.Translator(model_dir)
    for beam in (1, 4):
        expected = cli("translate", "--model", model_dir, "--beam", beam, data_dir / "val.de").splitlines()
        results = translator.translate_batch(sentences, beam_size=beam)
        assert [r.text for r in results] == expected
    assert len({r.text for r in results}) > 1, "the fixture model should not say one thing to everything"


def test_n_best_scores_and_token_scores_equal_the_cli(model_dir, data_dir, sentences):
    expected = cli("translate", "--model", model_dir, "--beam", 3, "--n-best", 3, "--scores",
                   data_dir / "val.de").splitlines()
    results = transformer.Translator(model_dir).translate_batch(sentences, beam_size=3, n_best=3, return_scores=True)
    lines = []
    for i, r in enumerate(results):
        assert len(r.hypotheses) == 3
        assert r.text == r.hypotheses[0].text and r.score == r.hypotheses[0].score
        for h in r.hypotheses:
            assert len(h.token_scores) == len(h.tokens) + 1  # then EOS
            lines.append(f"{i} ||| {h.text} ||| {f6(h.score)} ||| " + " ".join(map(f6, h.token_scores)))
    assert lines == expected


def test_alignment_equals_the_cli(model_dir, data_dir, sentences):
    expected = cli("translate", "--model", model_dir, "--alignment", data_dir / "val.de").splitlines()
    results = transformer.Translator(model_dir).translate_batch(sentences, return_alignment=True)
    lines = [r.text + " ||| " + " ".join(f"{s}-{t}" for s, t in r.alignment) for r in results]
    assert lines == expected
    assert results[0].token_scores is None  # not asked for


def test_sampling_equals_the_cli(model_dir, data_dir, sentences):
    expected = cli("translate", "--model", model_dir, "--sample", "--seed", 5, "--temperature", 3, "--top-k", 20,
                   data_dir / "val.de").splitlines()
    results = transformer.Translator(model_dir).translate_batch(sentences, sampling=True, seed=5,
                                                                sampling_temperature=3, sampling_topk=20)
    assert [r.text for r in results] == expected


def test_token_bans_equal_the_cli(model_dir, data_dir, sentences):
    """disable_unk and no_repeat_ngram_size are translate's --disable-unk and
    --no-repeat-ngram-size; sampled at a high temperature, the model repeats
    words, and with n = 1 no translation holds a piece twice."""
    translator = transformer.Translator(model_dir)
    options = dict(sampling=True, seed=5, sampling_temperature=3)
    free = translator.translate_batch(sentences, **options)
    assert any(len(set(r.tokens)) < len(r.tokens) for r in free)
    for n in (1, 2):
        expected = cli("translate", "--model", model_dir, "--sample", "--seed", 5, "--temperature", 3, "--disable-unk",
                       "--no-repeat-ngram-size", n, data_dir / "val.de").splitlines()
        results = translator.translate_batch(sentences, disable_unk=True, no_repeat_ngram_size=n, **options)
        assert [r.text for r in results] == expected
        for r in results:
            grams = [tuple(r.tokens[i:i + n]) for i in range(len(r.tokens) - n + 1)]
            assert len(set(grams)) == len(grams), r.text
    with pytest.raises(ValueError, match="no_repeat_ngram_size must not be negative"):
        translator.translate_batch(sentences, no_repeat_ngram_size=-1)


def test_suppressed_sequences_equal_the_cli(model_dir, data_dir, sentences):
    """suppress_sequences is translate's --suppress: texts, or lists of
    pieces; the piece the free translations say most is then never said."""
    translator = transformer.Translator(model_dir)
    free = translator.translate_batch(sentences, beam_size=2)
    pieces = [p for r in free for p in r.tokens]
    common = max(set(pieces), key=pieces.count)
    pair = next(r.tokens[:2] for r in free if len(r.tokens) >= 2)
    results = translator.translate_batch(sentences, beam_size=2, suppress_sequences=[[common], pair])
    for r in results:
        assert common not in r.tokens, r.text
        assert all(r.tokens[i:i + 2] != pair for i in range(len(r.tokens) - 1)), r.text
    assert [r.text for r in results] != [r.text for r in free]
    text = translator.model.detokenize([common])
    expected = cli("translate", "--model", model_dir, "--beam", 2, "--suppress", text, data_dir / "val.de").splitlines()
    assert [r.text for r in translator.translate_batch(sentences, beam_size=2, suppress_sequences=[text])] == expected
    with pytest.raises(ValueError, match=r"suppress_sequences\[0\]: no piece"):
        translator.translate_batch(sentences, suppress_sequences=[[]])
    with pytest.raises(ValueError, match=r'suppress_sequences\[1\]\[0\]: "nosuchpiece" is not in the vocabulary'):
        translator.translate_batch(sentences, suppress_sequences=["a", ["nosuchpiece"]])
    with pytest.raises(TypeError, match=r"suppress_sequences\[0\] must be a str"):
        translator.translate_batch(sentences, suppress_sequences=[3])
    with pytest.raises(TypeError, match=r"suppress_sequences must be a list of texts or of lists of pieces, not str"):
        translator.translate_batch(sentences, suppress_sequences="a dog")


def test_pieces_translate_as_their_text(model_dir, sentences):
    translator = transformer.Translator(model_dir)
    pieces = [translator.model.tokenize(s) for s in sentences]
    assert all(isinstance(p, str) for tokens in pieces for p in tokens)
    by_pieces = translator.translate_batch(pieces, beam_size=2, return_scores=True)
    by_text = translator.translate_batch(sentences, beam_size=2, return_scores=True)
    assert [(r.text, r.tokens, r.token_scores) for r in by_pieces] == [(r.text, r.tokens, r.token_scores) for r in by_text]
    pairs = translator.score_batch(pieces, [r.tokens for r in by_text])
    assert [p.token_scores for p in pairs] == [r.token_scores for r in by_text]


def test_empty_line_is_an_empty_translation(model_dir):
    results = transformer.Translator(model_dir).translate_batch(["", "ein Mann"], return_scores=True)
    assert results[0].text == "" and results[0].tokens == [] and results[0].token_scores == []
    assert results[1].text != ""


def test_score_batch_equals_the_cli(model_dir, data_dir, sentences):
    targets = (data_dir / "val.en").read_text(encoding="utf-8").splitlines()
    expected = cli("score", "--per-token", "--model", model_dir, data_dir / "val.de", data_dir / "val.en").splitlines()
    results = transformer.Translator(model_dir).score_batch(sentences, targets)
    assert [f6(r.log_prob) + " ||| " + " ".join(map(f6, r.token_scores)) for r in results] == expected
    assert all(len(r.token_scores) == len(r.tokens) + 1 for r in results)


def test_translate_file_and_iterable_equal_the_cli(model_dir, data_dir, sentences, tmp_path):
    expected = cli("translate", "--model", model_dir, data_dir / "val.de").splitlines()
    translator = transformer.Translator(model_dir)
    out = tmp_path / "out.en"
    assert translator.translate_file(data_dir / "val.de", out, chunk_size=5) == len(sentences)
    assert out.read_text(encoding="utf-8").splitlines() == expected
    assert [r.text for r in translator.translate_iterable(iter(sentences), chunk_size=7)] == expected
    # Sampling seeds a sentence by its place in the whole input, chunks or not.
    sampled = cli("translate", "--model", model_dir, "--sample", "--seed", 3, "--temperature", 2,
                  data_dir / "val.de").splitlines()
    assert [r.text for r in translator.translate_iterable(sentences, chunk_size=5, sampling=True, seed=3,
                                                          sampling_temperature=2)] == sampled


def test_compute_type_int8_equals_the_cli(model_dir, data_dir, sentences):
    try:
        translator = transformer.Translator(model_dir, compute_type="int8")
    except ValueError as e:  # a CPU without VNNI says so; the CLI then fails alike
        pytest.skip(str(e))
    expected = cli("translate", "--model", model_dir, "--compute-type", "int8", "--scores",
                   data_dir / "val.de").splitlines()
    results = translator.translate_batch(sentences, return_scores=True)
    assert [r.text + " ||| " + " ".join(map(f6, r.token_scores)) for r in results] == expected
    assert translator.model.compute_type == "int8"


def test_target_prefix_equals_the_cli(model_dir, data_dir, sentences, tmp_path):
    """target_prefix (CTranslate2's): each translation starts with its
    sentence's prefix, forced, as `transformer translate --prefix FILE`."""
    translator = transformer.Translator(model_dir)
    plain = [r.text for r in translator.translate_batch(sentences)]
    # Every third sentence gets its own translation's first word, every
    # third "Two dogs", the rest none.
    prefixes = [p.split()[0] if i % 3 == 0 and p else "Two dogs" if i % 3 == 1 else None for i, p in enumerate(plain)]
    prefix_file = tmp_path / "prefix.txt"
    prefix_file.write_text("".join((p or "") + "\n" for p in prefixes), encoding="utf-8")
    for args, options in ((("--beam", 4), dict(beam_size=4)), (("--sample", "--seed", 4), dict(sampling=True, seed=4))):
        expected = cli("translate", "--model", model_dir, "--prefix", prefix_file, *args,
                       data_dir / "val.de").splitlines()
        results = translator.translate_batch(sentences, target_prefix=prefixes, **options)
        assert [r.text for r in results] == expected
        for p, r in zip(prefixes, results):
            if p:
                assert r.tokens[:len(translator.model.tokenize(p))] == translator.model.tokenize(p)
    assert results[1].text.startswith("Two dogs") and not plain[1].startswith("Two dogs")
    # Pieces, and replicas, give the same.
    pieces = [translator.model.tokenize(p) if p else None for p in prefixes]
    expected = [r.text for r in translator.translate_batch(sentences, target_prefix=prefixes)]
    assert [r.text for r in translator.translate_batch(sentences, target_prefix=pieces)] == expected
    replicated = transformer.Translator(model_dir, threads=2, replicas=2)
    assert [r.text for r in replicated.translate_batch(sentences, target_prefix=prefixes)] == expected
    # A prefix that is the model's own start changes nothing (greedy).
    greedy = [r.text for r in translator.translate_batch(sentences, beam_size=1)]
    own = [t.split()[0] if t else None for t in greedy]
    assert [r.text for r in translator.translate_batch(sentences, beam_size=1, target_prefix=own)] == greedy


def test_target_prefix_is_checked(model_dir, sentences):
    translator = transformer.Translator(model_dir)
    with pytest.raises(ValueError, match="target_prefix has 1 prefixes for 2 sentences"):
        translator.translate_batch(sentences[:2], target_prefix=["A"])
    with pytest.raises(ValueError, match=r'target_prefix\[0\]: piece 2 "</s>" is a special token'):
        translator.translate_batch(sentences[:1], target_prefix=[["▁A", "</s>"]])
    with pytest.raises(TypeError, match=r"target_prefix\[0\] must be a str, None or a list of pieces, not int"):
        translator.translate_batch(sentences[:1], target_prefix=[3])
    with pytest.raises(ValueError, match="give the sentences and their prefixes to translate_batch"):
        translator.translate_iterable(sentences, target_prefix=["A"] * len(sentences))  # at the call, not lazily
    with pytest.raises(ValueError, match=r"target_prefix\[0\]: a prefix for an empty sentence"):
        translator.translate_batch(["", "ein Mann"], target_prefix=["A", None])
    assert translator.translate_batch(["", "ein Mann"], target_prefix=[None, None])[0].text == ""


def test_translate_file_refuses_target_prefix_before_touching_its_output(model_dir, data_dir, tmp_path):
    out = tmp_path / "out.en"
    out.write_text("precious\n", encoding="utf-8")
    with pytest.raises(ValueError, match="target_prefix is one per sentence"):
        transformer.Translator(model_dir).translate_file(data_dir / "val.de", out, target_prefix=["A"])
    assert out.read_text(encoding="utf-8") == "precious\n"
    assert list(transformer.Translator(model_dir).translate_iterable(["ein Mann"], target_prefix=None))  # None: none


def test_score_file_and_iterable_equal_the_cli(model_dir, data_dir, sentences, tmp_path):
    translator = transformer.Translator(model_dir)
    src, tgt = data_dir / "val.de", data_dir / "val.en"
    for flags, options in (((), {}), (("--per-token",), dict(per_token=True)), (("--normalize",), dict(normalize=True))):
        expected = cli("score", *flags, "--model", model_dir, src, tgt).splitlines()
        out = tmp_path / "scores.txt"
        assert translator.score_file(src, tgt, out, chunk_size=5, **options) == len(expected)
        assert out.read_text(encoding="utf-8").splitlines() == expected
    targets = tgt.read_text(encoding="utf-8").splitlines()
    whole = translator.score_batch(sentences, targets)
    chunked = list(translator.score_iterable(iter(sentences), iter(targets), chunk_size=7))
    assert [(r.log_prob, r.token_scores) for r in chunked] == [(r.log_prob, r.token_scores) for r in whole]


def test_score_file_and_iterable_errors_name_the_line(model_dir, tmp_path):
    translator = transformer.Translator(model_dir)
    src, tgt = tmp_path / "s.txt", tmp_path / "t.txt"
    src.write_text("ein Mann\n\n", encoding="utf-8")
    tgt.write_text("a man\nsomething\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"{src}:2: empty source sentence"):
        translator.score_file(src, tgt, tmp_path / "out.txt")
    tgt.write_text("a man\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"{tgt} ended after 1 sentences, before {src} did"):
        translator.score_file(src, tgt, tmp_path / "out.txt")
    with pytest.raises(ValueError, match="sources ended after 1 sentences, before targets did"):
        list(translator.score_iterable(["ein Mann"], ["a man", "a dog"]))
    with pytest.raises(ValueError, match=r"targets\[8\]: invalid UTF-8"):
        list(translator.score_iterable(["ein Mann"] * 9, ["a man"] * 8 + [b"\xc3\x28"], chunk_size=4))
