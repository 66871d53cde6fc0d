"""Crisis screening in languages other than English: one data file per language, one engine.

Each language pack (`packs/<code>.yaml`, format in `packs/README.md`) lists patterns per risk
category over that pack's normalised text. `screen_languages(text)` runs every pack whose
script appears in the message, whatever the person's language setting, because a student may
write in any language on any day. `detect_language(text)` names the message's most likely
language cheaply (scripts first, then common words for Latin text), for reports and replies;
it never decides what is screened.

Speed: a message is normalised once per normalisation setting, and each pack first runs one
trie-shaped search for the literal words its rules require (`prefilter.py`, read from the
patterns themselves); only the rules whose words occur are searched, each with its `unless`
patterns looked for in the same sentence. A rule whose literals are too short or common for
that search ("cut", "被") is still skipped when one search for them finds none.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import yaml

from bot.safety.lang.prefilter import (
    RuleFilter,
    Spans,
    build_filter,
    literals_in,
    max_width,
    trie,
)
from bot.safety.taxonomy import Category, RiskLevel, level_of

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
_ARABIC_FOLD: Final = str.maketrans({"\u0649": "\u064a", "\u0629": "\u0647", "\u0640": None})
_SPACE_BETWEEN_WIDE: Final = re.compile(
    r"(?<=[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]) (?=[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff])"
)


_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]")


def _drop_combining(found: re.Match[str]) -> str:
    return "" if unicodedata.combining(found.group(0)) else found.group(0)


# Below this length the regex's own pass costs no more than the vectorised test.
_VECTOR_MIN: Final = 500


def _may_stretch(text: str) -> bool:
    """False when no character other than a line break occurs three times in a row.

    `_STRETCHED` matches only there; most long text has no such run, and this vectorised
    test costs a fraction of the regex's pass with its back-reference at every position.
    Short text is left to the regex (True).
    """
    if len(text) < _VECTOR_MIN:
        return True
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    alike = (codes[:-2] == codes[1:-1]) & (codes[1:-1] == codes[2:]) & (codes[:-2] != 10)
    return bool(alike.any())


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
    # The longest a match can be (None: unbounded): lets a long message be searched only
    # around the rule's literal words.
    width: int | None = None


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
    rule_filter: RuleFilter

    def normalise(self, text: str) -> str:
        """The form this pack's patterns are written against."""
        return normalise(text, fold_accents=self.fold_accents, join_wide=self.join_wide)

    def findings(
        self,
        text: str,
        norm: str | None = None,
        candidates: dict[int, Spans] | None = None,
        sentence_norms: dict[tuple[bool, bool, str], str] | None = None,
    ) -> list[LangFinding]:
        """Every category this pack finds in `text`, crisis first (at most one per category).

        `norm`, when given, is `text` already normalised the way this pack normalises;
        `candidates`, when given, what `rule_filter.candidates(norm)` would return (found
        for several packs at once by `screen_languages`); `sentence_norms`, when given, a
        cache of normalised sentences shared by the packs screening one message.
        """
        if norm is None:
            norm = self.normalise(text)
        if not norm:
            return []
        if candidates is None:
            candidates = self.rule_filter.candidates(norm)
        if not candidates:
            return []
        found: dict[Category, LangFinding] = {}
        for level in ("crisis", "concern"):
            for index in sorted(candidates):
                rule = self.rules[index]
                if rule.level != level or rule.category in found:
                    continue
                hit = _surviving_match(rule, norm, candidates[index])
                if hit is not None:
                    found[rule.category] = LangFinding(
                        rule.category,
                        rule.level,
                        self.code,
                        _original_sentence(text, hit, self, sentence_norms),
                    )
        return list(found.values())


