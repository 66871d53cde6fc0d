"""Meetings on the console: hours, booking by number, invite file, reminder, session record.

The invite is saved as a file and its path printed; "Did it happen?" is answered by number
and the session record is asked line by line.

The console chat, its messenger and the outbox delivery, with the minute tick run as the
scheduler does; SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

from icalendar import Calendar
from sqlmodel import select

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.services.delivery_events import ServiceDeliveryEvents
from storage.tables import Goal, SessionRecord
from tests.dbdump import snapshot
from tests.tick import run_due_work


def console(core: MentorBot, clock: FixedClock, settings: CoreSettings, email: str) -> ConsoleChat:
    out = io.StringIO()
    messenger = ConsoleMessenger(out)
    delivery = OutboxDelivery(
        core.db, {"console": messenger}, clock, settings, ServiceDeliveryEvents(settings)
    )
    return ConsoleChat(core, delivery, messenger, email, out)


def output(chat: ConsoleChat) -> str:
    out = chat.out
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def number_of(chat: ConsoleChat, label: str) -> str:
    """The number the console shows for the choice `label`."""
    for index, choice in enumerate(chat.choices, 1):
        if label in choice.label:
            return str(index)
    raise AssertionError(f"no choice {label!r} in {[c.label for c in chat.choices]}")


def last_invite(chat: ConsoleChat) -> Calendar:
    """The ICS file whose path the console printed last."""
    paths = re.findall(r"\[file meeting\.ics: (\S+)\]", output(chat))
    assert paths, output(chat)
    return Calendar.from_ical(Path(paths[-1]).read_bytes())


async def test_hours_booking_invite_reminder_and_record_on_the_console(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """The whole meeting on the console, numbers for buttons and prompts for the record form."""
    chat = console(core, clock, core_settings, "maya@example.edu")
    await chat.handle_line("/meet hours mon,wed 14:00-16:00 30")
    await chat.handle_line("/meet link http://meet.example.edu/maya")
    assert "must be a secure https:// address" in output(chat)
    await chat.handle_line("/meet link https://meet.example.edu/maya")
    await chat.handle_line("/as sam@example.edu")
    await chat.handle_line("/meet")
    assert "Free meeting times (your time, Europe/London)" in output(chat)
    await chat.handle_line(number_of(chat, "Mon 23 Nov 2026, 14:00"))
    assert "Booked: meeting #1" in output(chat)
    # Sam's invite was delivered to the console at once: saved as a file, the path printed.
    event = last_invite(chat).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == datetime(2026, 11, 23, 14, tzinfo=UTC)
    assert str(event.get("LOCATION")) == "https://meet.example.edu/maya"
    assert "Calendar invite: open it to add the meeting" in output(chat)

    # The hour-before reminder (the day-before one would already be too late).
    clock.set(datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    run_due_work(core.db, core_settings, clock.now())
    await chat.handle_line("/meet list")
    assert "your meeting with Maya Mentor is in an hour" in output(chat)

    # After the meeting, Maya is asked; she answers and writes the record line by line.
    clock.set(datetime(2026, 11, 23, 14, 30, tzinfo=UTC))
    run_due_work(core.db, core_settings, clock.now())
    await chat.handle_line("/as maya@example.edu")
    assert "did it happen?" in output(chat)
    await chat.handle_line(number_of(chat, "It happened"))
    await chat.handle_line(number_of(chat, "Write the session record"))
    assert "Topics: what did you talk about?" in output(chat)
    before = snapshot(core.db)
    await chat.handle_line("Exam stress")
    await chat.handle_line("/cancel")
    assert "Nothing was changed." in output(chat)
    assert snapshot(core.db) == before
    await chat.handle_line(number_of(chat, "Write the session record"))
    await chat.handle_line("Exam stress and a revision plan")
    await chat.handle_line("Revise chapter 3; Book a library room")
    await chat.handle_line("Meet again in two weeks")
    assert "Session record saved for meeting #1" in output(chat)
    await chat.handle_line(number_of(chat, "Make these goals"))
    assert "Added 2 goal(s)" in output(chat)
    with core.db.session() as session:
        record = session.exec(select(SessionRecord)).one()
        assert record.next_step == "Meet again in two weeks"
        assert len(session.exec(select(Goal)).all()) == 2
