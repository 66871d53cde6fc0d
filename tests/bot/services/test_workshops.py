"""Workshop sessions: creating, RSVPs, cancel and move, timed steps, feedback, reports, privacy.

Covers series, the waitlist, the timed steps (reminders, start post, feedback prompt) and
attendance too.

The demo programme: Maya mentors Study skills, whose members are Sam (Europe/London) and Alex
(America/New_York); the clock stands at Monday 2026-11-23 10:00 UTC. Kim (Asia/Tokyo) and Lee
(Europe/London) join Study skills here; Olly mentors another group, Art club.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.errors import NotAllowed, UserError
from bot.model import Choice, Inbound, Message, Reply
from bot.people import person_by_email
from bot.services import workshop_messages as msgs
from bot.services import workshops as service
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.export import export_person
from bot.services.groups import bind_channel, group_named
from bot.services.privacy import erase_person, purge_expired_text
from bot.services.roster import import_roster, parse_roster
from bot.services.workshop_tick import WorkshopTickOutcome, run_workshop_steps
from storage.tables import (
    AuditLog,
    Outbox,
    Person,
    Rsvp,
    WorkshopFeedback,
    WorkshopSeries,
    WorkshopSession,
)
from tests.conftest import Chat, find_choice, text_of
from tests.dbdump import raw_text_values, snapshot
from tests.tick import PERSONAL_DATA, run_due_work

EXTRA = (
    "email,name,role,timezone,groups\n"
    "kim@example.edu,Kim Student,student,Asia/Tokyo,Study skills\n"
    "lee@example.edu,Lee Student,student,Europe/London,Study skills\n"
    "olly@example.edu,Olly Other,mentor,Europe/London,Art club\n"
    "nia@example.edu,Nia Student,student,Europe/London,Art club\n"
)
# Tuesday 1 December 2026, 09:00 in London (GMT, so 09:00 UTC; 04:00 in New York).
SESSION_START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ADD = '/workshop add "Exam stress" 2026-12-01 09:00 Europe/London 60 cap 2 https://meet.example/abc'


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def world(core: MentorBot) -> MentorBot:
    """The demo plus Kim, Lee (Study skills), Olly and Nia (Art club)."""
    with core.db.session() as session:
        import_roster(session, parse_roster(EXTRA), core.clock.now())
    return core


def chat(core: MentorBot, name: str) -> Chat:
    return Chat(core, f"{name}@example.edu")


def pid(core: MentorBot, name: str) -> int:
    with core.db.session() as session:
        person = person_by_email(session, f"{name}@example.edu")
        assert person is not None and person.id is not None
        return person.id


def bind(core: MentorBot, channel: str = "C0STUDY01") -> None:
    with core.db.session() as session:
        bind_channel(session, group_named(session, "Study skills"), "slack", channel)


def workshop(core: MentorBot, workshop_id: int = 1) -> WorkshopSession:
    with core.db.session() as session:
        found = session.get(WorkshopSession, workshop_id)
        assert found is not None
        session.expunge(found)
        return found


def outbox(core: MentorBot, prefix: str = "workshop:") -> list[Outbox]:
    with core.db.session() as session:
        return list(
            session.exec(
                select(Outbox)
                .where(col(Outbox.dedupe_key).startswith(prefix))
                .order_by(col(Outbox.id))
            ).all()
        )


def keys(core: MentorBot, prefix: str = "workshop:") -> list[str]:
    return [row.dedupe_key for row in outbox(core, prefix)]


def payload(row: Outbox) -> Message:
    return Message.from_json(row.payload)


def rsvps(core: MentorBot, workshop_id: int = 1) -> dict[str, tuple[str, int | None]]:
    with core.db.session() as session:
        rows = session.exec(
            select(Rsvp, Person)
            .join(Person, col(Person.id) == Rsvp.person_id)
            .where(Rsvp.session_id == workshop_id)
        ).all()
        return {p.email.split("@")[0]: (r.status, r.waitlist_no) for r, p in rows}


def text_of_message(message: Message) -> str:
    return "\n".join([message.text, *(f"{f.label}: {f.value}" for f in message.fields)])


def as_reply(message: Message | None) -> Reply:
    assert message is not None
    return Reply(messages=(message,))


def choice_in(message: Message, label: str) -> Choice:
    return find_choice(as_reply(message), label)


def press(person: Chat, action: str, **args: str) -> Reply:
    person.last = person.core.handle(Inbound(person.actor, "action", action, args))
    return person.last


def rsvp(person: Chat, answer: str = "going", workshop_id: int = 1):
    return press(person, "workshop.rsvp", session=str(workshop_id), answer=answer)


def steps(core: MentorBot, at: datetime):
    with core.db.session() as session:
        return run_workshop_steps(session, core.settings, at)


def create(core: MentorBot, line: str = ADD, who: str = "maya") -> None:
    reply = chat(core, who).send(line)
    assert reply.error is None, text_of(reply)


def going(core: MentorBot, *names: str, workshop_id: int = 1) -> None:
    for name in names:
        reply = rsvp(chat(core, name), "going", workshop_id)
        assert reply.error is None, text_of(reply)


def linked(core: MentorBot, names: Iterable[str]) -> None:
    """Link everyone's console identity first, so refusals compare clean snapshots."""
    for name in names:
        chat(core, name).send("/help")


# ---------------------------------------------------------------- creating