def normalise(text: str, *, fold_accents: bool, join_wide: bool) -> str:
    """NFKC, case-folded, no invisible characters or apostrophes, single spaces.

    Letters stretched three times or more become one ("nooooo" -> "no"). With `fold_accents`,
    diacritics go too (students often type without them), and Arabic ى, ة and the tatweel
    fold to ي, ه and nothing; with `join_wide`, spaces between Chinese or Japanese characters
    go ("想 死" -> "想死").
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _INVISIBLE.sub("", text)
    text = _APOSTROPHES.sub("", text)
    if fold_accents and not text.isascii():
        # Only non-ASCII characters can be combining marks: look at those alone (fast), and
        # ASCII text (most messages) has nothing at all to fold.
        text = _NON_ASCII.sub(_drop_combining, unicodedata.normalize("NFD", text))
        text = text.replace("ı", "i").replace("đ", "d").replace("ß", "ss")
        # Arabic spellings students mix freely: final ى for ي (Egypt), ة for ه, and the
        # tatweel that stretches a word ("مـــوت").
        text = text.translate(_ARABIC_FOLD)
    text = _SPACES.sub(" ", text).strip()
    if _may_stretch(text):
        text = _STRETCHED.sub(r"\1", text)
    if join_wide:
        text = _SPACE_BETWEEN_WIDE.sub("", text)
    return text


# Room past a window's end for the lookaheads of the last match in it.
_LOOKAROUND_MARGIN: Final = 100


def _surviving_match(rule: _Rule, norm: str, spans: Spans = None) -> re.Match[str] | None:
    """The first match of `rule` whose sentence holds none of its `unless` patterns.

    With the spans of the rule's required literals and a bounded rule, only windows around
    them are searched: every match contains one of those literals, so none is missed. A
    window's end can fake a word boundary or a lookahead, so each match found in a window is
    confirmed against the whole message.
    """
    windows = [(0, len(norm))]
    if spans is not None and rule.width is not None:
        windows = _windows(spans, rule.width, len(norm))
    for start, stop in windows:
        position = start
        while (hit := rule.pattern.search(norm, position, stop)) is not None:
            position = hit.start() + 1
            if stop < len(norm):
                confirmed = rule.pattern.match(norm, hit.start())
                if confirmed is None:
                    continue
                hit = confirmed
            if rule.unless is None or rule.unless.search(_sentence_around(norm, hit)) is None:
                return hit
    return None


def _windows(spans: Sequence[tuple[int, int]], width: int, size: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        low, high = max(0, start - width), min(size, stop + width + _LOOKAROUND_MARGIN)
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


@functools.lru_cache(maxsize=16)
def _sentence_ends(text: str) -> tuple[list[int], list[int]]:
    """Where each run of sentence-end characters in `text` starts, and where each ends.

    Worked out once per normalised message (cached): a long message has many matches to
    place, and scanning from its start for each one cost a pass per match.
    """
    starts: list[int] = []
    ends: list[int] = []
    for found in _SENTENCE_END.finditer(text):
        starts.append(found.start())
        ends.append(found.end())
    return starts, ends


def _sentence_around(text: str, hit: re.Match[str]) -> str:
    # The sentence starts after the last sentence end that begins before the hit (a run
    # reaching into the hit counts up to the hit's start, as a search stopping there sees it).
    run_starts, run_ends = _sentence_ends(text)
    before = bisect.bisect_left(run_starts, hit.start())
    start = min(run_ends[before - 1], hit.start()) if before else 0
    stop = _SENTENCE_END.search(text, hit.end())
    return text[start : stop.start() if stop else len(text)]


def _original_sentence(
    text: str,
    hit: re.Match[str],
    pack: LanguagePack,
    norms: dict[tuple[bool, bool, str], str] | None = None,
) -> str:
    """The sentence of the original text whose normalised form carries the match.

    `norms` caches normalised sentences by (fold_accents, join_wide, sentence): the packs
    that read a message alike look through the same sentences for their findings.
    """
    if norms is None:
        norms = {}
    sentences = _sentences_of(text)
    matched = hit.group(0)
    # Normalising keeps sentence ends, so the hit's sentence is usually the one with as many
    # ends before it: look there first, then outwards, rather than normalising every sentence.
    ends_before = bisect.bisect_left(_sentence_ends(hit.string)[0], hit.start())
    guess = min(ends_before, len(sentences) - 1)
    for step in range(len(sentences)):
        for index in {guess - step, guess + step}:
            if not 0 <= index < len(sentences):
                continue
            key = (pack.fold_accents, pack.join_wide, sentences[index])
            normalised = norms.get(key)
            if normalised is None:
                normalised = norms[key] = pack.normalise(sentences[index])
            if matched in normalised:
                return sentences[index]
    return text.strip()


@functools.lru_cache(maxsize=8)
def _sentences_of(text: str) -> tuple[str, ...]:
    """The non-empty sentences of `text`, stripped (kept for the packs screening one message)."""
    return tuple(s.strip() for s in _SENTENCE_END.split(text) if s.strip())


def scripts_of(text: str) -> frozenset[str]:
    """The scripts (`latin`, `han`, `kana`, `hangul`, ...) with at least one letter in `text`."""
    return frozenset(name for name, rx in _SCRIPT_RES.items() if rx.search(text))


def screen_languages(text: str, *, gated: bool = True) -> list[LangFinding]:
    """What every pack whose script appears in `text` finds, crisis findings first.

    `gated=False` skips the literal pre-filter and searches every rule of those packs over
    the whole text: slower, and used by tests to prove the pre-filter never changes a result.

    A pack reads only the sentences that hold a letter of its scripts (the whole message
    when every sentence does, the common case): in a message mixing languages, the Chinese
    pack need not search the English sentences, nor the Latin packs the Korean ones. Packs
    that read the same text the same way share one search for their literal words.
    """
    present = scripts_of(text)
    every = packs()
    by_pack: dict[int, list[LangFinding]] = {}
    spans: list[tuple[int, int]] | None = None
    sentence_norms: dict[tuple[bool, bool, str], str] = {}
    for group in _groups():
        lead = every[group.members[0]]
        if not lead.scripts & present:
            continue
        if spans is None:
            spans = _sentence_spans(text)
        part = _sentences_in(text, spans, _reads(lead.scripts))
        norm = lead.normalise(part)
        if not norm:
            continue
        shared = group.candidates(norm) if gated else {}
        for member in group.members:
            pack = every[member]
            candidates: dict[int, Spans] = dict.fromkeys(
                pack.rule_filter.always_in(norm) if gated else range(len(pack.rules))
            )
            candidates.update(shared.get(member, {}))
            if candidates:
                by_pack[member] = pack.findings(part, norm, candidates, sentence_norms)
    found = [finding for member in sorted(by_pack) for finding in by_pack[member]]
    found.sort(key=lambda f: f.level != "crisis")
    return found


@dataclass(frozen=True)
class _Group:
    """Packs that normalise alike and read the same scripts, with one literal search."""

    members: tuple[int, ...]  # indexes into packs()
    gate: re.Pattern[str] | None
    # literal -> (pack index, that pack's rules the literal names), prefixes credited
    by_literal: Mapping[str, tuple[tuple[int, frozenset[int]], ...]]

    def candidates(self, norm: str) -> dict[int, dict[int, Spans]]:
        """Pack index -> its rules whose literals occur in `norm`, with where they occur."""
        found: dict[int, dict[int, Spans]] = {}
        if self.gate is None:
            return found
        # A long message holds the same few literals many times: gather each one's places
        # first, then credit its rules once (the spans' order does not matter, `_windows`
        # sorts them).
        places: dict[str, list[tuple[int, int]]] = {}
        for first, last, literal in literals_in(self.gate, norm):
            where = places.get(literal)
            if where is None:
                places[literal] = [(first, last)]
            else:
                where.append((first, last))
        for literal, spans in places.items():
            for member, rules in self.by_literal[literal]:
                mine = found.setdefault(member, {})
                for index in rules:
                    known = mine.get(index)
                    if known is None:
                        mine[index] = list(spans)
                    else:
                        known.extend(spans)
        return found


@functools.cache
def _groups() -> tuple[_Group, ...]:
    """The packs grouped by how they read a message, each group with a joint literal search."""
    keyed: dict[tuple[bool, bool, frozenset[str]], list[int]] = {}
    every = packs()
    for index, pack in enumerate(every):
        keyed.setdefault((pack.fold_accents, pack.join_wide, pack.scripts), []).append(index)
    groups: list[_Group] = []
    for members in keyed.values():
        words = {w for m in members for w in every[m].rule_filter.rules_by_literal}
        by_literal: dict[str, tuple[tuple[int, frozenset[int]], ...]] = {}
        for word in words:
            credited: dict[int, set[int]] = {}
            for end in range(1, len(word) + 1):
                prefix = word[:end]
                for member in members:
                    rules = every[member].rule_filter.rules_by_literal.get(prefix)
                    if rules:
                        credited.setdefault(member, set()).update(rules)
            by_literal[word] = tuple((m, frozenset(r)) for m, r in sorted(credited.items()))
        gate = re.compile(trie(sorted(words))) if words else None
        groups.append(_Group(tuple(members), gate, by_literal))
    return tuple(groups)


# Japanese sentences may be all kanji ("自殺未遂"): a pack for kana reads Han sentences too.
_READS_ALSO: Final[dict[str, frozenset[str]]] = {"kana": frozenset({"han"})}


def _reads(scripts: frozenset[str]) -> frozenset[str]:
    """The scripts whose sentences a pack for `scripts` reads, once one of them is present."""
    return scripts.union(*(_READS_ALSO.get(script, frozenset()) for script in scripts))


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, its closing punctuation included."""
    spans: list[tuple[int, int]] = []
    start = 0
    for end in _SENTENCE_END.finditer(text):
        spans.append((start, end.end()))
        start = end.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _sentences_in(text: str, spans: list[tuple[int, int]], scripts: frozenset[str]) -> str:
    """The sentences of `text` holding a letter of `scripts`; runs of them kept as written.

    Runs that were apart are joined with a line break (a sentence end), so no pattern can
    match across the sentences left out.
    """
    keep = [False] * len(spans)
    starts = [start for start, _ in spans]
    for script in scripts:
        finder = _SCRIPT_RES[script]
        position = 0
        while (hit := finder.search(text, position)) is not None:
            index = bisect.bisect_right(starts, hit.start()) - 1
            keep[index] = True
            position = spans[index][1]
    if all(keep):
        return text
    runs: list[str] = []
    run_start: int | None = None
    for index, (start, end) in enumerate(spans):
        if keep[index] and run_start is None:
            run_start = start
        if run_start is not None and (not keep[index] or index == len(spans) - 1):
            runs.append(text[run_start : end if keep[index] else start])
            run_start = None
    return "\n".join(runs)


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


