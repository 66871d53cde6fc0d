"""Every message shape, driven once: the script, what people read, and the leftover finder.

Shared by the pseudo-locale test (issue 19 item 5) and the meaning-without-symbols test
(item 6). A `Seen` is one thing a person read, labelled with what made it (`origin`), so a
failure names the message a leftover came from.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlmodel import select

from bot.config import CoreSettings
from bot.i18n import LANGUAGES, PSEUDO_LANGUAGE
from bot.registry import Command
from storage.db import Database
from storage.tables import CheckinSchedule, Group, Person, Resource
from tests.tick import REGISTRY

SAM = "sam@example.edu"
ALEX = "alex@example.edu"
MAYA = "maya@example.edu"
AVERY = "admin@example.edu"
BY_ROLE = {"student": SAM, "mentor": MAYA, "admin": AVERY}

# Words the test itself types: notes, titles, answers. They are the person's own words (data).
GOAL = "Finish my essay"
GOAL_2 = "Read two chapters"
GOAL_3 = "Revise for the maths exam"
MILESTONE = "Write the outline"
MOOD_NOTE = "tired before exams"
MOOD_NOTE_2 = "good day"
CHECKIN_NOTE = "Lectures were long but fine"
KEPT_TEXT = "I had a long day at the library"
HELP_TEXT = "I need to talk about my exams"
CONCERN = "Everything feels pointless lately and I can't sleep"
CRISIS = "I want to kill myself tonight"
WORKSHOP = "Exam stress"
PROMPT = "Share one win from this week"
ANSWER = "I finished my lab report"
MENTOR_NOTE = "talked about exams"
RESOLVE_NOTE = "Called Sam, feeling safer"
TOPICS = "exam plan"
ACTIONS = "revise chapter 3; book a room"
NEXT = "meet in 2 weeks"
REASON = "clash with a lecture"
TYPED = (
    GOAL,
    GOAL_2,
    GOAL_3,
    MILESTONE,
    MOOD_NOTE,
    MOOD_NOTE_2,
    CHECKIN_NOTE,
    KEPT_TEXT,
    HELP_TEXT,
    CONCERN,
    CRISIS,
    WORKSHOP,
    PROMPT,
    ANSWER,
    MENTOR_NOTE,
    RESOLVE_NOTE,
    TOPICS,
    "revise chapter 3",
    "book a room",
    NEXT,
    REASON,
    "Study hour",
    "Share one win",
    "Finish the essay draft",
    # Words typed where a command wants something else, quoted back in the refusal.
    "fly",
    "quantum origami",
    "hello",
    "nosuchcommand",
    "Nowhere/Land",
)

# (who, what they type): the staff set up workshops, prompts, pairing and meeting hours
# first, then the students live a week, then the staff look at it.
SETUP: tuple[tuple[str, str], ...] = (
    (AVERY, "/schedule add mon-fri 09:00 group Study skills"),
    (MAYA, f'/workshop add "{WORKSHOP}" 2026-11-24 16:00 Europe/London 60 cap 12'),
    (MAYA, '/workshop series "Study hour" 2026-11-25 16:00 Europe/London 60 weekly 3'),
    (MAYA, f"/prompt add Study skills tue 15:00 {PROMPT}"),
    (MAYA, "/pairing on Study skills every 2 weeks"),
    (MAYA, "/meet hours mon,tue,wed,thu,fri 09:00-17:00 30"),
    (MAYA, "/meet link https://meet.example.edu/maya"),
    (MAYA, f"/meet propose {SAM} 2026-11-25 15:00"),
    (MAYA, f"/meet every {ALEX} 2"),
    (MAYA, f"/note {SAM} {MENTOR_NOTE}"),
)
STUDENT_WEEK: tuple[tuple[str, str], ...] = (
    (SAM, "/help"),
    (SAM, "/checkin"),
    (SAM, CHECKIN_NOTE),
    (SAM, "/mood"),
    (SAM, f"/mood 2 {MOOD_NOTE}"),
    (SAM, f"/mood 4 {MOOD_NOTE_2}"),
    (SAM, "/mood"),
    (SAM, "/goal"),
    (SAM, f"/goal add {GOAL} by 2026-12-01"),
    (SAM, f"/goal add {GOAL_2}"),
    (SAM, f"/goal add {GOAL_3} by 2026-11-26"),
    (SAM, "/goal progress 1 50"),
    (SAM, f"/goal milestone 1 {MILESTONE}"),
    (SAM, "/goal tick 1 1"),
    (SAM, "/goal"),
    (SAM, "/goal done 1"),
    (SAM, "/goal drop 2"),
    (SAM, "/goal progress 99 50"),
    (SAM, "/goal progress 1x"),
    (SAM, "/resources"),
    (SAM, "/resources exam stress"),
    (SAM, "/resources quantum origami"),
    (SAM, "/pause"),
    (SAM, "/resume"),
    (SAM, "/pause until 2026-12-20"),
    (SAM, "/resume"),
    (SAM, "/settings"),
    (SAM, "/settings zone Europe/Berlin"),
    (SAM, "/settings zone Nowhere/Land"),
    (SAM, "/settings quiet 22:00-07:00"),
    (SAM, "/settings quiet off"),
    (SAM, "/settings checkin 18:30"),
    (SAM, "/settings checkin off"),
    (SAM, "/settings zone Europe/London"),
    (SAM, "/mydata"),
    (SAM, "/mydata export"),
    (SAM, "/mydata delete"),
    (SAM, "/home"),
    (SAM, "/workshop"),
    (SAM, "/workshop list"),
    (SAM, "/pairing"),
    (SAM, "/pairing skip"),
    (SAM, "/pairing pause until 2027-01-10"),
    (SAM, "/pairing resume"),
    (SAM, f"/pairing avoid {ALEX}"),
    (SAM, f"/pairing unavoid {ALEX}"),
    (SAM, "/meet"),
    (SAM, "/meet list"),
    (SAM, KEPT_TEXT),
    (SAM, f"/help {HELP_TEXT}"),
    (SAM, "/alerts"),
    (SAM, "/nosuchcommand"),
    (SAM, "/goal fly"),
    (ALEX, "/mood 1"),
    (ALEX, CONCERN),
    (SAM, CRISIS),
)
STAFF_LOOK: tuple[tuple[str, str], ...] = (
    (MAYA, "/help"),
    (MAYA, "/alerts"),
    (MAYA, "/mentees"),
    (MAYA, f"/notes {SAM}"),
    (MAYA, "/cohort"),
    (MAYA, "/cohort Study skills"),
    (MAYA, f"/student {SAM}"),
    (MAYA, "/workshop report 1"),
    (MAYA, "/group"),
    (MAYA, '/group members "Study skills"'),
    (MAYA, "/prompt"),
    (MAYA, "/prompt export 1"),
    (MAYA, "/pairing report Study skills"),
    (MAYA, "/pairing run Study skills"),
    (MAYA, "/meet list"),
    (MAYA, "/meet record 1"),
    (MAYA, f"/meet write 1 {TOPICS} | {ACTIONS} | {NEXT}"),
    (MAYA, "/report"),
    (MAYA, "/hello there"),
    (MAYA, "Just checking in"),
    (AVERY, "/help"),
    (AVERY, "/schedule"),
    (AVERY, "/report 2026-09-07 2026-11-29 group Study skills"),
    (AVERY, "/mood 3"),
)
# Buttons that would end the scenario (erase the person) are shown, not pressed.
DO_NOT_PRESS = frozenset({"mydata.delete.confirm"})


def command_lines() -> list[tuple[str, str]]:
    """Every registry command as its first role types it: bare, then with its example."""
    lines: list[tuple[str, str]] = []
    for command in REGISTRY.commands:
        who = BY_ROLE[command.roles[0]]
        bare = f"/{command.name} {command.sub}".strip()
        lines.append((who, bare))
        # Choosing a language would take the person (or group) out of the pseudo-language
        # for the rest of the scenario: the bare command (the list) is enough here.
        if command.example and command.sub != "language":
            lines.append((who, command.example))
    return lines


def script() -> list[tuple[str, str]]:
    """The whole scenario before the scheduled jobs run."""
    return [*SETUP, *STUDENT_WEEK, *STAFF_LOOK]


# ------------------------------------------------------------------ what people read


@dataclass(frozen=True)
class Seen:
    """One piece of text a person read: where (platform), what made it, and the text."""

    area: str
    origin: str
    text: str


def text_parts(value: Any, keys: frozenset[str]) -> Iterator[str]:
    """Every string under one of `keys` anywhere in a JSON-like value (Block Kit, embeds)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and key in keys:
                yield item
            else:
                yield from text_parts(item, keys)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from text_parts(item, keys)