def test_chat_add_stores_the_session_and_announces_it_in_the_channel(world: MentorBot) -> None:
    """`/workshop add` parses title, local start, zone, length, capacity and link; one post."""
    bind(world)
    reply = chat(world, "maya").send(ADD)
    assert "Created workshop:\n#1 Exam stress for Study skills: Tue 1 Dec, 09:00–10:00" in (
        text_of(reply)
    )
    stored = workshop(world)
    assert (stored.starts_at, stored.timezone, stored.duration_minutes, stored.capacity) == (
        SESSION_START,
        "Europe/London",
        60,
        2,
    )
    assert stored.location == "https://meet.example/abc"
    assert stored.created_by == pid(world, "maya")
    [post] = outbox(world)
    assert (post.dedupe_key, post.platform, post.channel_id, post.person_id) == (
        "workshop:1:announce",
        "slack",
        "C0STUDY01",
        None,
    )
    message = payload(post)
    when = next(f.value for f in message.fields if f.label == "When")
    # The session's zone first, then the members' other zones, most common first.
    assert when.splitlines() == [
        "Tue 1 Dec, 09:00–10:00 (Europe/London)",
        "Tue 1 Dec, 04:00–05:00 (America/New_York)",
        "Tue 1 Dec, 18:00–19:00 (Asia/Tokyo)",
    ]
    assert [c.label for c in message.choices] == ["Going", "Not going"]
    assert [lk.url for lk in message.links] == ["https://meet.example/abc"]


def test_a_group_without_a_channel_is_invited_by_dm(world: MentorBot) -> None:
    """No channel (or the console): each member gets the invitation in their own zone."""
    create(world)
    rows = outbox(world)
    assert sorted(r.dedupe_key for r in rows) == sorted(
        f"workshop:1:announce:{pid(world, n)}" for n in ("sam", "alex", "kim", "lee")
    )
    alex = next(r for r in rows if r.person_id == pid(world, "alex"))
    assert "Tue 1 Dec, 04:00–05:00 (America/New_York)" in text_of_message(payload(alex))


def test_form_and_named_fields_create_a_session(world: MentorBot) -> None:
    """The "workshop.add" form (a modal on Slack or Discord) takes named fields."""
    reply = chat(world, "maya").form(
        "workshop.add",
        group="Study skills",
        title="Sleep well",
        start="2026-12-02 18:30",
        timezone="America/New_York",
        duration="45",
        capacity="",
        location="Room 2.14",
        description="Habits for better sleep.",
    )
    assert reply.error is None, text_of(reply)
    stored = workshop(world)
    assert (stored.starts_at, stored.capacity, stored.location) == (
        utc(2026, 12, 2, 23, 30),
        None,
        "Room 2.14",
    )
    assert stored.description == "Habits for better sleep."


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('/workshop add "Old news" 2026-11-20 16:00 Europe/London 60', "is in the past"),
        ('/workshop add "Too soon" 2026-11-23 09:59 UTC 60', "is in the past"),
        (
            '/workshop add "Backwards" 2026-12-01 16:00 Europe/London 0',
            "can't end before it starts",
        ),
        ('/workshop add "Backwards" 2026-12-01 16:00 Europe/London -30', "must be more than 0"),
        ('/workshop add "Marathon" 2026-12-01 16:00 Europe/London 900', "at most 12 hours"),
        ('/workshop add "Nobody" 2026-12-01 16:00 Europe/London 60 cap 0', "at least 1 place"),
        ('/workshop add "Lots" 2026-12-01 16:00 Europe/London 60 cap many', "whole number"),
        ('/workshop add "Where" 2026-12-01 16:00 Mars/Olympus 60', "length in minutes"),
        ('/workshop add "When" 2026-13-01 16:00 Europe/London 60', "isn't a date"),
        ('/workshop add "When" 2026-12-01 25:00 Europe/London 60', "isn't a time of day"),
        ('/workshop add "" 2026-12-01 16:00 Europe/London 60', "needs a title"),
        ('/workshop add "Who" 2026-12-01 16:00 UTC 60 group Chess', "no group called 'Chess'"),
        ('/workshop add "Exam stress', "quote is missing"),
        ("/workshop add Exam", "Use /workshop add"),
        ('/workshop add "Many" 2026-12-01 16:00 UTC 60 weekly 60', "between 1 and 52"),
    ],
)
def test_bad_input_is_refused_clearly_and_nothing_is_stored(
    world: MentorBot, line: str, message: str
) -> None:
    """Past starts, no duration, no places, unknown zones or groups: a clear no, nothing kept."""
    linked(world, ["maya"])
    before = snapshot(world.db)
    reply = chat(world, "maya").send(line)
    assert reply.error is not None and message in reply.error
    assert snapshot(world.db) == before


def test_the_same_session_twice_is_refused(world: MentorBot) -> None:
    """A repeated command (or a form submitted twice) does not make a second session."""
    create(world)
    reply = chat(world, "maya").send(ADD)
    assert reply.error is not None and "already exists (#1)" in reply.error


def test_weekly_series_keeps_local_time_across_the_clock_change(world: MentorBot) -> None:
    """Every Tuesday 16:00 London for 4 weeks over the March change: 16:00 GMT, then BST."""
    create(world, '/workshop add "Study hour" 2027-03-16 16:00 Europe/London 60 weekly 4')
    with world.db.session() as session:
        series = session.exec(select(WorkshopSeries)).one()
        sessions = session.exec(
            select(WorkshopSession).order_by(col(WorkshopSession.starts_at))
        ).all()
    assert (series.count, series.days, series.local_time) == (4, "tue", "16:00")
    assert [s.starts_at for s in sessions] == [
        utc(2027, 3, 16, 16, 0),
        utc(2027, 3, 23, 16, 0),
        utc(2027, 3, 30, 15, 0),  # British Summer Time from 28 March
        utc(2027, 4, 6, 15, 0),
    ]
    assert {s.series_id for s in sessions} == {series.id}
    # Each session has its own invitations (no channel: one per member).
    assert len(keys(world)) == 4 * 4


