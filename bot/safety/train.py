"""Train the learned part of the screen on the development sets: `python -m bot.safety.train`.

    python -m bot.safety.train                    # dev sets -> bot/safety/model.npz
    python -m bot.safety.train --out PATH --limit N --folds K

Only `tests/safety/corpus/dev/*.jsonl` is read: the held-out sets are never trained or tuned
on. The run is deterministic (fixed fold assignment, full-batch optimisation, no random
initialisation), so the same files give the same weights; the SHA-256 of the training files
is recorded in the weights file.

Thresholds are chosen by K-fold cross-validation: each dev item is scored by a model that
did not see it (out of fold), the rules' verdict on it is taken as given, and the crisis
threshold is the lowest at which the model adds at most `FALSE_CRISIS_BUDGET` of the benign
items as crisis on top of what the rules already flag; the concern threshold likewise with
`FALSE_CONCERN_BUDGET`. The cross-validated figures are printed as JSON and kept in the
file's metadata.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from bot.safety.corpus import CorpusItem, load_folder
from bot.safety.features import BITS, CHAR_NGRAMS, Features, featurise
from bot.safety.model import MODEL_FILE, Model, load_model
from bot.safety.rules import load_rules
from bot.safety.screen import FRAMED, Assessment, Screen
from bot.safety.taxonomy import Category

DEV_SETS: Final = Path(__file__).resolve().parents[2] / "tests" / "safety" / "corpus" / "dev"
SEED: Final = 12
FOLDS: Final = 5
# Added benign false alarms the model may cause on out-of-fold predictions.
FALSE_CRISIS_BUDGET: Final = 0.005
FALSE_CONCERN_BUDGET: Final = 0.01
# L2 penalty (per item, on the mean log loss) and optimiser settings.
L2: Final = 1e-4
STEPS: Final = 300
LEARNING_RATE: Final = 0.05
# A bucket seen in fewer training messages than this gets no weight (it cannot generalise).
MIN_MESSAGES: Final = 2
# Category-head weights kept per bucket, as float16.
CATEGORY_DTYPE: Final = np.float16


@dataclass(frozen=True)
class Matrix:
    """Sparse rows of hashed features in coordinate form, columns remapped to 0..width-1."""

    rows: npt.NDArray[np.intp]
    cols: npt.NDArray[np.intp]
    values: npt.NDArray[np.float64]
    buckets: npt.NDArray[np.intp]  # column -> hash bucket
    height: int

    @property
    def width(self) -> int:
        """The number of columns."""
        return len(self.buckets)

    def dot(self, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Matrix times a column vector."""
        product: npt.NDArray[np.float64] = np.bincount(
            self.rows, weights=self.values * weights[self.cols], minlength=self.height
        ).astype(np.float64, copy=False)
        return product

    def tdot(self, vector: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Transposed matrix times a row vector."""
        product: npt.NDArray[np.float64] = np.bincount(
            self.cols, weights=self.values * vector[self.rows], minlength=self.width
        ).astype(np.float64, copy=False)
        return product


def build_matrix(features: Sequence[Features]) -> Matrix:
    """The training matrix of some messages, keeping buckets seen in `MIN_MESSAGES` or more."""
    rows: list[npt.NDArray[np.intp]] = []
    ids: list[npt.NDArray[np.intp]] = []
    values: list[npt.NDArray[np.float64]] = []
    for row, found in enumerate(features):
        bucket_ids, bucket_values = found.counts()
        rows.append(np.full(len(bucket_ids), row, dtype=np.intp))
        ids.append(bucket_ids)
        values.append(bucket_values)
    all_rows, all_ids, all_values = (
        np.concatenate(rows),
        np.concatenate(ids),
        np.concatenate(values),
    )
    buckets, cols, seen = np.unique(all_ids, return_inverse=True, return_counts=True)
    keep = seen[cols] >= MIN_MESSAGES
    kept_buckets = buckets[seen >= MIN_MESSAGES]
    remap = np.cumsum(seen >= MIN_MESSAGES) - 1
    return Matrix(
        rows=all_rows[keep],
        cols=remap[cols[keep]].astype(np.intp),
        values=all_values[keep],
        buckets=kept_buckets.astype(np.intp),
        height=len(features),
    )


def fit_binary(
    matrix: Matrix, target: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], float]:
    """Logistic regression (L2, full-batch Adam from zero): weights per column and a bias."""
    weights = np.zeros(matrix.width)
    bias = 0.0
    first = np.zeros(matrix.width + 1)
    second = np.zeros(matrix.width + 1)
    for step in range(1, STEPS + 1):
        logits = matrix.dot(weights) + bias
        error = (1.0 / (1.0 + np.exp(-logits)) - target) / matrix.height
        gradient = np.concatenate((matrix.tdot(error) + L2 * weights, [error.sum()]))
        first, second, update = _adam(first, second, gradient, step)
        weights -= update[:-1]
        bias -= float(update[-1])
    return weights, bias


def fit_softmax(
    matrix: Matrix, target: npt.NDArray[np.intp], classes: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Softmax regression (L2, full-batch Adam): weights [columns, classes] and biases."""
    weights = np.zeros((matrix.width, classes))
    bias = np.zeros(classes)
    first = np.zeros((matrix.width + 1, classes))
    second = np.zeros((matrix.width + 1, classes))
    onehot = np.eye(classes)[target]
    for step in range(1, STEPS + 1):
        logits = np.stack([matrix.dot(weights[:, k]) for k in range(classes)], axis=1) + bias
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        error = (probabilities - onehot) / matrix.height
        gradient = np.vstack(
            (
                np.stack([matrix.tdot(error[:, k]) for k in range(classes)], axis=1) + L2 * weights,
                error.sum(axis=0, keepdims=True),
            )
        )
        first, second, update = _adam(first, second, gradient, step)
        weights -= update[:-1]
        bias -= update[-1]
    return weights, bias


def _adam(
    first: npt.NDArray[np.float64],
    second: npt.NDArray[np.float64],
    gradient: npt.NDArray[np.float64],
    step: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    first = 0.9 * first + 0.1 * gradient
    second = 0.999 * second + 0.001 * gradient**2
    corrected = first / (1 - 0.9**step)
    scale = np.sqrt(second / (1 - 0.999**step)) + 1e-8
    return first, second, LEARNING_RATE * corrected / scale


@dataclass(frozen=True)
class Heads:
    """The two binary heads of one fit, by hash bucket."""

    buckets: npt.NDArray[np.intp]
    crisis: npt.NDArray[np.float64]
    concern: npt.NDArray[np.float64]
    crisis_bias: float
    concern_bias: float

    def as_model(self, thresholds: tuple[float, float] = (math.inf, math.inf)) -> Model:
        """A `Model` for scoring (with a category head that knows nothing)."""
        size = 1 << BITS
        crisis = np.zeros(size, dtype=np.float32)
        concern = np.zeros(size, dtype=np.float32)
        crisis[self.buckets] = self.crisis
        concern[self.buckets] = self.concern
        return Model(
            crisis_weights=crisis,
            concern_weights=concern,
            crisis_bias=self.crisis_bias,
            concern_bias=self.concern_bias,
            crisis_threshold=thresholds[0],
            concern_threshold=thresholds[1],
            category_buckets=np.zeros(1, dtype=np.intp),
            category_weights=np.zeros((1, 1), dtype=np.float32),
            category_bias=np.zeros(1, dtype=np.float32),
            categories=(Category.OTHER_CRISIS,),
            meta={},
        )


def fit_heads(items: Sequence[CorpusItem], features: Sequence[Features]) -> Heads:
    """Fit the crisis head (crisis vs the rest) and the concern head (risk vs benign)."""
    matrix = build_matrix(features)
    crisis_target = np.array([item.label == "crisis" for item in items], dtype=np.float64)
    risk_target = np.array([item.label != "none" for item in items], dtype=np.float64)
    crisis, crisis_bias = fit_binary(matrix, crisis_target)
    concern, concern_bias = fit_binary(matrix, risk_target)
    return Heads(matrix.buckets, crisis, concern, crisis_bias, concern_bias)


def folds_of(count: int, folds: int) -> npt.NDArray[np.intp]:
    """A fold number for each item: a fixed shuffle (seeded), then round robin."""
    order = np.random.default_rng(SEED).permutation(count)
    assigned = np.empty(count, dtype=np.intp)
    assigned[order] = np.arange(count) % folds
    return assigned


def pick_threshold(scores: npt.NDArray[np.float64], budget: int) -> float:
    """The lowest threshold at which at most `budget` of these benign scores reach it."""
    ranked = np.sort(scores)[::-1]
    if len(ranked) <= budget:
        return float(ranked[-1]) - 1.0 if len(ranked) else 0.0
    above, below = float(ranked[budget - 1]) if budget else math.inf, float(ranked[budget])
    # Halfway between the last allowed alarm and the first refused one.
    return below + 1e-6 if math.isinf(above) else (above + below) / 2


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold scores, the thresholds they give and what those thresholds do on dev."""

    thresholds: tuple[float, float]
    figures: dict[str, object]


def cross_validate(
    items: Sequence[CorpusItem],
    features: Sequence[Features],
    rules_levels: Sequence[str],
    rules_framed: Sequence[bool],
    folds: int,
) -> CrossValidation:
    """Thresholds from out-of-fold scores (see the module's description) and their effect."""
    assigned = folds_of(len(items), folds)
    crisis = np.zeros(len(items))
    concern = np.zeros(len(items))
    for fold in range(folds):
        train = [i for i in range(len(items)) if assigned[i] != fold]
        held = [i for i in range(len(items)) if assigned[i] == fold]
        heads = fit_heads([items[i] for i in train], [features[i] for i in train]).as_model()
        for i in held:
            found = heads.scores_of(features[i])
            crisis[i], concern[i] = found.crisis, found.concern
    benign = np.array([item.label == "none" for item in items])
    rules_crisis = np.array([level == "crisis" for level in rules_levels])
    rules_none = np.array([level == "none" for level in rules_levels])
    framed = np.array(rules_framed)
    # Crisis: benign items the rules did not flag crisis and did not frame as content.
    eligible = benign & ~rules_crisis & ~framed
    crisis_threshold = pick_threshold(
        crisis[eligible], int(FALSE_CRISIS_BUDGET * int(benign.sum()))
    )
    # Concern: benign items the rules let through and the crisis head does not raise.
    eligible_concern = benign & rules_none & (crisis < crisis_threshold)
    concern_threshold = pick_threshold(
        concern[eligible_concern], int(FALSE_CONCERN_BUDGET * int(benign.sum()))
    )
    model_crisis = (crisis >= crisis_threshold) & ~(framed & ~rules_crisis)
    model_risk = model_crisis | (concern >= concern_threshold)
    is_crisis = np.array([item.label == "crisis" for item in items])
    is_concern = np.array([item.label == "concern" for item in items])
    figures: dict[str, object] = {
        "folds": folds,
        "thresholds": [round(crisis_threshold, 4), round(concern_threshold, 4)],
        "benign": int(benign.sum()),
        "added_false_crisis": int((benign & model_crisis & ~rules_crisis).sum()),
        "added_false_concern": int((benign & rules_none & model_risk & ~model_crisis).sum()),
        "model_alone_crisis_recall": _share(model_crisis[is_crisis]),
        "model_alone_concern_recall": _share(model_risk[is_concern]),
        "model_alone_false_crisis": _share(model_crisis[benign]),
        "added_crisis_on_crisis_items": int((is_crisis & model_crisis & ~rules_crisis).sum()),
    }
    return CrossValidation((crisis_threshold, concern_threshold), figures)


def _share(flags: npt.NDArray[np.bool_]) -> float:
    """The share of true flags, rounded (0 for none at all)."""
    return round(float(flags.mean()), 4) if len(flags) else 0.0


def fit_categories(
    items: Sequence[CorpusItem], features: Sequence[Features]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.float64], list[str]]:
    """The category head, trained on the risk items: buckets, weights, biases, category codes."""
    risky = [i for i, item in enumerate(items) if item.label != "none"]
    codes = sorted({items[i].category for i in risky})
    target = np.array([codes.index(items[i].category) for i in risky], dtype=np.intp)
    matrix = build_matrix([features[i] for i in risky])
    weights, bias = fit_softmax(matrix, target, len(codes))
    return matrix.buckets, weights, bias, codes


def training_hash(paths: Sequence[Path]) -> str:
    """SHA-256 over the training files' names and bytes, in order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def train(
    paths: Sequence[Path],
    out: Path,
    *,
    limit: int = 0,
    folds: int = FOLDS,
    rules: Callable[[str], Assessment] | None = None,
) -> dict[str, object]:
    """Train on `paths`, write the weights to `out`, and return what the file records.

    `rules` screens with the rules alone (default: a fresh `Screen(load_rules(),
    learned=False)`); the model is judged on what it adds to their verdicts.
    """
    items = load_folder(paths)
    if limit:
        items = items[:limit]
    features = [featurise(item.text) for item in items]
    if rules is None:
        rules = Screen(load_rules(), learned=False).assess
    verdicts = [rules(item.text) for item in items]
    validation = cross_validate(
        items,
        features,
        [v.level for v in verdicts],
        [v.level == "concern" and FRAMED in v.reasons for v in verdicts],
        folds,
    )
    heads = fit_heads(items, features)
    category_buckets, category_weights, category_bias, codes = fit_categories(items, features)
    keep = (np.abs(heads.crisis) > 1e-4) | (np.abs(heads.concern) > 1e-4)
    meta = {
        "bits": BITS,
        "char_ngrams": list(CHAR_NGRAMS),
        "word_ngrams": [1, 2],
        "categories": codes,
        "training_files": [path.name for path in paths],
        "training_sha256": training_hash(paths),
        "items": len(items),
        "seed": SEED,
        "l2": L2,
        "steps": STEPS,
        "false_crisis_budget": FALSE_CRISIS_BUDGET,
        "false_concern_budget": FALSE_CONCERN_BUDGET,
        "cross_validation": validation.figures,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as handle:
        np.savez_compressed(
            handle,
            buckets=heads.buckets[keep].astype(np.uint32),
            crisis=heads.crisis[keep].astype(np.float32),
            concern=heads.concern[keep].astype(np.float32),
            biases=np.array([heads.crisis_bias, heads.concern_bias], dtype=np.float32),
            thresholds=np.array(validation.thresholds, dtype=np.float32),
            category_buckets=category_buckets.astype(np.uint32),
            category_weights=category_weights.astype(CATEGORY_DTYPE),
            category_bias=category_bias.astype(np.float32),
            meta=np.array(json.dumps(meta, sort_keys=True)),
        )
    load_model(out)  # what was written can be read back
    return meta


def main(argv: list[str] | None = None) -> int:
    """Command line: train and print the cross-validated figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bot.safety.train", description=__doc__)
    parser.add_argument("--out", type=Path, default=MODEL_FILE, help="weights file to write")
    parser.add_argument("--limit", type=int, default=0, help="at most N dev items (0: all)")
    parser.add_argument("--folds", type=int, default=FOLDS, help="cross-validation folds")
    args = parser.parse_args(argv)
    paths = sorted(DEV_SETS.glob("*.jsonl"))
    if not paths:
        print(f"no development sets in {DEV_SETS}", file=sys.stderr)
        return 2
    meta = train(paths, args.out, limit=args.limit, folds=args.folds)
    print(json.dumps(meta, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
