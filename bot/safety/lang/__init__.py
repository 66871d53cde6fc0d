"""Crisis screening in languages other than English: one data file per language, one engine.

Each language pack (`packs/<code>.yaml`, format in `packs/README.md`) lists patterns per risk
category over that pack's normalised text. `screen_languages(text)` runs every pack whose
script appears in the message, whatever the person's language setting, because a student may
write in any language on any day. `detect_language(text)` names the message's most likely
language cheaply (scripts first, then common words for Latin text), for reports and replies;
it never decides what is screened.

Speed: each pack compiles its patterns per level into one alternation, searched once over
the whole normalised message. Only a hit (rare) is checked rule by rule, with each rule's
`unless` patterns looked for in the same sentence.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from bot.safety.taxonomy import Category, RiskLevel, level_of

with warnings.catch_warnings():
    # The stdlib's regex parser, to find the characters a pattern can start with; the
    # module is deprecated as a public name but typed, and the same code as re._parser.
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as _sre
    import sre_parse

__all__ = [
    "LangFinding",
    "LanguagePack",
    "PackError",
    "detect_language",
    "load_pack",
    "packs",
    "screen_languages",
    "scripts_of",
]

PACK_FOLDER: Final = Path(__file__).parent / "packs"

_SCRIPT_RANGES: Final[dict[str, str]] = {
    "latin": "a-zA-Z\u00c0-\u024f\u1e00-\u1eff",
    "han": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
    "kana": "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "hangul": "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af",
    "devanagari": "\u0900-\u097f",
    "arabic": "\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff",
    "cyrillic": "\u0400-\u04ff",
}
_SCRIPT_RES: Final = {name: re.compile(f"[{chars}]") for name, chars in _SCRIPT_RANGES.items()}
_SCRIPT_COUNT_RES: Final = {
    name: re.compile(f"[{chars}]+") for name, chars in _SCRIPT_RANGES.items()
}
SCRIPTS: Final = frozenset(_SCRIPT_RANGES)

# Sentence ends in the scripts we screen: Latin, CJK full stops, Devanagari danda, Arabic
# question mark and full stop, and line breaks.
_SENTENCE_END: Final = re.compile(r"[.!?;\n\u3002\uff01\uff1f\uff0e\u0964\u0965\u061f\u06d4]+")
_APOSTROPHES: Final = re.compile("['\u2019\u2018\u02bc`\u00b4]")
_INVISIBLE: Final = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_SPACES: Final = re.compile(r"\s+")
_STRETCHED: Final = re.compile(r"(.)\1{2,}")
_SPACE_BETWEEN_WIDE: Final = re.compile(
    r"(?<=[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]) (?=[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff])"
)


class PackError(ValueError):
    """A language pack file that cannot be used; says which file and entry."""


@dataclass(frozen=True)
class LangFinding:
    """One category a language pack found in a message, with the sentence that carries it."""

    category: Category
    level: RiskLevel
    lang: str
    sentence: str


@dataclass(frozen=True)
class _Rule:
    category: Category
    level: RiskLevel
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None


@dataclass(frozen=True)
class LanguagePack:
    """One language's screening data, compiled."""

    code: str
    name: str
    scripts: frozenset[str]
    fold_accents: bool
    join_wide: bool
    stopwords: frozenset[str]
    rules: tuple[_Rule, ...]
    any_crisis: re.Pattern[str] | None
    any_concern: re.Pattern[str] | None
    examples: tuple[tuple[str, Category], ...]
    counter_examples: tuple[str, ...]

    def normalise(self, text: str) -> str:
        """The form this pack's patterns are written against."""
        return normalise(text, fold_accents=self.fold_accents, join_wide=self.join_wide)

    def findings(self, text: str) -> list[LangFinding]:
        """Every category this pack finds in `text`, crisis first (at most one per category)."""
        return self.findings_in(text, self.normalise(text))

    def findings_in(self, text: str, norm: str) -> list[LangFinding]:
        """`findings` for a text already normalised the way this pack normalises."""
        if not norm:
            return []
        found: dict[Category, LangFinding] = {}
        ends = _SentenceEnds(norm)
        for level, prefilter in (("crisis", self.any_crisis), ("concern", self.any_concern)):
            if prefilter is None or prefilter.search(norm) is None:
                continue
            for rule in self.rules:
                if rule.level != level or rule.category in found:
                    continue
                hit = _surviving_match(rule, norm, ends)
                if hit is not None:
                    found[rule.category] = LangFinding(
                        rule.category, rule.level, self.code, _original_sentence(text, hit, self)
                    )
        return list(found.values())


