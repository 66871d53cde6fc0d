"""Which rules of a language pack can possibly match a message, found with one cheap search.

A big alternation of bounded-gap patterns costs Python's regex engine a try of every branch at
every position, about 0.3 ms per pack for a 280-character message. But nearly every pattern
contains a literal word that any match must contain ("suicid", "morir", "pastillas"). This
module reads those words out of the compiled patterns themselves (no list to keep in step by
hand, so a pattern can never be skipped by mistake: a rule with no such word always runs),
builds one trie-shaped regex of them per pack, and names the rules whose words occur.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

with warnings.catch_warnings():
    # The parser Python's `re` uses; its public alias is deprecated but it is the only way to
    # read a pattern's structure, and `re` itself keeps it.
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as _c
    import sre_parse as _p

# Literals with fewer letters than this (spaces and punctuation not counted) are too common
# to narrow anything: a rule that requires only such a literal is always run.
_GOOD_LENGTH: Final = 4
_PRODUCT_LIMIT: Final = 1024
_ZERO_WIDTH: Final = frozenset({_c.AT, _c.ASSERT, _c.ASSERT_NOT})
_REPEATS: Final = frozenset({_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT})


def required_literals(pattern: str) -> frozenset[str] | None:
    """Strings at least one of which is in every match of `pattern`; None if none can be named."""
    try:
        parsed = _p.parse(pattern)
    except re.error:
        return None
    found = _sequence(parsed.data)
    return frozenset(found) if found else None


def _sequence(items: Sequence[tuple[Any, Any]]) -> set[str] | None:
    """The best required set of a concatenation: every factor is required, so pick one.

    Runs of items that match a small finite set of strings ("cat", "(?:cat|rach) tay",
    "amig[oa]") are multiplied out, so short words join their neighbours into rarer literals;
    every run start is tried, so a long optional lead-in cannot crowd out the rare part.
    """
    factors: list[set[str]] = []
    exacts = [_exact(op, av) for op, av in items]
    for start, (op, av) in enumerate(items):
        if exacts[start] is None:
            sub = _item(op, av)
            if sub:
                factors.append(sub)
            continue
        product: set[str] = {""}
        for exact in exacts[start:]:
            if exact is None or len(product) * len(exact) > _PRODUCT_LIMIT:
                break
            product = {a + b for a in product for b in exact}
            if product != {""}:
                factors.append(product)
    if not factors:
        return None
    return max(factors, key=lambda f: (min(_strength(s) for s in f), -len(f)))


def _exact(op: Any, av: Any) -> set[str] | None:
    """Every string the item can match, when that is a small finite set; else None."""
    if op is _c.LITERAL:
        return {chr(av)}
    if op in _ZERO_WIDTH:
        # Lookarounds and \b consume nothing: the literals on either side are adjacent.
        return {""}
    if op is _c.IN:
        if all(kind is _c.LITERAL for kind, _ in av):
            return {chr(code) for _, code in av}
        return None
    if op is _c.SUBPATTERN:
        return _exact_sequence(list(av[-1]))
    if op is _c.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            sub = _exact_sequence(list(branch))
            if sub is None:
                return None
            union |= sub
        return union if len(union) <= _PRODUCT_LIMIT else None
    if op in _REPEATS:
        low, high, body = av
        if high > 1:
            return None
        sub = _exact_sequence(list(body))
        if sub is None:
            return None
        return sub | {""} if low == 0 else sub
    return None


def _exact_sequence(items: Sequence[tuple[Any, Any]]) -> set[str] | None:
    product: set[str] = {""}
    for op, av in items:
        exact = _exact(op, av)
        if exact is None or len(product) * len(exact) > _PRODUCT_LIMIT:
            return None
        product = {a + b for a in product for b in exact}
    return product


def _item(op: Any, av: Any) -> set[str] | None:
    """The required set of an item that is not a small finite set of strings."""
    if op is _c.SUBPATTERN:
        return _sequence(list(av[-1]))
    if op is _c.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            sub = _sequence(list(branch))
            if not sub:
                return None
            union |= sub
        return union
    if op in _REPEATS:
        low, _high, body = av
        return _sequence(list(body)) if low >= 1 else None
    return None


@functools.lru_cache(maxsize=65_536)
def _strength(literal: str) -> int:
    """How much a literal narrows a search: its letters, not its spaces or punctuation.

    A Chinese, Japanese or Korean character counts as two letters: one carries about as
    much as a short Latin syllable, so "想死" narrows a search as well as "morir" does.
    Cached: choosing among multiplied-out literals asks about the same strings again and
    again at start-up.
    """
    return sum((2 if ch >= "\u3040" else 1) for ch in literal if ch.isalnum())


# Where a rule may match: None for anywhere, else the spans of its literals in the message.
Spans = list[tuple[int, int]] | None


@dataclass(frozen=True)
class RuleFilter:
    """One search that names the rules (by index) worth running on a normalised message."""

    gate: re.Pattern[str] | None
    each_literal: re.Pattern[str] | None
    rules_by_literal: Mapping[str, frozenset[int]]
    always: frozenset[int]
    # Rule index -> a search for its required literals when they are too short or common
    # for `gate` ("cut", "svv", "被"): one C-level search, and a rule none of whose
    # literals occurs is not run at all (it could not match anyway).
    weak_gates: Mapping[int, re.Pattern[str]] = field(default_factory=dict)

    def always_in(self, norm: str) -> list[int]:
        """The rules `gate` cannot name that may still match `norm`, to be searched everywhere.

        Every rule in `always`, less those whose weak literals (`weak_gates`) are all absent.
        """
        weak = self.weak_gates
        return [
            index
            for index in self.always
            if (found := weak.get(index)) is None or found.search(norm) is not None
        ]

    def candidates(self, norm: str) -> dict[int, Spans]:
        """The rules whose required literal occurs in `norm`, with where it occurs.

        Rules with no strong required literal are candidates unless their weak literals are
        absent (`always_in`), to be searched everywhere.
        """
        found: dict[int, Spans] = dict.fromkeys(self.always_in(norm))
        if self.gate is None or self.each_literal is None:
            return found
        # Most messages hold none of the words: one plain search settles those cheaply.
        if self.gate.search(norm) is None:
            return found
        rules_by_literal = self.rules_by_literal
        for first, last, literal in literals_in(self.gate, norm):
            for index in rules_by_literal[literal]:
                spans = found.setdefault(index, [])
                if spans is not None:
                    spans.append((first, last))
        return found


def literals_in(gate: re.Pattern[str], norm: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, literal) for the longest literal of `gate` at every place one starts.

    The gate's own scan skips between likely first letters in C; a literal can also start
    inside one just found ("selbstmord" holds "mord"), so those few places are tried one by
    one.
    """
    for hit in gate.finditer(norm):
        start, end = hit.span()
        yield start, end, hit.group(0)
        for inner in range(start + 1, end):
            nested = gate.match(norm, inner)
            if nested is not None:
                yield inner, nested.end(), nested.group(0)


