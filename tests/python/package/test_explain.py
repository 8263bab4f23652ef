"""Translator.explain: the record of docs/EXPLAIN.md with NumPy arrays that
view the engine's memory, equal to `transformer explain`'s JSON."""
import gc
import json

import numpy as np
import pytest

import transformer
from conftest import cli

SENTENCE = "ein Mann fährt Fahrrad ."


def nan_for_null(x):
    return [nan_for_null(v) for v in x] if isinstance(x, list) else np.nan if x is None else x


def compare(ours, theirs, path=""):
    """Every field of the CLI's record is in ours, equal: arrays to the 7
    significant digits the JSON keeps (NaN where it has null)."""
    if isinstance(ours, np.ndarray):
        expected = np.array(nan_for_null(theirs), dtype=np.float64)
        assert ours.shape == expected.shape, path
        np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-30, equal_nan=True, err_msg=path)
    elif isinstance(theirs, dict):
        assert set(ours) == set(theirs), path
        for key in theirs:
            compare(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, list) and not isinstance(ours, np.ndarray):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            compare(a, b, f"{path}[{i}]")
    else:
        assert ours == theirs, path


def test_explain_equals_the_cli(model_dir):
    record = transformer.Translator(model_dir).explain(SENTENCE, beam_size=3)
    expected = json.loads(cli("explain", "--model", model_dir, "--beam", 3, SENTENCE))
    compare(record, expected)
    layer = record["decoder"]["layers"][0]["self_attention"]
    heads, d_k = layer["heads"], layer["d_k"]
    T = len(record["target"]["ids"])
    assert layer["q"].shape == (heads, T, d_k) and layer["weights"].shape == (heads, T, T)
    np.testing.assert_allclose(layer["weights"].sum(axis=-1), 1.0, rtol=1e-5)
    assert np.isnan(layer["scaled"][0, 0, 1])  # the future is masked


def test_explain_with_a_prefix_and_bans_equals_the_cli(model_dir):
    """target_prefix forces the translation's beginning, as `explain --prefix`
    does; the length limits and the token bans are the CLI's options too."""
    translator = transformer.Translator(model_dir)
    record = translator.explain(SENTENCE, beam_size=2, target_prefix="a a", max_length_a=0.5, max_length_b=3,
                                disable_unk=True, no_repeat_ngram_size=2, suppress_sequences=["dog", "a man"])
    expected = json.loads(
        cli("explain", "--model", model_dir, "--beam", 2, "--prefix", "a a", "--max-length-a", 0.5, "--max-length-b", 3,
            "--disable-unk", "--no-repeat-ngram-size", 2, "--suppress", "dog", "--suppress", "a man", SENTENCE))
    compare(record, expected)
    prefix = record["prefix"]["ids"]
    assert len(prefix) >= 2 and record["output"]["ids"][: len(prefix)] == prefix
    assert "prefix" not in translator.explain(SENTENCE, target_prefix=None)
    longer = translator.explain(SENTENCE, min_length=8, max_length_b=20)
    compare(longer, json.loads(cli("explain", "--model", model_dir, "--min-length", 8, "--max-length-b", 20, SENTENCE)))
    assert len(longer["output"]["ids"]) >= 8
    with pytest.raises(ValueError, match="prefix: 300 tokens and EOS do not fit"):
        translator.explain(SENTENCE, target_prefix="a " * 300)
    with pytest.raises(ValueError, match="must not be negative"):
        translator.explain(SENTENCE, max_length_b=-1)


def test_explain_arrays_view_memory_that_outlives_the_translator(model_dir):
    translator = transformer.Translator(model_dir)
    record = translator.explain(SENTENCE)
    q = record["encoder"]["layers"][0]["self_attention"]["q"]
    concat = record["encoder"]["layers"][0]["self_attention"]["concat"]
    z = record["encoder"]["layers"][0]["self_attention"]["z"]
    assert not q.flags.owndata and not q.flags.c_contiguous  # heads split by strides, not copied
    # z's heads and concat are one buffer, seen two ways.
    assert z.__array_interface__["data"][0] == concat.__array_interface__["data"][0]
    layer_output = record["encoder"]["layers"][0]["output"]
    next_input = record["encoder"]["layers"][1]["self_attention_add_norm"]["input"]
    assert layer_output.__array_interface__["data"][0] == next_input.__array_interface__["data"][0]
    kept = {name: np.array(a) for name, a in record["decoder"]["layers"][-1]["cross_attention"].items()
            if isinstance(a, np.ndarray)}
    # The model translates on (into new buffers) and is dropped: the record stays.
    translator.translate_batch(["zwei Hunde spielen im Schnee ."] * 8, beam_size=4)
    del translator
    gc.collect()
    for name, array in kept.items():
        np.testing.assert_array_equal(record["decoder"]["layers"][-1]["cross_attention"][name], array)
