r"""Safety rules: loading and validating the YAML rule files, and compiling them for matching.

A rule file is a mapping with an optional ``fragments`` mapping (named regex pieces, used in
patterns as ``{{name}}``) and a ``rules`` list. Each rule::

    - id: crisis.self_harm.cutting      # <level>.<category>.<name>, unique across all files
      level: crisis                     # crisis | concern
      category: self_harm
      risk: self_harm                   # optional: the taxonomy code (bot/safety/taxonomy.py)
                                        # alerts show; defaults to `category` when that is one
      description: optional free text for programme staff
      patterns:                         # regexes over normalised text; each starts with \b
        - '\bcutting again\b'
      unless:                           # optional: benign context that cancels a match if
        - '\bcutting (?:class|corners)'   # found within `unless_window` characters of it,
      unless_window: 60                 # in the same sentence (default 60)
      examples: [i started cutting again]    # must make this rule fire (tested)
      counter_examples: [cutting class again]  # must not make this rule fire (tested)

Patterns see text after `bot.safety.normalise`: lower case, no accents, no apostrophes
("im", "dont"), single spaces. They must be lower case and start with ``\b`` (or ``^`` to
match the whole message) so they cannot fire inside another word. Nested unbounded repeats
such as ``(a+)+`` are rejected because they can backtrack catastrophically; prefer bounded
gaps such as ``(?:\w{1,30} ){0,3}``, which also keep long messages fast. An ``unless``
applies to every pattern of its rule, so a pattern needing its own exceptions gets its own
rule. Extra files may use the built-in file's fragments (``{{self}}``, ``{{kill}}``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, cast

import numpy as np
import yaml

from bot.safety.taxonomy import Category, as_category

Level: TypeAlias = Literal["none", "concern", "crisis"]
RuleLevel: TypeAlias = Literal["concern", "crisis"]
LEVELS: Final[tuple[Level, ...]] = ("none", "concern", "crisis")

BUILTIN_RULES: Final = "rules.yaml"
DEFAULT_UNLESS_WINDOW: Final = 60
MAX_UNLESS_WINDOW: Final = 500

_ID = re.compile(r"(crisis|concern)\.([a-z0-9_]+)\.[a-z0-9_]+")
_CATEGORY = re.compile(r"[a-z0-9_]+")
_FRAGMENT_NAME = re.compile(r"[a-z0-9_]+")
_FRAGMENT_REF = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_RULE_KEYS: Final = frozenset(
    {
        "id",
        "level",
        "category",
        "risk",
        "description",
        "patterns",
        "unless",
        "unless_window",
        "examples",
        "counter_examples",
    }
)
_FILE_KEYS: Final = frozenset({"version", "fragments", "rules"})


def severity(level: Level) -> int:
    """Rank of a level: none 0 < concern 1 < crisis 2."""
    return LEVELS.index(level)


class RuleFileError(ValueError):
    """A rule file that cannot be used, naming the file and (where known) the rule."""

    def __init__(self, path: str, message: str, rule_id: str | None = None) -> None:
        self.path = path
        self.rule_id = rule_id
        self.message = message
        where = f"{path}: rule {rule_id!r}" if rule_id else path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Rule:
    """One compiled rule. Build with `load_rules`, not by hand."""

    id: str
    level: RuleLevel
    category: str
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...] = ()
    unless_window: int = DEFAULT_UNLESS_WINDOW
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    description: str = ""
    source: str = ""
    risk: Category = Category.OTHER_CONCERN

    def cancelled(self, text: str, start: int, end: int) -> bool:
        """Whether an `unless` pattern occurs near the match text[start:end].

        The context is the match plus `unless_window` characters either side, cut at the
        nearest sentence end (. ! ? ;) so benign words in another sentence don't count.
        """
        if not self.unless:
            return False
        lo = max(0, start - self.unless_window)
        hi = min(len(text), end + self.unless_window)
        before = text[lo:start]
        cut = max(before.rfind(ch) for ch in ".!?;")
        if cut >= 0:
            lo += cut + 1
        after = text[end:hi]
        cuts = [i for i in (after.find(ch) for ch in ".!?;") if i >= 0]
        if cuts:
            hi = end + min(cuts)
        context = text[lo:hi]
        return any(pattern.search(context) for pattern in self.unless)


def builtin_rules_path() -> Path:
    """Where the shipped rule file lives."""
    return Path(str(resources.files("bot.safety").joinpath(BUILTIN_RULES)))


def load_rules(
    paths: Iterable[str | PathLike[str]] = (), *, include_builtin: bool = True
) -> tuple[Rule, ...]:
    """Load the built-in rules (unless `include_builtin` is false) plus extra rule files.

    Extra files may use the built-in file's fragments. Raises `RuleFileError` naming the file
    and rule for anything malformed: unreadable file, bad YAML, unknown or missing keys,
    duplicate ids, invalid or unsafe regexes.
    """
    files: list[Path] = [builtin_rules_path()] if include_builtin else []
    files.extend(Path(p) for p in paths)
    fragments: dict[str, str] = {}
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in files:
        for rule in _load_file(path, fragments):
            if rule.id in seen:
                raise RuleFileError(
                    str(path), f"duplicate rule id (first defined in {seen[rule.id]})", rule.id
                )
            seen[rule.id] = str(path)
            rules.append(rule)
    return tuple(rules)


def _load_file(path: Path, fragments: dict[str, str]) -> list[Rule]:
    name = str(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(name, f"cannot read rule file: {exc}") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise RuleFileError(name, f"not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise RuleFileError(name, "expected a mapping with a 'rules' list at the top level")
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise RuleFileError(name, f"unknown top-level keys {sorted(map(str, unknown))}")
    own = data.get("fragments") or {}
    if not isinstance(own, Mapping):
        raise RuleFileError(name, "'fragments' must be a mapping of name to regex")
    for key, value in own.items():
        if not isinstance(key, str) or not _FRAGMENT_NAME.fullmatch(key):
            raise RuleFileError(name, f"fragment name {key!r} must be [a-z0-9_]+")
        if not isinstance(value, str) or not value:
            raise RuleFileError(name, f"fragment {key!r} must be a non-empty string")
        if key in fragments:
            raise RuleFileError(name, f"fragment {key!r} is already defined")
        fragments[key] = value
    entries = data.get("rules")
    if not isinstance(entries, list):
        raise RuleFileError(name, "'rules' must be a list")
    return [_build_rule(name, index, entry, fragments) for index, entry in enumerate(entries)]


def _build_rule(path: str, index: int, entry: object, fragments: Mapping[str, str]) -> Rule:
    if not isinstance(entry, Mapping):
        raise RuleFileError(path, f"rule #{index + 1} must be a mapping")
    raw_id = entry.get("id")
    if not isinstance(raw_id, str) or not raw_id:
        raise RuleFileError(path, f"rule #{index + 1} has no 'id'")
    rule_id = raw_id

    def fail(message: str) -> RuleFileError:
        return RuleFileError(path, message, rule_id)

    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise fail(f"unknown keys {sorted(map(str, unknown))}; allowed: {sorted(_RULE_KEYS)}")
    level = entry.get("level")
    if level not in ("crisis", "concern"):
        raise fail(f"'level' must be crisis or concern, not {level!r}")
    category = entry.get("category")
    if not isinstance(category, str) or not _CATEGORY.fullmatch(category):
        raise fail(f"'category' must match [a-z0-9_]+, not {category!r}")
    id_match = _ID.fullmatch(rule_id)
    if not id_match or id_match.group(1) != level or id_match.group(2) != category:
        raise fail(f"'id' must look like {level}.{category}.<name> (lower case, digits, _)")
    risk_code = entry.get("risk", category)
    if not isinstance(risk_code, str):
        raise fail("'risk' must be a category code from bot/safety/taxonomy.py")
    if "risk" in entry and risk_code not in set(Category):
        raise fail(f"'risk' {risk_code!r} is not a code in bot/safety/taxonomy.py")
    risk = as_category(risk_code, cast(RuleLevel, level))
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise fail("'description' must be a string")
    window = entry.get("unless_window", DEFAULT_UNLESS_WINDOW)
    if not isinstance(window, int) or isinstance(window, bool):
        raise fail("'unless_window' must be a whole number of characters")
    if not 0 <= window <= MAX_UNLESS_WINDOW:
        raise fail(f"'unless_window' must be between 0 and {MAX_UNLESS_WINDOW}")
    patterns = _strings(entry, "patterns", fail, required=True)
    unless = _strings(entry, "unless", fail, required=False)
    examples = _strings(entry, "examples", fail, required=True)
    counter_examples = _strings(entry, "counter_examples", fail, required=False)
    return Rule(
        id=rule_id,
        level=cast(RuleLevel, level),
        category=category,
        patterns=tuple(_compile(p, fragments, fail, anchored=True) for p in patterns),
        unless=tuple(_compile(p, fragments, fail, anchored=False) for p in unless),
        unless_window=window,
        examples=examples,
        counter_examples=counter_examples,
        description=description,
        source=path,
        risk=risk,
    )


def _strings(entry: Mapping[str, Any], key: str, fail: Any, *, required: bool) -> tuple[str, ...]:
    value = entry.get(key)
    if value is None:
        if required:
            raise fail(f"'{key}' is required (a non-empty list of strings)")
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise fail(f"'{key}' must be a list of non-empty strings")
    if required and not value:
        raise fail(f"'{key}' must not be empty")
    return tuple(value)


def expand_fragments(pattern: str, fragments: Mapping[str, str]) -> str:
    """Replace ``{{name}}`` with the named fragment in a non-capturing group (nesting allowed)."""
    for _ in range(10):
        if not _FRAGMENT_REF.search(pattern):
            return pattern

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in fragments:
                raise KeyError(name)
            return f"(?:{fragments[name]})"

        pattern = _FRAGMENT_REF.sub(substitute, pattern)
    raise RecursionError("fragments nest more than 10 deep (a fragment refers to itself?)")


def _compile(
    source: str, fragments: Mapping[str, str], fail: Any, *, anchored: bool
) -> re.Pattern[str]:
    try:
        pattern = expand_fragments(source, fragments)
    except KeyError as exc:
        raise fail(f"pattern {source!r} uses unknown fragment {{{{{exc.args[0]}}}}}") from None
    except RecursionError as exc:
        raise fail(f"pattern {source!r}: {exc}") from None
    if re.search(r"[A-Z]", _ESCAPE.sub("", pattern)):
        raise fail(f"pattern {source!r} has upper-case letters; text is lower-cased first")
    if anchored and not pattern.startswith((r"\b", "^")):
        raise fail(
            f"pattern {source!r} must start with \\b (or ^ for the whole message) so it "
            "cannot match inside a word"
        )
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise fail(f"pattern {source!r} is not a valid regex: {exc}") from None
    try:
        tree = _parse(pattern)
    except _Unsupported:
        tree = None  # syntax the analyser doesn't know: skip the extra checks, still usable
    if tree is not None and _nested_unbounded(tree, inside=False):
        raise fail(
            f"pattern {source!r} nests unbounded repeats (like (a+)+), which can backtrack "
            "catastrophically; use a bounded repeat such as {0,3}"
        )
    return compiled


# --- Regex analysis -------------------------------------------------------------------------
# A small parser for the regex syntax rules use, to find literal words every match must start
# with a word at ("anchors"). The screen skips a pattern outright when none of its anchors is
# in the text, which keeps a 4,000-character message fast. Anything the parser doesn't
# understand makes the pattern "always run": the analysis can only ever skip work, never
# change what matches.

_Node: TypeAlias = tuple[Any, ...]
# ("lit", ch) | ("any", nonword: bool) | ("at", kind) | ("group", [[node, ...], ...])
# | ("repeat", node, min, max | None)

_QUANTIFIER = re.compile(r"\{(?=,?\d)(\d*)(?:(,)(\d*))?\}")
_WORD = re.compile(r"\w")


class _Unsupported(Exception):
    pass


def _parse(pattern: str) -> list[list[_Node]]:
    alternatives, index = _parse_alternatives(pattern, 0)
    if index != len(pattern):
        raise _Unsupported
    return alternatives


def _parse_alternatives(p: str, i: int) -> tuple[list[list[_Node]], int]:
    alternatives: list[list[_Node]] = []
    sequence: list[_Node] = []
    while i < len(p) and p[i] != ")":
        if p[i] == "|":
            alternatives.append(sequence)
            sequence = []
            i += 1
            continue
        node, i = _parse_atom(p, i)
        node, i = _parse_quantifier(p, i, node)
        sequence.append(node)
    alternatives.append(sequence)
    return alternatives, i


def _parse_atom(p: str, i: int) -> tuple[_Node, int]:
    ch = p[i]
    if ch == "(":
        if p.startswith("(?:", i):
            inner, j = _parse_alternatives(p, i + 3)
        elif p.startswith(("(?=", "(?!"), i) or p.startswith(("(?<=", "(?<!"), i):
            start = i + (4 if p[i + 2] == "<" else 3)
            _, j = _parse_alternatives(p, start)
            if j >= len(p):
                raise _Unsupported
            return ("at", "look"), j + 1
        elif p.startswith("(?P<", i):
            close = p.find(">", i)
            if close < 0:
                raise _Unsupported
            inner, j = _parse_alternatives(p, close + 1)
        elif p.startswith("(?", i):
            raise _Unsupported  # flags, comments, conditionals, named backreferences
        else:
            inner, j = _parse_alternatives(p, i + 1)
        if j >= len(p):
            raise _Unsupported
        return ("group", inner), j + 1
    if ch == "[":
        return _parse_class(p, i)
    if ch == ".":
        return ("any", False), i + 1
    if ch == "^":
        return ("at", "start"), i + 1
    if ch == "$":
        return ("at", "end"), i + 1
    if ch == "\\":
        if i + 1 >= len(p):
            raise _Unsupported
        code = p[i + 1]
        if code == "b":
            return ("at", "boundary"), i + 2
        if code in "BAZ":
            return ("at", "other"), i + 2
        if code in "sW":
            return ("any", True), i + 2
        if code in "wdSD":
            return ("any", False), i + 2
        if code in "ntrfv":
            return ("lit", {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}[code]), i + 2
        if code.isalnum():
            raise _Unsupported  # backreferences, \x.., \u...., \N{...}
        return ("lit", code), i + 2
    if ch in "*+?{":
        if ch == "{" and not _QUANTIFIER.match(p, i):
            return ("lit", "{"), i + 1
        raise _Unsupported
    return ("lit", ch), i + 1


def _parse_class(p: str, i: int) -> tuple[_Node, int]:
    j = i + 1
    negated = j < len(p) and p[j] == "^"
    if negated:
        j += 1
    nonword = not negated
    first = True
    while j < len(p) and (p[j] != "]" or first):
        first = False
        if p[j] == "\\":
            if j + 1 >= len(p):
                raise _Unsupported
            code = p[j + 1]
            if code.isalnum() and code not in "sW":
                nonword = False
            j += 2
            continue
        if p[j] == "-" and j + 1 < len(p) and p[j + 1] != "]" and j > i + 1:
            nonword = False  # a range: assume it may include word characters
        elif _WORD.match(p[j]):
            nonword = False
        j += 1
    if j >= len(p):
        raise _Unsupported
    return ("any", nonword), j + 1


def _parse_quantifier(p: str, i: int, node: _Node) -> tuple[_Node, int]:
    if i >= len(p):
        return node, i
    ch = p[i]
    if ch in "*+?":
        low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
        i += 1
    elif ch == "{" and (m := _QUANTIFIER.match(p, i)):
        low = int(m.group(1) or 0)
        # "{m}" is exactly m; "{m,}" is unbounded; "{m,n}" is m to n.
        high = (int(m.group(3)) if m.group(3) else None) if m.group(2) else low
        i = m.end()
    else:
        return node, i
    if i < len(p) and p[i] in "?+":  # lazy or possessive: same language
        i += 1
    if i < len(p) and p[i] in "*+?{" and (p[i] != "{" or _QUANTIFIER.match(p, i)):
        raise _Unsupported
    return ("repeat", node, low, high), i


def _nested_unbounded(alternatives: list[list[_Node]], *, inside: bool) -> bool:
    return any(_node_nested(node, inside) for seq in alternatives for node in seq)


def _node_nested(node: _Node, inside: bool) -> bool:
    if node[0] == "group":
        return _nested_unbounded(node[1], inside=inside)
    if node[0] == "repeat":
        unbounded = node[3] is None
        if unbounded and inside:
            return True
        return _node_nested(node[1], inside or unbounded)
    return False


# Words so common in student messages that checking for them filters nothing: anchors on
# them are left out of the pre-filter (the pattern still has to match in full).
_COMMON_TEXT = """
    a about after again all also am an and any are as at back be because been before being
    but by can cant could day did didnt do does dont down even ever every for from get go
    going gonna got had has have he her here him his how i if im in into is it its just
    know last like ll make me more most much my need never next no not now of off on one
    only or other our out over really right said say see she should so some still than
    that the their them then there they thing things think this time to today too up us
    very want wanna was way we week well were what when where which who why will with
    would yeah yes you your s t d ive id
    class classes home tonight lecture lectures good room work friend friends phone notes
    night message school uni week weekend people help feel feeling tired ok okay sorry
    every need start late fine great please thanks exam exams
