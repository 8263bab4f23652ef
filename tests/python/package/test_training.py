"""transformer.train and transformer.vocab: the CLI's training and
vocabulary, the same files to the last bit, with Python callbacks and the
CLI's Ctrl-C (a checkpoint, then KeyboardInterrupt)."""
import json
import pathlib
import signal

import pytest

import transformer
from conftest import cli

OPTIONS = dict(preset="tiny", max_steps=12, log_every=4, valid_every=6, max_tokens=1024, schedule="inverse-sqrt",
               lr=3e-3, warmup=4, valid_bleu_max=8, keep_last=2, threads=1)


def cli_options():
    return [arg for name, value in OPTIONS.items() if name != "threads"
            for arg in ("--" + name.replace("_", "-"), value)]


def test_vocab_equals_the_cli(data_dir, tmp_path):
    report = transformer.vocab([str(data_dir / "train.de"), str(data_dir / "train.en")], str(tmp_path / "py.model"),
                               vocab_size=300, threads=1)
    assert report["size"] == 300 and report["total_lines"] == 6000
    cli("--threads", 1, "vocab", "--input", data_dir / "train.de", data_dir / "train.en", "--out",
        tmp_path / "cli.model", "--vocab-size", 300)
    assert (tmp_path / "py.model").read_bytes() == (tmp_path / "cli.model").read_bytes()


def test_train_equals_the_cli_with_callbacks(data_dir, model_dir, tmp_path):
    data = dict(train_source=data_dir / "train.de", train_target=data_dir / "train.en",
                valid_source=data_dir / "val.de", valid_target=data_dir / "val.en", vocab=model_dir / "spm.model")
    steps, validations = [], []
    transformer.train(out=tmp_path / "py", on_step=steps.append, on_validation=validations.append, **data, **OPTIONS)
    cli("--threads", 1, "train", *[a for k, v in data.items() for a in ("--" + k.replace("_", "-"), v)],
        "--out", tmp_path / "cli", *cli_options())
    assert (tmp_path / "py" / "model.safetensors").read_bytes() == (tmp_path / "cli" / "model.safetensors").read_bytes()
    for step in ("step-6", "step-12"):  # keep_last: the snapshots too
        snapshot = pathlib.Path("checkpoints") / step / "model.safetensors"
        assert (tmp_path / "py" / snapshot).read_bytes() == (tmp_path / "cli" / snapshot).read_bytes()
    logged = [json.loads(line) for line in (tmp_path / "py" / "metrics.jsonl").read_text().splitlines()]
    by_cli = [json.loads(line) for line in (tmp_path / "cli" / "metrics.jsonl").read_text().splitlines()]
    timeless = [{k: v for k, v in r.items() if k not in ("elapsed_s", "target_tokens_per_s")} for r in logged]
    assert timeless == [{k: v for k, v in r.items() if k not in ("elapsed_s", "target_tokens_per_s")} for r in by_cli]
    assert steps + validations == sorted(logged, key=lambda r: "valid_loss" in r)
    assert [r["step"] for r in steps] == [4, 8, 12] and [r["step"] for r in validations] == [6, 12]
    assert transformer.Translator(tmp_path / "py").translate_batch(["ein Mann"])[0] is not None


def test_bf16_training_equals_the_cli(data_dir, model_dir, tmp_path):
    data = dict(train_source=data_dir / "train.de", train_target=data_dir / "train.en", vocab=model_dir / "spm.model")
    options = {**OPTIONS, "keep_last": 0}
    try:
        transformer.train(out=tmp_path / "py", precision="bf16", **data, **options)
    except (ValueError, RuntimeError) as e:
        if "AVX512_BF16" in str(e) or "oneDNN backend" in str(e):
            pytest.skip(str(e))
        raise
    cli("--threads", 1, "train", *[a for k, v in data.items() for a in ("--" + k.replace("_", "-"), v)],
        "--out", tmp_path / "cli", "--precision", "bfloat16",
        *[arg for name, value in options.items() if name != "threads" for arg in ("--" + name.replace("_", "-"), value)])
    assert (tmp_path / "py" / "model.safetensors").read_bytes() == (tmp_path / "cli" / "model.safetensors").read_bytes()
    transformer.train(out=tmp_path / "fp32", **data, **options)
    assert (tmp_path / "py" / "model.safetensors").read_bytes() != (tmp_path / "fp32" / "model.safetensors").read_bytes()


def test_train_from_a_prepared_corpus_equals_the_text(data_dir, model_dir, tmp_path):
    cli("prepare", "--vocab", model_dir / "spm.model", "--source", data_dir / "train.de", "--target",
        data_dir / "train.en", "--out", tmp_path / "train.prepared")
    options = dict(vocab=model_dir / "spm.model", preset="tiny", max_steps=6, log_every=2, valid_every=100,
                   max_tokens=1024, threads=1)
    transformer.train(data=tmp_path / "train.prepared", out=tmp_path / "data", **options)
    transformer.train(train_source=data_dir / "train.de", train_target=data_dir / "train.en", out=tmp_path / "text",
                      **options)
    assert (tmp_path / "data" / "model.safetensors").read_bytes() == \
        (tmp_path / "text" / "model.safetensors").read_bytes()
    with pytest.raises(ValueError, match="^data and train_source/train_target: give the training corpus one way"):
        transformer.train(data=tmp_path / "train.prepared", train_source=data_dir / "train.de",
                          out=tmp_path / "both", **options)


