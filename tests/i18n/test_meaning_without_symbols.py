"""Readable by everyone (issue 19 item 6): the meaning survives without emoji and symbols.

The same message shapes as the pseudo-locale test, in English, on the console, Slack and
Discord. From what a screen reader or a notification gets (Slack's top-level `text`;
Discord's content and embeds; the console's output) every emoji and the sparkline and
progress-bar characters are stripped, and then:

- no message is left without words (an emoji-only notification says nothing);
- a mood face still has its number next to it ("🙂 4" reads "4");
- every button still has a name;
- a 14-day sparkline still has a trend in words next to it ("mostly 3, lowest 2 on Tuesday");
- a chart or other image carries alt text.

A failure lists every problem with the message it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pytest

from adapters.discord.messenger import DiscordMessenger
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.mood import MOOD_FACES
from mentorbot_fakes.discord_api import FakeDiscord
from tests.adapters.discord.conftest import TestClient
from tests.adapters.slack.conftest import Harness
from tests.i18n.console_drive import ConsoleRun
from tests.i18n.platform_drive import DiscordRun, SlackRun

# Emoji, dingbats, arrows, the sparkline (▁▂▃▄▅▆▇█), progress bars (░▒▓) and the gap dot.
SYMBOLS = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u20e3"
    "\u2190-\u21ff\u2580-\u259f\u00b7\u2022\u2705\u274c]"
)
# A sparkline: bars and gap dots with at least one bar below full (a progress bar "█████ 100%"
# is not one), or a fortnight of gap dots (no moods at all).
SPARK = re.compile("[\u00b7\u2581-\u2588]*[\u2581-\u2587][\u00b7\u2581-\u2588]*|\u00b7{5,}")
# A face with no number either side ("🙂 4" and "4 🙂" both read "4").
FACE_WITHOUT_NUMBER = re.compile(
    r"(?<![1-5] )(?<![1-5])(?:"
    + "|".join(re.escape(f) for f in MOOD_FACES.values())
    + r")(?!\s*[1-5])"
)
# The label a sparkline sits under: "Last 14 days", "14 days".
TREND_LABEL = re.compile(r"(?i)\b(?:last\s+)?14[\s-]+days?\b:?")
# The English twin's words (bot.sparkline.describe_trend): "mostly 3, lowest 2 on Tuesday",
# "mixed, from 1 to 5", "2 of 14 days logged". A twin may close a longer line (/mentees).
TWIN = re.compile(r"(?i)\b(?:mostly|mixed|lowest|highest|logged|no moods?)\b")
IMAGE = re.compile(r"\.(?:png|jpe?g|gif|svg)$", re.IGNORECASE)


def stripped(text: str) -> str:
    """What is left for a reader once emoji and symbols are gone."""
    return SYMBOLS.sub("", text)


class Problems:
    """Problems found, by kind, each with the message it came from."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, kind: str, origin: str, detail: str) -> None:
        self.found.setdefault(kind, []).append(f"{origin}  | {detail[:200]!r}")

    def check_text(self, origin: str, text: str, *, whole: bool = True) -> None:
        """One plain-text fallback (or line) as a screen reader gets it."""
        if whole and text.strip() and not re.search(r"[^\W_]", stripped(text)):
            self.add("no words left without emoji", origin, text)
        lines = text.splitlines()
        for index, line in enumerate(lines):
            if FACE_WITHOUT_NUMBER.search(line):
                self.add("a mood face without its number", origin, line)
            # A twin may follow on the next line, or under its own label ("*Trend*\nmostly 3").
            following = " ".join(lines[index + 1 : index + 3])
            self.check_trend(origin, line, following)

    def check_trend(self, origin: str, line: str, following: str = "") -> None:
        """A sparkline keeps a trend in words, in its own segment or on the next line.

        What is left of the sparkline's segment without the bars, the emoji and its label
        ("Last 14 days:") must hold words and a mood number: "(mostly 3, lowest 2 on Tuesday)".
        """
        first = SPARK.search(line)
        if first is None:
            return
        after = line[first.end() :] + " " + following
        if TWIN.search(after) and re.search(r"[1-5]", after):
            return
        for segment in re.split(r"[,;|]\s+", line):
            bar = SPARK.search(segment)
            if bar is None:
                continue
            # From the bars on: a label before them ("mood 4/5, 14 days") is not the trend.
            left = TREND_LABEL.sub(" ", stripped(SPARK.sub(" ", segment[bar.start() :])))
            nearby = left + " " + (stripped(following) if not SPARK.search(following) else "")
            if not (re.search(r"[A-Za-z]{3,}", nearby) and re.search(r"[1-5]", nearby)):
                self.add("a sparkline without a trend in words", origin, line)

    def check_button(self, origin: str, label: str) -> None:
        if not re.search(r"[^\W_]", stripped(label)):
            self.add("a button without a name", origin, label)
        elif FACE_WITHOUT_NUMBER.search(label):
            self.add("a mood button without its number", origin, label)

    def message(self) -> str:
        total = sum(len(v) for v in self.found.values())
        lines = [
            f"{total} problem(s): "
            + ", ".join(f"{kind} {len(items)}" for kind, items in self.found.items())
        ]
        for kind, items in self.found.items():
            lines.append(f"== {kind}")
            lines += [f"    {item}" for item in dict.fromkeys(items)]
        return "\n".join(lines)


