"""Group prompts that listen, on the console: Answer by number, the next line is the answer.

The console chat, its messenger, the outbox delivery and the tick; SQLite and PostgreSQL. A
group without a channel (the console has none) gets the prompt and the summary by DM.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.model import Inbound
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.roster import import_roster, parse_roster
from storage.tables import Alert, PromptAnswer
from tests.dbdump import snapshot
from tests.tick import run_due_work

GROUP = "Study skills"
EXTRA = [f"s{i}@example.edu" for i in range(1, 5)]
# Alex lives in New York, where 10:30 UTC is inside quiet hours: his DMs wait till morning.
STUDENTS = ["sam@example.edu", *EXTRA]
POSTED_AT = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
CRISIS_TEXT = "I want to kill myself tonight"


@pytest.fixture
def six(core: MentorBot, clock: FixedClock) -> MentorBot:
    """Study skills with six students (the demo's two and four more), no channel."""
    rows = "".join(
        f"{email},Student {email[1]},student,Europe/London,maya@example.edu,,{GROUP}\n"
        for email in EXTRA
    )
    with core.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups\n" + rows
            ),
            clock.now(),
        )
    return core


def console(core: MentorBot, clock: FixedClock, settings: CoreSettings) -> ConsoleChat:
    out = io.StringIO()
    messenger = ConsoleMessenger(out)
    delivery = OutboxDelivery(
        core.db, {"console": messenger}, clock, settings, ServiceDeliveryEvents(settings)
    )
    return ConsoleChat(core, delivery, messenger, "maya@example.edu", out)


def out(chat: ConsoleChat) -> str:
    buffer = chat.out
    assert isinstance(buffer, io.StringIO)
    return buffer.getvalue()


def number_of(chat: ConsoleChat, label: str) -> str:
    """The number the console shows for the choice `label`."""
    for index, choice in enumerate(chat.choices, 1):
        if label == choice.label:
            return str(index)
    raise AssertionError(f"no choice {label!r} in {[c.label for c in chat.choices]}")


async def posted(
    chat: ConsoleChat, clock: FixedClock, settings: CoreSettings, options: str = ""
) -> None:
    """Maya adds a daily prompt on the console; at 10:30 the tick posts it (by DM)."""
    await chat.handle_line(f"/prompt add {GROUP} * 10:30 UTC {options} Share one win".strip())
    assert "Added prompt" in out(chat)
    clock.set(POSTED_AT)
    run_due_work(chat.core.db, settings, clock.now())


async def answers_as(chat: ConsoleChat, email: str, text: str) -> str:
    """`email` picks Answer on the prompt DM and types `text`; what the console printed."""
    start = len(out(chat))
    await chat.handle_line(f"/as {email}")
    await chat.handle_line(number_of(chat, "Answer"))
    assert "Your answer, on one line" in out(chat)[start:]
    await chat.handle_line(text)
    return out(chat)[start:]


def close(chat: ConsoleChat, clock: FixedClock, settings: CoreSettings) -> None:
    """A day later, past the close: the tick shares (or withholds) the summary."""
    clock.set(POSTED_AT + timedelta(hours=24, minutes=1))
    run_due_work(chat.core.db, settings, clock.now())


async def test_answers_a_crisis_answer_and_the_summary_by_dm(
    six: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Three answer, one with crisis words (card and alert); the summary leaves it out."""
    chat = console(six, clock, core_settings)
    await posted(chat, clock, core_settings)
    said = await answers_as(chat, "sam@example.edu", "Finished my essay")
    assert "Share one win" in said and "Thanks, your answer is saved" in said
    said = await answers_as(chat, EXTRA[1], "Went to the gym twice")
    assert "Thanks, your answer is saved" in said
    said = await answers_as(chat, EXTRA[0], CRISIS_TEXT)
    assert "You don't have to face this alone" in said and "saved" not in said
    with six.db.session() as session:
        assert session.exec(select(Alert)).one().kind == "crisis"
    close(chat, clock, core_settings)
    await chat.handle_line(f"/as {EXTRA[1]}")
    summary = out(chat).rsplit(f"(you are now {EXTRA[1]})", 1)[1]
    assert "What Study skills said" in summary
    assert "Sam Student: Finished my essay" in summary
    assert "Student 2: Went to the gym twice" in summary
    assert CRISIS_TEXT not in summary and "Student 1" not in summary


async def test_edit_withdraw_and_refusals_on_the_console(
    six: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Edit replaces, Withdraw deletes; an empty or 10,000-character answer changes nothing."""
    chat = console(six, clock, core_settings)
    await posted(chat, clock, core_settings)
    await answers_as(chat, "sam@example.edu", "First try")
    await chat.handle_line(number_of(chat, "Edit"))
    assert "Your answer so far: First try" in out(chat)
    await chat.handle_line("Second try")
    assert "Your answer is updated" in out(chat)
    with six.db.session() as session:
        assert [a.text for a in session.exec(select(PromptAnswer)).all()] == ["Second try"]
    await chat.handle_line(f"/as {EXTRA[0]}")
    await chat.handle_line(number_of(chat, "Answer"))
    before = snapshot(six.db)
    await chat.handle_line("z" * 10_000)
    assert "too long" in out(chat).rsplit("Your answer, on one line", 1)[1]
    assert snapshot(six.db) == before
    await chat.handle_line("/as sam@example.edu")
    await chat.handle_line("/help")  # fresh numbering: the thanks' buttons are gone
    await chat.handle_line("/as sam@example.edu")
    with six.db.session() as session:
        round_id = str(session.exec(select(PromptAnswer)).one().round_id)
    withdraw = Inbound(chat.actor(), "action", "prompt.withdraw", {"round": round_id})
    assert "withdrawn" in (await six.ahandle(withdraw)).messages[0].text
    with six.db.session() as session:
        assert session.exec(select(PromptAnswer)).all() == []


async def test_anonymous_with_four_answers_withholds_and_tells_maya_the_count(
    six: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """No summary reaches the students; Maya reads the count only."""
    chat = console(six, clock, core_settings)
    await posted(chat, clock, core_settings, "anonymous")
    for index, email in enumerate(STUDENTS[:4]):
        await answers_as(chat, email, f"secret win {index}")
    close(chat, clock, core_settings)
    await chat.handle_line("/as sam@example.edu")
    assert "What Study skills said" not in out(chat)
    await chat.handle_line("/as maya@example.edu")
    tail = out(chat).rsplit("(you are now maya@example.edu)", 1)[1]
    assert "closed with 4 answers" in tail and "secret win" not in tail


async def test_a_pulse_question_by_numbers(
    six: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Five students pick 1-5 by number; everyone gets the distribution."""
    chat = console(six, clock, core_settings)
    await posted(chat, clock, core_settings, "pulse")
    for email, score in zip(STUDENTS[:5], ("3", "4", "4", "5", "2"), strict=True):
        await chat.handle_line(f"/as {email}")
        await chat.handle_line(number_of(chat, score))
        assert f"Thanks, you chose {score}" in out(chat)
    close(chat, clock, core_settings)
    await chat.handle_line("/as sam@example.edu")
    tail = out(chat).rsplit("(you are now sam@example.edu)", 1)[1]
    assert "4  ██  2" in tail and "Average 3.6 of 5." in tail
