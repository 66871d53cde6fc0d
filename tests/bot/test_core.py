"""The core's entry point: enrolment, retries, oversized input, failures, routing."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import func, select

from bot.model import Actor, Inbound
from storage.tables import (
    Alert,
    Identity,
    MoodEntry,
    Outbox,
    Person,
    ProcessedEvent,
    StudentMessage,
)
from tests.conftest import Chat, text_of


def count(core, table) -> int:
    with core.db.session() as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_unknown_user_is_told_politely_and_nothing_is_stored(core) -> None:
    """Someone not on the roster gets 'not enrolled'; no person or identity row appears."""
    people, identities = count(core, Person), count(core, Identity)
    reply = core.handle(Inbound(Actor("slack", "T1", "U999"), "text", "message", {}, "hi"))
    assert "not enrolled" in text_of(reply)
    assert (count(core, Person), count(core, Identity)) == (people, identities)


def test_unknown_user_in_crisis_gets_the_lines_and_on_call_staff_an_urgent_alert(
    core, caplog: pytest.LogCaptureFixture
) -> None:
    """Someone not on the roster who writes a crisis: the lines, and the admins are paged."""
    words = "i saved up all my pills, tonight is the night. sorry for everything"
    actor = Actor("slack", "T1", "U999", email="new@example.edu", display_name="Nia")
    with caplog.at_level(logging.INFO):
        reply = core.handle(Inbound(actor, "text", "message", {}, words))
    [card] = reply.messages
    assert card.title == "You don't have to face this alone" and card.urgent and card.private
    assert "not enrolled in the mentoring programme yet" in card.text
    assert "I've let the programme staff know" in card.text
    assert card.fields  # no country known: the international list
    assert "Hi! I'm" not in text_of(reply)  # nothing cheerful after the card
    assert reply.pushed  # the delivery loop is woken for the page
    with core.db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        person = session.get(Person, alert.student_id)
        assert (person.role, person.email, person.name) == ("unrostered", "new@example.edu", "Nia")
        assert (alert.kind, alert.severity, alert.mentor_id) == ("crisis", "urgent", None)
        assert alert.excerpt and "pills" in alert.excerpt and alert.shown_to_student_at
        [row] = session.exec(select(Outbox).where(Outbox.alert_id == alert.id)).all()
        admin = session.get(Person, row.person_id)
        assert admin.role == "admin" and row.urgent
        assert "Slack user U999" in row.payload and "Not on the roster" in row.payload
    assert count(core, StudentMessage) == 0
    logged = [r for r in caplog.records if "not on the roster" in r.getMessage()]
    assert logged and logged[0].levelno == logging.WARNING and "U999" in logged[0].getMessage()
    assert all("pills" not in r.getMessage() for r in caplog.records)  # never their words


def test_unknown_user_in_crisis_with_nobody_to_page_gets_no_promise_and_an_error_log(
    core, caplog: pytest.LogCaptureFixture
) -> None:
    """No staff channel and no admin: the card promises no one and the log line is an ERROR."""
    with core.db.session() as session:
        for admin in session.exec(select(Person).where(Person.role == "admin")).all():
            admin.active = False
            session.add(admin)
    words = "i want to kill myself tonight"
    with caplog.at_level(logging.INFO):
        core.handle(Inbound(Actor("slack", "T1", "U996"), "text", "message", {}, words))
        [card] = core.handle(
            Inbound(Actor("slack", "T1", "U996"), "text", "message", {}, words)
        ).messages
    assert "so I can't reach a mentor for you" in card.text and "I've let" not in card.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and "U996" in errors[0].getMessage()
    assert all("kill" not in r.getMessage() for r in caplog.records)
    with core.db.session() as session:
        [alert] = session.exec(select(Alert)).all()  # kept: `mentorbot alerts list` shows it
        assert alert.folded_count == 1


def test_unknown_user_in_crisis_reaches_the_staff_channel_when_there_is_no_admin(
    demo, clock
) -> None:
    """With only a staff channel to turn to, the alert goes there and the card says so."""
    from bot.config import CoreSettings
    from bot.core import MentorBot
    from tests.tick import REGISTRY

    core = MentorBot(demo, CoreSettings(staff_channel="slack:CSTAFF"), clock, registry=REGISTRY)
    with core.db.session() as session:
        for admin in session.exec(select(Person).where(Person.role == "admin")).all():
            admin.active = False
            session.add(admin)
    words = "i want to kill myself tonight"
    [card] = core.handle(
        Inbound(Actor("discord", "", "4242"), "text", "message", {}, words)
    ).messages
    assert "I've let the programme staff know" in card.text
    with core.db.session() as session:
        [row] = session.exec(select(Outbox)).all()
        assert (row.platform, row.channel_id, row.person_id) == ("slack", "CSTAFF", None)
        assert "Discord user 4242" in row.payload


def test_repeated_crisis_from_the_same_stranger_folds_into_the_open_alert(core) -> None:
    """A second crisis message pages nobody again: it folds into the open alert."""
    actor = Actor("slack", "T1", "U995")
    first = core.handle(Inbound(actor, "text", "message", {}, "i want to die", event_id="E1"))
    retried = core.handle(Inbound(actor, "text", "message", {}, "i want to die", event_id="E1"))
    again = core.handle(Inbound(actor, "text", "message", {}, "i have the rope ready tonight"))
    assert "I've let the programme staff know" in text_of(first)
    assert retried.messages == ()  # a platform retry changes nothing
    assert "I've let the programme staff know" in text_of(again)
    with core.db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        assert alert.folded_count == 1 and alert.latest_excerpt
        assert len(session.exec(select(Outbox).where(Outbox.kind == "alert")).all()) == 1
        assert len(session.exec(select(Person).where(Person.role == "unrostered")).all()) == 1


def test_a_worrying_message_after_a_strangers_crisis_folds_into_their_alert(core) -> None:
    """A concern after the crisis reaches staff in the open alert; alone it stores nothing."""
    worry = "I feel so hopeless and alone"
    alone = core.handle(Inbound(Actor("slack", "T1", "U993"), "text", "message", {}, worry))
    assert "not enrolled" in text_of(alone) and count(core, Person) == 4
    actor = Actor("slack", "T1", "U992")
    core.handle(Inbound(actor, "text", "message", {}, "i want to die"))
    reply = core.handle(Inbound(actor, "text", "message", {}, worry))
    assert "I've let the programme staff know so they can check in" in text_of(reply)
    assert "not enrolled" not in text_of(reply)
    with core.db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        assert (alert.kind, alert.folded_count, alert.latest_excerpt) == ("crisis", 1, worry)
        assert len(session.exec(select(Outbox).where(Outbox.kind == "alert")).all()) == 1


def test_a_stranger_still_gets_the_lines_when_their_alert_cannot_be_recorded(
    core, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A database failure recording the alert: the card anyway, no promise, an ERROR."""
    import bot.services.crisis as crisis

    def broken(*args: object) -> Person:
        raise RuntimeError("database exploded")

    monkeypatch.setattr(crisis, "provisional_person", broken)
    with caplog.at_level(logging.INFO):
        reply = core.handle(
            Inbound(Actor("slack", "T1", "U991"), "text", "message", {}, "i want to die")
        )
    [card] = reply.messages
    assert card.title == "You don't have to face this alone" and "I've let" not in card.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and "could not be recorded (RuntimeError)" in errors[0].getMessage()
    assert count(core, Alert) == 0


