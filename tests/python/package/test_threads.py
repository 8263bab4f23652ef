"""The GIL is released while the engine computes: Python threads translate
at the same time, each with its own Translator, and agree with one another.
(How much faster two threads are than one after the other is measured in
docs/RESULTS.md, not asserted: the machine's load is not the test's.)"""
import threading

import transformer


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
