"""Extract, update and check the catalogs: `python -m bot.i18n.catalogs update|check [--area A]`.

- `update` adds every message the code marks (`_`, `ngettext`, `N_`) and a catalog lacks, empty,
  to the area catalog of the file that first uses it, in every language, and drops messages
  the code no longer has. Translators then fill the empty `msgstr`s.
- `fill --area A --json FILE` writes translations (`{language: {msgid: text}}`, a list of
  forms for a plural) into an area's catalogs.
- `check` lists what makes a catalog unfit to ship: a message with no translation, one the
  code no longer has (stale), a translation that changes a placeholder, a plural with the
  wrong number of forms for its language. `tests/bot/i18n/test_catalogs.py` runs it, so
  `make test` fails on a stale or incomplete catalog.

Besides the code, the crisis lines data file (`bot/crisis_lines.yaml`) has messages, in the
`crisis_lines` area: every line's `contact` ("Call 024 (free, confidential, 24/7)"), and the
`name` of the fallback's lines and of emergency lines ("Emergency services"). The proper
names of services ("Samaritans") stay as they are. A translation of one of these must keep
exactly the phone numbers, web addresses and capitalised keywords of the English
(`crisis_tokens`): a wrong digit in a crisis number is worse than English.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import write_po

from bot.i18n.languages import DEFAULT_LANGUAGE, LANGUAGES, babel_locale
from bot.i18n.translations import LOCALE_DIR, PLACEHOLDER, catalog_files, read_catalog

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("bot", "adapters")
# The crisis lines data file: its contact instructions and generic line names are messages.
CRISIS_LINES_FILE = "bot/crisis_lines.yaml"
CRISIS_AREA = "crisis_lines"
# Which area catalog a source file's messages start in. Areas keep work on different parts of
# the code in different files; a file named here goes to its area, else the first matching
# prefix in AREA_PREFIXES does.
AREA_FILES: dict[str, str] = {
    CRISIS_LINES_FILE: CRISIS_AREA,
    **{
        f"bot/{name}": "language"
        for name in (
            "core.py",
            "crisis_lines.py",
            "features/settings.py",
            "features/resources.py",
            "services/settings.py",
            "services/crisis.py",
            "services/resources.py",
            "services/language.py",
        )
    },
    **{
        f"bot/{name}": "meetings_reporting"
        for name in (
            "charts.py",
            "sparkline.py",
            "features/meetings.py",
            "features/casefile.py",
            "features/reporting.py",
            "services/casefile.py",
            "services/casefile_pdf.py",
        )
    },
    **{
        f"bot/services/{name}.py": "services_a"
        for name in [
            "alert_lifecycle",
            "alerts",
            "answer_burst",
            "breaks",
            "caseload",
            "checkins",
            "cohort",
            "delivery_events",
            "escalation",
            "export",
            "goals",
            "groups",
            "home",
        ]
    },
    **{
        f"bot/services/{name}.py": "services_b"
        for name in [
            "mood",
            "nudges",
            "occurrences",
            "pairing",
            "pairing_prefs",
            "platform_state",
            "privacy",
            "prompt_answers",
            "prompts",
        ]
    },
    **{
        f"bot/services/{name}.py": "services_c"
        for name in [
            "reescalation",
            "reminders",
            "roster",
            "routing",
            "schedules",
            "watchdog",
            "workshop_chat",
            "workshop_messages",
            "workshop_tick",
            "workshops",
        ]
    },
}
AREA_PREFIXES: tuple[tuple[str, str], ...] = (
    ("adapters/", "adapters"),
    ("bot/features/", "features"),
    ("bot/services/meetings/", "meetings_reporting"),
    ("bot/services/reporting/", "meetings_reporting"),
    ("bot/services/", "services_c"),
    ("bot/", "core"),
)
AREAS = tuple(sorted({*AREA_FILES.values(), *(area for _p, area in AREA_PREFIXES)}))
MsgId = str | tuple[str, str]
# Fixed header dates keep `update` from rewriting every file when nothing changed.
STABLE_DATE = datetime(2026, 12, 7, tzinfo=UTC)
HEADER = (
    "# {language} translations of mentorbot: the {area} area.\n"
    "# Warm, plain and short, like the English. Keep every {{placeholder}} as it is.\n"
    "# How to update and check: bot/i18n/catalogs.py."
)


def area_of(path: str) -> str:
    """The area catalog for messages first used in `path` (relative to the project root)."""
    if path in AREA_FILES:
        return AREA_FILES[path]
    for prefix, area in AREA_PREFIXES:
        if path.startswith(prefix):
            return area
    return "core"


@dataclass
class Extracted:
    """One message the code marks, with where it is used."""

    id: MsgId
    locations: list[tuple[str, int]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The catalog key: the singular for a plural message."""
        return self.id[0] if isinstance(self.id, tuple) else self.id

    @property
    def area(self) -> str:
        """The area of the first file that uses it."""
        return area_of(self.locations[0][0])


