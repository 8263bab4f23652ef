#!/usr/bin/python3
"""A synthetic parallel corpus of any size, made here (no download), for
measuring what does not depend on the language: reading, encoding and
mapping a corpus (bench/prepared_corpus.sh).

Words are drawn from a made-up lexicon of 5,000 words with Zipf-like
frequencies, as in natural text; sentences have 4 to 30 words (mean about
13). The target side is the source with every word mapped to another
made-up word and the order reversed, so the two sides differ as two
languages do. The same --seed writes the same bytes.

    /usr/bin/python3 bench/synthetic_corpus.py --pairs 5000000 --out build/bench-prepared
"""
import argparse
import itertools
import os
import random

SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def lexicon(rng, n):
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5_000_000)
    parser.add_argument("--out", required=True, help="directory for train.src and train.tgt")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    source_words = lexicon(rng, 5000)
    target_words = lexicon(rng, 5000)
    rng.shuffle(target_words)
    translation = dict(zip(source_words, target_words))
    # Zipf: the k-th word drawn with weight 1/k.
    cumulative = list(itertools.accumulate(1.0 / k for k in range(1, len(source_words) + 1)))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "train.src"), "w") as src, open(os.path.join(args.out, "train.tgt"), "w") as tgt:
        for _ in range(args.pairs):
            length = min(30, 4 + int(rng.expovariate(1 / 9)))
            words = rng.choices(source_words, cum_weights=cumulative, k=length)
            src.write(" ".join(words) + "\n")
            tgt.write(" ".join(translation[w] for w in reversed(words)) + "\n")


if __name__ == "__main__":
    main()
