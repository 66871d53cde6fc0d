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
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import write_po

from bot.i18n.languages import DEFAULT_LANGUAGE, LANGUAGES, babel_locale
from bot.i18n.translations import LOCALE_DIR, PLACEHOLDER, catalog_files, read_catalog

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("bot", "adapters")
# Which area catalog a source file's messages start in. Areas keep work on different parts of
# the code in different files; a file named here goes to its area, else the first matching
# prefix in AREA_PREFIXES does.
AREA_FILES: dict[str, str] = {
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
    return dict(sorted(found.items(), key=lambda kv: (kv[1].locations[0], kv[0])))


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


def _check_message(language: str, area: str, message: Message, num_plurals: int) -> list[Problem]:
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
                problems.extend(_check_message(language, path.stem, message, catalog.num_plurals))
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