def extract(root: Path = ROOT) -> dict[str, Extracted]:
    """Every message marked in the code, by key, in a stable order."""
    found: dict[str, Extracted] = {}
    for source in SOURCES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(root / source),
            method_map=[("**.py", "python")],
            keywords=DEFAULT_KEYWORDS,
            strip_comment_tags=True,
        ):
            if isinstance(message, tuple):
                if not all(message[:2]):
                    continue
                msgid: MsgId = (message[0], message[1])
            elif message:
                msgid = message
            else:
                continue
            path = f"{source}/{filename}"
            item = found.setdefault(
                msgid[0] if isinstance(msgid, tuple) else msgid, Extracted(msgid)
            )
            item.locations.append((path, lineno))
    crisis_file = root / CRISIS_LINES_FILE
    if crisis_file.is_file():
        data: dict[str, list[tuple[str, int]]] = {}
        for text, lineno in crisis_line_messages(crisis_file.read_text(encoding="utf-8")):
            data.setdefault(text, []).append((CRISIS_LINES_FILE, lineno))
        for text, locations in data.items():
            # The data file comes first, so its messages stay in its area (and keep its check)
            # even if some code happens to mark the same words.
            found.setdefault(text, Extracted(text)).locations[:0] = locations
    return dict(sorted(found.items(), key=lambda kv: (kv[1].locations[0], kv[0])))


def crisis_line_messages(text: str) -> Iterator[tuple[str, int]]:
    """The translatable texts of a crisis lines file, with their (1-based) line numbers.

    Every line's `contact`; the `name` of the fallback's lines and of emergency lines
    ("Emergency services"), not the proper names of services ("Samaritans").
    """
    document = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(document, yaml.MappingNode):
        return
    top = _mapping(document)
    groups: list[tuple[bool, yaml.Node]] = []
    if "fallback" in top:
        groups.append((True, top["fallback"]))
    if isinstance(top.get("countries"), yaml.MappingNode):
        groups.extend((False, country) for country in _mapping(top["countries"]).values())
    for is_fallback, country in groups:
        lines = _mapping(country).get("lines")
        for line in lines.value if isinstance(lines, yaml.SequenceNode) else ():
            fields = _mapping(line)
            kind = fields.get("kind")
            wanted = ["contact"]
            if is_fallback or (kind is not None and kind.value == "emergency"):
                wanted.insert(0, "name")
            for key in wanted:
                node = fields.get(key)
                if isinstance(node, yaml.ScalarNode) and str(node.value).strip():
                    yield str(node.value).strip(), node.start_mark.line + 1


def _mapping(node: yaml.Node) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(key.value): value for key, value in node.value}


def _languages() -> list[str]:
    return [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=False, omit_header=False, include_lineno=False)


