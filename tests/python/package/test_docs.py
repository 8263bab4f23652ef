"""docs/PYTHON.md's examples run: its ```python blocks, in order, in one
namespace (as a reader would type them), in a folder holding the fixture
model in model/, German sentences in input.de and the training pairs."""
import os
import pathlib
import re

DOCS = pathlib.Path(os.environ.get("TRANSFORMER_DOCS", pathlib.Path(__file__).parents[3] / "docs"))


def test_python_md_examples_run(model_dir, data_dir, tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "PYTHON.md").read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 8
    (tmp_path / "model").symlink_to(model_dir)
    (tmp_path / "input.de").write_bytes((data_dir / "val.de").read_bytes())
    for name in ("train.de", "train.en"):
        (tmp_path / name).write_bytes((data_dir / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"PYTHON.md block {i + 1}", "exec"), namespace)
    assert (tmp_path / "output.en").read_text(encoding="utf-8").count("\n") == 24
    assert (tmp_path / "edited-model" / "model.safetensors").exists()
    assert len(namespace["losses"]) == 2 and (tmp_path / "my-model" / "checkpoint.safetensors").exists()
    assert "must be between 1 and the beam size" in capsys.readouterr().out