def test_series_on_several_days_starts_on_the_first_matching_day(world: MentorBot) -> None:
    """`days tue,thu` from a Monday: the first session is the Tuesday after."""
    create(world, '/workshop add "Drop-in" 2026-11-30 12:00 UTC 30 weekly 3 days tue,thu')
    with world.db.session() as session:
        starts = session.exec(select(WorkshopSession.starts_at).order_by("starts_at")).all()
    assert starts == [utc(2026, 12, 1, 12), utc(2026, 12, 3, 12), utc(2026, 12, 8, 12)]


def test_series_command_requires_a_count(world: MentorBot) -> None:
    """`/workshop series` without `weekly N` explains what's missing."""
    reply = chat(world, "maya").send('/workshop series "X" 2026-12-01 16:00 UTC 60')
    assert reply.error is not None and "weekly N" in reply.error


def test_only_the_groups_mentors_and_admins_create(world: MentorBot, caplog) -> None:
    """Students and other groups' mentors are refused (and nothing stored); admins may."""
    linked(world, ["sam", "olly"])
    caplog.set_level(logging.INFO, logger="bot.core")
    before = snapshot(world.db)
    line = ADD + " group Study skills"
    for who in ("sam", "olly"):
        reply = chat(world, who).send(line)
        assert reply.error == "Only this group's mentors and programme staff can do that."
    assert snapshot(world.db) == before
    assert sum("refused" in r.getMessage() for r in caplog.records) == 2
    create(world, line, who="admin")


def test_a_mentor_of_several_groups_must_name_one(world: MentorBot) -> None:
    """Without `group`, a mentor's only group is used; with two, they're asked which."""
    reply = chat(world, "admin").send(ADD)
    assert reply.error is not None and "Which group is it for?" in reply.error
    assert "Art club, Study skills" in reply.error


# ---------------------------------------------------------------- RSVP


def test_rsvp_to_capacity_then_waitlist_then_promotion(world: MentorBot) -> None:
    """Two places: Sam and Alex go, Kim and Lee wait in order; Sam drops and Kim is promoted."""
    create(world)
    going(world, "sam", "alex")
    kim = rsvp(chat(world, "kim"))
    rsvp(chat(world, "lee"))
    assert "is full, so you're on the waitlist" in text_of(kim)
    assert rsvps(world) == {
        "sam": ("going", None),
        "alex": ("going", None),
        "kim": ("waitlist", 1),
        "lee": ("waitlist", 2),
    }
    dropped = rsvp(chat(world, "sam"), "not_going")
    assert "you're not going" in text_of(dropped)
    # Kim keeps her number: the next person to join the waitlist gets 3, never 1 again.
    assert rsvps(world)["kim"] == ("going", 1) and rsvps(world)["lee"] == ("waitlist", 2)
    [promotion] = outbox(world, "workshop:1:promoted:")
    assert promotion.person_id == pid(world, "kim")
    message = payload(promotion)
    assert "A place opened up" in message.text and "18:00–19:00 (Asia/Tokyo)" in message.text
    assert [c.label for c in message.choices] == ["Not going"]


def test_answering_going_twice_changes_nothing(world: MentorBot) -> None:
    """A repeated Going keeps the place (or the waitlist position)."""
    create(world)
    going(world, "sam", "alex", "kim")
    rsvp(chat(world, "sam"))
    again = rsvp(chat(world, "kim"))
    assert "waitlist" in text_of(again)
    assert rsvps(world)["kim"] == ("waitlist", 1)


def test_leaving_the_waitlist_promotes_nobody(world: MentorBot) -> None:
    """Only a freed place promotes; someone leaving the waitlist frees none."""
    create(world)
    going(world, "sam", "alex", "kim", "lee")
    rsvp(chat(world, "kim"), "not_going")
    assert rsvps(world)["lee"] == ("waitlist", 2)
    assert outbox(world, "workshop:1:promoted:") == []


def test_rejoining_goes_to_the_back_of_the_waitlist(world: MentorBot) -> None:
    """Someone who left and comes back queues behind those already waiting."""
    create(world)
    going(world, "sam", "alex", "kim", "lee")
    rsvp(chat(world, "kim"), "not_going")
    rsvp(chat(world, "kim"))
    rsvp(chat(world, "alex"), "not_going")
    assert rsvps(world)["lee"] == ("going", 2)
    assert rsvps(world)["kim"] == ("waitlist", 3)


def test_no_capacity_means_no_waitlist(world: MentorBot) -> None:
    """A session without a limit takes everyone."""
    create(world, '/workshop add "Open" 2026-12-01 09:00 Europe/London 60')
    going(world, "sam", "alex", "kim", "lee")
    assert {s for s, _ in rsvps(world).values()} == {"going"}


def test_only_members_rsvp(world: MentorBot, caplog) -> None:
    """Nia (another group), Olly (another mentor), Maya (the group's mentor) are refused."""
    create(world)
    linked(world, ["nia", "olly", "maya"])
    caplog.set_level(logging.INFO, logger="bot.core")
    before = snapshot(world.db)
    for who, expected in (
        ("nia", "Only members of Study skills"),
        ("olly", "Only members of Study skills"),
        ("maya", "don't need to RSVP"),
    ):
        reply = rsvp(chat(world, who))
        assert reply.error is not None and expected in reply.error
    assert snapshot(world.db) == before


def test_rsvp_to_a_cancelled_or_finished_session_is_refused(world: MentorBot) -> None:
    """A cancelled session takes no answers, nor does one that is over."""
    create(world)
    create(world, '/workshop add "Later" 2026-12-02 09:00 Europe/London 60')
    chat(world, "maya").send("/workshop cancel 1")
    reply = rsvp(chat(world, "sam"))
    assert reply.error is not None and "was cancelled, so answering is closed" in reply.error
    world.clock.set(utc(2026, 12, 2, 10, 0))
    reply = rsvp(chat(world, "sam"), workshop_id=2)
    assert reply.error is not None and "is already over" in reply.error
    assert rsvps(world, 2) == {}


