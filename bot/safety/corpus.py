"""The safety evaluation corpus: loading, checking and scoring labelled messages.

The format is described in `tests/safety/corpus/README.md`: JSONL, one message per line with
`text`, `label` (crisis, concern, none), `category` (a taxonomy code, or a benign kind for
`none`) and `lang`. `load_corpus` checks every line and names the file and line of anything
wrong; `evaluate` runs a screen over the items and counts what it caught.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from bot.safety.rules import severity
from bot.safety.screen import Assessment
from bot.safety.taxonomy import TAXONOMY, Category

Label = Literal["crisis", "concern", "none"]
LABELS: Final[tuple[Label, ...]] = ("crisis", "concern", "none")
# The corpus's risk codes: the taxonomy's top-level categories (sub-labels are for alerts).
RISK_CODES: Final = frozenset(str(c) for c, info in TAXONOMY.items() if info.parent is None) - {
    str(Category.OTHER_CRISIS),
    str(Category.OTHER_CONCERN),
    str(Category.SCREEN_FAILED),
    str(Category.RISK_MENTIONED),
    str(Category.LOW_MOOD),
    str(Category.HELP_REQUEST),
    str(Category.BASIC_NEEDS),
}
BENIGN_KINDS: Final = frozenset(
    {"hyperbole", "academic", "news", "media", "gaming", "joking_threat", "fiction", "everyday"}
)
LANGS: Final = frozenset(
    {"en", "zh", "hi", "es", "ar", "fr", "de", "pt", "ko", "vi", "ja", "tr", "ru"}
    | {"hi-Latn", "ar-Latn"}
)
_KEYS: Final = frozenset({"text", "label", "category", "lang"})


class CorpusError(ValueError):
    """A corpus line that does not follow the format, naming the file and line."""


@dataclass(frozen=True)
class CorpusItem:
    """One labelled message."""

    text: str
    label: Label
    category: str
    lang: str
    where: str = ""  # "file:line", for error messages and miss reports


def load_corpus(path: Path) -> list[CorpusItem]:
    """Every item of one JSONL corpus file, checked; raises `CorpusError` on the first bad line."""
    items: list[CorpusItem] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            items.append(parse_line(line, f"{path.name}:{number}"))
    return items


def parse_line(line: str, where: str) -> CorpusItem:
    """One corpus line as an item; `CorpusError` says what is wrong with it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not JSON: {exc}") from exc
    if not isinstance(data, dict) or set(data) != _KEYS:
        raise CorpusError(f"{where}: needs exactly the keys {sorted(_KEYS)}")
    text, label, category, lang = (data[k] for k in ("text", "label", "category", "lang"))
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(f"{where}: 'text' must be a non-empty string")
    if label not in LABELS:
        raise CorpusError(f"{where}: 'label' must be one of {LABELS}, not {label!r}")
    allowed = BENIGN_KINDS if label == "none" else RISK_CODES
    if category not in allowed:
        raise CorpusError(f"{where}: category {category!r} is not one of {sorted(allowed)}")
    if lang not in LANGS:
        raise CorpusError(f"{where}: 'lang' {lang!r} is not one of {sorted(LANGS)}")
    return CorpusItem(text, label, category, lang, where)


def load_folder(paths: Iterable[Path]) -> list[CorpusItem]:
    """All items of several corpus files, in order."""
    return [item for path in paths for item in load_corpus(path)]


@dataclass
class Tally:
    """How many items of one kind there were and how many the screen handled right."""

    total: int = 0
    right: int = 0

    @property
    def rate(self) -> float:
        """Right / total (0 for no items)."""
        return self.right / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """For the JSON report."""
        return {"n": self.total, "caught": self.right, "rate": round(self.rate, 4)}


@dataclass
class Evaluation:
    """What a screen caught on a corpus.

    Recall: crisis items flagged crisis; concern items flagged concern or crisis. Benign
    (`none`) items flagged crisis count as false crisis, flagged concern as false concern.
    """

    crisis: Tally = field(default_factory=Tally)
    concern: Tally = field(default_factory=Tally)
    benign: int = 0
    false_crisis: int = 0
    false_concern: int = 0
    by_category: dict[str, Tally] = field(default_factory=dict)
    by_language: dict[str, dict[str, Tally]] = field(default_factory=dict)
    benign_by_kind: dict[str, Tally] = field(default_factory=dict)
    misses: list[tuple[CorpusItem, str]] = field(default_factory=list)

    @property
    def crisis_recall(self) -> float:
        """Share of crisis items flagged crisis."""
        return self.crisis.rate

    @property
    def concern_recall(self) -> float:
        """Share of concern items flagged concern or crisis."""
        return self.concern.rate

    @property
    def false_crisis_rate(self) -> float:
        """Share of benign items flagged crisis."""
        return self.false_crisis / self.benign if self.benign else 0.0

    @property
    def false_concern_rate(self) -> float:
        """Share of benign items flagged concern (not crisis)."""
        return self.false_concern / self.benign if self.benign else 0.0

    def as_dict(self) -> dict[str, object]:
        """The figures as JSON-ready data (no message text: safe for the test set)."""
        return {
            "items": self.crisis.total + self.concern.total + self.benign,
            "crisis_recall": round(self.crisis_recall, 4),
            "concern_or_crisis_recall_on_concern": round(self.concern_recall, 4),
            "benign": self.benign,
            "benign_false_crisis_rate": round(self.false_crisis_rate, 4),
            "benign_false_concern_rate": round(self.false_concern_rate, 4),
            "recall_by_category": {k: v.as_dict() for k, v in sorted(self.by_category.items())},
            "by_language": {
                lang: {k: v.as_dict() for k, v in sorted(kinds.items())}
                for lang, kinds in sorted(self.by_language.items())
            },
            "benign_flagged_by_kind": {
                k: v.as_dict() for k, v in sorted(self.benign_by_kind.items())
            },
        }


def evaluate(items: Sequence[CorpusItem], screen: Callable[[str], Assessment]) -> Evaluation:
    """Run `screen` over every item and tally recall and false alarms."""
    result = Evaluation()
    for item in items:
        level = screen(item.text).level
        per_lang = result.by_language.setdefault(item.lang, {})
        if item.label == "none":
            result.benign += 1
            kind = result.benign_by_kind.setdefault(item.category, Tally())
            kind.total += 1
            lang_tally = per_lang.setdefault("benign_false_crisis", Tally())
            lang_tally.total += 1
            if level == "crisis":
                result.false_crisis += 1
                lang_tally.right += 1
            elif level == "concern":
                result.false_concern += 1
            if level != "none":
                kind.right += 1
                result.misses.append((item, level))
            continue
        caught = severity(level) >= severity(item.label)
        overall = result.crisis if item.label == "crisis" else result.concern
        category = result.by_category.setdefault(item.category, Tally())
        lang_tally = per_lang.setdefault(item.label, Tally())
        for tally in (overall, category, lang_tally):
            tally.total += 1
            tally.right += caught
        if not caught:
            result.misses.append((item, level))
    return result