def normalise(text: str, *, fold_accents: bool, join_wide: bool) -> str:
    """NFKC, case-folded, no invisible characters or apostrophes, single spaces.

    Letters stretched three times or more become one ("nooooo" -> "no"). With `fold_accents`,
    diacritics go too (students often type without them), and Arabic ى, ة and the tatweel
    fold to ي, ه and nothing; with `join_wide`, spaces between
    Chinese or Japanese characters go ("想 死" -> "想死").
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _INVISIBLE.sub("", text)
    text = _APOSTROPHES.sub("", text)
    if fold_accents and not text.isascii():  # ASCII has nothing to fold
        decomposed = unicodedata.normalize("NFD", text)
        if max(decomposed) <= "\uffff":  # one C call instead of a Python loop per character
            text = _combining_marks().sub("", decomposed)
        else:
            text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        text = text.replace("ı", "i").replace("đ", "d").replace("ß", "ss")
        # Arabic spellings students mix freely: final ى for ي (Egypt), ة for ه, and the
        # tatweel that stretches a word ("مـــوت").
        text = text.replace("\u0649", "\u064a").replace("\u0629", "\u0647").replace("\u0640", "")
    text = _SPACES.sub(" ", text).strip()
    text = _STRETCHED.sub(r"\1", text)
    if join_wide:
        text = _SPACE_BETWEEN_WIDE.sub("", text)
    return text


@functools.cache
def _combining_marks() -> re.Pattern[str]:
    """A class of every combining mark of the Basic Multilingual Plane (built on first use)."""
    marks = "".join(chr(cp) for cp in range(0x300, 0x10000) if unicodedata.combining(chr(cp)))
    return re.compile(f"[{re.escape(marks)}]")


def _surviving_match(rule: _Rule, norm: str, ends: _SentenceEnds) -> re.Match[str] | None:
    """The first match of `rule` that its `unless` does not cancel in the same sentence."""
    position = 0
    while (hit := rule.pattern.search(norm, position)) is not None:
        if rule.unless is None or rule.unless.search(ends.around(hit)) is None:
            return hit
        position = hit.start() + 1
    return None


class _SentenceEnds:
    """The sentence ends of a normalised text, found once and looked up by position."""

    def __init__(self, norm: str) -> None:
        self.norm = norm
        self._spans: list[tuple[int, int]] | None = None

    def around(self, hit: re.Match[str]) -> str:
        """The sentence of the normalised text that holds `hit`."""
        if self._spans is None:
            self._spans = [m.span() for m in _SENTENCE_END.finditer(self.norm)]
        spans, first, last = self._spans, hit.start(), hit.end()
        index = bisect.bisect_left(spans, (first,))  # spans before it begin before the hit
        start = min(spans[index - 1][1], first) if index else 0
        stop = len(self.norm)
        for begin, end in spans[max(index - 1, 0) :]:
            if end > last:
                stop = max(begin, last)
                break
        return self.norm[start:stop]


def _original_sentence(text: str, hit: re.Match[str], pack: LanguagePack) -> str:
    """The sentence of the original text whose normalised form carries the match.

    Normalising keeps sentence ends, so the hit's sentence usually has the same place among
    the original sentences: that one is checked first, then the others in order (normalising
    every sentence of a long message cost more than the whole screen).
    """
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    before = _SENTENCE_END.split(hit.string[: hit.start()])
    place = sum(1 for piece in before[:-1] if piece.strip())
    matched = hit.group(0)
    candidates = sentences[place : place + 1] + sentences
    for sentence in candidates:
        if matched in pack.normalise(sentence):
            return sentence
    return text.strip()


def scripts_of(text: str) -> frozenset[str]:
    """The scripts (`latin`, `han`, `kana`, `hangul`, ...) with at least one letter in `text`."""
    return frozenset(name for name, rx in _SCRIPT_RES.items() if rx.search(text))


def screen_languages(text: str) -> list[LangFinding]:
    """What every pack whose script appears in `text` finds, crisis findings first."""
    present = scripts_of(text)
    found: list[LangFinding] = []
    # Packs share a few normalisations (fold accents or not, join wide or not): each once.
    normalised: dict[tuple[bool, bool], str] = {}
    for pack in packs():
        if pack.scripts & present:
            key = (pack.fold_accents, pack.join_wide)
            if key not in normalised:
                normalised[key] = pack.normalise(text)
            found.extend(pack.findings_in(text, normalised[key]))
    found.sort(key=lambda f: f.level != "crisis")
    return found


_WORD: Final = re.compile(r"[^\W\d_]+")
_SCRIPT_LANG: Final[dict[str, str]] = {
    "kana": "ja",
    "hangul": "ko",
    "han": "zh",
    "devanagari": "hi",
    "arabic": "ar",
    "cyrillic": "ru",
}
_ENGLISH_STOPWORDS: Final = frozenset(
    [
        "i",
        "im",
        "me",
        "my",
        "you",
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "to",
        "of",
        "in",
        "on",
        "is",
        "are",
        "was",
        "it",
        "this",
        "that",
        "so",
        "just",
        "not",
        "dont",
        "cant",
        "with",
        "for",
        "have",
        "be",
        "do",
        "feel",
        "want",
        "like",
        "what",
        "how",
    ]
)


def detect_language(text: str) -> str:
    """The message's most likely language code ("en", "es", "hi-Latn", "zh", ...).

    The script with the most letters decides, except that any kana means Japanese. Latin text
    is scored by the common words of each Latin pack and English; ties go to English.
    """
    counts = {
        name: sum(len(run) for run in rx.findall(text)) for name, rx in _SCRIPT_COUNT_RES.items()
    }
    if counts["kana"]:
        return "ja"
    script = max(counts, key=lambda name: counts[name])
    if counts[script] == 0:
        return "en"
    if script != "latin":
        return _SCRIPT_LANG[script]
    words = [
        w for w in _WORD.findall(normalise(text, fold_accents=True, join_wide=False)) if w.isascii()
    ]
    best, best_score = "en", sum(w in _ENGLISH_STOPWORDS for w in words)
    for pack in packs():
        if "latin" in pack.scripts and pack.stopwords:
            score = sum(w in pack.stopwords for w in words)
            if score > best_score:
                best, best_score = pack.code, score
    return best


@functools.cache
def packs() -> tuple[LanguagePack, ...]:
    """Every pack shipped in `packs/`, loaded and compiled once."""
    return tuple(load_pack(path) for path in sorted(PACK_FOLDER.glob("*.yaml")))


def load_pack(path: Path) -> LanguagePack:
    """Read, check and compile one pack file; a bad file raises `PackError` naming the entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PackError(f"{path.name}: cannot read: {exc}") from exc
    if not isinstance(data, Mapping):
        raise PackError(f"{path.name}: expected a mapping at the top")
    code = str(data.get("lang", ""))
    scripts = frozenset(str(s) for s in data.get("scripts", ()))
    if not code or not scripts or not scripts <= SCRIPTS:
        raise PackError(f"{path.name}: needs `lang` and `scripts` from {sorted(SCRIPTS)}")
    fold = bool(data.get("fold_accents", False))
    join = bool(data.get("join_wide", False))
    fragments = {str(k): str(v) for k, v in (data.get("fragments") or {}).items()}
    rules: list[_Rule] = []
    examples: list[tuple[str, Category]] = []
    counters: list[str] = []
    for index, entry in enumerate(data.get("rules") or ()):
        where = f"{path.name}: rule {index + 1}"
        rule = _build_rule(where, entry, fragments)
        rules.append(rule)
        examples.extend((str(e), rule.category) for e in entry.get("examples") or ())
        counters.extend(str(e) for e in entry.get("counter_examples") or ())
    stopwords = frozenset(
        normalise(str(w), fold_accents=True, join_wide=False) for w in data.get("stopwords") or ()
    )
    return LanguagePack(
        code=code,
        name=str(data.get("name", code)),
        scripts=scripts,
        fold_accents=fold,
        join_wide=join,
        stopwords=stopwords,
        rules=tuple(rules),
        any_crisis=_union(r.pattern for r in rules if r.level == "crisis"),
        any_concern=_union(r.pattern for r in rules if r.level == "concern"),
        examples=tuple(examples),
        counter_examples=tuple(counters),
    )