def test_rsvp_buttons_with_bad_arguments(world: MentorBot) -> None:
    """A made-up session id or answer is a clear message."""
    create(world)
    assert "no workshop session #99" in (rsvp(chat(world, "sam"), workshop_id=99).error or "")
    assert "missing something" in (rsvp(chat(world, "sam"), "maybe").error or "")


# ---------------------------------------------------------------- cancel and move


def test_cancel_tells_those_going_and_the_channel_and_withdraws_what_is_queued(
    world: MentorBot,
) -> None:
    """Cancelling posts in the channel, DMs those going or waiting, withdraws queued posts."""
    bind(world)
    create(world)
    going(world, "sam", "alex", "kim")
    reply = chat(world, "maya").send("/workshop cancel 1")
    assert "Cancelled #1 “Exam stress”" in text_of(reply)
    assert workshop(world).status == "cancelled"
    rows = {r.dedupe_key: r for r in outbox(world)}
    assert rows["workshop:1:announce"].status == "skipped"  # never delivered: withdrawn
    assert rows["workshop:1:cancelled"].channel_id == "C0STUDY01"
    told = {r.person_id for k, r in rows.items() if k.startswith("workshop:1:cancelled:")}
    assert told == {pid(world, n) for n in ("sam", "alex", "kim")}
    again = chat(world, "maya").send("/workshop cancel 1")
    assert again.error is not None and "already cancelled" in again.error


def test_cancel_and_move_are_for_the_groups_mentors(world: MentorBot) -> None:
    """Sam and Olly may not cancel, move or report; nothing changes."""
    create(world)
    linked(world, ["sam", "olly"])
    before = snapshot(world.db)
    for who in ("sam", "olly"):
        for line in (
            "/workshop cancel 1",
            "/workshop move 1 2026-12-02 09:00",
            "/workshop report 1",
        ):
            reply = chat(world, who).send(line)
            assert reply.error is not None, (who, line)
    assert snapshot(world.db) == before


def test_move_notifies_and_resets_the_reminders(world: MentorBot) -> None:
    """A moved session tells those going (in their zone), and its reminders follow the new time."""
    create(world)
    going(world, "sam", "alex")
    steps(world, utc(2026, 11, 30, 9, 0))  # the day-before reminders for the old time
    assert len(keys(world, "workshop:1:remind-day:")) == 2
    world.clock.set(utc(2026, 11, 30, 10, 0))
    reply = chat(world, "maya").send("/workshop move 1 2026-12-03 17:00")
    assert "Moved: #1 Exam stress for Study skills: Thu 3 Dec, 17:00–18:00" in text_of(reply)
    moved = workshop(world)
    assert moved.starts_at == utc(2026, 12, 3, 17, 0) and moved.day_reminder_at is None
    notices = outbox(world, "workshop:1:moved:")
    alex_notice = next(n for n in notices if n.person_id == pid(world, "alex"))
    text = payload(alex_notice).text
    assert "from Tue 1 Dec 04:00 (America/New_York)" in text and "12:00–13:00" in text
    # Non-members of the going list get it too: the group has no channel to read it in.
    assert {n.person_id for n in notices} == {pid(world, n) for n in ("sam", "alex", "kim", "lee")}
    steps(world, utc(2026, 12, 2, 17, 0))
    new_keys = keys(world, "workshop:1:remind-day:")
    assert len(new_keys) == 4 and sum(k.endswith("20261203T1700") for k in new_keys) == 2


def test_move_refuses_the_past_a_started_session_and_the_same_time(world: MentorBot) -> None:
    """A move to the past, of a session under way, or to its own time is a clear no."""
    create(world)
    maya = chat(world, "maya")
    assert "in the past" in (maya.send("/workshop move 1 2026-11-01 09:00").error or "")
    assert "already at that time" in (maya.send("/workshop move 1 2026-12-01 09:00").error or "")
    assert "Use /workshop move" in (maya.send("/workshop move 1").error or "")
    world.clock.set(utc(2026, 12, 1, 9, 5))
    assert "already started" in (maya.send("/workshop move 1 2026-12-05 09:00").error or "")


# ---------------------------------------------------------------- the timed steps


def test_reminders_at_the_right_local_times_with_quiet_hours(world: MentorBot) -> None:
    """Day before: both; Alex's waits for the end of his night. Hour before: Alex's is skipped.

    09:00 London is 04:00 in New York, inside Alex's quiet hours (21:00-08:00): the
    day-before reminder goes at 08:00 his time, the hour-before one would only arrive after
    the start, so it is not sent.
    """
    create(world)
    going(world, "sam", "alex")
    assert steps(world, utc(2026, 11, 30, 8, 59)).day_reminders == 0
    day = steps(world, utc(2026, 11, 30, 9, 0))
    assert day.day_reminders == 2
    rows = {r.person_id: r for r in outbox(world, "workshop:1:remind-day:")}
    sam, alex = rows[pid(world, "sam")], rows[pid(world, "alex")]
    assert sam.next_attempt_at == utc(2026, 11, 30, 9, 0)
    assert alex.next_attempt_at == utc(2026, 11, 30, 13, 0)  # 08:00 in New York
    assert "Tue 1 Dec, 09:00–10:00 (Europe/London)" in payload(sam).text
    assert "Tue 1 Dec, 04:00–05:00 (America/New_York)" in payload(alex).text
    hour = steps(world, utc(2026, 12, 1, 8, 0))
    assert (hour.hour_reminders, hour.skipped_quiet) == (1, 1)
    [reminder] = outbox(world, "workshop:1:remind-hour:")
    assert reminder.person_id == pid(world, "sam")
    assert "starts soon" in payload(reminder).text


