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
