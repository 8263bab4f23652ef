"""The GIL is released while the engine computes: Python threads translate
at the same time, each with its own Translator, and agree with one another.
(How much faster two threads are than one after the other is measured in
docs/RESULTS.md, not asserted: the machine's load is not the test's.)"""
import threading

import pytest

import transformer
from conftest import cli


def test_two_threads_translate_at_once_and_agree(model_dir, sentences):
    translators = [transformer.Translator(model_dir, threads=1) for _ in range(2)]
    expected = [r.text for r in translators[0].translate_batch(sentences, beam_size=4)]
    results = [None, None]
    inside = threading.Barrier(2)

    def work(i):
        inside.wait()
        results[i] = [r.text for r in translators[i].translate_batch(sentences, beam_size=4)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert results == [expected, expected]


def test_threads_sharing_one_translator_take_turns(model_dir, sentences):
    translator = transformer.Translator(model_dir, threads=1)
    expected = [r.text for r in translator.translate_batch(sentences)]
    results = []

    def work():
        results.append([r.text for r in translator.translate_batch(sentences)])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert results == [expected] * 3


def test_replicas_share_a_call_and_equal_the_cli(model_dir, data_dir, sentences):
    """replicas= (CTranslate2's inter_threads): each replica translates some of
    a call's sentences at once; the results are one model's, in input order."""
    translator = transformer.Translator(model_dir, threads=3, replicas=3)
    assert translator.replicas == 3 and translator.model is not None
    for args, options in ((("--beam", 4), dict(beam_size=4)),
                          (("--sample", "--seed", 5, "--temperature", 3), dict(sampling=True, seed=5,
                                                                               sampling_temperature=3))):
        expected = cli("translate", "--model", model_dir, *args, data_dir / "val.de").splitlines()
        assert [r.text for r in translator.translate_batch(sentences, max_batch_size=2, **options)] == expected
    # Sampling seeds each sentence by its place in the whole input, whichever replica has it.
    sampled = cli("translate", "--model", model_dir, "--sample", "--seed", 3, data_dir / "val.de").splitlines()
    assert [r.text for r in translator.translate_iterable(sentences, chunk_size=5, sampling=True, seed=3)] == sampled
    targets = (data_dir / "val.en").read_text(encoding="utf-8").splitlines()
    alone = transformer.Translator(model_dir).score_batch(sentences, targets)
    scored = translator.score_batch(sentences, targets, max_batch_size=3)
    assert [r.tokens for r in scored] == [r.tokens for r in alone]
    for a, b in zip(scored, alone):
        assert abs(a.log_prob - b.log_prob) < 1e-4


def test_threads_zero_means_the_default_whatever_this_thread_ran_on(model_dir, sentences):
    """threads=0 is OMP_NUM_THREADS or all cores, also after a Translator of
    one thread ran on this Python thread (OpenMP's count is per thread)."""
    import os
    default = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count())
    if default < 2:
        pytest.skip("one thread by default: two replicas are more than the threads")
    transformer.Translator(model_dir, threads=1).translate_batch(sentences[:2])
    assert transformer.Translator(model_dir, threads=0, replicas=2).translate_batch(sentences[:2])


def test_replicas_are_checked(model_dir):
    with pytest.raises(ValueError, match=r"replicas 3: more than the threads \(2\)"):
        transformer.Translator(model_dir, threads=2, replicas=3)
    with pytest.raises(ValueError, match="replicas 0: must be at least 1"):
        transformer.Translator(model_dir, replicas=0)
    with pytest.raises(ValueError, match="a Translator made from a Model translates with that one model"):
        transformer.Translator(transformer.Model.load(model_dir), replicas=2)


def test_a_replicated_model_cannot_be_edited_in_one_copy(model_dir):
    translator = transformer.Translator(model_dir, threads=2, replicas=2)
    with pytest.raises(ValueError, match="the model of a Translator with 2 replicas"):
        translator.model.parameters()
    assert transformer.Translator(model_dir).model.parameters()  # one replica: views as ever