def test_a_repeated_tick_sends_nothing_twice(world: MentorBot) -> None:
    """Running all due work twice (or from two schedulers) queues every post once."""
    bind(world)
    create(world)
    going(world, "sam", "alex")
    for at in (
        utc(2026, 11, 30, 9, 0),
        utc(2026, 12, 1, 8, 0),
        utc(2026, 12, 1, 9, 0),
        utc(2026, 12, 1, 10, 0),
    ):
        run_due_work(world.db, world.settings, at)
        first = keys(world)
        again = run_due_work(world.db, world.settings, at)
        assert keys(world) == first
        assert not again.outcome("run_workshop_steps", WorkshopTickOutcome).queued
    assert sorted(k.split(":")[2] for k in keys(world)) == sorted(
        ["announce", "remind-day", "remind-day", "remind-hour", "start", "feedback", "feedback"]
    )


def test_two_schedulers_claim_each_step_once(world: MentorBot) -> None:
    """A step already marked by another scheduler is skipped, even with a stale copy in hand."""
    create(world)
    going(world, "sam")
    at = utc(2026, 11, 30, 9, 0)
    with world.db.session() as first:
        stale = first.get(WorkshopSession, 1)
        assert stale is not None
        assert run_workshop_steps(first, world.settings, at).day_reminders == 1
    with world.db.session() as second:
        from bot.services.workshop_tick import _claim

        assert not _claim(second, stale, "day_reminder_at", at)


def test_start_post_in_the_channel_and_self_check_in(world: MentorBot) -> None:
    """At the start the channel gets the link and an I'm here button; Sam checks in with it."""
    bind(world)
    create(world)
    going(world, "sam", "alex")
    outcome = steps(world, SESSION_START)
    assert outcome.start_posts == 1
    [post] = outbox(world, "workshop:1:start:")
    assert (post.channel_id, post.dedupe_key) == ("C0STUDY01", "workshop:1:start:20261201T0900")
    message = payload(post)
    assert [lk.url for lk in message.links] == ["https://meet.example/abc"]
    world.clock.set(SESSION_START + timedelta(minutes=5))
    sam = chat(world, "sam")
    reply = sam.press(choice_in(message, "I'm here"))
    assert "checked in" in text_of(reply)
    with world.db.session() as session:
        row = session.exec(select(Rsvp).where(Rsvp.person_id == pid(world, "sam"))).one()
        assert (row.attended, row.checked_in_at) == (True, SESSION_START + timedelta(minutes=5))


def test_without_a_channel_the_start_post_is_a_dm_to_those_going(world: MentorBot) -> None:
    """An unbound group's start post goes to each person going (not to quiet-hours sleepers)."""
    create(world)
    going(world, "sam", "alex")
    steps(world, SESSION_START)
    [dm] = outbox(world, "workshop:1:start:")
    # Alex is asleep until 13:00 UTC, after the session ends: no use sending it.
    assert dm.person_id == pid(world, "sam")


def test_check_in_rules(world: MentorBot) -> None:
    """Only those going, only from 15 minutes before to the end, never when cancelled."""
    create(world)
    going(world, "sam")
    sam, alex = chat(world, "sam"), chat(world, "alex")
    world.clock.set(SESSION_START - timedelta(minutes=20))
    assert "opens 15 minutes before" in (press(sam, "workshop.checkin", session="1").error or "")
    world.clock.set(SESSION_START - timedelta(minutes=10))
    assert press(sam, "workshop.checkin", session="1").error is None
    refused = press(alex, "workshop.checkin", session="1")
    assert refused.error is not None and "don't have you down as going" in refused.error
    world.clock.set(SESSION_START + timedelta(minutes=61))
    assert "is over" in (press(sam, "workshop.checkin", session="1").error or "")


def test_catch_up_after_downtime_skips_what_is_no_longer_useful(world: MentorBot) -> None:
    """Back 30 minutes into the session: no reminders, the start post still goes."""
    bind(world)
    create(world)
    going(world, "sam")
    outcome = steps(world, SESSION_START + timedelta(minutes=30))
    assert (outcome.day_reminders, outcome.hour_reminders, outcome.too_late) == (0, 0, 2)
    assert outcome.start_posts == 1
    later = steps(world, SESSION_START + timedelta(days=9))
    assert (later.feedback_prompts, later.too_late) == (0, 1)
    assert "workshop steps skipped (too late after downtime): 1" in later.lines()


def test_cancelled_sessions_have_no_steps(world: MentorBot) -> None:
    """A cancelled session gets no reminders, start post or feedback prompt."""
    create(world)
    going(world, "sam")
    chat(world, "maya").send("/workshop cancel 1")
    for at in (utc(2026, 11, 30, 9, 0), SESSION_START, SESSION_START + timedelta(hours=1)):
        assert not steps(world, at).queued
    assert keys(world, "workshop:1:remind") == []


# ---------------------------------------------------------------- attendance and feedback


def test_feedback_goes_to_attendees_and_comments_are_the_next_text(world: MentorBot) -> None:
    """At the end, those who went are asked; a rating then a typed comment are kept, sealed."""
    create(world)
    going(world, "sam", "alex")
    world.clock.set(SESSION_START + timedelta(minutes=30))
    chat(world, "maya").send("/workshop attend 1 kim@example.edu")  # a walk-in
    absent = chat(world, "maya").send("/workshop absent 1 alex@example.edu")
    assert "Marked absent from “Exam stress”: Alex Student." in text_of(absent)
    assert steps(world, SESSION_START + timedelta(hours=1)).feedback_prompts == 2
    asked = {r.person_id for r in outbox(world, "workshop:1:feedback:")}
    assert asked == {pid(world, "sam"), pid(world, "kim")}

    world.clock.set(SESSION_START + timedelta(hours=2))
    sam = chat(world, "sam")
    prompt = payload(next(r for r in outbox(world, "workshop:1:feedback:")))
    rated = sam.press(choice_in(prompt, "4"))
    assert rated.update is not None and "you rated “Exam stress” 4/5" in rated.update.text
    assert rated.update.expects_text
    secret = "feedback-comment-the-breathing-exercise-helped"
    assert "added that to your feedback" in text_of(sam.send(secret))
    with world.db.session() as session:
        stored = session.exec(select(WorkshopFeedback)).one()
        assert (stored.rating, stored.comment, stored.awaiting_comment) == (4, secret, False)
    [raw] = raw_text_values(world.db, "workshop_feedback", "comment")
    assert secret not in raw  # sealed at rest
    # The next message is ordinary text again.
    assert "kept your message" in text_of(sam.send("another thought"))


