"""The transformer engine from Python: train, translate, score, explain, inspect weights.

A thin package over the compiled module ``_transformer`` (src/python/), built
from the same library as the ``transformer`` command; docs/PYTHON.md shows it
in use.
"""
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
]


def translate_iterable(translator, sentences, chunk_size=1024, **options):
    """Translates an iterable of sentences lazily, chunk_size at a time.

    Yields one TranslationResult per sentence, in order. Within a chunk the
    engine sorts by length and batches as translate_batch does; a sentence's
    translation does not depend on its batch, so the results are those of one
    translate_batch over everything (with sampling, a sentence's draws depend
    on its position in its chunk).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    chunk = []
    for sentence in sentences:
        chunk.append(sentence)
        if len(chunk) == chunk_size:
            yield from translator.translate_batch(chunk, **options)
            chunk = []
    if chunk:
        yield from translator.translate_batch(chunk, **options)


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
    it), reading and writing chunk_size lines at a time. Returns the number
    of lines."""
    count = 0
    with open(output_path, "w", encoding="utf-8", newline="\n") as out:
        for result in translate_iterable(translator, _lines(input_path), chunk_size, **options):
            out.write(result.text + "\n")
            count += 1
    return count


# CTranslate2 has these as methods of its Translator; so do we.
Translator.translate_iterable = translate_iterable
Translator.translate_file = translate_file