def update(areas: Iterable[str] | None = None, root: Path = ROOT) -> None:
    """Bring the area catalogs of every language in line with the code (see module doc)."""
    messages = extract(root)
    wanted = set(areas) if areas is not None else set(AREAS)
    for language in _languages():
        existing = {path.stem: read_catalog(path, language) for path in catalog_files(language)}
        present = {m.id if isinstance(m.id, str) else m.id[0] for c in existing.values() for m in c}
        for area in sorted(wanted):
            old = existing.get(area)
            catalog = Catalog(
                locale=babel_locale(language),
                domain=area,
                project="mentorbot",
                version="1",
                fuzzy=False,
                header_comment=HEADER.format(language=LANGUAGES[language], area=area),
                creation_date=STABLE_DATE,
                revision_date=STABLE_DATE,
                last_translator="mentorbot team",
                language_team=f"{LANGUAGES[language]} <mentorbot>",
                msgid_bugs_address="(the project's issue tracker)",
            )
            for key, item in messages.items():
                keep = old is not None and key in old
                if not keep and (item.area != area or key in present):
                    continue
                string = old[key].string if keep and old is not None else None
                catalog.add(item.id, string=string or _empty(item.id, catalog), locations=[])
            if len(catalog) or old is not None:
                _write(LOCALE_DIR / language / f"{area}.po", catalog)


def _empty(msgid: MsgId, catalog: Catalog) -> str | tuple[str, ...]:
    return ("",) * catalog.num_plurals if isinstance(msgid, tuple) else ""


@dataclass(frozen=True)
class Problem:
    """Why a catalog can't ship as it is."""

    language: str
    area: str
    msgid: str
    what: str

    def __str__(self) -> str:
        return f"{self.language}/{self.area}.po: {self.what}: {self.msgid!r}"


def placeholders(text: str) -> list[str]:
    """A message's placeholders, sorted, so a reordered translation still matches."""
    return sorted(PLACEHOLDER.findall(text))


# A web address or bare domain ("https://findahelpline.com", "988lifeline.org"), ASCII only so
# that it ends where Chinese or Arabic text around it begins.
_WEB = re.compile(
    r"(?:https?://)?(?<![A-Za-z0-9.-])(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?![A-Za-z0-9-])"
    r"(?:/[A-Za-z0-9._~%/?#=&+:-]*)?"
)
# A number as people write it: digits, maybe grouped by single spaces or dashes
# ("0800 111 0 111", "1-800-891-4416"). Any script's digits count, so a translation that
# writes a number in other digits differs.
_NUMBER = re.compile(r"\d+(?:[ \u00a0\u202f-]\d+)*")
_NUMBER_GLUE = re.compile(r"[ \u00a0\u202f-]")
# A keyword to text, in capitals ("Text TALK to 50808"), or an acronym ("SAMU").
_KEYWORD = re.compile(r"(?<![A-Za-z])[A-Z]{2,}(?![A-Za-z])")


def crisis_tokens(text: str) -> Counter[str]:
    """What a crisis line text must keep in every language: numbers, web addresses, keywords.

    A multiset of its phone numbers and other digit runs, spaces and dashes inside a number
    removed ("0800 111 0 111" -> "08001110111"), its web addresses and domains, and its words
    in capitals of two letters or more.
    """
    tokens: Counter[str] = Counter()
    for match in _WEB.finditer(text):
        address = match.group(0).rstrip(".,;:!?/")
        tokens[f"web {address}"] += 1
    rest = _WEB.sub(" ", text)
    for match in _NUMBER.finditer(rest):
        tokens[f"number {_NUMBER_GLUE.sub('', match.group(0))}"] += 1
    for match in _KEYWORD.finditer(rest):
        tokens[f"keyword {match.group(0)}"] += 1
    return tokens


def crisis_differences(english: str, translated: str) -> str:
    """How a translation changes the English's numbers, addresses or keywords ("" when not)."""
    want, got = crisis_tokens(english), crisis_tokens(translated)
    if want == got:
        return ""
    parts = []
    if missing := want - got:
        parts.append("lacks " + ", ".join(sorted(missing.elements())))
    if extra := got - want:
        parts.append("adds " + ", ".join(sorted(extra.elements())))
    return "; ".join(parts)


