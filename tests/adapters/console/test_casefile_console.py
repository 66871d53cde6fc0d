"""The case file on the console: the chart and the PDF are saved and shown as paths.

A terminal can't show a picture: the console prints the saved file's path and the chart's
words, then the report button (by its number) saves the PDF the same way.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.services.delivery_events import ServiceDeliveryEvents
from tests.bot.features.casefile_world import NOTE_TEXT, seed_term


def console(core: MentorBot, clock: FixedClock, settings: CoreSettings, email: str) -> ConsoleChat:
    out = io.StringIO()
    messenger = ConsoleMessenger(out)
    delivery = OutboxDelivery(
        core.db, {"console": messenger}, clock, settings, ServiceDeliveryEvents(settings)
    )
    return ConsoleChat(core, delivery, messenger, email, out)


def saved(out: str, suffix: str) -> Path:
    """The path the console printed for the last saved file ending in `suffix`."""
    paths = re.findall(r"\[file [^:\]]+: ([^\]]+)\]", out)
    matching = [Path(p) for p in paths if p.endswith(suffix)]
    assert matching, out
    return matching[-1]


async def test_case_file_prints_words_and_paths_then_the_pdf_by_number(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Maya's /student on the console: chart path and words, notes, then the PDF's path."""
    seed_term(core.db, core_settings, clock.now())
    chat = console(core, clock, core_settings, "maya@example.edu")
    await chat.handle_line("/student sam@example.edu")
    out = chat.out.getvalue()  # type: ignore[attr-defined]
    assert "== Case file: Sam Student ==" in out
    assert "Responded to 10 of 12 check-ins (83%)" in out and NOTE_TEXT in out
    chart = saved(out, "-mood.png")
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert "(Sam Student's weekly average mood" in out  # the alt text beside the path
    number = next(
        str(i) for i, c in enumerate(chat.choices, 1) if c.label == "Progress report (PDF)"
    )
    await chat.handle_line(number)
    out = chat.out.getvalue()  # type: ignore[attr-defined]
    assert saved(out, ".pdf").read_bytes().startswith(b"%PDF")


async def test_a_student_at_the_console_is_refused(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Sam's /student answers the staff-only refusal and saves nothing."""
    seed_term(core.db, core_settings, clock.now())
    chat = console(core, clock, core_settings, "sam@example.edu")
    await chat.handle_line("/student sam@example.edu")
    out = chat.out.getvalue()  # type: ignore[attr-defined]
    assert "only for mentors" in out and "[file" not in out