def max_width(pattern: str) -> int | None:
    """The most characters a match of `pattern` can span, or None when unbounded."""
    try:
        high = _p.parse(pattern).getwidth()[1]
    except re.error:
        return None
    return int(high) if high < _c.MAXREPEAT else None


def build_filter(patterns: Iterable[str]) -> RuleFilter:
    """A filter over rules given by their pattern sources, in rule order."""
    by_literal: dict[str, set[int]] = {}
    always: set[int] = set()
    weak_gates: dict[int, re.Pattern[str]] = {}
    for index, source in enumerate(patterns):
        literals = required_literals(source)
        if literals is None or min(_strength(s) for s in literals) < _GOOD_LENGTH:
            always.add(index)
            if literals and all(literals):
                weak_gates[index] = re.compile(_trie(sorted(literals)))
            continue
        for literal in literals:
            by_literal.setdefault(literal, set()).add(index)
    if not by_literal:
        return RuleFilter(None, None, {}, frozenset(always), weak_gates)
    # At each position the trie takes the longest literal; every shorter literal that is a
    # prefix of it is also there, so its rules are credited too.
    # Looked up prefix by prefix (not every literal against every other): a pack has
    # thousands of literals, and the pairwise scan took minutes at start-up.
    closed = {
        literal: frozenset(
            i for end in range(1, len(literal) + 1) for i in by_literal.get(literal[:end], ())
        )
        for literal in by_literal
    }
    trie = _trie(sorted(by_literal))
    # The lookahead reports the longest literal at every position, overlapping ones included.
    each = re.compile(f"(?=({trie}))")
    return RuleFilter(re.compile(trie), each, closed, frozenset(always), weak_gates)


def trie(words: Sequence[str]) -> str:
    """A regex matching exactly `words`, longest first at each position, shaped as a trie."""
    return _trie(words)


def _trie(words: Sequence[str]) -> str:
    """A regex matching exactly `words`, longest first at each position, shaped as a trie."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _emit(root)


def _emit(node: Mapping[str, Any]) -> str:
    branches = [re.escape(ch) + _emit(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" in node:
        return f"(?:{body})?"
    return body
