"""Validate a safety corpus file and print its counts.

Usage: ``python tests/safety/corpus/check_corpus.py [FILE.jsonl ...]`` (default: test.jsonl here).
Checks that every line is a JSON object with exactly the keys text/label/category/lang, that
label, category and lang use the codes of README.md, that a category agrees with its label, and
that no text appears twice (case- and space-insensitive, since a near copy measures nothing new).
Exits 1 on the first kind of problem it finds, after listing every offending line.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

CRISIS = {
    "passive_death_wish",
    "suicidal_ideation",
    "suicide_plan",
    "past_attempt",
    "self_harm",
    "hopelessness",
    "safeguarding",
    "harm_to_others",
    "third_party",
}
CONCERN = {
    "worthlessness",
    "burden",
    "cannot_cope",
    "bullying",
    "isolation",
    "substance_misuse",
    "disordered_eating",
}
BENIGN = {
    "hyperbole",
    "academic",
    "news",
    "media",
    "gaming",
    "joking_threat",
    "fiction",
    "everyday",
}
CATEGORIES = {"crisis": CRISIS, "concern": CONCERN, "none": BENIGN}
LANGS = {
    "en",
    "zh",
    "hi",
    "es",
    "ar",
    "fr",
    "de",
    "pt",
    "ko",
    "vi",
    "ja",
    "tr",
    "ru",
    "hi-Latn",
    "ar-Latn",
}
KEYS = {"text", "label", "category", "lang"}


def check(path: Path) -> list[dict[str, str]]:
    """Return the records of ``path``, or exit with every problem found listed."""
    problems: list[str] = []
    records: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"{path}:{number}: not JSON ({error})")
            continue
        if not isinstance(record, dict) or set(record) != KEYS:
            problems.append(f"{path}:{number}: keys must be exactly {sorted(KEYS)}")
            continue
        label, category, lang, text = (
            record["label"],
            record["category"],
            record["lang"],
            record["text"],
        )
        if label not in CATEGORIES:
            problems.append(f"{path}:{number}: unknown label {label!r}")
        elif category not in CATEGORIES[label]:
            problems.append(f"{path}:{number}: category {category!r} is not a {label} category")
        if lang not in LANGS:
            problems.append(f"{path}:{number}: unknown lang {lang!r}")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{path}:{number}: empty text")
            continue
        key = " ".join(text.casefold().split())
        if key in seen:
            problems.append(f"{path}:{number}: duplicate of line {seen[key]}")
        seen.setdefault(key, number)
        records.append(record)
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    return records


def summarise(records: list[dict[str, str]]) -> str:
    """Counts per language x label, per label and per category, as a plain-text table."""
    labels = ("crisis", "concern", "none")
    by_lang = Counter((r["lang"], r["label"]) for r in records)
    langs = sorted({r["lang"] for r in records}, key=lambda lang: (lang != "en", "-" in lang, lang))
    lines = [f"{'lang':8} {'crisis':>7} {'concern':>8} {'none':>6} {'total':>6}"]
    for lang in langs:
        row = [by_lang[(lang, label)] for label in labels]
        lines.append(f"{lang:8} {row[0]:>7} {row[1]:>8} {row[2]:>6} {sum(row):>6}")
    totals = Counter(r["label"] for r in records)
    share = "  ".join(
        f"{label} {totals[label]} ({totals[label] / len(records):.1%})" for label in labels
    )
    row = [totals[label] for label in labels]
    lines += [f"{'all':8} {row[0]:>7} {row[1]:>8} {row[2]:>6} {len(records):>6}", share, ""]
    for label in labels:
        counts = Counter(r["category"] for r in records if r["label"] == label)
        lines.append(f"{label}: " + ", ".join(f"{c} {n}" for c, n in sorted(counts.items())))
    missing = []
    for lang in langs:
        have = {r["category"] for r in records if r["lang"] == lang}
        lacking = sorted(CRISIS - have)
        if lacking:
            missing.append(f"  {lang}: no {', '.join(lacking)}")
    lines.append(
        "crisis categories missing per language:"
        + ("\n" + "\n".join(missing) if missing else " none")
    )
    return "\n".join(lines)


def main() -> None:
    """Check each file named on the command line (default: test.jsonl) and print its summary."""
    paths = [Path(arg) for arg in sys.argv[1:]] or [Path(__file__).with_name("test.jsonl")]
    for path in paths:
        print(f"== {path}")
        print(summarise(check(path)))


if __name__ == "__main__":
    main()
