"""bleu and chrf against `transformer bleu`, the CLI's sacreBLEU."""
import json

import transformer
from conftest import cli


def test_bleu_and_chrf_equal_the_cli(data_dir, tmp_path):
    refs = (data_dir / "val.en").read_text(encoding="utf-8").splitlines()
    hyps = [" ".join(reversed(r.split())) if i % 3 == 0 else r.lower() for i, r in enumerate(refs)]
    (tmp_path / "hyp").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    for metric, ours in (("bleu", transformer.bleu(hyps, [refs])), ("chrf", transformer.chrf(hyps, refs))):
        text = cli("bleu", data_dir / "val.en", "-i", tmp_path / "hyp", "-m", metric).strip()
        assert str(ours) == text
    bleu = transformer.bleu(hyps, [refs])
    assert 0 < bleu.score < 100 and bleu.sys_len > 0 and bleu.ref_len > 0 and 0 < bleu.bp <= 1
    assert len(bleu.precisions) == 4 and bleu.signature.startswith("nrefs:1|")
    assert transformer.bleu(refs, [refs]).format(score_only=True) == "100.00"
    assert transformer.chrf(hyps, [refs], word_order=2).name == "chrF2++"
    assert transformer.bleu(hyps, [refs], lowercase=True).score > bleu.score