def _build_rule(where: str, entry: Any, fragments: Mapping[str, str]) -> _Rule:
    if not isinstance(entry, Mapping):
        raise PackError(f"{where}: expected a mapping")
    try:
        category = Category(str(entry.get("category")))
    except ValueError as exc:
        raise PackError(f"{where}: unknown category {entry.get('category')!r}") from exc
    level = str(entry.get("level") or level_of(category))
    if level not in ("crisis", "concern"):
        raise PackError(f"{where}: level must be crisis or concern")
    patterns = [_expand(str(p), fragments) for p in entry.get("patterns") or ()]
    if not patterns:
        raise PackError(f"{where}: no patterns")
    unless = [_expand(str(p), fragments) for p in entry.get("unless") or ()]
    try:
        pattern = _compile_fast("|".join(f"(?:{p})" for p in patterns))
        unless_rx = re.compile("|".join(f"(?:{p})" for p in unless)) if unless else None
    except re.error as exc:
        raise PackError(f"{where}: bad pattern: {exc}") from exc
    return _Rule(category, "crisis" if level == "crisis" else "concern", pattern, unless_rx)


def _expand(pattern: str, fragments: Mapping[str, str]) -> str:
    """Replace `{name}` with `(?:fragment)`; other braces (`{1,3}`) are left alone."""

    def replace(found: re.Match[str]) -> str:
        name = found.group(1)
        return f"(?:{fragments[name]})" if name in fragments else found.group(0)

    return re.sub(r"\{([a-z_]+)\}", replace, pattern)


