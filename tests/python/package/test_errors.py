"""Bad input gives the documented exception, with the message the CLI
prints after "error: " where the CLI has the same check."""
import subprocess

import pytest

import transformer
from conftest import BIN


def cli_error(*args, stdin=None):
    r = subprocess.run([BIN, *map(str, args)], input=stdin, capture_output=True)
    assert r.returncode != 0
    return r.stderr.decode().removeprefix("error: ").strip()


def test_missing_model_directory(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        transformer.Translator(tmp_path / "absent")
    assert str(e.value) == cli_error("translate", "--model", tmp_path / "absent", stdin=b"")
    with pytest.raises(FileNotFoundError):
        transformer.Model.load(str(tmp_path / "absent"))


def test_a_file_missing_from_the_model_directory(model_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_bytes((model_dir / "config.json").read_bytes())
    with pytest.raises(FileNotFoundError) as e:
        transformer.Model.load(str(broken))
    assert str(e.value) == cli_error("translate", "--model", broken, stdin=b"")
    assert "model.safetensors" in str(e.value)


def test_a_corrupt_config_is_a_value_error(model_dir, tmp_path):
    broken = tmp_path / "corrupt"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    with pytest.raises(ValueError) as e:
        transformer.Model.load(str(broken))
    assert str(e.value) == cli_error("translate", "--model", broken, stdin=b"")


def test_bad_sentences(model_dir):
    translator = transformer.Translator(model_dir)
    with pytest.raises(ValueError, match=r"^sentences\[1\]: invalid UTF-8 at byte 5$"):
        translator.translate_batch(["ein Mann", b"der \xc3\x28 Hund"])
    with pytest.raises(ValueError, match=r"^sentences\[0\]: \d+ tokens, more than the model's max_length"):
        translator.translate_batch(["Mann " * 1000])
    assert translator.translate_batch(["Mann " * 1000], truncate=True)[0].text is not None
    with pytest.raises(ValueError, match=r'^sentences\[0\]\[1\]: "no-such-piece" is not in the vocabulary$'):
        translator.translate_batch([["▁ein", "no-such-piece"]])
    with pytest.raises(TypeError, match="sentences must be a list of sentences, not str"):
        translator.translate_batch("ein Mann")
    with pytest.raises(TypeError, match=r"sentences\[0\] must be a str or a list of pieces, not int"):
        translator.translate_batch([3])


def test_a_bad_line_of_a_file_is_named_as_the_cli_names_it(model_dir, tmp_path):
    bad = tmp_path / "bad.de"
    bad.write_bytes(b"ein Mann\n" * 5 + b"der \xc3\x28 Hund\n")
    with pytest.raises(ValueError) as e:
        transformer.Translator(model_dir).translate_file(bad, tmp_path / "out.en", chunk_size=4)
    assert str(e.value) == cli_error("translate", "--model", model_dir, bad) == f"{bad}:6: invalid UTF-8 at byte 5"
    with pytest.raises(ValueError, match=r"^names has 1 names for 2 sentences$"):
        transformer.Translator(model_dir).translate_batch(["a", "b"], names=["x"])


def test_bad_options(model_dir):
    translator = transformer.Translator(model_dir)
    with pytest.raises(ValueError, match="^n-best 3 must be between 1 and the beam size 2$"):
        translator.translate_batch(["ein Mann"], beam_size=2, n_best=3)
    with pytest.raises(ValueError, match="^beam_size must be at most 256, not 100000$"):
        translator.translate_batch(["ein Mann"], beam_size=100000)
    with pytest.raises(ValueError, match="^beam size must be at least 1$"):
        translator.translate_batch(["ein Mann"], beam_size=0)
    with pytest.raises(ValueError, match="temperature must be positive"):
        translator.translate_batch(["ein Mann"], sampling=True, sampling_temperature=0)
    with pytest.raises(ValueError, match=r"top-p must be in \[0, 1\]"):
        translator.translate_batch(["ein Mann"], sampling=True, sampling_topp=1.5)
    with pytest.raises(ValueError, match="^alignment layer 7 does not exist: the model has 2 decoder layers"):
        translator.translate_batch(["ein Mann"], return_alignment=True, alignment_layer=7)
    with pytest.raises(ValueError, match="^compute_type must be float32, bfloat16 or int8, not 'fp64'$"):
        transformer.Translator(model_dir, compute_type="fp64")
    with pytest.raises(ValueError, match="^threads must not be negative"):
        transformer.Translator(model_dir, threads=-1)


def test_bad_pairs(model_dir):
    translator = transformer.Translator(model_dir)
    with pytest.raises(ValueError, match="^sources has 2 sentences but targets has 1$"):
        translator.score_batch(["a", "b"], ["a"])
    with pytest.raises(ValueError, match=r"^sources\[0\]: empty source sentence$"):
        translator.score_batch([""], ["a man"])


def test_bad_metric_input():
    with pytest.raises(ValueError, match="^reference stream 1 has 1 lines but there are 2 hypotheses$"):
        transformer.bleu(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="^smooth_method must be exp, floor, add-k or none, not 'x'$"):
        transformer.bleu(["a"], [["a"]], smooth_method="x")
    with pytest.raises(TypeError):
        transformer.chrf(["a", 3], [["a", "b"]])