_DETECT_SAMPLE: Final = 1000


def detect_language(text: str) -> str:
    """The message's most likely language code ("en", "es", "hi-Latn", "zh", ...).

    The script with the most letters decides, except that any kana means Japanese. Latin text
    is scored by the common words of each Latin pack and English; ties go to English. Only
    the first 1,000 characters are read.
    """
    # A long message's language shows in its opening: counting all of it costs more.
    text = text[:_DETECT_SAMPLE]
    if text.isascii():
        # The common case: only Latin letters can be present, so the other scripts need no
        # counting (the same answer, without seven passes over the text).
        if not any(ch.isalpha() for ch in text):
            return "en"
    else:
        counts = {
            name: sum(len(run) for run in rx.findall(text))
            for name, rx in _SCRIPT_COUNT_RES.items()
        }
        if counts["kana"]:
            return "ja"
        script = max(counts, key=lambda name: counts[name])
        if counts[script] == 0:
            return "en"
        if script != "latin":
            return _SCRIPT_LANG[script]
    # Each distinct word once, with how often it occurs: the same scores, fewer lookups.
    words = Counter(
        w for w in _WORD.findall(normalise(text, fold_accents=True, join_wide=False)) if w.isascii()
    )
    codes, by_word = _stopword_index()
    scores = [0] * len(codes)
    for word, count in words.items():
        for slot in by_word.get(word, ()):
            scores[slot] += count
    # English first, then the packs in order; a later one must score higher to win.
    best, best_score = codes[0], scores[0]
    for code, score in zip(codes[1:], scores[1:], strict=True):
        if score > best_score:
            best, best_score = code, score
    return best