def test_no_comment_button_stops_waiting_for_one(world: MentorBot) -> None:
    """After a rating, the No comment button means the next text is not taken as a comment."""
    create(world)
    going(world, "sam")
    world.clock.set(SESSION_START + timedelta(hours=2))
    sam = chat(world, "sam")
    rated = press(sam, "workshop.feedback", session="1", rating="5")
    sam.press("No comment", as_reply(rated.update))
    sam.send("unrelated message")
    with world.db.session() as session:
        assert session.exec(select(WorkshopFeedback.comment)).one() is None


def test_a_waiting_checkin_note_comes_before_a_feedback_comment(world: MentorBot) -> None:
    """With a check-in at its note step, free text is the check-in note, as before."""
    create(world)
    going(world, "sam")
    world.clock.set(SESSION_START + timedelta(hours=2))
    sam = chat(world, "sam")
    press(sam, "workshop.feedback", session="1", rating="3")
    sam.send("/checkin")
    sam.press("4")
    sam.send("this is my check-in note")
    with world.db.session() as session:
        assert session.exec(select(WorkshopFeedback.comment)).one() is None


def test_feedback_rules(world: MentorBot) -> None:
    """Rate only after the end, within a week, only if you went, with 1-5; re-rating replaces."""
    create(world)
    going(world, "sam")
    linked(world, ["alex"])
    sam, alex = chat(world, "sam"), chat(world, "alex")
    assert "once it's over" in (
        press(sam, "workshop.feedback", session="1", rating="4").error or ""
    )
    world.clock.set(SESSION_START + timedelta(hours=1))
    before = snapshot(world.db)
    refused = press(alex, "workshop.feedback", session="1", rating="4")
    assert refused.error == "You can only rate sessions you went to."
    assert snapshot(world.db) == before
    assert "from 1 to 5" in (press(sam, "workshop.feedback", session="1", rating="9").error or "")
    press(sam, "workshop.feedback", session="1", rating="2")
    press(sam, "workshop.feedback", session="1", rating="5")
    with world.db.session() as session:
        assert session.exec(select(WorkshopFeedback.rating)).all() == [5]
    world.clock.set(SESSION_START + timedelta(days=8))
    assert "closed" in (press(sam, "workshop.feedback", session="1", rating="4").error or "")


def test_attendance_marking_rules(world: MentorBot) -> None:
    """Marking happens from the start, for members only, all or nothing."""
    create(world)
    maya = chat(world, "maya")
    assert "once the session has started" in (
        maya.send("/workshop attend 1 sam@example.edu").error or ""
    )
    world.clock.set(SESSION_START + timedelta(minutes=10))
    reply = maya.send("/workshop attend 1 sam@example.edu nia@example.edu")
    assert reply.error is not None and "Not members of Study skills: nia@example.edu" in reply.error
    assert rsvps(world) == {}
    assert "Use /workshop attend ID" in (maya.send("/workshop attend 1").error or "")
    assert "Marked present" in text_of(maya.send("/workshop attend 1 sam@example.edu"))
    assert "Marked absent" in text_of(maya.send("/workshop absent 1 kim@example.edu"))
    # A walk-in counts as going; an absent member who never answered as not going.
    assert rsvps(world) == {"sam": ("going", None), "kim": ("not_going", None)}


# ---------------------------------------------------------------- report and lists


def rate(core: MentorBot, ratings: dict[str, tuple[int, str | None]]) -> None:
    for name, (score, comment) in ratings.items():
        person = chat(core, name)
        press(person, "workshop.feedback", session="1", rating=str(score))
        if comment:
            person.send(comment)


def test_report_shows_rsvps_and_attendance_but_hides_few_ratings(world: MentorBot) -> None:
    """With fewer than 5 ratings the report shows counts only: no average, no comments."""
    create(world)
    going(world, "sam", "alex", "kim")
    rsvp(chat(world, "lee"), "not_going")
    world.clock.set(SESSION_START + timedelta(minutes=5))
    press(chat(world, "sam"), "workshop.checkin", session="1")
    world.clock.set(SESSION_START + timedelta(hours=2))
    rate(world, {"sam": (5, "loved the breathing exercise"), "alex": (2, None)})
    report = text_of(chat(world, "maya").send("/workshop report 1"))
    assert "Going (2 of 2 places taken (1 waiting)): Alex Student, Sam Student" in report
    assert "Waitlist (in order): Kim Student" in report
    assert "Not going: Lee Student" in report
    assert "Attended (1): Sam Student" in report
    assert "2 response(s). Fewer than 5 people rated it" in report
    assert "breathing" not in report and "average 5" not in report
    with world.db.session() as session:
        audited = session.exec(select(AuditLog).where(AuditLog.action == "workshop.report")).all()
    assert [a.actor_id for a in audited] == [pid(world, "maya")]


