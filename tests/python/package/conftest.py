"""What the Python package's tests share: the `transformer` binary (ctest
passes its path in TRANSFORMER_BIN) and a tiny model it trains once, in
seconds, on Multi30k pairs from tests/fixtures (TRANSFORMER_FIXTURES)."""
import os
import pathlib
import subprocess

import pytest

BIN = os.environ.get("TRANSFORMER_BIN", "")
FIXTURES = pathlib.Path(os.environ.get("TRANSFORMER_FIXTURES", pathlib.Path(__file__).parents[2] / "fixtures"))


def cli(*args, stdin=None):
    """Runs the CLI; its stdout, or an AssertionError with its stderr."""
    assert BIN, "TRANSFORMER_BIN must name the transformer binary"
    r = subprocess.run([BIN, *map(str, args)], input=stdin, capture_output=True, text=True)
    assert r.returncode == 0, f"transformer {' '.join(map(str, args))} failed: {r.stderr}"
    return r.stdout


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """3,000 training pairs and 24 sentences to translate."""
    work = tmp_path_factory.mktemp("data")
    multi30k = FIXTURES / "multi30k"
    for name in ("train.de", "train.en"):
        lines = (multi30k / name).read_text(encoding="utf-8").splitlines()[:3000]
        (work / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name in ("val.de", "val.en"):
        lines = (multi30k / name).read_text(encoding="utf-8").splitlines()[:24]
        (work / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return work


@pytest.fixture(scope="session")
def model_dir(data_dir):
    """A tiny model trained by the CLI in seconds: poor, but its outputs vary
    with the input (fewer steps give empty translations)."""
    cli("vocab", "--input", data_dir / "train.de", data_dir / "train.en", "--out", data_dir / "spm.model",
        "--vocab-size", 1000)
    cli("train", "--preset", "tiny", "--vocab", data_dir / "spm.model", "--train-source", data_dir / "train.de",
        "--train-target", data_dir / "train.en", "--out", data_dir / "model", "--max-steps", 200,
        "--schedule", "inverse-sqrt", "--lr", "3e-3", "--warmup", 20, "--max-tokens", 1024)
    return data_dir / "model"


@pytest.fixture(scope="session")
def sentences(data_dir):
    return (data_dir / "val.de").read_text(encoding="utf-8").splitlines()