@functools.cache
def _stopword_index() -> tuple[tuple[str, ...], dict[str, tuple[int, ...]]]:
    """English and each Latin pack with stopwords, and word -> the slots listing it.

    One lookup per distinct word of a message instead of one per word per pack.
    """
    lists = [("en", _ENGLISH_STOPWORDS)] + [
        (pack.code, pack.stopwords)
        for pack in packs()
        if "latin" in pack.scripts and pack.stopwords
    ]
    by_word: dict[str, list[int]] = {}
    for slot, (_, stopwords) in enumerate(lists):
        for word in stopwords:
            by_word.setdefault(word, []).append(slot)
    return tuple(code for code, _ in lists), {w: tuple(s) for w, s in by_word.items()}


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
        entry_rules = _build_rules(where, entry, fragments)
        rules.extend(entry_rules)
        rule = entry_rules[0]
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
        rule_filter=build_filter(r.pattern.pattern for r in rules),
    )


def _build_rules(where: str, entry: Any, fragments: Mapping[str, str]) -> tuple[_Rule, ...]:
    """One compiled rule per pattern of the entry, sharing its category, level and `unless`.

    Kept apart, each pattern is searched only when its own literal words occur.
    """
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
        compiled = [re.compile(p) for p in patterns]
        unless_rx = re.compile("|".join(f"(?:{p})" for p in unless)) if unless else None
    except re.error as exc:
        raise PackError(f"{where}: bad pattern: {exc}") from exc
    return tuple(
        _Rule(
            category,
            "crisis" if level == "crisis" else "concern",
            pattern,
            unless_rx,
            max_width(pattern.pattern),
        )
        for pattern in compiled
    )


def _expand(pattern: str, fragments: Mapping[str, str]) -> str:
    """Replace `{name}` with `(?:fragment)`; other braces (`{1,3}`) are left alone."""

    def replace(found: re.Match[str]) -> str:
        name = found.group(1)
        return f"(?:{fragments[name]})" if name in fragments else found.group(0)

    return re.sub(r"\{([a-z_]+)\}", replace, pattern)


def _union(patterns: Iterable[re.Pattern[str]]) -> re.Pattern[str] | None:
    sources: Sequence[str] = [p.pattern for p in patterns]
    return re.compile("|".join(f"(?:{s})" for s in sources)) if sources else None