def test_report_shows_the_average_and_sorted_comments_from_five_ratings(
    world: MentorBot,
) -> None:
    """From 5 ratings on the average and the comments (without names, sorted) are shown."""
    with world.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,groups\n"
                "max@example.edu,Max Student,student,Europe/London,Study skills\n"
            ),
            world.clock.now(),
        )
    create(world, '/workshop add "Exam stress" 2026-12-01 09:00 Europe/London 60')
    going(world, "sam", "alex", "kim", "lee", "max")
    world.clock.set(SESSION_START + timedelta(hours=2))
    rate(
        world,
        {
            "sam": (5, "zany but useful"),
            "alex": (4, "all good"),
            "kim": (3, None),
            "lee": (4, None),
            "max": (2, "more examples please"),
        },
    )
    report = text_of(chat(world, "admin").send("/workshop report 1"))
    assert "5 responses, average 3.6/5" in report
    assert "Comments: “all good”\n“more examples please”\n“zany but useful”" in report


def test_members_list_upcoming_sessions_with_their_answer_and_buttons(world: MentorBot) -> None:
    """`/workshop` shows a member the sessions of their groups, their answer and RSVP buttons."""
    create(world)
    going(world, "sam")
    reply = chat(world, "sam").send("/workshop")
    text = text_of(reply)
    assert "#1 Exam stress for Study skills: Tue 1 Dec, 09:00–10:00 (Europe/London)" in text
    assert "You're going." in text
    rsvp_reply = chat(world, "sam").press("Not going", reply)
    assert "you're not going" in text_of(rsvp_reply)
    assert "No upcoming workshops" in text_of(chat(world, "nia").send("/workshop"))


def test_mentors_list_shows_places(world: MentorBot) -> None:
    """The group's mentor sees how many places are taken instead of buttons."""
    create(world)
    going(world, "sam", "alex", "kim")
    reply = chat(world, "maya").send("/workshop list")
    assert "2 of 2 places taken (1 waiting)" in text_of(reply)
    assert all(not m.choices for m in reply.messages)


def test_unknown_workshop_subcommand_shows_usage(world: MentorBot) -> None:
    """An unknown word explains the command."""
    error = chat(world, "maya").send("/workshop frobnicate").error or ""
    assert "Try /workshop list, add" in error and "report" in error


# ---------------------------------------------------------------- privacy


def test_erasure_removes_rsvps_and_feedback_and_export_includes_them(world: MentorBot) -> None:
    """A student's export lists their RSVPs and feedback; erasing them deletes both."""
    create(world)
    going(world, "sam")
    world.clock.set(SESSION_START + timedelta(hours=2))
    rate(world, {"sam": (4, "a comment to be erased")})
    with world.db.session() as session:
        sam = person_by_email(session, "sam@example.edu")
        assert sam is not None
        data = export_person(session, sam, tables=PERSONAL_DATA)
        assert [r["status"] for r in data["rsvps"]] == ["going"]
        assert [f["comment"] for f in data["workshop_feedback"]] == ["a comment to be erased"]
        report = erase_person(
            session, sam, world.clock.now(), actor_id=None, via="test", tables=PERSONAL_DATA
        )
    assert report.counts["rsvps"] == 1 and report.counts["workshop feedback"] == 1
    with world.db.session() as session:
        assert session.exec(select(Rsvp)).all() == []
        assert session.exec(select(WorkshopFeedback)).all() == []


def test_old_feedback_comments_are_purged_with_other_free_text(world: MentorBot) -> None:
    """After the retention period the comment is removed; the anonymous rating stays."""
    create(world)
    going(world, "sam")
    world.clock.set(SESSION_START + timedelta(hours=2))
    rate(world, {"sam": (4, "old comment")})
    later = world.clock.now() + timedelta(days=world.settings.retention_days + 1)
    with world.db.session() as session:
        purge_expired_text(session, world.settings, later, tables=PERSONAL_DATA)
    with world.db.session() as session:
        stored = session.exec(select(WorkshopFeedback)).one()
        assert (stored.rating, stored.comment) == (4, None)


# ---------------------------------------------------------------- service details


def test_plan_is_pure_validation(world: MentorBot) -> None:
    """`plan_workshops` validates without storing; the zone defaults to the programme's."""
    before = snapshot(world.db)
    with world.db.session() as session:
        plan = service.plan_workshops(
            session,
            service.WorkshopSpec(
                group="Study skills",
                title=" Sleep ",
                date="2026-12-01",
                time="16:00",
                duration="30",
            ),
            world.clock.now(),
            "America/New_York",
        )
    assert (plan.title, plan.timezone, plan.starts) == (
        "Sleep",
        "America/New_York",
        (utc(2026, 12, 1, 21, 0),),
    )
    assert snapshot(world.db) == before


def test_cli_actor_may_manage_any_group(world: MentorBot) -> None:
    """With no actor (the CLI) creation, cancel and report are allowed and audited."""
    now = world.clock.now()
    with world.db.session() as session:
        created = service.create_workshops(
            session,
            world.settings,
            now,
            None,
            service.WorkshopSpec(
                group="Art club",
                title="Sketching",
                date="2026-12-04",
                time="15:00",
                duration="90",
                capacity="8",
                timezone="Europe/London",
            ),
        )
        assert created[0].created_by is None
        message = service.workshop_report(session, world.settings, now, None, "1")
        assert message.title == "Report: Sketching"
        service.cancel_workshop(session, world.settings, now, None, "#1")
    assert workshop(world).status == "cancelled"


def test_refusals_are_not_allowed_errors(world: MentorBot) -> None:
    """Refusals raise NotAllowed (logged as refusals); bad input raises plain UserError."""
    create(world)
    with world.db.session() as session:
        nia = person_by_email(session, "nia@example.edu")
        assert nia is not None
        with pytest.raises(NotAllowed):
            service.rsvp(session, world.settings, world.clock.now(), nia, "1", "going")
        with pytest.raises(UserError) as bad:
            service.load_workshop(session, "abc")
        assert not isinstance(bad.value, NotAllowed)


# ---------------------------------------------------------------- the console


