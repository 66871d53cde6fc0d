"""The console: `/report` and the weekly digest print each chart's file path and its words."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.services.delivery_events import ServiceDeliveryEvents
from tests.bot.services.reporting.world import SECRET_NOTE, demo_students_log
from tests.tick import run_due_work

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def core_settings() -> CoreSettings:
    """Groups of two may be reported (the demo has two students); no staff channel."""
    return CoreSettings(min_group_size=2, digest_day="mon")


def console(core: MentorBot, clock: FixedClock, settings: CoreSettings, email: str) -> ConsoleChat:
    out = io.StringIO()
    messenger = ConsoleMessenger(out)
    delivery = OutboxDelivery(
        core.db, {"console": messenger}, clock, settings, ServiceDeliveryEvents(settings)
    )
    return ConsoleChat(core, delivery, messenger, email, out)


def chart_paths(text: str) -> list[Path]:
    """The saved chart files the console printed."""
    return [Path(p) for p in re.findall(r"\[file [^:]+\.png: ([^\]]+)\]", text)]


async def test_report_prints_figures_and_chart_paths_with_alt_text(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Avery's /report: the figures as text, each chart saved as a PNG beside its words."""
    demo_students_log(core.db, clock.now())
    chat = console(core, clock, core_settings, "admin@example.edu")
    await chat.handle_line("/report")
    out = chat.out.getvalue()  # type: ignore[attr-defined]
    assert "== Programme report: All students ==" in out
    paths = chart_paths(out)
    assert len(paths) == 4 and all(p.read_bytes().startswith(PNG) for p in paths)
    assert "(Check-in response rate %: latest" in out  # the alt text, printed
    assert SECRET_NOTE not in out
    await chat.handle_line("/report 2026-12-01 2026-11-01")
    assert "before it starts" in chat.out.getvalue()  # type: ignore[attr-defined]


async def test_digest_without_a_staff_channel_goes_to_admins_by_dm(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """No STAFF_CHANNEL: Avery (an admin) gets the staff digest by DM, with 4 charts."""
    demo_students_log(core.db, clock.now())
    run_due_work(core.db, core_settings, clock.now())
    chat = console(core, clock, core_settings, "admin@example.edu")
    await chat.delivery.deliver_once(["console"])
    out = chat.out.getvalue()  # type: ignore[attr-defined]
    assert "Weekly digest: All students" in out
    assert len(chart_paths(out)) >= 4