def test_subword_sampling_equals_the_cli(data_dir, model_dir, tmp_path):
    data = dict(train_source=data_dir / "train.de", train_target=data_dir / "train.en", vocab=model_dir / "spm.model",
                preset="tiny", max_steps=6, log_every=3, max_tokens=1024, threads=1)
    transformer.train(out=tmp_path / "py", subword_sampling=0.2, nbest_size=8, **data)
    cli("--threads", 1, "train", *[a for k, v in data.items() if k != "threads"
                                   for a in ("--" + k.replace("_", "-"), v)],
        "--out", tmp_path / "cli", "--subword-sampling", 0.2, "--nbest-size", 8)
    assert (tmp_path / "py" / "model.safetensors").read_bytes() == (tmp_path / "cli" / "model.safetensors").read_bytes()
    # and sampling trains another model than the best segmentation does
    transformer.train(out=tmp_path / "best", **data)
    assert (tmp_path / "py" / "model.safetensors").read_bytes() != (tmp_path / "best" / "model.safetensors").read_bytes()


def test_ctrl_c_writes_a_checkpoint_then_raises(data_dir, model_dir, tmp_path):
    data = dict(train_source=data_dir / "train.de", train_target=data_dir / "train.en", vocab=model_dir / "spm.model",
                out=tmp_path / "run")

    def interrupt_at_step_8(record):
        if record["step"] == 8:
            signal.raise_signal(signal.SIGINT)  # as Ctrl-C: Python's handler raises in the callback

    with pytest.raises(KeyboardInterrupt):
        transformer.train(on_step=interrupt_at_step_8, **data, **OPTIONS)
    assert (tmp_path / "run" / "checkpoint.safetensors").exists()
    # The run resumes from that checkpoint to its limit.
    resumed = []
    transformer.train(resume=True, on_step=resumed.append, **data, **OPTIONS)
    assert [r["step"] for r in resumed] == [12]


def test_bad_training_options(data_dir, model_dir, tmp_path):
    # max_steps=1: a check that failed to stop a call would not train for ever.
    data = dict(train_source=data_dir / "train.de", train_target=data_dir / "train.en", vocab=model_dir / "spm.model",
                out=tmp_path / "bad", max_steps=1)
    with pytest.raises(ValueError, match=r"^log_every must be in \[1, 1073741824\], not 0$"):
        transformer.train(log_every=0, **data)
    with pytest.raises(ValueError, match="^schedule must be noam, inverse-sqrt or constant, not 'cosine'$"):
        transformer.train(schedule="cosine", **data)
    with pytest.raises(ValueError, match=r"^precision must be float32 \(fp32\) or bfloat16 \(bf16\), not 'int8'$"):
        transformer.train(precision="int8", **data)
    with pytest.raises(ValueError, match=r"^dropout must be in \[0, 0.99\], not -0.5"):
        transformer.train(dropout=-0.5, **data)
    with pytest.raises(ValueError, match=r"^subword_sampling must be in \(0, 1\] \(0: off\), not 1.5$"):
        transformer.train(subword_sampling=1.5, **data)
    with pytest.raises(ValueError, match="^nbest_size 1 is the best segmentation alone, no sampling"):
        transformer.train(subword_sampling=0.1, nbest_size=1, **data)
    with pytest.raises(ValueError, match="^nbest_size 4 applies only with subword sampling"):
        transformer.train(nbest_size=4, **data)
    with pytest.raises(TypeError, match=r"^max_steps: 'many' is of the wrong type \(str\)$"):
        transformer.train(**{**data, "max_steps": "many"})
    with pytest.raises(TypeError, match=r"^train\(\) got unknown option\(s\): max_stepz$"):
        transformer.train(max_stepz=3, **data)
    with pytest.raises(FileNotFoundError, match="absent.de: cannot open"):
        transformer.train(**{**data, "train_source": tmp_path / "absent.de"})


def test_replicas_equal_the_cli_and_stop_on_ctrl_c(data_dir, model_dir, tmp_path):
    """replicas=2: the CLI's --replicas 2 to the last bit; rank 0 runs on
    the calling thread, so the callbacks and Ctrl-C work as with one."""
    data = dict(train_source=data_dir / "train.de", train_target=data_dir / "train.en", vocab=model_dir / "spm.model")
    options = {**OPTIONS, "keep_last": 0, "threads": 2, "replicas": 2}
    steps = []
    transformer.train(out=tmp_path / "py", on_step=steps.append, **data, **options)
    cli("--threads", 2, "train", *[a for k, v in data.items() for a in ("--" + k.replace("_", "-"), v)],
        "--out", tmp_path / "cli",
        *[arg for name, value in options.items() if name != "threads" for arg in ("--" + name.replace("_", "-"), value)])
    assert (tmp_path / "py" / "model.safetensors").read_bytes() == (tmp_path / "cli" / "model.safetensors").read_bytes()
    assert [r["step"] for r in steps] == [4, 8, 12]

    def interrupt_at_step_8(record):
        if record["step"] == 8:
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        transformer.train(out=tmp_path / "stopped", on_step=interrupt_at_step_8, **data, **options)
    raw = (tmp_path / "stopped" / "checkpoint.safetensors").read_bytes()
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])  # safetensors: 8-byte length, JSON header
    progress = json.loads(header["__metadata__"]["progress"])
    assert progress["step"] == 8 and progress["ranks"] == 2