def _union(patterns: Iterable[re.Pattern[str]]) -> re.Pattern[str] | None:
    sources: Sequence[str] = [_without_lookahead(p.pattern) for p in patterns]
    return _compile_fast("|".join(f"(?:{s})" for s in sources)) if sources else None


# Speed: Python's regex search tries every branch of an alternation at every position of the
# text unless each branch starts with a plain literal, which grouped patterns never do; a
# 300-branch union then costs milliseconds on a long message. A leading lookahead for the
# characters a match can start with lets the search skip all other positions at the cost of
# one class test each. The class is a superset computed from the parsed pattern, so no
# match is lost; a pattern that can start with any character gets no lookahead.
_LOOKAHEAD_PREFIX: Final = "(?="


def _compile_fast(source: str) -> re.Pattern[str]:
    """`source` compiled behind a lookahead for the characters its matches start with."""
    compiled = re.compile(source)
    first = _first_class(source)
    if not first:
        return compiled
    # Latin patterns start at a word boundary: only word starts need the class test then.
    boundary = r"\b" if _at_word_start(sre_parse.parse(source).data) else ""
    return re.compile(f"{boundary}{_LOOKAHEAD_PREFIX}{first})(?:{source})")


def _without_lookahead(source: str) -> str:
    """The pattern as written, without what `_compile_fast` put in front of it."""
    if source.startswith((_LOOKAHEAD_PREFIX, r"\b" + _LOOKAHEAD_PREFIX)):
        return source[source.index(")(?:") + 4 : -1]
    return source


def _at_word_start(items: Sequence[tuple[Any, Any]]) -> bool:
    """True when every match of a parsed pattern starts at a word boundary (False if unsure)."""
    for op, av in items:
        if op is _sre.AT and av is _sre.AT_BOUNDARY:
            return True
        if op in _ZERO_WIDTH:
            continue
        if op is _sre.BRANCH:
            return all(_at_word_start(list(branch)) for branch in av[1])
        if op is _sre.SUBPATTERN and not (av[1] or av[2]):
            return _at_word_start(list(av[-1]))
        return False
    return False


def _first_class(source: str) -> str | None:
    """A character class holding every character a match of `source` can start with."""
    parsed = sre_parse.parse(source)
    if parsed.state.flags & (re.IGNORECASE | re.LOCALE):
        return None  # a global (?i) lets a literal match other characters
    found = _first_of(parsed.data)
    if found is None or found[1]:
        return None
    chars, _ = found
    parts = sorted(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in chars
    )
    return f"[{''.join(parts)}]" if parts else None


_ZERO_WIDTH: Final = frozenset([_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT])
_REPEATS: Final = frozenset([_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT])


def _first_of(items: Sequence[tuple[Any, Any]]) -> tuple[set[tuple[int, int]], bool] | None:
    """(first characters as code ranges, can match empty) for a parsed sequence; None: any."""
    chars: set[tuple[int, int]] = set()
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        if op is _sre.LITERAL:
            chars.add((av, av))
            return chars, False
        if op is _sre.IN:
            ranges = _class_ranges(av)
            if ranges is None:
                return None
            return chars | ranges, False
        if op is _sre.BRANCH:
            nullable = False
            for branch in av[1]:
                found = _first_of(list(branch))
                if found is None:
                    return None
                chars |= found[0]
                nullable = nullable or found[1]
            if not nullable:
                return chars, False
            continue
        if op is _sre.SUBPATTERN or op is _sre.ATOMIC_GROUP or op in _REPEATS:
            inner = av if op is _sre.ATOMIC_GROUP else av[-1]
            if op is _sre.SUBPATTERN and (av[1] or av[2]):
                return None  # inline flags such as (?i) change what a literal matches
            found = _first_of(list(inner))
            if found is None:
                return None
            chars |= found[0]
            if not found[1] and not (op in _REPEATS and av[0] == 0):
                return chars, False
            continue
        return None  # any character, a category, a back-reference: could start anywhere
    return chars, True


def _class_ranges(items: Sequence[tuple[Any, Any]]) -> set[tuple[int, int]] | None:
    ranges: set[tuple[int, int]] = set()
    for op, av in items:
        if op is _sre.LITERAL:
            ranges.add((av, av))
        elif op is _sre.RANGE:
            ranges.add((av[0], av[1]))
        else:
            return None  # negated classes and categories (\w, \d) match too much
    return ranges