SLACK_TEXT_KEYS = frozenset({"text", "alt_text", "alt_txt", "initial_comment", "title"})
DISCORD_TEXT_KEYS = frozenset(
    {"content", "title", "description", "name", "value", "label", "placeholder", "text"}
)


def slack_texts(body: Any) -> list[str]:
    """What a Slack reader sees in a message, view or response body."""
    return [t for t in text_parts(body, SLACK_TEXT_KEYS) if t.strip()]


def discord_texts(body: Any) -> list[str]:
    """What a Discord reader sees: content, embeds, buttons, modals (ids left out)."""
    return [t for t in text_parts(body, DISCORD_TEXT_KEYS) if t.strip()]


# ------------------------------------------------------------------ the leftover finder

_MONTHS = [m for m in (*calendar.month_name, *calendar.month_abbr) if m]
_DAYS = [*calendar.day_name, *calendar.day_abbr]
# Dates are formatted by Babel (bot/i18n/dates), which writes the pseudo-language in English.
DATE_WORDS = frozenset(
    {*_MONTHS, *_DAYS, *(d.lower() for d in calendar.day_abbr), "AM", "PM", "am", "pm", "UTC"}
)
BRANDS = ("Slack", "Discord", "mentorbot", "ICS", "PDF", "CSV", "JSON", "PNG")
# Data a message quotes that is neither typed nor stored: languages in their own names (a
# list to choose from), platform keywords, a schedule's question keywords, channel ids.
QUOTED_DATA = (
    *LANGUAGES.values(),
    *LANGUAGES,
    "slack",
    "discord",
    "console",
    "mood,note,goal",
    "exam stress",
    PSEUDO_LANGUAGE,
    # A keyword of /pairing pause's syntax ("until YYYY-MM-DD"), typed as it is.
    "until",
    # Typed keywords: an alert's outcome is one of these English words in every language.
    "spoke, counselling, emergency or none",
    "spoke, counselling, emergency",
    "none",
)
_CHANNEL_ID = re.compile(r"\b[A-Z][A-Z0-9]{7,}\b")
# A country's ISO code beside its name: "España (ES)".
_COUNTRY_CODE = re.compile(r"\([A-Z]{2}\)")
# A keyword command of the console's forms ("or /cancel"): typed, never translated.
_KEYWORD_COMMAND = re.compile(r"(?<![\w/])/(?:cancel|skip|done)\b")
_URL = re.compile(r"<?https?://[^\s>|)\]]+>?")
_MAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MENTION = re.compile(r"<[@#!&][^>]*>")
_ZONE = re.compile(r"\b[A-Z][A-Za-z_]+/[A-Za-z_]+(?:/[A-Za-z_]+)?\b")
_FILE = re.compile(r"\b[\w.-]+\.(?:json|png|ics|pdf|csv|txt)\b")
_WORD = re.compile(r"[A-Za-z]{2,}")
# Words of command syntax a help text or refusal shows as typed: never translated.
SYNTAX_WORDS = frozenset(
    {
        "ID",
        "N",
        "GROUP",
        "DAYS",
        "TEXT",
        "NAME",
        "EMAIL",
        "FROM",
        "TO",
        "URL",
        "TOPICS",
        "ACTIONS",
        "NEXT",
        "MINUTES",
        "REASON",
        "TITLE",
        "PERCENT",
        "MESSAGE",
        "UNTIL",
        "WORDS",
        "ZONE",
        "OUTCOME",
        "NOTE",
        "DETAILS",
        "YYYY-MM-DD",
        "HH:MM",
        "HH:MM-HH:MM",
    }
)
_SYNTAX_PART = re.compile(r"[a-z]+|[0-9:-]+|\[[a-z_]+(?:=N)?\]")