"""
COMMON_WORDS: Final = frozenset(_COMMON_TEXT.split())


def _informative(words: frozenset[str]) -> bool:
    """Words worth looking for: none common and none too short.

    Anchors match word prefixes, so "sh" would match every "she" and "should".
    """
    return bool(words) and not words & COMMON_WORDS and all(map(_specific, words))


def _any_words(words: frozenset[str]) -> bool:
    """Words to look for even if common: any non-empty set of non-empty words."""
    return bool(words) and all(words)


def informative(words: frozenset[str]) -> bool:
    """Whether `words` are worth looking for on their own (see `_informative`)."""
    return _informative(words)


def _specific(word: str) -> bool:
    # Two letters are fine when no common word starts with them ("od"), not otherwise ("sh").
    if len(word) >= 3:
        return True
    return len(word) == 2 and not any(common.startswith(word) for common in COMMON_WORDS)


@dataclass(frozen=True)
class Requirement:
    """Some word of `words` starts a word inside every match.

    It starts `lo` to `hi` characters after the match starts (`hi` None: unbounded).
    """

    words: frozenset[str]
    lo: int
    hi: int | None


@dataclass(frozen=True)
class Anchors:
    """What `analyse` proved about a pattern, for the screen's pre-filter.

    `requires`: requirements whose words are all uncommon. `lead`: uncommon words one of
    which every match starts with, or None. `starts_word`: every match starts a word.
    """

    requires: tuple[Requirement, ...] = ()
    lead: frozenset[str] | None = None
    starts_word: bool = False


def analyse(pattern: str, *, common: bool = False) -> Anchors:
    """Find the literal words any match of `pattern` must contain (see `Anchors`).

    Patterns with syntax the analyser doesn't know get empty `Anchors`: they are always
    tried in full, so the analysis can only ever save work, never change a result. With
    `common`, requirements and lead words made of common words are kept too: they filter
    little, but they say where a match can start, which spares scanning the whole text.
    """
    try:
        tree = _parse(pattern)
    except _Unsupported:
        return Anchors()
    top = tree[0] if len(tree) == 1 else [("group", tree)]
    found = _sequence_requirements(top, word_start=True)
    usable = _any_words if common else _informative
    requires = tuple(r for r in found if usable(r.words))
    first = _first_words([("group", tree)])
    lead = first if first is not None and usable(first) else None
    return Anchors(requires, lead, starts_word=first is not None)


def _width(node: _Node) -> tuple[int, int | None]:
    """Fewest and most characters `node` can match (most None: unbounded)."""
    kind = node[0]
    if kind in ("lit", "any"):
        return 1, 1
    if kind == "at":
        return 0, 0
    if kind == "group":
        spans = [_sequence_width(seq) for seq in node[1]]
        highs = [high for _, high in spans]
        return min(low for low, _ in spans), None if None in highs else max(
            h for h in highs if h is not None
        )
    low, high = _width(node[1])
    top = None if node[3] is None or high is None else node[3] * high
    return node[2] * low, top


def _sequence_width(sequence: Sequence[_Node]) -> tuple[int, int | None]:
    low, high = 0, 0
    total: int | None = high
    for node in sequence:
        node_low, node_high = _width(node)
        low += node_low
        total = None if total is None or node_high is None else total + node_high
    return low, total


def _first_words(sequence: Sequence[_Node]) -> frozenset[str] | None:
    r"""Word prefixes every match of `sequence` starts with, at a word start; None if unknown.

    Only meaningful after a leading \b or ^: the first character consumed must be a word
    character for the prefix to start a word.
    """
    for index, node in enumerate(sequence):
        kind = node[0]
        if kind == "at":
            continue  # zero-width: \b, ^, lookarounds
        if kind == "lit":
            if not _WORD.match(node[1]):
                return None
            run = []
            for later in sequence[index:]:
                if later[0] != "lit" or not _WORD.match(later[1]):
                    break
                run.append(later[1])
            return frozenset({"".join(run)})
        if kind == "group":
            union: set[str] = set()
            for alternative in node[1]:
                words = _first_words([*alternative, *sequence[index + 1 :]])
                if words is None:
                    return None
                union |= words
            return frozenset(union)
        if kind == "repeat":
            inner, low, high = node[1], node[2], node[3]
            # With at most one copy the words run on into what follows; with more, only the
            # first copy is certain ("k+ill" may start "kkill").
            tail = sequence[index + 1 :] if high == 1 else []
            with_it = _first_words([inner, *tail])
            if with_it is None:
                return None
            if low >= 1:
                return with_it
            without = _first_words(sequence[index + 1 :])
            return None if without is None else with_it | without
        return None  # a character class or "." first: no literal prefix
    return None


def _best(found: Sequence[Requirement]) -> Requirement | None:
    """The most selective of several requirements: prefer rare, long, few words."""
    if not found:
        return None

    def weight(req: Requirement) -> tuple[bool, bool, int, int]:
        words = req.words
        return (_informative(words), req.hi is not None, min(map(len, words)), -len(words))

    return max(found, key=weight)


def _ends_nonword(node: _Node) -> bool:
    """Whether every non-empty match of `node` ends with a non-word character."""
    kind = node[0]
    if kind == "lit":
        return not _WORD.match(node[1])
    if kind == "any":
        return bool(node[1])
    if kind == "repeat":
        return _ends_nonword(node[1])
    if kind == "group":
        return all(seq and _ends_nonword(seq[-1]) for seq in node[1])
    return False


def _shift(offset: tuple[int, int | None], req: Requirement) -> Requirement:
    low, high = offset
    return Requirement(
        req.words, low + req.lo, None if high is None or req.hi is None else high + req.hi
    )


def _sequence_requirements(sequence: Sequence[_Node], *, word_start: bool) -> list[Requirement]:
    # `at_start` says the character before the current position is guaranteed not to be a
    # word character (or the position follows \b), so a word literal here starts a word.
    # `offset` is how far the current position can be from the start of the sequence.
    required: list[Requirement] = []
    run: list[str] = []
    run_offset: tuple[int, int | None] = (0, 0)
    run_at_start = False
    at_start = word_start
    offset: tuple[int, int | None] = (0, 0)

    def close() -> None:
        nonlocal run
        if run and run_at_start:
            required.append(Requirement(frozenset({"".join(run)}), *run_offset))
        run = []

    def advance(node: _Node) -> None:
        nonlocal offset
        low, high = _width(node)
        offset = (offset[0] + low, None if offset[1] is None or high is None else offset[1] + high)

    for node in sequence:
        kind = node[0]
        if kind == "repeat" and node[2] >= 1 and node[1][0] == "lit" and _WORD.match(node[1][1]):
            # "l+" or "e{2,}": the required copies extend the run, which then ends.
            if not run:
                run_at_start, run_offset = at_start, offset
            run.extend(node[1][1] * node[2])
            close()
            at_start = False
            advance(node)
            continue
        if kind == "lit" and _WORD.match(node[1]):
            if not run:
                run_at_start, run_offset = at_start, offset
            run.append(node[1])
            at_start = False
            advance(node)
            continue
        close()
        if kind == "lit":
            at_start = True
        elif kind == "any":
            at_start = bool(node[1])
        elif kind == "at":
            if node[1] in ("boundary", "start"):
                at_start = True
            elif node[1] != "look":  # lookarounds consume nothing: state unchanged
                at_start = False
        elif kind == "group":
            chosen: list[Requirement] = []
            for alternative in node[1]:
                best = _best(_sequence_requirements(alternative, word_start=at_start))
                if best is None:
                    break
                chosen.append(best)
            else:
                highs = [c.hi for c in chosen]
                merged = Requirement(
                    frozenset().union(*(c.words for c in chosen)),
                    min(c.lo for c in chosen),
                    None if None in highs else max(h for h in highs if h is not None),
                )
                required.append(_shift(offset, merged))
            at_start = _ends_nonword(node)
        elif kind == "repeat":
            inner, low = node[1], node[2]
            if low >= 1:
                best = _best(_sequence_requirements([inner], word_start=at_start))
                if best is not None:
                    required.append(_shift(offset, best))
                at_start = _ends_nonword(inner)
            else:
                # Optional: afterwards we are either where we were or after the repeat.
                at_start = at_start and _ends_nonword(inner)
        advance(node)
    close()
    return required


def trie_regex(words: Iterable[str]) -> str:
    """A regex alternation of `words` shaped as a trie, preferring the longest word."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        ends_here = "" in node
        if len(branches) == 1 and not ends_here:
            return branches[0]
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if ends_here else body

    return build(trie)


