"""The learned part of the screen: a small classifier that can only raise what the rules decided.

Two logistic-regression heads over hashed character n-grams and word n-grams
(`bot.safety.features`) score a message: "crisis" (crisis against everything else) and
"concern" (concern or crisis against benign). A softmax head names the nearest risk category.
Every sentence of the message and the message as a whole are scored, and the highest score
counts, so one risky sentence in a long message is not diluted by the rest.

The weights (`model.npz` beside this file) come from `python -m bot.safety.train`, trained on
the development sets only (`tests/safety/corpus/dev/`, whose SHA-256 the file records), with
thresholds chosen by cross-validation so that the model adds at most 0.5% benign false crisis
on held-out folds. Inference needs numpy only, runs offline on the CPU, and costs well under a
millisecond for a chat message.

`bot.safety.screen.Screen` is the one place the model meets the rules: the rules' assessment
comes back unchanged unless the model's level is higher, and then it is only raised.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from bot.safety.features import BITS, Features, features_of_model_text, model_text
from bot.safety.rules import Level
from bot.safety.taxonomy import Category, level_of

__all__ = [
    "MODEL_FILE",
    "MODEL_REASON",
    "Model",
    "ModelError",
    "Scores",
    "best_sentence",
    "default_model",
    "load_model",
]

MODEL_FILE: Final = Path(__file__).parent / "model.npz"
# The reason an assessment carries when the model raised it: "model.crisis", "model.concern".
MODEL_REASON: Final = "model"
_SENTENCE_SPLIT: Final = (".", "!", "?", ";", "\n", "\u3002", "\uff01", "\uff1f")


class ModelError(ValueError):
    """A weights file that cannot be used (missing arrays, wrong shape, unknown category)."""


@dataclass(frozen=True)
class Scores:
    """The model's view of one message: the two heads' best logits and the level they reach."""

    crisis: float
    concern: float
    level: Level


@dataclass(frozen=True)
class Model:
    """Compiled weights: dense per-bucket weights for the two heads, a compact category head."""

    crisis_weights: npt.NDArray[np.float32]
    concern_weights: npt.NDArray[np.float32]
    crisis_bias: float
    concern_bias: float
    crisis_threshold: float
    concern_threshold: float
    category_buckets: npt.NDArray[np.intp]  # sorted bucket ids the category head knows
    category_weights: npt.NDArray[np.float32]  # [len(category_buckets), len(categories)]
    category_bias: npt.NDArray[np.float32]
    categories: tuple[Category, ...]
    meta: dict[str, object]

    def scores(self, text: str) -> Scores:
        """Both heads' highest logit over the whole message and each of its sentences."""
        return self.scores_of(features_of_model_text(model_text(text)))

    def scores_of(self, features: Features) -> Scores:
        """`scores` for features already computed."""
        windows = [(0, features.length), *features.sentences]
        crisis_sums, concern_sums = features.window_sums_of(
            (self.crisis_weights, self.concern_weights), windows
        )
        crisis = self.crisis_bias + float(crisis_sums.max())
        concern = self.concern_bias + float(concern_sums.max())
        level: Level = "none"
        if crisis >= self.crisis_threshold:
            level = "crisis"
        elif concern >= self.concern_threshold:
            level = "concern"
        return Scores(crisis, concern, level)

    def category(self, text: str, level: Level) -> Category:
        """The category of `level` the category head finds nearest for `text`."""
        ids, values = features_of_model_text(model_text(text)).counts()
        at = np.searchsorted(self.category_buckets, ids)
        at = np.minimum(at, len(self.category_buckets) - 1)
        known = self.category_buckets[at] == ids
        logits = self.category_bias + values[known] @ self.category_weights[at[known]]
        allowed = [i for i, c in enumerate(self.categories) if level_of(c) == level]
        if not allowed:
            return Category.OTHER_CRISIS if level == "crisis" else Category.OTHER_CONCERN
        best = max(allowed, key=lambda i: float(logits[i]))
        return self.categories[best]


def load_model(path: Path = MODEL_FILE) -> Model:
    """Read a weights file written by `bot.safety.train`; `ModelError` says what is wrong."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the safety model: {exc}") from exc
    needed = {
        "buckets",
        "crisis",
        "concern",
        "biases",
        "thresholds",
        "category_buckets",
        "category_weights",
        "category_bias",
        "meta",
    }
    if missing := needed - set(arrays):
        raise ModelError(f"{path}: missing {sorted(missing)}")
    meta = json.loads(str(arrays["meta"]))
    if meta.get("bits") != BITS:
        raise ModelError(f"{path}: hashed into 2**{meta.get('bits')} buckets, not 2**{BITS}")
    try:
        categories = tuple(Category(code) for code in meta["categories"])
    except (KeyError, ValueError) as exc:
        raise ModelError(f"{path}: unknown category in {meta.get('categories')}") from exc
    buckets = arrays["buckets"].astype(np.intp)
    size = 1 << BITS
    crisis = np.zeros(size, dtype=np.float32)
    concern = np.zeros(size, dtype=np.float32)
    crisis[buckets] = arrays["crisis"]
    concern[buckets] = arrays["concern"]
    weights = arrays["category_weights"].astype(np.float32)
    if weights.shape != (len(arrays["category_buckets"]), len(categories)):
        raise ModelError(f"{path}: category weights of shape {weights.shape}")
    biases, thresholds = arrays["biases"], arrays["thresholds"]
    return Model(
        crisis_weights=crisis,
        concern_weights=concern,
        crisis_bias=float(biases[0]),
        concern_bias=float(biases[1]),
        crisis_threshold=float(thresholds[0]),
        concern_threshold=float(thresholds[1]),
        category_buckets=arrays["category_buckets"].astype(np.intp),
        category_weights=weights,
        category_bias=arrays["category_bias"].astype(np.float32),
        categories=categories,
        meta=meta,
    )


_default: Model | None = None
_lock = threading.Lock()


def default_model() -> Model:
    """The shipped model (`model.npz`), loaded once."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = load_model()
    return _default


def best_sentence(model: Model, text: str, level: Level) -> str:
    """The sentence of the original text the raising head scores highest (for the excerpt)."""
    parts = [text]
    for mark in _SENTENCE_SPLIT:
        parts = [piece for part in parts for piece in part.split(mark)]
    sentences = [part.strip() for part in parts if part.strip()]
    if len(sentences) <= 1:
        return text.strip()

    def score(sentence: str) -> float:
        found = model.scores(sentence)
        return found.crisis if level == "crisis" else found.concern

    return max(sentences, key=score)