def _check_message(
    language: str,
    area: str,
    message: Message,
    num_plurals: int,
    crisis: bool | None = None,
) -> list[Problem]:
    """What is wrong with one translated message.

    With `crisis` (by default, in the crisis lines area) a translation must also keep the
    English's numbers, web addresses and keywords (`crisis_tokens`).
    """
    key = message.id if isinstance(message.id, str) else message.id[0]

    def problem(what: str) -> Problem:
        return Problem(language, area, key, what)

    if message.fuzzy:
        return [problem("marked fuzzy")]
    if isinstance(message.id, tuple):
        raw = message.string
        strings = tuple(str(f) for f in raw) if isinstance(raw, (tuple, list)) else (str(raw),)
        if not all(strings) or raw is None:
            return [problem("not translated")]
        if len(strings) != num_plurals:
            return [problem(f"{len(strings)} plural forms, the language has {num_plurals}")]
        expected = set(placeholders(str(message.id[0]))) | set(placeholders(str(message.id[1])))
        out = []
        for form in strings:
            got = set(placeholders(form))
            # A language with one form for "one" may write the number out ("un día"), but a
            # form may never bring a placeholder the English lacks.
            if not got <= expected or (num_plurals == 1 and got != expected):
                out.append(problem(f"placeholders {sorted(got)} differ from {sorted(expected)}"))
        return out[:1]
    if not message.string:
        return [problem("not translated")]
    if placeholders(str(message.id)) != placeholders(str(message.string)):
        return [problem(f"placeholders differ in {message.string!r}")]
    if crisis is None:
        crisis = area == CRISIS_AREA
    if crisis and (differences := crisis_differences(str(message.id), str(message.string))):
        return [problem(f"crisis line {differences} in {message.string!r}")]
    return []


def check(areas: Iterable[str] | None = None, root: Path = ROOT) -> list[Problem]:
    """Every problem in every language's catalogs (see module doc); empty when fit to ship."""
    messages = extract(root)
    wanted = set(areas) if areas is not None else None
    problems: list[Problem] = []
    for language in _languages():
        seen: set[str] = set()
        for path in catalog_files(language):
            catalog = read_catalog(path, language)
            for message in catalog:
                if not message.id:
                    continue
                key = message.id if isinstance(message.id, str) else message.id[0]
                seen.add(key)
                if wanted is not None and path.stem not in wanted:
                    continue
                if key not in messages:
                    problems.append(Problem(language, path.stem, key, "no longer in the code"))
                    continue
                from_crisis_file = any(
                    where == CRISIS_LINES_FILE for where, _line in messages[key].locations
                )
                problems.extend(
                    _check_message(
                        language,
                        path.stem,
                        message,
                        catalog.num_plurals,
                        crisis=path.stem == CRISIS_AREA or from_crisis_file,
                    )
                )
        for key, item in messages.items():
            if key not in seen and (wanted is None or item.area in wanted):
                problems.append(Problem(language, item.area, key, "missing"))
    return problems


def fill(area: str, translations: Mapping[str, Mapping[str, str | list[str]]]) -> int:
    """Write translations into one area's catalogs: `{language: {msgid: text or plural forms}}`.

    Returns how many were written; an id the area's catalog lacks is an error (run `update`).
    """
    written = 0
    for language, entries in translations.items():
        path = LOCALE_DIR / language / f"{area}.po"
        catalog = read_catalog(path, language)
        for msgid, text in entries.items():
            message = catalog[msgid]
            if message is None:
                raise KeyError(f"{language}/{area}.po has no {msgid!r}: run update first")
            message.string = tuple(text) if isinstance(text, list) else text
            message.flags.discard("fuzzy")
            written += 1
        _write(path, catalog)
    return written


def main(argv: list[str] | None = None) -> int:
    """The command line: `update`, `check` or `fill`, optionally for some areas only."""
    parser = argparse.ArgumentParser(prog="python -m bot.i18n.catalogs")
    parser.add_argument("action", choices=("update", "check", "fill"))
    parser.add_argument("--area", action="append", help="only this area (repeatable)")
    parser.add_argument("--json", type=Path, help="fill: {language: {msgid: translation}}")
    args = parser.parse_args(argv)
    if args.action == "update":
        update(args.area)
        return 0
    if args.action == "fill":
        if not args.area or len(args.area) != 1 or args.json is None:
            parser.error("fill takes one --area and --json FILE")
        print(fill(args.area[0], json.loads(args.json.read_text(encoding="utf-8"))), "written")
        return 0
    problems = check(args.area)
    for item in problems:
        print(item)
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
