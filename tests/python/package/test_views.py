"""Model.parameters(): NumPy arrays that view the model's weights (no copy),
writable, and safe after the Model and Translator are gone."""
import gc

import numpy as np
import pytest

import transformer


def address(array):
    return array.__array_interface__["data"][0]


def test_parameters_view_the_same_memory(model_dir):
    model = transformer.Model.load(str(model_dir))
    first, second = model.parameters(), model.parameters()
    assert first.keys() == second.keys()
    for name in first:
        assert first[name].dtype == np.float32
        assert address(first[name]) == address(second[name]), name
        assert not first[name].flags.owndata and first[name].flags.writeable
    assert "encoder.layers.0.self_attn.q_proj.weight" in first
    assert first["encoder.layers.0.self_attn.q_proj.weight"].shape == (model.config["d_model"], model.config["d_model"])


def test_parameters_match_the_saved_file_and_save_round_trips(model_dir, tmp_path):
    model = transformer.Model.load(str(model_dir))
    model.save(str(tmp_path / "copy"))
    copy = transformer.Model.load(str(tmp_path / "copy"))
    a, b = model.parameters(), copy.parameters()
    assert all(np.array_equal(a[n], b[n]) for n in a)
    assert (tmp_path / "copy" / "spm.model").read_bytes() == (model_dir / "spm.model").read_bytes()
    sentences = ["ein Mann fährt Fahrrad .", "zwei Hunde spielen im Schnee ."]
    del a, b  # back to the packed weights
    assert [r.text for r in transformer.Translator(model).translate_batch(sentences)] == \
           [r.text for r in transformer.Translator(copy).translate_batch(sentences)]


def test_editing_a_view_changes_the_translation(model_dir):
    translator = transformer.Translator(model_dir)
    sentence = ["ein Mann fährt Fahrrad ."]
    before = translator.translate_batch(sentence, return_scores=True)[0]
    weights = translator.model.parameters()
    bias = weights["generator.bias"]
    original = bias.copy()
    piece = translator.translate_batch(["Hund"])[0].ids[0]
    bias[:] = -100.0
    bias[piece] = 100.0  # this piece now wins every step, over EOS too
    after = translator.translate_batch(sentence)[0]
    assert len(after.ids) > 1 and set(after.ids) == {piece}
    bias[:] = original
    del weights, bias
    gc.collect()
    # No view left: the model packs its (restored) weights again and
    # translates exactly as before.
    again = translator.translate_batch(sentence, return_scores=True)[0]
    assert (again.text, again.token_scores) == (before.text, before.token_scores)


def test_a_view_outlives_its_model(model_dir):
    model = transformer.Model.load(str(model_dir))
    translator = transformer.Translator(model)
    weights = model.parameters()
    expected = weights["generator.bias"].copy()
    del model, translator
    gc.collect()
    np.testing.assert_array_equal(weights["generator.bias"], expected)
    weights["generator.bias"][:] += 1.0  # still the model's memory, still alive
    np.testing.assert_array_equal(weights["generator.bias"], expected + 1.0)


def test_model_vocabulary_config_and_compute_type(model_dir):
    model = transformer.Model.load(str(model_dir))
    assert model.model_dir == str(model_dir) and model.compute_type == "float32"
    assert model.config["d_model"] > 0 and len(model.pieces) == model.config["tgt_vocab_size"]
    pieces = model.tokenize("ein Mann fährt Fahrrad .")
    assert all(p in model.pieces for p in pieces)
    assert model.detokenize(pieces) == "ein Mann fährt Fahrrad ."
    with pytest.raises(ValueError, match=r'^pieces\[1\] "no-such-piece" is not in the vocabulary$'):
        model.detokenize(["▁ein", "no-such-piece"])
    try:
        bf16 = transformer.Model.load(str(model_dir), compute_type="bfloat16")
    except ValueError as e:  # a CPU without AVX512_BF16 says so
        pytest.skip(str(e))
    assert bf16.compute_type == "bfloat16"
