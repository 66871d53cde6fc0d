"""Group prompts: the command, posting each occurrence once, DST, fallbacks and bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.model import Message
from bot.people import person_by_email
from bot.services import prompts
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.groups import group_named
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes.recording import RecordingMessenger
from storage.db import Database
from storage.enums import OutboxKind
from storage.tables import GroupPrompt, Outbox
from tests.conftest import Chat, text_of
from tests.dbdump import snapshot
from tests.tick import run_due_work

GROUP = "Study skills"
CHANNEL = ("slack", "C0STUDY001")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def bind(db: Database, channel: tuple[str, str] | None = CHANNEL) -> None:
    """Bind the demo group to a channel (the workshop engineer's /group bind does this)."""
    with db.session() as session:
        group = group_named(session, GROUP)
        group.platform, group.channel_id = channel if channel else (None, None)
        session.add(group)


def prompt_rows(db: Database) -> list[Outbox]:
    with db.session() as session:
        rows = session.exec(
            select(Outbox).where(Outbox.kind == OutboxKind.PROMPT).order_by(col(Outbox.id))
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def add(db: Database, settings: CoreSettings, now: datetime, **spec: str) -> int:
    """Store a prompt for the demo group as the CLI would (no actor)."""
    values = {"group": GROUP, "days": "*", "local_time": "10:30", "text": "Share one win"}
    values.update(spec)
    with db.session() as session:
        prompt = prompts.add_prompt(session, settings, None, prompts.PromptSpec(**values), now)
        assert prompt.id is not None
        return prompt.id


def tick_every(
    db: Database, settings: CoreSettings, start: datetime, end: datetime, step: timedelta
) -> list[tuple[datetime, str]]:
    """Run the prompt step like the minute tick would; (tick time, key) of each new post."""
    posted: list[tuple[datetime, str]] = []
    before = start
    at = start + step
    while at <= end:
        with db.session() as session:
            prompts.post_due_prompts(session, settings, before, at)
        posted += [(r.created_at, r.dedupe_key) for r in prompt_rows(db) if r.created_at == at]
        before, at = at, at + step
    return posted


# ---------------------------------------------------------------- the command


@pytest.mark.parametrize(
    ("raw", "group", "days", "time", "zone", "text"),
    [
        (
            "Study skills fri 15:00 Share one win",
            "Study skills",
            "fri",
            "15:00",
            None,
            "Share one win",
        ),
        (
            '"Study skills" mon-fri 9:05 Europe/Paris Bonjour!\nTwo lines',
            "Study skills",
            "mon-fri",
            "9:05",
            "Europe/Paris",
            "Bonjour!\nTwo lines",
        ),
        ("Year 10 * 08:00 UTC Morning", "Year 10", "*", "08:00", "UTC", "Morning"),
        ("G sun 07:00 and/or something", "G", "sun", "07:00", None, "and/or something"),
    ],
)
def test_add_is_parsed_around_the_time(raw, group, days, time, zone, text) -> None:
    """GROUP (several words, or quoted) DAYS HH:MM [ZONE] TEXT; the text keeps its lines."""
    spec = prompts.parse_add(raw)
    assert (spec.group, spec.days, spec.local_time, spec.timezone, spec.text) == (
        group,
        days,
        time,
        zone,
        text,
    )


def test_a_mentor_adds_lists_and_removes_a_prompt(core: MentorBot, maya: Chat) -> None:
    """`/prompt add` in Maya's zone, `/prompt list` shows it, `/prompt remove` switches it off."""
    reply = maya.send(f"/prompt add {GROUP} fri 15:00 Share one win from this week")
    assert reply.error is None, text_of(reply)
    assert "fri at 15:00 Europe/London" in text_of(reply)
    assert "The first one goes out Fri 27 Nov 15:00" in text_of(reply)
    with core.db.session() as session:
        [prompt] = session.exec(select(GroupPrompt)).all()
    assert (prompt.days, prompt.local_time, prompt.timezone) == ("fri", "15:00", "Europe/London")
    assert prompt.text == "Share one win from this week"
    assert "Share one win" in text_of(maya.send("/prompt list"))
    assert "Share one win" in text_of(maya.send(f"/prompt list {GROUP}"))
    assert "Removed prompt" in text_of(maya.send(f"/prompt remove {prompt.id}"))
    assert "No group prompts" in text_of(maya.send("/prompt list"))


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/prompt add Nowhere fri 15:00 Hello", "no group called 'Nowhere'"),
        (f"/prompt add {GROUP} funday 15:00 Hello", "isn't a day"),
        (f"/prompt add {GROUP} fri 25:00 Hello", "isn't a time"),
        (f"/prompt add {GROUP} fri 15:00", "What should the prompt say?"),
        (f"/prompt add {GROUP} fri 15:00 " + "x" * 501, "under 500 characters"),
        (f"/prompt add {GROUP} Hello there", "Use /prompt add"),
        ("/prompt remove 999", "no prompt #999"),
        ("/prompt remove", "Use /prompt remove ID"),
        ("/prompt shout", "Try /prompt list, add, remove"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_stored(
    core: MentorBot, maya: Chat, line: str, says: str
) -> None:
    """Unknown groups, days, times, empty or long text: a clear message and no change."""
    maya.send("/prompt list")  # first contact links the account; that is not what is tested
    before = snapshot(core.db)
    reply = maya.send(line)
    assert reply.error is not None and says in reply.error, reply.error
    assert snapshot(core.db) == before


def test_only_the_groups_mentors_and_admins_configure_prompts(
    core: MentorBot, clock: FixedClock, sam: Chat, avery: Chat, core_settings: CoreSettings
) -> None:
    """A student and another group's mentor are refused; an admin may; nothing else changes."""
    with core.db.session() as session:
        import_roster(
            session,
            parse_roster("email,name,role\nolly@example.edu,Olly Other,mentor\n"),
            clock.now(),
        )
    prompt_id = add(core.db, core_settings, clock.now())
    olly = Chat(core, "olly@example.edu")
    for chat in (sam, olly):
        chat.send("/resources")  # first contact links the account
        before = snapshot(core.db)
        for line in (
            f"/prompt add {GROUP} fri 15:00 Hi",
            f"/prompt remove {prompt_id}",
            f"/prompt list {GROUP}",
        ):
            assert chat.send(line).error is not None, line
        assert snapshot(core.db) == before
    assert "No group prompts" in text_of(olly.send("/prompt list"))  # not his group
    assert avery.send(f"/prompt add {GROUP} mon 09:00 Hello from staff").error is None


# ---------------------------------------------------------------- posting


def test_each_occurrence_is_posted_once_in_the_channel(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Two ticks at 10:30 make one channel post keyed prompt:{id}:{date}, with a thread hint."""
    bind(core.db)
    prompt_id = add(core.db, core_settings, clock.now())
    clock.set(utc(2026, 11, 23, 10, 30))
    run_due_work(core.db, core_settings, clock.now())
    run_due_work(core.db, core_settings, clock.now())
    [row] = prompt_rows(core.db)
    assert row.dedupe_key == f"prompt:{prompt_id}:2026-11-23"
    assert (row.platform, row.channel_id, row.user_id, row.person_id) == (
        "slack",
        "C0STUDY001",
        "",
        None,
    )
    message = Message.from_json(row.payload)
    assert (
        message.text.startswith("Share one win")
        and "reply in this message's thread" in message.text
    )
    assert message.thread_name == "Share one win" and message.private is False
    clock.advance(days=1)
    run_due_work(core.db, core_settings, clock.now())
    assert [r.dedupe_key for r in prompt_rows(core.db)][1] == f"prompt:{prompt_id}:2026-11-24"


def test_a_group_without_a_channel_gets_it_by_dm(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """No channel (or the console): each student member gets a DM; the mentor does not."""
    prompt_id = add(core.db, core_settings, clock.now())
    clock.set(utc(2026, 11, 23, 10, 30))
    run_due_work(core.db, core_settings, clock.now())
    run_due_work(core.db, core_settings, clock.now())
    rows = prompt_rows(core.db)
    with core.db.session() as session:
        students = {person_by_email(session, e).id for e in ("sam@example.edu", "alex@example.edu")}
    assert {r.person_id for r in rows} == students and len(rows) == 2
    assert {r.dedupe_key for r in rows} == {f"prompt:{prompt_id}:2026-11-23:{s}" for s in students}
    assert "no shared channel" in Message.from_json(rows[0].payload).text


def test_an_occurrence_missed_beyond_the_grace_window_is_skipped(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """After a long outage a stale prompt is not posted; later ones are."""
    bind(core.db)
    add(core.db, core_settings, clock.now())
    with core.db.session() as session:
        outcome = prompts.post_due_prompts(
            session, core_settings, clock.now(), utc(2026, 11, 24, 10, 0)
        )
    assert (outcome.posted, outcome.too_late) == (0, 1)


def test_the_posted_message_is_remembered_for_threading(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Once delivered, the post's channel and message id (Slack ts) can be looked up."""
    bind(core.db)
    prompt_id = add(core.db, core_settings, clock.now())
    clock.set(utc(2026, 11, 23, 10, 30))
    run_due_work(core.db, core_settings, clock.now())
    messenger = RecordingMessenger(platform="slack")
    delivery = OutboxDelivery(
        core.db, {"slack": messenger}, clock, core_settings, ServiceDeliveryEvents(core_settings)
    )
    with core.db.session() as session:
        assert prompts.posted_prompt(session, prompt_id, date(2026, 11, 23)) is None

    asyncio.run(delivery.deliver_once())
    [sent] = messenger.sent
    assert sent.to.channel_id == "C0STUDY001" and sent.to.user_id is None
    with core.db.session() as session:
        copy = prompts.posted_prompt(session, prompt_id, date(2026, 11, 23))
    assert copy is not None and (copy.platform, copy.message_id) == ("slack", "m1")


def test_a_removed_prompt_is_not_posted(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Removed before its time: nothing goes out."""
    bind(core.db)
    prompt_id = add(core.db, core_settings, clock.now())
    with core.db.session() as session:
        prompts.remove_prompt(session, None, str(prompt_id), clock.now())
    clock.set(utc(2026, 11, 23, 10, 30))
    run_due_work(core.db, core_settings, clock.now())
    assert prompt_rows(core.db) == []


# ---------------------------------------------------------------- daylight saving time


def test_a_time_repeated_by_the_autumn_change_fires_once_the_first_time(
    core: MentorBot, core_settings: CoreSettings
) -> None:
    """Europe/London 2026-10-25: 01:30 happens twice; the prompt goes once, at 00:30 UTC."""
    bind(core.db)
    add(
        core.db,
        core_settings,
        utc(2026, 10, 20),
        days="sun",
        local_time="01:30",
        timezone="Europe/London",
    )
    posted = tick_every(
        core.db, core_settings, utc(2026, 10, 24, 22), utc(2026, 10, 25, 4), timedelta(minutes=5)
    )
    assert [at for at, _ in posted] == [utc(2026, 10, 25, 0, 30)]
    assert posted[0][1].endswith(":2026-10-25")


def test_a_time_skipped_by_the_spring_change_fires_once_an_hour_late(
    core: MentorBot, core_settings: CoreSettings
) -> None:
    """Europe/London 2027-03-28: 01:30 doesn't exist; the prompt goes at 02:30 BST (01:30 UTC)."""
    bind(core.db)
    add(
        core.db,
        core_settings,
        utc(2027, 3, 20),
        days="sun",
        local_time="01:30",
        timezone="Europe/London",
    )
    posted = tick_every(
        core.db, core_settings, utc(2027, 3, 27, 22), utc(2027, 3, 28, 4), timedelta(minutes=5)
    )
    assert [at for at, _ in posted] == [utc(2027, 3, 28, 1, 30)]


def test_local_time_holds_across_the_change(core: MentorBot, core_settings: CoreSettings) -> None:
    """New York, fri and mon 09:00 around 2026-11-01: 13:00 UTC before, 14:00 UTC after."""
    bind(core.db)
    add(
        core.db,
        core_settings,
        utc(2026, 10, 28),
        days="fri,mon",
        local_time="09:00",
        timezone="America/New_York",
    )
    posted = tick_every(
        core.db, core_settings, utc(2026, 10, 30, 0), utc(2026, 11, 3, 0), timedelta(minutes=30)
    )
    assert [at for at, _ in posted] == [utc(2026, 10, 30, 13), utc(2026, 11, 2, 14)]