def test_two_first_messages_at_once_make_one_person_and_one_alert(
    core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loser of a race to create the person (a unique violation) retries and folds in."""
    from sqlalchemy.exc import IntegrityError

    import bot.services.crisis as crisis

    real = crisis.provisional_person
    calls: list[int] = []

    def racing(session, actor, now):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("INSERT INTO person", {}, Exception("duplicate key"))
        return real(session, actor, now)

    monkeypatch.setattr(crisis, "provisional_person", racing)
    reply = core.handle(
        Inbound(Actor("slack", "T1", "U990"), "text", "message", {}, "i want to die")
    )
    assert "I've let the programme staff know" in text_of(reply) and len(calls) == 2
    assert count(core, Alert) == 1


def test_a_stranger_with_an_open_alert_still_cannot_use_the_bot(core) -> None:
    """The provisional person can do nothing a student can: 'not enrolled', nothing stored."""
    actor = Actor("slack", "T1", "U994")
    core.handle(Inbound(actor, "text", "message", {}, "i want to die"))
    reply = core.handle(Inbound(actor, "command", "mood", {}, "4"))
    assert "not enrolled" in text_of(reply)
    assert count(core, MoodEntry) == 0


def test_unknown_user_in_crisis_gets_the_lines_of_their_platforms_time_zone(core) -> None:
    """The stranger's card lists the lines of the country their platform's time zone names."""
    actor = Actor("slack", "T1", "U997", timezone="Europe/London")
    words = "i want to kill myself tonight"
    [card] = core.handle(Inbound(actor, "text", "message", {}, words)).messages
    assert any("Samaritans" in field.label for field in card.fields)


def test_unknown_user_without_risk_still_gets_only_not_enrolled(core) -> None:
    """A stranger's everyday message gets the plain 'not enrolled' answer, not the card."""
    reply = core.handle(
        Inbound(Actor("slack", "T1", "U998"), "text", "message", {}, "this exam is killing me")
    )
    assert "not enrolled" in text_of(reply)
    assert all(m.title != "You don't have to face this alone" for m in reply.messages)


def test_first_contact_links_identity_by_email(core) -> None:
    """A platform user whose email is on the roster is linked on first contact."""
    actor = Actor("slack", "T1", "U123", email="sam@example.edu", timezone="Europe/Paris")
    core.handle(Inbound(actor, "command", "mood", {}, "4"))
    with core.db.session() as session:
        identity = session.exec(select(Identity).where(Identity.user_id == "U123")).one()
        person = session.get(Person, identity.person_id)
        assert person.email == "sam@example.edu"
        assert person.timezone == "Europe/London"  # the roster's zone wins over the profile


def test_retried_event_is_processed_once(sam: Chat) -> None:
    """The same platform event id twice logs one mood."""
    sam.send("/mood 4", event_id="Ev1")
    second = sam.send("/mood 4", event_id="Ev1")
    assert second.messages == ()
    assert count(sam.core, MoodEntry) == 1
    assert count(sam.core, ProcessedEvent) == 1


def test_text_over_the_limit_is_refused_and_not_stored(sam: Chat) -> None:
    """4,001 characters get a clear message and nothing is stored."""
    reply = sam.send("a" * 4001)
    assert "too long" in text_of(reply)
    assert count(sam.core, StudentMessage) == 0


def test_free_text_outside_checkin_is_kept(sam: Chat) -> None:
    """Nothing a student sends is lost: free text is stored and acknowledged."""
    reply = sam.send("I wanted to say the workshop was great")
    assert "kept your message" in text_of(reply)
    assert count(sam.core, StudentMessage) == 1


def test_unknown_command_is_explained(sam: Chat) -> None:
    """An unknown command gets a pointer to /help."""
    assert "don't know the command" in text_of(sam.send("/dance"))


def test_unexpected_failure_keeps_text_and_hides_traceback(sam: Chat, monkeypatch) -> None:
    """A bug in a handler shows an apology, never a traceback, and keeps the text."""
    from bot.auth import allow
    from bot.registry import Arg, ArgKind, Command

    def boom(ctx):
        raise RuntimeError("database exploded")

    exploding = Command("mood", "x", allow("student")(boom), args=(Arg("t", ArgKind.TEXT, "t"),))
    monkeypatch.setitem(sam.core.registry.families, "mood", [exploding])
    reply = sam.send("/mood 3 feeling meh")
    assert "something went wrong" in text_of(reply).lower()
    assert "Traceback" not in text_of(reply) and "exploded" not in text_of(reply)
    with sam.core.db.session() as session:
        [kept] = session.exec(select(StudentMessage)).all()
        assert kept.text == "3 feeling meh"


def test_unknown_button_is_explained(sam: Chat) -> None:
    """A stale or forged action name gets a friendly message."""
    reply = sam.core.handle(Inbound(sam.actor, "action", "nope.nothing", {}))
    assert "doesn't do anything" in text_of(reply)


def test_button_with_missing_args_is_explained(sam: Chat) -> None:
    """A malformed button payload is refused without a crash."""
    reply = sam.core.handle(Inbound(sam.actor, "action", "checkin.mood", {}))
    assert "missing something" in text_of(reply)


def test_a_reply_says_when_its_event_queued_messages_for_others(sam: Chat) -> None:
    """A low mood alerts the mentor (pushed); a good one queues nothing (not pushed)."""
    assert sam.send("/mood 4").pushed is False
    assert sam.send("/mood 1 awful day").pushed is True


def test_a_batch_marks_only_the_events_that_queued_messages(core) -> None:
    """In a batch, the low mood's reply is marked pushed and its neighbour's is not."""
    actor = Actor("console", "local", "sam@example.edu", email="sam@example.edu")
    other = Actor("console", "local", "alex@example.edu", email="alex@example.edu")
    replies = core.handle_batch(
        [Inbound(other, "command", "mood", {}, "5"), Inbound(actor, "command", "mood", {}, "1")]
    )
    assert [r.pushed for r in replies] == [False, True]


def test_a_known_slack_user_is_answered_without_their_profile(core) -> None:
    """An actor without profile is served when the roster knows them; else the core asks."""
    from bot.people import person_by_email

    with core.db.session() as session:
        sam = person_by_email(session, "sam@example.edu")
        session.add(Identity(person_id=sam.id, platform="slack", workspace="T1", user_id="USAM"))
    known = Actor("slack", "T1", "USAM", profile_omitted=True)
    assert "4/5" in text_of(core.handle(Inbound(known, "command", "mood", {}, "4")))
    stranger = Actor("slack", "T1", "UNEW", profile_omitted=True)
    asked = core.handle(Inbound(stranger, "command", "mood", {}, "4"))
    assert asked.needs_profile and count(core, MoodEntry) == 1
    with_profile = Actor("slack", "T1", "UNEW", email="alex@example.edu")
    assert "4/5" in text_of(core.handle(Inbound(with_profile, "command", "mood", {}, "4")))
    assert count(core, MoodEntry) == 2