def _placeholders() -> frozenset[str]:
    found = set(SYNTAX_WORDS)
    for command in REGISTRY.commands:
        for arg in command.args:
            found.add(arg.placeholder.strip("[]"))
    return frozenset(found)


PLACEHOLDERS = _placeholders()


def is_syntax(token: str) -> bool:
    """A usage placeholder (ID, YYYY-MM-DD, HH:MM|off, slack|discord, [anonymous])."""
    core = token.strip("()[],.;:'\"")
    if core in PLACEHOLDERS or core == "...":
        return True
    if re.fullmatch(r"\[[a-z_]+(?:=N)?\]", token.strip(",.;:")):
        return True
    if "|" in core:
        parts = [part.strip('"[]') for part in core.split("|")]
        return all(part in PLACEHOLDERS or _SYNTAX_PART.fullmatch(part) for part in parts)
    return False


_PATH = re.compile(r"(?<![\w/])/(?:[\w.-]+/)+[\w.-]+")


def _command_pattern() -> re.Pattern[str]:
    """`/name` with the subcommand words of its family and its usage placeholders."""
    alternatives = []
    for name, family in REGISTRY.families.items():
        subs = sorted({w for c in family for w in (c.sub, *c.aliases) if w}, key=len, reverse=True)
        names = [name, *{n for c in family for n in c.other_names}]
        head = "(?:" + "|".join(re.escape(n) for n in names) + ")"
        if subs:
            one_of = "(?:" + "|".join(re.escape(s) for s in subs) + r")\b"
            # "/goal list, add, progress": a refusal listing the subcommands after one.
            head += r"(?:\s+" + one_of + r"(?:\s*,\s*" + one_of + ")*)?"
        alternatives.append(head)
    # Slack's answers name the one slash command the app has: `/mentor goal add`.
    return re.compile(r"(?<![\w/])/(?:mentor\s+)?(?:" + "|".join(alternatives) + r")\b")


