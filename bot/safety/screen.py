r"""The safety screen: `assess(text)` says whether a student's message shows crisis or concern.

Every variant of the text from `bot.safety.normalise.variants` is checked against every rule;
the most severe level any rule reaches wins. A rule fires when one of its patterns matches
and no `unless` pattern occurs near that match. Negated, third-party and informational
mentions are cancelled only by narrow `unless` patterns on crisis rules, and a concern rule
still catches most of them, so "I'm not suicidal, just tired" is a concern, never silence.

Speed: `bot.safety.rules.analyse` proves which literal words every match of a pattern must
contain, and where (common words too: they filter little, but they say where to look). One
pass of a trie regex over each variant finds where such words start; a pattern runs only if
all its required words are present, and then only at the few places a match could start
(where its first word starts, or just before a required word). Patterns with nothing
provable scan the text without their leading ``\b``, which lets the regex engine skip ahead
on the first letter; every hit is confirmed with the full pattern. Which patterns have all
their words present comes, on a long message, from one numpy pass (`RequirementTable`).
Tests check that this pre-filter never changes a result.

Then the learned model (`bot.safety.model`) may raise the level the rules reached; it never
lowers it (`Screen.assess`; `Screen.assess_rules` is the rules alone).
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, TypeAlias

from bot.safety.features import MIN_EVIDENCE, evidence_of, features_of_model_text, model_text
from bot.safety.lang import detect_language, screen_languages
from bot.safety.lang.prefilter import max_width
from bot.safety.model import MODEL_REASON, Model, Scores, best_sentence, default_model
from bot.safety.normalise import variants
from bot.safety.rules import (
    Level,
    Requirement,
    RequirementTable,
    Rule,
    analyse,
    informative,
    load_rules,
    severity,
    trie_regex,
)
from bot.safety.taxonomy import Category, family_of

__all__ = [
    "Assessment",
    "Screen",
    "assess",
    "default_screen",
    "set_default_screen",
]


@dataclass(frozen=True)
class Assessment:
    """The screen's verdict on one message.

    `level` is "none" < "concern" < "crisis". `categories` holds the taxonomy codes found
    (`bot.safety.taxonomy.Category`), most severe first; `reasons` the ids of every English rule
    that fired ("crisis.suicidal_ideation.wish_to_die") and "lang.<code>.<category>" for each
    language-pack finding, most severe first. `excerpt` is the sentence or sentences that carry
    the risk, for the student's mentors only (never logged); `language` the message's likely
    language, worked out only for a flagged message.
    """

    level: Level = "none"
    reasons: tuple[str, ...] = ()
    categories: tuple[Category, ...] = ()
    excerpt: str = ""
    language: str | None = None

    @property
    def severity(self) -> int:
        """0 for none, 1 for concern, 2 for crisis."""
        return severity(self.level)

    def at_least(self, level: Level) -> bool:
        """Whether this assessment is `level` or more severe."""
        return self.severity >= severity(level)

    @property
    def families(self) -> tuple[Category, ...]:
        """The top-level categories (the corpus's codes) behind `categories`, without repeats."""
        return tuple(dict.fromkeys(family_of(c) for c in self.categories))


NO_CONCERN: Final = Assessment()


@dataclass(frozen=True)
class _Pattern:
    rule: int  # index into Screen.rules
    full: re.Pattern[str]
    fast: re.Pattern[str]  # `full` without leading \b: same hits or more, found faster
    index: Requirement | None  # looked up in the anchor index
    others: tuple[Requirement, ...]  # must also be present
    lead: frozenset[str] | None  # every match starts with one of these words
    width: int | None  # the longest a match can be (None: unbounded)
    starts_word: bool  # every match starts at the start of a word
    order: int  # position in Screen._patterns: candidates are tried in rule-file order

    def matches(
        self,
        text: str,
        positions: dict[str, list[int]] | None,
        lead_starts: dict[frozenset[str], list[int]] | None = None,
    ) -> Iterator[re.Match[str]]:
        """`full.match` at every position where it matches, left to right.

        Matches may overlap: a rule fires if any of them survives its `unless` check, so
        none may be skipped. Given `positions` (where each anchor word starts in `text`),
        only the places a match can start are tried: where a lead word starts, or the
        window of characters before an indexed word that the pattern allows (one C-level
        `fast` search per window, not one `match` per place). Otherwise `fast` scans the
        whole text. `lead_starts` caches, for one `positions`, where each set of lead or
        indexed words starts (many patterns share theirs).
        """
        if positions is not None and self.lead is not None:
            starts = _starts_of(self.lead, positions, lead_starts)
            if starts and self.index is not None and self.index.hi is not None:
                # Every match also holds an indexed word `lo` to `hi` characters after its
                # start: a lead word with none at that distance cannot start one ("i" is
                # everywhere, "i ... pills" is not).
                anchors = _starts_of(self.index.words, positions, lead_starts)
                if len(starts) <= _BISECT_RATIO * len(anchors):
                    # Few lead words: look each one's nearest anchor up (no windows built).
                    lo, hi = self.index.lo, self.index.hi
                    kept = []
                    for start in starts:
                        at = bisect.bisect_left(anchors, start + lo)
                        if at < len(anchors) and anchors[at] <= start + hi:
                            kept.append(start)
                else:
                    # Lead words everywhere: keep those inside the windows before an anchor.
                    # Windows are sorted and disjoint.
                    kept = []
                    for first, last in self._windows(anchors):
                        kept.extend(
                            starts[
                                bisect.bisect_left(starts, first) : bisect.bisect_right(
                                    starts, last
                                )
                            ]
                        )
                starts = kept
            for start in starts:
                found = self.full.match(text, start)
                if found is not None:
                    yield found
            return
        if positions is not None and _bounded(self.index):
            assert self.index is not None
            anchors = _starts_of(self.index.words, positions, lead_starts)
            for first, last in self._windows(anchors):
                if self.width is None:
                    # Unbounded: a search could run on to the end of the text; try each
                    # place a match can start instead.
                    places: Iterable[int] = (
                        (m.start() for m in _WORD_START.finditer(text, first, last + 1))
                        if self.starts_word
                        else range(first, last + 1)
                    )
                    for start in places:
                        found = self.full.match(text, start)
                        if found is not None:
                            yield found
                    continue
                # A match starting by `last` ends by `last + width`; the margin leaves room
                # for its lookaheads. Every hit is confirmed on the whole text.
                stop = min(len(text), last + self.width + _LOOKAROUND_MARGIN)
                yield from self._scan(text, first, stop, last)
            return
        yield from self._scan(text, 0, len(text), len(text))

    def _scan(self, text: str, position: int, stop: int, last: int) -> Iterator[re.Match[str]]:
        """Every full match starting between `position` and `last`, found with `fast`."""
        while position <= last and (hit := self.fast.search(text, position, stop)) is not None:
            start = hit.start()
            if start > last:
                return
            confirmed = self.full.match(text, start)
            if confirmed is not None:
                yield confirmed
            position = start + 1

    def _windows(self, anchors: list[int]) -> list[tuple[int, int]]:
        """Merged ranges [first, last] of the places a match can start, from the index.

        `anchors`: where the indexed words start, sorted (so the ranges come out sorted).
        """
        assert self.index is not None and self.index.hi is not None
        low, high = self.index.lo, self.index.hi
        ranges = [(max(0, position - high), max(0, position - low)) for position in anchors]
        merged: list[tuple[int, int]] = []
        for first, last in ranges:
            if merged and first <= merged[-1][1] + 1:
                if last > merged[-1][1]:
                    merged[-1] = (merged[-1][0], last)
            else:
                merged.append((first, last))
        return merged


def _starts_of(
    words: frozenset[str],
    positions: dict[str, list[int]],
    cache: dict[frozenset[str], list[int]] | None,
) -> list[int]:
    """Where any of `words` starts, sorted; `cache` keeps it for one `positions`."""
    starts = cache.get(words) if cache is not None else None
    if starts is None:
        starts = sorted({p for word in words for p in positions.get(word, ())})
        if cache is not None:
            cache[words] = starts
    return starts


# Up to this many lead places per anchor, each lead place looks up its nearest anchor;
# beyond it, windows before each anchor are built once and the lead places cut out of them.
_BISECT_RATIO: Final = 4
# Room past a window's last possible match end for the lookaheads of a match there.
_LOOKAROUND_MARGIN: Final = 100


_WORD_START: Final = re.compile(r"(?<!\w)(?=\w)")
# Sentence ends in the original text (the excerpt is cut from what the student wrote).
_SENTENCES: Final = re.compile(r"(?<=[.!?;。！？])\s+|\n+")
_MAX_EXCERPT_SENTENCES: Final = 3
# The reason an assessment carries when frames lowered a crisis to concern.
FRAMED: Final = "frame.content"
# Content framing, over the decoded variant of one sentence. Narrow on purpose: a topic
# word alone ("my essay is due and i want to die") is not a frame; the risk must be the
# essay's subject ("an essay on"), a work's plot ("in the film", "the character"), quoted
# words of a song, or the news.
_WORK = (
    r"(?:film|movie|show|tv show|series|episode|season|book|novel|play|musical|opera|song|"
    r"album|poem|poetry|story|short story|fanfic|fan fiction|screenplay|script|comic|anime|"
    r"manga|documentary|podcast|game|campaign|chapter|scene|act \d|video|tiktok|audio|"
    r"article|report|news|headline|essay|dissertation|thesis|lecture|seminar|module|"
    r"assignment|coursework|presentation|paper|project|case study|workshop|training|"
    r"textbook|reading|exam|quiz|tutorial|lab|prompt|piece|portfolio|drama|theatre|lyrics?)"
)
_FRAME: Final = re.compile(
    rf"\b{_WORK}s? (?:\w{{1,20}} ){{0,2}}(?:is |was |are |were |im writing |i am writing )?"
    r"(?:on(?! (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|the \d|\d|"
    r"tomorrow|time|campus|teams|zoom|moodle|my way)\b)|about|covering|covers|covered|"
    r"regarding|into|where|in which|titled|called|ends with|opens with|starts with|has|had|"
    r"of|says|said|shows|showed|found|finds)\b"
    r"|\b(?:one|1) in (?:\w{1,10}|\d{1,3}) (?:students|people|young people|teens|adults)\b"
    r"|\b(?:research|studies|study|data|survey|evidence)\b (?:\w{1,20} ){0,2}"
    r"(?:shows?|suggests?|found|finds)\b"
    r"|\b(?:single|album|ep|track|song)\b (?:\w{1,20} ){0,2}(?:is |was )?(?:about|called)\b"
    r"|\b(?:song|lyrics?|chorus|verse|line|track|audio) (?:goes|says|is like|went)\b"
    r"|\b(?:pharmacology|toxicology|criminology|sociology|psychology|psych|nursing|law|"
    r"medicine|medical|forensic|social work|philosophy|ethics|history|biology|anthropology)"
    r"(?: \w{1,20}){0,2}:"
    r"|\b(?:song|track|audio|album|lyrics?|sound)\b.{0,40}\bby (?:the |a |an )?\w{1,20}"
    r"|\b(?:tiktok|trending|viral)\b.{0,12}\b(?:audio|sound|song)\b"
    r"|\b(?:topic|subject|theme|title|focus|question)s? (?:is|was|are|were)\b"
    r"|\b(?:learned|learnt|taught|learning|trained|training) (?:\w{1,20} )?how to "
    r"(?:assess|support|help|spot|recogni[sz]e|respond|talk|ask)\b|\bplacement\b"
    rf"|\b(?:in|at the end of|throughout|from|for) (?:the|this|that|my|our|his|her|their|a|an)"
    rf" (?:\w{{1,20}} ){{0,2}}{_WORK}s?\b"
    r"|\b(?:the|my|our|his|her|their|a|an|this) (?:\w{1,20}s )?(?:main |last |first |other )?"
    r"(?:character|protagonist|narrator|villain|antagonist|hero|heroine|singer|rapper|actor|"
    r"actress|soldier|king|queen|poet|author|writer|celebrity|footballer|president)s?\b"
    r" (?!(?:i|me|my)\b)"
    r"|\b(?:lyrics?|sings?|singing|sang|quote|quoted|news|article|headline|documentary|plot|"
    r"storyline|plotline|synopsis|"
    r"according to|reported|police (?:say|said)|rates? of|statistics|stats|writing prompt|"
    r"creative writing|hamlet|macbeth|ophelia|romeo|juliet|shakespeare|netflix|breaking bad)\b"
    r"|\b(?:writing|wrote|drafting|draft|reading|read|watching|watched|studying|studied|"
    r"researching|learned about|learning about|learnt about) (?:a |an |my |the |our )?"
    r"(?:\w{1,20} ){0,2}(?:story|poem|scene|song|novel|play|script|screenplay|chapter|"
    r"book|film|movie|show|essay|dissertation|thesis|paper|report|article|letter from)\b"
)
# ...unless the sentence ties it back to the student.
_OWNED: Final = re.compile(
    r"\b(?:i relate|relatable|same here|me too|like me|thats me|thats literally me|"
    r"i feel (?:the same|like that|that way|that too)|i want that|i wish (?:that was|it was) me|"
    r"hits (?:too )?close|about me|my own|i do that|i did that|ive done that|i know the feeling)\b"
)
# A frame that only names the news or an exam sets the scene: it does not turn the student's
# own words into content. "i saw the news and im going to kill myself tonight" is a crisis said
# in the first person; "the news said a student killed himself" is the news.
_SCENE: Final = re.compile(
    r"\b(?:news|headlines?|articles?|reports?|reported|exams?|quiz(?:zes)?|tests?|midterms?|"
    r"finals?)\b"
)
# First-person words in, or just before, what a crisis rule matched: the student speaking...
# ("me" only before a verb: in Hinglish "news me padha" is "read in the news").
_FIRST_PERSON: Final = re.compile(
    r"\b(?:i|im|ive|ill|id|my|myself|me (?:want|wanna|feel|realise|realize|think|wish))\b"
)
_LEAD_WORDS: Final = 4
# ...unless someone else's words are being reported ("the headline said i want to die").
_REPORTED: Final = re.compile(
    r"\b(?:says?|said|saying|sings?|sang|goes|went|wrote|writes|asks?|asked|quotes?|quoted|"
    r"titled|called)\b|[:\"\u201c\u201d]"
)
_MAX_EXCERPT: Final = 600
# `variants` of a piece of text, or a cache of it.
_Forms: TypeAlias = Callable[[str], tuple[str, ...]]


def _excerpt(
    text: str, matched: list[str], sentences: list[str], forms_of: _Forms = variants
) -> str:
    """The sentences of `text` that carry the risk, for a mentor to read first.

    `matched` holds what the deciding English rules matched (in a normalised variant), and
    `sentences` the sentences language packs named. A sentence is chosen when one of its own
    variants contains a match; a match that spans sentences falls back to the whole message.
    """
    chosen: dict[str, None] = dict.fromkeys(sentences)
    if matched:
        parts = [part.strip() for part in _SENTENCES.split(text) if part.strip()]
        if len(parts) == 1:
            chosen[parts[0]] = None
        else:
            for part in parts:
                if len(chosen) >= _MAX_EXCERPT_SENTENCES:
                    # Only the first few chosen are shown: later sentences change nothing,
                    # and decoding each of them was most of the cost on a long message.
                    break
                forms = forms_of(part)
                if any(hit in form for hit in matched for form in forms):
                    chosen[part] = None
    if not chosen:
        return _clip(text.strip())
    return _clip(" … ".join(list(chosen)[:_MAX_EXCERPT_SENTENCES]))


def _clip(text: str) -> str:
    """At most `_MAX_EXCERPT` characters, cut at a word where possible."""
    if len(text) <= _MAX_EXCERPT:
        return text
    cut = text.rfind(" ", 0, _MAX_EXCERPT - 1)
    return text[: cut if cut > _MAX_EXCERPT // 2 else _MAX_EXCERPT - 1] + "…"


# From this many distinct anchor words present, `_candidates` asks the requirement table
# (a fixed ~50 µs) instead of walking the patterns word by word (~1 µs a word).
_TABLE_FROM: Final = 56
# Windows wider than this are scanned in full instead: enumerating them costs more.
_MAX_WINDOW: Final = 320


def _bounded(requirement: Requirement | None) -> bool:
    return (
        requirement is not None
        and requirement.hi is not None
        and requirement.hi - requirement.lo <= _MAX_WINDOW
    )


class Screen:
    """A compiled set of rules. Build once (it precompiles everything) and reuse."""

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        languages: bool = True,
        frames: bool = True,
        learned: bool = True,
        model: Model | None = None,
    ) -> None:
        """Compile `rules` (from `load_rules`) for matching.

        With `languages` (the default) every message also goes through the language packs
        (`bot.safety.lang.screen_languages`) and the most severe result wins. With `frames`
        a crisis found only in sentences about content (an essay's topic, a film's plot, a
        song, the news: `_FRAME`) is lowered to concern. With `learned` the learned model
        (`model`, or the shipped one from `bot.safety.model`) may raise the rules' verdict,
        never lower it; `learned=False` screens with the rules alone.
        """
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.languages = languages
        self.frames = frames
        self.model: Model | None = (model or default_model()) if learned else None
        self._patterns: list[_Pattern] = []
        self._always: list[_Pattern] = []
        self._by_anchor: dict[str, list[_Pattern]] = {}
        requirements: list[tuple[Requirement, ...]] = []
        words: set[str] = set()
        for index, rule in enumerate(self.rules):
            for full in _split_alternatives(rule.patterns):
                # Common words count too: a pattern is tried only where its words occur,
                # instead of scanning the whole message (most of the cost on long text).
                found = analyse(full.pattern, common=True)
                # Index on uncommon words with a narrow window if there are some (matches
                # can then be looked for right before them), else on the rarest-looking.
                ranked = sorted(
                    found.requires,
                    key=lambda r: (
                        not informative(r.words),
                        not _bounded(r),
                        -min(map(len, r.words)),
                        len(r.words),
                    ),
                )
                chosen = ranked[0] if ranked else None
                pattern = _Pattern(
                    rule=index,
                    full=full,
                    fast=_without_leading_boundary(full),
                    index=chosen,
                    others=tuple(ranked[1:]),
                    lead=found.lead,
                    width=max_width(full.pattern),
                    starts_word=found.starts_word,
                    order=len(self._patterns),
                )
                self._patterns.append(pattern)
                requirements.append(found.requires)
                for required in found.requires:
                    words.update(required.words)
                words.update(found.lead or ())
                if chosen is None:
                    self._always.append(pattern)
                    continue
                for anchor in chosen.words:
                    self._by_anchor.setdefault(anchor, []).append(pattern)
        self._requirements = RequirementTable(requirements)
        # One pass of this regex finds every anchor word starting a word: \W before the
        # trie (texts get a leading space so the first word counts too).
        self._gate: re.Pattern[str] | None = (
            re.compile(r"\W(" + trie_regex(sorted(words)) + ")") if words else None
        )
        # The trie reports the longest anchor starting at a place; shorter anchors that
        # are prefixes of it start there too.
        self._prefixes: dict[str, tuple[str, ...]] = {
            word: tuple(w for w in words if word.startswith(w)) for word in words
        }

    def assess(self, text: str) -> Assessment:
        """Screen one message: the rules (`assess_rules`), then the model may raise the level."""
        if not isinstance(text, str):
            raise TypeError(f"assess() needs a str, not {type(text).__name__}")
        forms = variants(text)
        found = self.assess_rules(text, forms)
        if self.model is None:
            return found
        model_form = model_text(text, forms)
        if evidence_of(model_form) < MIN_EVIDENCE:
            return found  # too few words for a learned score; the rules have spoken
        scores = self.model.scores_of(features_of_model_text(model_form))
        return self._raised(found, scores, text)

    def _raised(self, found: Assessment, scores: Scores, text: str) -> Assessment:
        """`found`, raised to the model's level when that is higher; never lowered.

        A raise puts the model's nearest category first and "model.<level>" first among the
        reasons, and the excerpt becomes the sentence the model finds riskiest. A crisis the
        rules framed as content (lowered to concern) stays a concern: the model cannot tell
        a film's plot from a confession.
        """
        if self.model is None or severity(scores.level) <= found.severity:
            return found
        if scores.level == "crisis" and FRAMED in found.reasons:
            return found
        level = scores.level
        sentence = best_sentence(self.model, text, level)
        category = self.model.category(sentence, level)
        return Assessment(
            level=level,
            reasons=(f"{MODEL_REASON}.{level}", *found.reasons),
            categories=tuple(dict.fromkeys((category, *found.categories))),
            excerpt=_clip(sentence),
            language=found.language or detect_language(text),
        )

    def assess_rules(self, text: str, forms: tuple[str, ...] | None = None) -> Assessment:
        """Screen one message in English and every language pack; the most severe finding wins.

        The rules alone, without the learned model. `forms` are `variants(text)` if known.
        """
        if forms is None:
            forms = variants(text)
        # One message's sentences are decoded once, however many passes read them.
        cache: dict[str, tuple[str, ...]] = {text.strip(): forms}

        def forms_of(part: str) -> tuple[str, ...]:
            # Keyed without surrounding whitespace, which `variants` drops anyway: the
            # framing pass and the excerpt split the same sentences, one of them stripped.
            key = part.strip()
            found = cache.get(key)
            if found is None:
                found = cache[key] = variants(part)
            return found

        fired = self._fire(text, forms=forms)
        found = screen_languages(text) if self.languages else []
        if not fired and not found:
            return NO_CONCERN
        ordered = sorted((self.rules[i] for i in fired), key=lambda r: (-severity(r.level), r.id))
        level: Level = max((*(r.level for r in ordered), *(f.level for f in found)), key=severity)
        ranked: list[tuple[int, str, Category]] = [
            (severity(r.level), r.id, r.risk) for r in ordered
        ]
        ranked.extend((severity(f.level), f"lang.{f.lang}.{f.category}", f.category) for f in found)
        ranked.sort(key=lambda item: -item[0])  # stable: English rules first within a level
        if (
            level == "crisis"
            and self.frames
            and not any(f.level == "crisis" for f in found)
            and self._only_framed(
                text, forms_of, [fired[i] for i in fired if self.rules[i].level == "crisis"]
            )
        ):
            # Every crisis sentence is about a story, a song, a lecture or the news: a
            # mentor still hears of it (concern), without the emergency.
            level = "concern"
            ranked.insert(0, (1, FRAMED, Category.RISK_MENTIONED))
        matched = [fired[i] for i in fired if self.rules[i].level == level]
        return Assessment(
            level=level,
            reasons=tuple(reason for _, reason, _ in ranked),
            categories=tuple(dict.fromkeys(category for _, _, category in ranked)),
            excerpt=_excerpt(
                text, matched, [f.sentence for f in found if f.level == level], forms_of
            ),
            language=detect_language(text),
        )

    def _only_framed(
        self, text: str, forms_of: _Forms = variants, hints: Iterable[str] = ()
    ) -> bool:
        """Whether every sentence that is a crisis on its own is framed as content.

        Content: the topic of an essay, lecture or article, the plot of a film, book, play
        or song, a character's words, a story being written, the news. A sentence that also
        ties it back to the student ("i relate", "same", "like me") is not framed, and a
        crisis no single sentence carries (a match across sentences) never counts as framed.

        `hints` are what crisis rules matched in the whole message. They only choose the
        order sentences are checked in (the answer is the same in any order): an unframed
        sentence holding one is most likely a crisis on its own, which settles the answer
        without screening every other sentence of a long message.
        """
        if not any(_FRAME.search(form) for form in forms_of(text)):
            return False  # the common case: no content framing anywhere, no second pass
        hints = tuple(hints)
        framed_sentences: list[str] = []
        unframed: list[tuple[str, tuple[str, ...]]] = []
        for sentence in _SENTENCES.split(text):
            if not sentence.strip():
                continue
            forms = forms_of(sentence)
            if (
                any(_FRAME.search(form) for form in forms)
                and not any(_OWNED.search(form) for form in forms)
                and not self._said_in_first_person(forms)
            ):
                framed_sentences.append(sentence)
            elif any(hint in form for hint in hints for form in forms):
                if self._any_crisis(sentence, forms):
                    return False  # a crisis sentence that is not about content
            else:
                unframed.append((sentence, forms))
        if any(self._any_crisis(sentence, forms) for sentence, forms in unframed):
            return False  # a crisis sentence that is not about content
        # Every crisis sentence is framed; at least one must be a crisis at all.
        return any(self._any_crisis(sentence, forms_of(sentence)) for sentence in framed_sentences)

    def _said_in_first_person(self, forms: tuple[str, ...]) -> bool:
        """Whether a sentence framed only by the news or an exam says a crisis in first person.

        `forms` are the sentence's variants. A frame naming a work, a character, a song or a
        lecture's topic is left to frame; one that only names the news or an exam ("i saw the
        news and", "after this exam") does not make "im going to kill myself" content. First
        person that is reported ("the headline said i want to die") stays content.
        """
        for form in forms:
            frames = [found.group(0) for found in _FRAME.finditer(form)]
            if not frames or not all(_SCENE.search(frame) for frame in frames):
                continue
            for index, matched in self._fire(form, forms=(form,)).items():
                if self.rules[index].level != "crisis":
                    continue
                lead = " ".join(form[: form.find(matched)].split()[-_LEAD_WORDS:])
                spoken = _FIRST_PERSON.search(matched) or _FIRST_PERSON.search(lead)
                if spoken and not _REPORTED.search(lead):
                    return True
        return False

    def _any_crisis(self, text: str, forms: tuple[str, ...] | None = None) -> bool:
        """Whether some crisis rule fires on `text` (stops at the first)."""
        return bool(self._fire(text, crisis_only=True, forms=forms))

    def fired_rules(self, text: str, *, gated: bool = True) -> tuple[Rule, ...]:
        """Every rule that fires on any variant of `text`, in rule-file order.

        `gated=False` skips the anchor pre-filter and scans with every pattern: slower, and
        used by tests to prove the pre-filter never changes a result.
        """
        fired = self._fire(text, gated=gated)
        return tuple(self.rules[i] for i in sorted(fired))

    def _fire(
        self,
        text: str,
        *,
        gated: bool = True,
        crisis_only: bool = False,
        forms: tuple[str, ...] | None = None,
    ) -> dict[int, str]:
        """Rule index -> the text its first surviving match covered, for every rule that fires.

        With `crisis_only`, only crisis rules are tried and the first that fires ends the
        search (all the framing pass needs to know). `forms` are `variants(text)` if known.
        """
        if not isinstance(text, str):
            raise TypeError(f"assess() needs a str, not {type(text).__name__}")
        fired: dict[int, str] = {}
        # The variants of a message mostly hold the same anchor words (they differ in
        # punctuation or a decoded word): the same words give the same candidates.
        present: set[str] | None = None
        candidates: list[_Pattern] = self._patterns
        for variant in forms if forms is not None else variants(text):
            positions = self._positions(variant) if gated else None
            if positions is not None and positions.keys() != present:
                present = set(positions)
                candidates = self._candidates(positions)
            lead_starts: dict[frozenset[str], list[int]] = {}
            for pattern in candidates:
                if pattern.rule in fired:
                    continue
                rule = self.rules[pattern.rule]
                if crisis_only and rule.level != "crisis":
                    continue
                for match in pattern.matches(variant, positions, lead_starts):
                    if not rule.cancelled(variant, match.start(), match.end()):
                        fired[pattern.rule] = match.group(0)
                        if crisis_only:
                            return fired
                        break
        return fired

    def _positions(self, text: str) -> dict[str, list[int]]:
        """Where each anchor word starts in `text`."""
        if self._gate is None:
            return {}
        # Grouped by the word the trie found first (few distinct words, many hits), then
        # credited to its prefixes. hit.start() is where the word starts in `text`: the
        # \W before it sits on the space added in front, or on a character before the word.
        found: dict[str, list[int]] = {}
        for hit in self._gate.finditer(" " + text):
            word = hit.group(1)
            where = found.get(word)
            if where is None:
                found[word] = [hit.start()]
            else:
                where.append(hit.start())
        positions: dict[str, list[int]] = {}
        for word, starts in found.items():
            for prefix in self._prefixes[word]:
                known = positions.get(prefix)
                if known is None:
                    positions[prefix] = starts if prefix == word else list(starts)
                else:
                    known.extend(starts)
                    known.sort()
        return positions

    def _candidates(self, positions: dict[str, list[int]]) -> list[_Pattern]:
        """Patterns whose required words are all present, in rule order."""
        if len(positions) >= _TABLE_FROM:
            # Many words present (a long message): one numpy pass over every pattern's
            # requirements costs less than walking the patterns each word reaches.
            return [self._patterns[i] for i in self._requirements.satisfied(positions)]
        chosen: list[_Pattern] = list(self._always)
        present = positions.keys()
        seen: set[int] = set()
        for anchor in positions:
            for pattern in self._by_anchor.get(anchor, ()):
                # Common anchors reach a pattern many times over: check it once. The view's
                # isdisjoint walks the smaller side (a few words, not every anchor found).
                if pattern.order in seen:
                    continue
                seen.add(pattern.order)
                for other in pattern.others:  # a loop, not all(...): no generator per pattern
                    if present.isdisjoint(other.words):
                        break
                else:
                    chosen.append(pattern)
        # Rule-file order, as without the pre-filter: the first pattern of a rule to match
        # is the one whose words the excerpt shows.
        chosen.sort(key=lambda p: p.order)
        return chosen

    def check_examples(self) -> list[str]:
        """Problems with the rules' own examples, as readable lines.

        Lists examples that don't fire and counter-examples that do; empty when every rule
        behaves as documented (run it on extra rule files at start-up).
        """
        problems: list[str] = []
        for rule in self.rules:
            for example in rule.examples:
                if rule.id not in {r.id for r in self.fired_rules(example)}:
                    problems.append(f"{rule.id}: example does not fire: {example!r}")
            for counter in rule.counter_examples:
                if rule.id in {r.id for r in self.fired_rules(counter)}:
                    problems.append(f"{rule.id}: counter-example fires: {counter!r}")
        return problems


def _split_alternatives(patterns: Iterable[re.Pattern[str]]) -> Iterator[re.Pattern[str]]:
    """Each top-level alternative of each pattern as a pattern of its own.

    A rule fires if any alternative matches, so this changes nothing, but each part can then
    be pre-filtered on its own words ("insomnia|no sleep in days" need not scan for both).
    """
    for pattern in patterns:
        parts = _top_level_alternatives(pattern.pattern)
        if len(parts) == 1:
            yield pattern
            continue
        for part in parts:
            try:
                yield re.compile(part)
            except re.error:  # can't split safely (shouldn't happen): keep it whole
                yield pattern
                break


def _without_leading_boundary(pattern: re.Pattern[str]) -> re.Pattern[str]:
    r"""`pattern` with \b removed from the start of each top-level alternative.

    A pattern that starts with a literal lets the regex engine jump between candidate
    places; one that starts with \b makes it try every position. Dropping an assertion only
    ever adds hits, and each hit is confirmed with the full pattern.
    """
    parts = _top_level_alternatives(pattern.pattern)
    stripped = "|".join(part[2:] if part.startswith(r"\b") else part for part in parts)
    try:
        return re.compile(stripped)
    except re.error:
        return pattern


def _top_level_alternatives(source: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    in_class = False
    start = 0
    index = 0
    while index < len(source):
        ch = source[index]
        if ch == "\\":
            index += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if source.startswith("]", index + 1) or source.startswith("^]", index + 1):
                index += 2  # a "]" right after "[" or "[^" is a literal
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(source[start:index])
            start = index + 1
        index += 1
    parts.append(source[start:])
    return parts


_default: Screen | None = None
_default_lock = threading.Lock()


def default_screen() -> Screen:
    """The shared screen: the built-in rules, or whatever `set_default_screen` installed."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Screen(load_rules())
    return _default


def set_default_screen(screen: Screen | None) -> None:
    """Install the screen `assess` uses (e.g. with extra rule files); None restores the default."""
    global _default
    with _default_lock:
        _default = screen


def assess(text: str) -> Assessment:
    """Screen one student message with the shared screen. See `Screen.assess`."""
    return default_screen().assess(text)