def _walk(value: Any) -> Iterable[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


# ------------------------------------------------------------------ per platform


def console_problems(seen_texts: Iterable[tuple[str, str]]) -> Problems:
    problems = Problems()
    for origin, text in seen_texts:
        problems.check_text(origin, text)
        lines = text.splitlines()
        for index, line in enumerate(lines):
            choice = re.match(r"\s*\[\d+\]\s?(.*)$", line)
            if choice and not line.strip().startswith("[file"):
                problems.check_button(origin, choice.group(1))
            upload = re.match(r"\s*(?:📬 )?\[file ([^:]+):", line)
            if upload and IMAGE.search(upload.group(1).strip()):
                alt = lines[index + 1].strip() if index + 1 < len(lines) else ""
                if not (alt.startswith("(") and len(alt) > 2):
                    problems.add("an image without alt text", origin, line)
    return problems


def slack_problems(bodies: Iterable[tuple[str, Any]], files: Iterable[Any]) -> Problems:
    problems = Problems()
    for origin, body in bodies:
        if not isinstance(body, dict):
            continue
        fallback = body.get("text")
        blocks = body.get("blocks") or []
        if isinstance(fallback, str):
            # The notification and screen-reader text: it must stand on its own.
            problems.check_text(f"{origin} (notification text)", fallback)
            if not fallback.strip() and blocks:
                problems.add("no words left without emoji", origin, "(empty notification text)")
        read: list[str] = []  # the blocks' words in order, as a screen reader reads them
        for node in _walk(blocks):
            if node.get("type") == "button":
                problems.check_button(origin, str(node.get("text", {}).get("text", "")))
            elif node.get("type") == "image" and not str(node.get("alt_text", "")).strip():
                problems.add("an image without alt text", origin, str(node.get("image_url")))
            elif node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                read.append(node["text"])
        # Buttons' labels are checked above; a field's value may be followed by its twin.
        problems.check_text(origin, "\n".join(read), whole=False)
    for upload in files:
        if IMAGE.search(upload.filename) and not (upload.alt_txt or "").strip():
            problems.add("an image without alt text", "Slack upload", upload.filename)
    return problems


def discord_problems(bodies: Iterable[tuple[str, Any]]) -> Problems:
    problems = Problems()
    for origin, body in bodies:
        if not isinstance(body, dict):
            continue
        # What a screen reader reads: the content, then each embed's title, text and fields.
        parts = [str(body.get("content") or "")]
        for embed in body.get("embeds") or []:
            parts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
            parts += [f"{f.get('name', '')}: {f.get('value', '')}" for f in embed.get("fields", [])]
            parts.append(str((embed.get("footer") or {}).get("text") or ""))
        spoken = "\n".join(p for p in parts if p)
        if body.get("embeds") or body.get("content"):
            problems.check_text(origin, spoken)
        for node in _walk(body.get("components") or []):
            if node.get("type") == 2:
                problems.check_button(origin, str(node.get("label") or ""))
        for attachment in body.get("attachments") or []:
            name = str(attachment.get("filename", ""))
            if IMAGE.search(name) and not str(attachment.get("description") or "").strip():
                problems.add("an image without alt text", origin, name)
    return problems


# ------------------------------------------------------------------ the tests


async def test_console_meaning_survives_without_symbols(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Console output, emoji and sparklines stripped: moods, trends and choices still read."""
    seen = await ConsoleRun(core, clock, core_settings).everything()
    problems = console_problems((s.origin, s.text) for s in seen)
    if problems.found:
        pytest.fail(problems.message(), pytrace=False)


async def test_slack_meaning_survives_without_symbols(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings, slack_harness: Harness
) -> None:
    """Slack's notification text, blocks and buttons keep their meaning without symbols."""
    run = SlackRun(slack_harness, core.db, clock, core_settings)
    await run.everything()
    problems = slack_problems(run.bodies, slack_harness.fake.files.values())
    if problems.found:
        pytest.fail(problems.message(), pytrace=False)


async def test_discord_meaning_survives_without_symbols(
    core: MentorBot,
    clock: FixedClock,
    core_settings: CoreSettings,
    discord_bot: tuple[FakeDiscord, TestClient],
) -> None:
    """Discord's content and embeds as a screen reader reads them, and its buttons."""
    fake, client = discord_bot
    run = DiscordRun(fake, core.db, clock, core_settings)
    run.delivery = OutboxDelivery(
        core.db,
        {"discord": DiscordMessenger(client)},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
    )
    await run.everything()
    problems = discord_problems(run.bodies)
    if problems.found:
        pytest.fail(problems.message(), pytrace=False)