class RequirementTable:
    """Which of many patterns have all their requirements met by the words present.

    Built once from each pattern's requirements (`Anchors.requires`); `satisfied(words)`
    then answers for every pattern at once with a few numpy operations, instead of a Python
    walk over the patterns each present word reaches (most of the screen's bookkeeping on a
    long message, where hundreds of anchor words occur). A pattern with no requirement is
    always satisfied; one with a requirement of no words never is.
    """

    def __init__(self, requirements: Sequence[Sequence[Requirement]]) -> None:
        """Index `requirements[i]`, the requirements of pattern `i`."""
        words = sorted({w for found in requirements for r in found for w in r.words})
        self._ids: dict[str, int] = {word: i for i, word in enumerate(words)}
        self._size = len(words) + 1  # the last slot: words no requirement names
        members: list[int] = []
        requirement_starts: list[int] = []
        pattern_starts: list[int] = []
        measured: list[int] = []  # patterns with at least one requirement
        always: list[int] = []
        never: list[int] = []
        for index, found in enumerate(requirements):
            if not found:
                always.append(index)
                continue
            if any(not r.words for r in found):
                never.append(index)
                continue
            measured.append(index)
            pattern_starts.append(len(requirement_starts))
            for requirement in found:
                requirement_starts.append(len(members))
                members.extend(self._ids[w] for w in sorted(requirement.words))
        self._count = len(requirements)
        self._members = np.array(members, dtype=np.intp)
        self._requirement_starts = np.array(requirement_starts, dtype=np.intp)
        self._pattern_starts = np.array(pattern_starts, dtype=np.intp)
        self._measured = np.array(measured, dtype=np.intp)
        self._base = np.zeros(self._count, dtype=bool)
        self._base[always] = True

    def satisfied(self, present: Iterable[str]) -> list[int]:
        """Indexes of the patterns each of whose requirements has a word in `present`, sorted."""
        ok = self._base.copy()
        if len(self._measured):
            flags = np.zeros(self._size, dtype=bool)
            ids = self._ids
            missing = self._size - 1
            flags[[ids.get(word, missing) for word in present]] = True
            flags[missing] = False
            met = np.logical_or.reduceat(flags[self._members], self._requirement_starts)
            ok[self._measured] = np.logical_and.reduceat(met, self._pattern_starts)
        result: list[int] = np.flatnonzero(ok).tolist()
        return result
