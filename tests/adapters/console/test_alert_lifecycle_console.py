"""The alert lifecycle on the console: numbered buttons, the prompted resolve form, edits.

Issue 13, part 5: the console chat, its messenger and the outbox delivery; SQLite and PostgreSQL.
"""

from __future__ import annotations

import io

from sqlmodel import select

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.services.delivery_events import ServiceDeliveryEvents
from storage.tables import Alert
from tests.dbdump import snapshot

CRISIS_TEXT = "I want to kill myself tonight"


def console(core: MentorBot, clock: FixedClock, settings: CoreSettings, email: str) -> ConsoleChat:
    out = io.StringIO()
    messenger = ConsoleMessenger(out)
    delivery = OutboxDelivery(
        core.db, {"console": messenger}, clock, settings, ServiceDeliveryEvents(settings)
    )
    return ConsoleChat(core, delivery, messenger, email, out)


def alert_of(core: MentorBot) -> Alert:
    with core.db.session() as session:
        alert = session.exec(select(Alert)).one()
        session.expunge(alert)
        return alert


def number_of(chat: ConsoleChat, label: str) -> str:
    """The number the console shows for the choice `label`."""
    for index, choice in enumerate(chat.choices, 1):
        if label in choice.label:
            return str(index)
    raise AssertionError(f"no choice {label!r} in {[c.label for c in chat.choices]}")


async def test_acknowledge_and_resolve_by_numbers_and_prompts(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Maya acknowledges by number, then Resolve asks for outcome and note on the next lines."""
    chat = console(core, clock, core_settings, "sam@example.edu")
    await chat.handle_line(CRISIS_TEXT)
    await chat.handle_line("/as maya@example.edu")
    out = chat.out.getvalue()  # type: ignore[attr-defined]
    assert "📬 == CRISIS: needs contact now ==" in out
    await chat.handle_line(number_of(chat, "Acknowledge"))
    assert "Maya Mentor acknowledged this" in chat.out.getvalue()  # type: ignore[attr-defined]
    await chat.handle_line(number_of(chat, "Resolve"))
    assert "How did it end?" in chat.out.getvalue()  # type: ignore[attr-defined]
    assert "[3] Referred to emergency services" in chat.out.getvalue()  # type: ignore[attr-defined]
    await chat.handle_line("1")
    assert "A short note" in chat.out.getvalue()  # type: ignore[attr-defined]
    await chat.handle_line("Called Sam; staying with family tonight")
    alert = alert_of(core)
    assert (alert.status, alert.outcome) == ("resolved", "spoke")
    assert alert.resolution_note == "Called Sam; staying with family tonight"
    assert "resolved this" in chat.out.getvalue()  # type: ignore[attr-defined]
    # Sam was told once that a person has seen it.
    await chat.handle_line("/as sam@example.edu")
    assert chat.out.getvalue().count("has seen your message") == 1  # type: ignore[attr-defined]


async def test_cancelling_the_prompted_form_changes_nothing(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """/cancel at the note prompt leaves the alert as it was."""
    chat = console(core, clock, core_settings, "sam@example.edu")
    await chat.handle_line(CRISIS_TEXT)
    await chat.handle_line("/as maya@example.edu")
    await chat.handle_line("/help")  # first contact links the identity: not part of the check
    await chat.handle_line("/alerts")
    await chat.handle_line(number_of(chat, "Resolve"))  # audited: Maya opened Sam's alert
    before = snapshot(core.db)
    await chat.handle_line("2")
    await chat.handle_line("/cancel")
    assert "Nothing was changed." in chat.out.getvalue()  # type: ignore[attr-defined]
    assert snapshot(core.db) == before


async def test_a_folded_message_edits_the_console_copy(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """A second crisis message after delivery shows Maya an updated alert, not a new one."""
    chat = console(core, clock, core_settings, "sam@example.edu")
    await chat.handle_line(CRISIS_TEXT)
    await chat.handle_line("/as maya@example.edu")
    await chat.handle_line("/as sam@example.edu")
    await chat.handle_line("still " + CRISIS_TEXT)
    await chat.handle_line("/as maya@example.edu")
    out = chat.out.getvalue()  # type: ignore[attr-defined]
    assert "✏️ (updated)" in out and "1 more message since" in out
    assert out.count("📬 == CRISIS: needs contact now ==") == 1