_COMMAND = _command_pattern()


def usages(commands: Iterable[Command] = REGISTRY.commands) -> list[str]:
    """Usage lines and examples: commands as typed, never translated."""
    out: list[str] = []
    for command in commands:
        if command.args:  # a bare "/goal list" is left to the command pattern
            out.append(command.usage)
        if command.example:
            out.append(command.example)
    return sorted(out, key=len, reverse=True)


def data_strings(db: Database, settings: CoreSettings, extra: Sequence[str] = ()) -> list[str]:
    """The demo database's data a message may quote: names, groups, resources, crisis lines."""
    found: set[str] = set(TYPED) | set(extra) | set(BRANDS) | set(QUOTED_DATA)
    with db.session() as session:
        for person in session.exec(select(Person)).all():
            found.update({person.name, person.name.split()[0]})
        for group in session.exec(select(Group)).all():
            found.add(group.name)
        for resource in session.exec(select(Resource)).all():
            found.update({resource.title, resource.description})
        for schedule in session.exec(select(CheckinSchedule)).all():
            found.add(schedule.name)
    for lines in settings.crisis_lines.values():
        for line in lines:
            found.update({line.name, line.contact})
    return sorted((s for s in found if s), key=len, reverse=True)


def leftovers(text: str, data: Sequence[str]) -> list[str]:
    """Words of 2+ Latin letters left after removing what is never translated.

    Pseudo text is accented (no ASCII letters), so it needs no removing; URLs, e-mail
    addresses, mentions, time zones, file names, /commands with their usage, the data
    (names, groups, resources, crisis lines, what the test typed) and date words go.
    """
    # Slack's answers name the app's one slash command first: `/mentor goal add`.
    rest = text.replace("⟦", " ").replace("⟧", " ").replace("/mentor ", "/")
    # A block cut at the platform's length limit ends mid-command: "/men…".
    rest = re.sub(r"/\w*…", " ", rest)
    for pattern in (
        _URL,
        _MAIL,
        _MENTION,
        _ZONE,
        _PATH,
        _FILE,
        _CHANNEL_ID,
        _KEYWORD_COMMAND,
        _COUNTRY_CODE,
    ):
        rest = pattern.sub(" ", rest)
    for usage in usages():
        rest = rest.replace(usage, " ")
    rest = _data_pattern(tuple(data)).sub(" ", rest)
    rest = _COMMAND.sub(" ", rest)
    rest = re.sub(r"[*`~]", " ", rest)  # Slack and Discord markdown
    words = []
    for token in rest.split():
        if is_syntax(token):
            continue
        words += [w for w in _WORD.findall(token) if w not in DATE_WORDS]
    return words