async def test_the_console_gets_invitations_and_answers_by_number(world: MentorBot) -> None:
    """The console has no channels: members get the invitation as a DM and answer by number."""
    out = io.StringIO()
    messenger = ConsoleMessenger(out)
    delivery = OutboxDelivery(
        world.db,
        {"console": messenger},
        world.clock,
        world.settings,
        ServiceDeliveryEvents(world.settings),
    )
    console = ConsoleChat(world, delivery, messenger, "maya@example.edu", out)
    await console.handle_line(ADD)
    assert "Created workshop" in out.getvalue()
    await console.handle_line("/as sam@example.edu")
    assert "📬 == Workshop: Exam stress ==" in out.getvalue()
    assert "[1] Going" in out.getvalue()
    await console.handle_line("1")
    assert "You're going to “Exam stress”" in out.getvalue()
    assert rsvps(world) == {"sam": ("going", None)}
    run_due_work(world.db, world.settings, utc(2026, 11, 30, 9, 0))
    world.clock.set(utc(2026, 11, 30, 9, 0))
    await console.deliver_mine()
    assert "📬 == Workshop reminder ==" in out.getvalue()


# ---------------------------------------------------------------- races and small parts


def test_two_people_pressing_going_for_the_last_place_at_once(world: MentorBot) -> None:
    """Concurrent RSVPs are counted one after the other: one gets the place, one waits."""
    create(world, '/workshop add "Tiny" 2026-12-01 09:00 Europe/London 60 cap 1')
    linked(world, ["sam", "alex"])
    barrier = threading.Barrier(2)

    def answer(name: str) -> None:
        barrier.wait()
        rsvp(chat(world, name))

    threads = [threading.Thread(target=answer, args=(n,)) for n in ("sam", "alex")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in rsvps(world).values()) == ["going", "waitlist"]


def test_times_in_words() -> None:
    """A session past midnight names its end day; many zones are capped with a pointer to DMs."""
    late = WorkshopSession(
        group_id=1,
        title="Late",
        starts_at=utc(2026, 12, 1, 23, 30),
        timezone="Europe/London",
        duration_minutes=90,
        created_at=utc(2026, 11, 1),
    )
    assert msgs.when_in(late, "Europe/London") == "Tue 1 Dec, 23:30–Wed 2 Dec 01:00 (Europe/London)"
    zones = ["Asia/Tokyo", "America/New_York", "Europe/Paris", "Australia/Sydney", "UTC"]
    lines = msgs.when_for_all(late, zones).splitlines()
    assert len(lines) == msgs.MAX_ZONES_SHOWN + 1 and "your own zone" in lines[-1]
    assert lines[0].endswith("(Europe/London)")
    assert msgs.is_link("https://meet.example/x") and not msgs.is_link("Room 2.14")
    assert msgs.places_text(late, 3) == "3 going (no limit)"
    late.capacity = 4
    assert msgs.places_text(late, 4, 2) == "4 of 4 places taken (2 waiting)"
    assert service.stamp(late.starts_at) == "20261201T2330"


def test_who_counts_as_having_been_there() -> None:
    """Marked present counts; going counts unless marked absent; waiting never does."""
    now = utc(2026, 12, 1)

    def row(status: str, attended: bool | None) -> Rsvp:
        return Rsvp(session_id=1, person_id=1, status=status, attended=attended, updated_at=now)

    assert service.went_to(row("going", None))
    assert service.went_to(row("going", True))
    assert not service.went_to(row("going", False))
    assert not service.went_to(row("waitlist", None))
    assert service.went_to(row("not_going", True))  # a mentor saw them there after all
    assert not service.went_to(None)


def test_a_broken_zone_on_a_person_falls_back_to_the_programme_default(world: MentorBot) -> None:
    """Times are shown in the programme's zone for someone whose stored zone is unusable."""
    broken = Person(
        email="x@example.edu",
        name="X",
        role="student",
        timezone="Not/AZone",
        created_at=utc(2026, 1, 1),
    )
    assert service.timezone_of(broken, world.settings) == world.settings.default_timezone


def test_feedback_summary_counts_without_showing_below_five(world: MentorBot) -> None:
    """Below five answers only the count is known; the summary says it is suppressed."""
    create(world)
    going(world, "sam")
    world.clock.set(SESSION_START + timedelta(hours=2))
    rate(world, {"sam": (1, "honest comment")})
    with world.db.session() as session:
        summary = service.feedback_summary(session, 1)
    assert (summary.responses, summary.average, summary.comments) == (1, None, ())
    assert summary.suppressed


def test_a_move_keeps_a_queued_promotion_and_a_cancel_withdraws_it(world: MentorBot) -> None:
    """A queued promotion DM still goes after a move (the place stands), not after a cancel."""
    create(world)
    going(world, "sam", "alex", "kim")
    rsvp(chat(world, "sam"), "not_going")
    chat(world, "maya").send("/workshop move 1 2026-12-02 09:00")
    [promotion] = outbox(world, "workshop:1:promoted:")
    assert promotion.status == "pending"
    chat(world, "maya").send("/workshop cancel 1")
    [promotion] = outbox(world, "workshop:1:promoted:")
    assert promotion.status == "skipped"


def test_promoted_twice_gets_two_messages(world: MentorBot) -> None:
    """Promoted, dropped out, waiting again and promoted again: each promotion is its own DM."""
    create(world, '/workshop add "Tiny" 2026-12-01 09:00 Europe/London 60 cap 1')
    going(world, "sam", "kim")
    rsvp(chat(world, "sam"), "not_going")  # Kim promoted (number 1)
    rsvp(chat(world, "kim"), "not_going")
    going(world, "sam", "kim")  # Sam has the place again; Kim waits (number 2)
    rsvp(chat(world, "sam"), "not_going")
    promotions = keys(world, "workshop:1:promoted:")
    assert promotions == [
        f"workshop:1:promoted:{pid(world, 'kim')}:1",
        f"workshop:1:promoted:{pid(world, 'kim')}:2",
    ]
