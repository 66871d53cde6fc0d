"""Hashed text features for the learned part of the screen, computed with numpy in a few passes.

A message is read in its decoded normalised form (`bot.safety.normalise.variants`: lower case,
no accents, leetspeak and letter spacing undone), with everything but letters, digits, emoji
and sentence ends turned into spaces. Its features are the character n-grams of 3 to 5
characters (spaces included, so word edges count) and the word unigrams and bigrams, each
hashed into one of `2**BITS` buckets.

Hashing is a polynomial hash modulo 2**64 done for every substring at once: with the prefix
sums ``G[i] = sum(c[k] * Q**k for k < i)`` (Q the inverse of P modulo 2**64), the substring
``[s, e)`` hashes to ``(G[e] - G[s]) * P**s``, whatever its position. numpy's uint64 arithmetic
wraps modulo 2**64, which is exactly this arithmetic, so a 4,000-character message costs a
dozen vector operations, not thousands of Python calls, and the hash is the same on every
machine and every run (Python's own `hash` of a str is salted per process).

Every feature is attributed to the position where it starts, so the contribution of any
stretch of the message (a sentence) is a difference of two cumulative sums: the screen scores
each sentence and the whole message in one go (`Features.window_sums`).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from bot.safety.normalise import variants

__all__ = [
    "BITS",
    "CHAR_NGRAMS",
    "MIN_EVIDENCE",
    "Features",
    "evidence_of",
    "featurise",
    "model_text",
]

BITS: Final = 20
CHAR_NGRAMS: Final = (3, 4, 5)
_MASK: Final = np.uint64((1 << 64) - 1)
_P: Final = 1_000_003  # odd, so invertible modulo 2**64
_Q: Final = pow(_P, -1, 1 << 64)
# Mixing constant (the golden ratio in 64 bits) and a salt per kind of feature, so that the
# word "me" and the character bigram "me" land in different buckets.
_MIX: Final = np.uint64(0x9E3779B97F4A7C15)
_SALT_WORD: Final = np.uint64(0x5BD1E9955BD1E995)
_SALT_BIGRAM: Final = np.uint64(0xC2B2AE3D27D4EB4F)
_SALT_CHAR: Final = {n: np.uint64(0x165667B19E3779F9 * n & ((1 << 64) - 1)) for n in CHAR_NGRAMS}
_SHIFT: Final = np.uint64(64 - BITS)

# The decoded variant keeps only letters, digits, spaces, emoji, "*" (a censored letter it
# could not decode) and the sentence ends .!?; (see `bot.safety.normalise.strip_noise`). Here
# the sentence ends become a lone "." token and "*" a space; a translation table is several
# times faster than a regex on long text.
_MODEL_FORM: Final = str.maketrans({".": " . ", "!": " . ", "?": " . ", ";": " . ", "*": " "})
_DOT: Final = ord(".")
_SPACE: Final = ord(" ")


# The fewest distinct words (or wide characters) the model reads before it may raise a level.
# One word ("attend", "every", "yyyy") is too little evidence for a learned score: measured,
# the retrained model raised such command arguments to concern, paging a mentor for nothing.
# Short risky phrases ("kms", "我想死") are the rules' job.
MIN_EVIDENCE: Final = 3


def evidence_of(model_form: str) -> int:
    """Distinct words in a `model_text` form, each wide (CJK, kana, hangul) character one word.

    Counting stops at MIN_EVIDENCE: only whether there is enough matters.
    """
    seen: set[str] = set()
    for word in model_form.split():
        if word == ".":
            continue
        if any(ord(char) >= 0x2E80 for char in word):
            seen.update(char for char in word if ord(char) >= 0x2E80)
        else:
            seen.add(word)
        if len(seen) >= MIN_EVIDENCE:
            break
    return len(seen)


def model_text(text: str, forms: tuple[str, ...] | None = None) -> str:
    """The form of `text` the model reads: decoded, punctuation as spaces, sentence ends as " . ".

    `forms` are `variants(text)` when the caller has them already (the screen does).
    """
    if forms is None:
        forms = variants(text)
    decoded = forms[1] if len(forms) > 1 else forms[0]
    return " " + " ".join(decoded.translate(_MODEL_FORM).split()) + " "


class _Powers:
    """P**i and Q**i modulo 2**64 for i up to the longest text seen so far (grown on demand)."""

    def __init__(self) -> None:
        self.p: npt.NDArray[np.uint64] = np.ones(1, dtype=np.uint64)
        self.q: npt.NDArray[np.uint64] = np.ones(1, dtype=np.uint64)

    def upto(self, length: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        if len(self.p) <= length:
            size = max(length + 1, 2 * len(self.p), 4096)
            with np.errstate(over="ignore"):
                self.p = np.concatenate(
                    ([np.uint64(1)], np.cumprod(np.full(size - 1, _P, dtype=np.uint64)))
                )
                self.q = np.concatenate(
                    ([np.uint64(1)], np.cumprod(np.full(size - 1, _Q, dtype=np.uint64)))
                )
        return self.p, self.q


_POWERS: Final = _Powers()


@dataclass(frozen=True)
class Features:
    """The hashed features of one message: bucket ids, the position each starts at, and ends.

    `buckets[i]` starts at character `starts[i]` of the model text; `sentences` holds the
    [start, end) character ranges of its sentences.
    """

    buckets: npt.NDArray[np.intp]
    starts: npt.NDArray[np.intp]
    length: int
    sentences: tuple[tuple[int, int], ...]

    def counts(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
        """Distinct buckets and their values: 1 over the square root of the distinct count.

        The scaling is what `window_sums` divides by, so a whole-message window scores
        exactly the vector the model was trained on.
        """
        ids = np.unique(self.buckets)
        # Presence, not counts: a word repeated fifty times ("and on and on ...") says no
        # more than once, and must not add up to a crisis score by repetition alone.
        return ids, np.ones(len(ids)) / np.sqrt(max(1, len(ids)))

    def window_sums(
        self, weights: npt.NDArray[np.float32], windows: list[tuple[int, int]]
    ) -> npt.NDArray[np.float64]:
        """Each [start, end) window's score: its features' weights over the root of their number.

        A distinct feature belongs to the window it first starts in; a window without features
        scores 0.
        """
        return self.window_sums_of((weights,), windows)[0]

    def window_sums_of(
        self, heads: tuple[npt.NDArray[np.float32], ...], windows: list[tuple[int, int]]
    ) -> list[npt.NDArray[np.float64]]:
        """`window_sums` for several heads' weights at once (one per head, in order).

        The distinct features, where they first start and how many each window holds are the
        same for every head: worked out once, not once per head (the sort behind them is the
        bulk of the model's cost). Each head's figures are computed exactly as alone.
        """
        buckets, starts = self._first_occurrences
        bounds = np.asarray(windows, dtype=np.intp).reshape(-1, 2)
        count = np.bincount(starts, minlength=self.length + 1)
        counted = np.concatenate(([0], np.cumsum(count)))
        numbers = counted[bounds[:, 1]] - counted[bounds[:, 0]]
        roots = np.sqrt(np.maximum(numbers, 1))
        found: list[npt.NDArray[np.float64]] = []
        for weights in heads:
            per_position = np.bincount(starts, weights=weights[buckets], minlength=self.length + 1)
            summed = np.concatenate(([0.0], np.cumsum(per_position)))
            totals = summed[bounds[:, 1]] - summed[bounds[:, 0]]
            found.append(np.where(numbers > 0, totals / roots, 0.0))
        return found

    @functools.cached_property
    def _first_occurrences(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Each distinct bucket once, with where it first starts (see `counts`).

        What `np.unique(buckets, return_index=True)` gives, about three times faster: its
        stable sort was the bulk of the model's cost on a long message. An unstable sort
        groups equal buckets, and the smallest index in each group is the first occurrence.
        """
        if len(self.buckets) == 0:
            return self.buckets, self.starts
        order = np.argsort(self.buckets)
        ordered = self.buckets[order]
        new = np.empty(len(ordered), dtype=bool)
        new[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        groups = np.flatnonzero(new)
        first = np.minimum.reduceat(order, groups)
        return ordered[groups], self.starts[first]


def featurise(text: str) -> Features:
    """The hashed features of a message (see the module's description)."""
    return features_of_model_text(model_text(text))


def features_of_model_text(padded: str) -> Features:
    """The hashed features of text already in model form (`model_text`)."""
    # "surrogatepass": a lone surrogate (possible in JSON from a platform) is a character too.
    raw = padded.encode("utf-32-le", "surrogatepass")
    codes = np.frombuffer(raw, dtype=np.uint32).astype(np.uint64)
    length = len(codes)
    powers, inverse = _POWERS.upto(length)
    with np.errstate(over="ignore"):
        prefix = np.concatenate(([np.uint64(0)], np.cumsum((codes + 1) * inverse[:length])))

        def hashes(
            starts: npt.NDArray[np.intp], ends: npt.NDArray[np.intp], salt: np.uint64
        ) -> npt.NDArray[np.intp]:
            raw = (prefix[ends] - prefix[starts]) * powers[starts]
            mixed: npt.NDArray[np.intp] = ((raw ^ salt) * _MIX >> _SHIFT).astype(np.intp)
            return mixed

        bucket_parts: list[npt.NDArray[np.intp]] = []
        start_parts: list[npt.NDArray[np.intp]] = []
        for n in CHAR_NGRAMS:
            if length < n:
                continue
            starts = np.arange(length - n + 1, dtype=np.intp)
            bucket_parts.append(hashes(starts, starts + n, _SALT_CHAR[n]))
            start_parts.append(starts)
        spaces = np.flatnonzero(codes == _SPACE)
        word_starts = spaces[:-1] + 1
        word_ends = spaces[1:]
        real = word_ends > word_starts
        word_starts, word_ends = word_starts[real], word_ends[real]
        if len(word_starts):
            bucket_parts.append(hashes(word_starts, word_ends, _SALT_WORD))
            start_parts.append(word_starts)
        if len(word_starts) > 1:
            bucket_parts.append(hashes(word_starts[:-1], word_ends[1:], _SALT_BIGRAM))
            start_parts.append(word_starts[:-1])
    buckets = np.concatenate(bucket_parts) if bucket_parts else np.zeros(0, dtype=np.intp)
    starts_all = np.concatenate(start_parts) if start_parts else np.zeros(0, dtype=np.intp)
    dots = np.flatnonzero(codes == _DOT)
    edges = [0, *(int(d) + 1 for d in dots), length]
    sentences = tuple((a, b) for a, b in itertools.pairwise(edges) if b > a + 2)
    return Features(buckets, starts_all, length, sentences)