@lru_cache(maxsize=8)
def _data_pattern(data: tuple[str, ...]) -> re.Pattern[str]:
    """The data as whole words (a tag "sleep" must not hide "sleeping")."""
    ordered = sorted(data, key=len, reverse=True)
    return re.compile(
        r"(?<![A-Za-z])(?:" + "|".join(re.escape(d) for d in ordered) + r")(?![A-Za-z])"
    )


@dataclass(frozen=True)
class Leftover:
    """English found in one line of one message."""

    area: str
    origin: str
    line: str
    words: tuple[str, ...]


# A line of a JSON file printed as it is (the console shows a data export): keys are data.
_JSON_LINE = re.compile(r'^\s*(?:"[^"]*"\s*:.*|[\[\]{}],?|"[^"]*",?)$')


def find_leftovers(seen: Iterable[Seen], data: Sequence[str]) -> list[Leftover]:
    """Every line with English in it, once per (area, origin, line)."""
    found: dict[tuple[str, str, str], Leftover] = {}
    for item in seen:
        for line in item.text.splitlines():
            if _JSON_LINE.match(line):
                continue
            words = leftovers(line, data)
            if words:
                key = (item.area, item.origin, line.strip())
                found.setdefault(key, Leftover(item.area, item.origin, line.strip(), tuple(words)))
    return list(found.values())


def report(found: Sequence[Leftover]) -> str:
    """The failure message: every leftover, grouped by the message that showed them."""
    by_origin: dict[tuple[str, str], list[Leftover]] = defaultdict(list)
    for item in found:
        by_origin[(item.area, item.origin)].append(item)
    areas = Counter(item.area for item in found)
    lines = [
        f"{len(found)} line(s) with untranslated text in {len(by_origin)} message(s): "
        + ", ".join(f"{area} {n}" for area, n in sorted(areas.items()))
    ]
    lines.append("by area: " + ", ".join(f"{k} {n}" for k, n in summary(found).items()))
    for (area, origin), items in by_origin.items():
        lines.append(f"[{area}] {origin}")
        for item in items:
            words = " ".join(dict.fromkeys(item.words))
            lines.append(f"    {words[:40]:40}  | {item.line[:200]}")
    return "\n".join(lines)


def summary(found: Sequence[Leftover]) -> dict[str, int]:
    """Leftover lines by platform and by what made them (command family or push)."""
    counts: Counter[str] = Counter()
    for item in found:
        counts[item.area] += 1
        counts[f"{item.area} {_family_of(item.origin)}"] += 1
    return dict(sorted(counts.items()))


def _family_of(origin: str) -> str:
    """What made a message, for the counts: a command family, buttons, pushes, forms, ..."""
    if origin == "registered slash commands":
        return "slash command help"
    if origin.startswith(("pushes", "push ")):
        return "pushes"
    what = origin.split(": ", 1)[1] if ": " in origin else origin
    if what.startswith("/"):
        return "/" + what[1:].split()[0]
    if what.startswith("presses"):
        return "buttons"
    if what.startswith(("pushes", "push ", "(switches")):
        return "pushes"
    if what.startswith(("submits", "resolve form", "record form", "prompt answer form")):
        return "forms"
    if what.startswith("opens the App Home"):
        return "App Home"
    return "free text"
