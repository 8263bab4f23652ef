"""The transformer engine from Python: train, translate, score, explain, inspect weights.

A thin package over the compiled module ``_transformer`` (src/python/), built
from the same library as the ``transformer`` command; docs/PYTHON.md shows it
in use.
"""
import itertools
import os

# As the CLI does before it starts (core/threads.h, bound_openmp_spinning):
# OpenMP's waiting threads spin only briefly, or decoding slows several times
# whenever another process shares the cores. libgomp reads this when it is
# loaded, which is when _transformer is imported below.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "1000"

from ._transformer import (  # noqa: E402
    BLEUScore,
    CHRFScore,
    Hypothesis,
    Model,
    ScoreResult,
    TranslationResult,
    Translator,
    bleu,
    chrf,
    train,
    vocab,
)

__all__ = [
    "BLEUScore",
    "CHRFScore",
    "Hypothesis",
    "Model",
    "ScoreResult",
    "TranslationResult",
    "Translator",
    "bleu",
    "chrf",
    "train",
    "vocab",
    "translate_iterable",
    "translate_file",
    "score_iterable",
    "score_file",
]


def translate_iterable(translator, sentences, chunk_size=1024, names=None, **options):
    """Translates an iterable of sentences lazily, chunk_size at a time.

    Yields one TranslationResult per sentence, in order: those of one
    translate_batch over everything (a sentence's translation does not depend
    on its batch, and sampling seeds each by its position in the whole
    iterable). names, an iterable beside sentences, names each sentence in
    error messages (default: sentences[i], i counted over the whole).
    """
    _check_chunking(chunk_size, options)
    return _translate_chunks(translator, sentences, chunk_size, names, options)


def _check_chunking(chunk_size, options):
    """What the chunked helpers refuse, checked when they are called (their
    chunks are worked on lazily) and before a file helper opens its output."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if options.get("target_prefix") is not None:
        raise ValueError("target_prefix is one per sentence: give the sentences and their prefixes to translate_batch")


def _translate_chunks(translator, sentences, chunk_size, names, options):
    names = iter(names) if names is not None else None
    done = 0
    chunk = []

    def translate(chunk):
        labels = [next(names) for _ in chunk] if names else [f"sentences[{done + i}]" for i in range(len(chunk))]
        return translator.translate_batch(chunk, first_sentence_id=done, names=labels, **options)

    for sentence in sentences:
        chunk.append(sentence)
        if len(chunk) == chunk_size:
            yield from translate(chunk)
            done += len(chunk)
            chunk = []
    if chunk:
        yield from translate(chunk)


def _lines(path):
    """The lines of a file as `transformer translate` reads them: bytes
    (checked as UTF-8 by the engine), "\\r\\n" accepted, no empty last line
    for a final newline."""
    with open(path, "rb") as f:
        for line in f:
            if line.endswith(b"\n"):
                line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
            yield line


def translate_file(translator, input_path, output_path, chunk_size=1024, **options):
    """Translates a file, one sentence a line, into output_path (the best
    translation of each line, one a line, as `transformer translate` prints
    it), reading and writing chunk_size lines at a time; errors name
    FILE:LINE as the CLI's do. Returns the number of lines."""
    _check_chunking(chunk_size, options)  # before the output is opened, and so emptied
    count = 0
    names = (f"{os.fspath(input_path)}:{i}" for i in itertools.count(1))
    with open(output_path, "w", encoding="utf-8", newline="\n") as out:
        for result in translate_iterable(translator, _lines(input_path), chunk_size, names, **options):
            out.write(result.text + "\n")
            count += 1
    return count


# CTranslate2 has these as methods of its Translator; so do we.
def score_iterable(translator, sources, targets, chunk_size=1024, source_names=None, target_names=None,
                   max_batch_size=64):
    """Scores pairs from two iterables lazily, chunk_size pairs at a time
    (score_batch on each chunk): one ScoreResult per pair, in order, as one
    score_batch over everything gives them. The iterables must be as long
    as each other (a ValueError says which ended first). source_names and
    target_names, iterables beside them, name each sentence in error
    messages (default: sources[i], targets[i], i counted over the whole)."""
    _check_chunking(chunk_size, {})
    return _score_chunks(translator, sources, targets, chunk_size, source_names, target_names, max_batch_size)


def _score_chunks(translator, sources, targets, chunk_size, source_names, target_names, max_batch_size,
                  labels=("sources", "targets")):
    source_names = iter(source_names) if source_names is not None else None
    target_names = iter(target_names) if target_names is not None else None
    done = 0
    end = object()
    sources, targets = iter(sources), iter(targets)
    while True:
        chunk_sources, chunk_targets = [], []
        while len(chunk_sources) < chunk_size:
            source, target = next(sources, end), next(targets, end)
            if source is end and target is end:
                break
            if source is end or target is end:
                shorter, longer = labels if source is end else labels[::-1]
                raise ValueError(f"{shorter} ended after {done + len(chunk_sources)} sentences, before {longer} did")
            chunk_sources.append(source)
            chunk_targets.append(target)
        if not chunk_sources:
            return
        n = len(chunk_sources)
        names = {}
        names["source_names"] = [next(source_names) for _ in range(n)] if source_names else \
            [f"sources[{done + i}]" for i in range(n)]
        names["target_names"] = [next(target_names) for _ in range(n)] if target_names else \
            [f"targets[{done + i}]" for i in range(n)]
        yield from translator.score_batch(chunk_sources, chunk_targets, max_batch_size=max_batch_size, **names)
        done += n


def score_file(translator, source_path, target_path, output_path, chunk_size=1024, normalize=False, per_token=False,
               max_batch_size=64):
    """Scores the pairs of two files, one sentence a line, into output_path
    as `transformer score SOURCE TARGET` prints them: each pair's Σ log p
    (divided by its token count with normalize), then with per_token " |||"
    and each token's log-probability; chunk_size pairs at a time. Errors
    name FILE:LINE as the CLI's do. Returns the number of pairs."""
    _check_chunking(chunk_size, {})
    count = 0
    source_names = (f"{os.fspath(source_path)}:{i}" for i in itertools.count(1))
    target_names = (f"{os.fspath(target_path)}:{i}" for i in itertools.count(1))
    with open(output_path, "w", encoding="utf-8", newline="\n") as out:
        for r in _score_chunks(translator, _lines(source_path), _lines(target_path), chunk_size, source_names,
                               target_names, max_batch_size, (os.fspath(source_path), os.fspath(target_path))):
            value = r.log_prob / len(r.token_scores) if normalize else r.log_prob
            line = f"{value:.6f}"
            if per_token:
                line += " |||" + "".join(f" {lp:.6f}" for lp in r.token_scores)
            out.write(line + "\n")
            count += 1
    return count


Translator.translate_iterable = translate_iterable
Translator.translate_file = translate_file
Translator.score_iterable = score_iterable
Translator.score_file = score_file
