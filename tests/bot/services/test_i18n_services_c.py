"""Services part C speak their reader's language (issue 19).

Workshop posts in a group's channel are in the group's language; reminders and other DMs in
each recipient's own; an English reader sees exactly what they always saw.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from bot.core import MentorBot
from bot.errors import UserError
from bot.i18n import speaking
from bot.model import Inbound, Message
from bot.people import person_by_email
from bot.services.groups import bind_channel, group_named
from bot.services.reminders import send_due_reminders
from bot.services.roster import parse_roster
from bot.services.routing import describe_kind
from bot.services.workshop_tick import run_workshop_steps
from storage.enums import CheckinStatus
from storage.tables import Alert, Checkin, Outbox
from tests.conftest import Chat

# Tuesday 1 December 2026, 09:00 in London.
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ADD = '/workshop add "Exam stress" 2026-12-01 09:00 Europe/London 60 cap 5 https://meet.example/abc'


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def set_language(core: MentorBot, email: str, language: str) -> None:
    with core.db.session() as session:
        person = person_by_email(session, email)
        assert person is not None
        person.language = language
        session.add(person)


def french_group_with_channel(core: MentorBot) -> None:
    with core.db.session() as session:
        group = group_named(session, "Study skills")
        group.language = "fr"
        session.add(group)
        bind_channel(session, group, "slack", "C0STUDY01")


def outbox(core: MentorBot, prefix: str) -> list[Outbox]:
    with core.db.session() as session:
        return list(
            session.exec(
                select(Outbox)
                .where(col(Outbox.dedupe_key).startswith(prefix))
                .order_by(col(Outbox.id))
            ).all()
        )


def message_of(row: Outbox) -> Message:
    return Message.from_json(row.payload)


def steps(core: MentorBot, at: datetime) -> None:
    with core.db.session() as session:
        run_workshop_steps(session, core.settings, at)


def create_and_go(core: MentorBot, *names: str) -> None:
    reply = Chat(core, "maya@example.edu").send(ADD)
    assert reply.error is None
    for name in names:
        person = Chat(core, f"{name}@example.edu")
        args = {"session": "1", "answer": "going"}
        going = core.handle(Inbound(person.actor, "action", "workshop.rsvp", args))
        assert going.error is None


def test_a_workshop_post_in_a_french_groups_channel_is_french(core: MentorBot) -> None:
    """The announcement and the start post in the channel speak the group's language.

    The mentor who created it reads her own confirmation in English, and the days and times
    are written the French way.
    """
    french_group_with_channel(core)
    reply = Chat(core, "maya@example.edu").send(ADD)
    assert reply.error is None and "Created workshop:" in (reply.messages[0].text)
    [announce] = outbox(core, "workshop:1:announce")
    post = message_of(announce)
    assert post.language == "fr"
    assert post.title == "Atelier : Exam stress"
    assert post.text == "Nouvel atelier pour Study skills : « Exam stress »"
    when = next(f.value for f in post.fields if f.label == "Quand")
    assert when.startswith("mar. 1 déc., 09:00–10:00 (Europe/London)")
    assert [c.label for c in post.choices] == ["J'y vais", "Je n'y vais pas"]
    steps(core, START)
    [start] = outbox(core, "workshop:1:start")
    started = message_of(start)
    assert started.language == "fr" and started.title == "Ça commence : Exam stress"
    assert "appuie sur Je suis là" in started.text


def test_a_reminder_dm_to_a_german_student_is_german(core: MentorBot) -> None:
    """Each person going gets the day-before reminder in their own language."""
    set_language(core, "sam@example.edu", "de")
    create_and_go(core, "sam", "alex")
    steps(core, utc(2026, 11, 30, 9, 0))
    rows = {row.person_id: message_of(row) for row in outbox(core, "workshop:1:remind-day:")}
    with core.db.session() as session:
        sam = person_by_email(session, "sam@example.edu")
        alex = person_by_email(session, "alex@example.edu")
        assert sam is not None and alex is not None
        sam_id, alex_id = sam.id, alex.id
    german, english = rows[sam_id], rows[alex_id]
    assert german.language == "de" and german.title == "Workshop-Erinnerung"
    assert german.text.startswith("„Exam stress“ steht bevor: Di., 1. Dez., 09:00–10:00")
    assert "Tippe auf Ich komme nicht" in german.text
    assert [c.label for c in german.choices] == ["Ich komme nicht"]
    assert english.language == "en" and english.title == "Workshop reminder"
    assert english.text.startswith("“Exam stress” is coming up: Tue 1 Dec, 04:00–05:00")


def test_a_check_in_reminder_is_rendered_in_the_students_language(core: MentorBot) -> None:
    """The check-in reminder DM is built while speaking the student's language."""
    set_language(core, "sam@example.edu", "de")
    now = utc(2026, 11, 30, 12, 0)
    with core.db.session() as session:
        sam = person_by_email(session, "sam@example.edu")
        assert sam is not None and sam.id is not None
        session.add(
            Checkin(
                person_id=sam.id,
                occurrence_key="test:reminder",
                status=CheckinStatus.OPEN,
                opened_at=utc(2026, 11, 30, 9, 0),
                remind_at=utc(2026, 11, 30, 11, 0),
            )
        )
    with core.db.session() as session:
        assert send_due_reminders(session, core.settings, now).sent == 1
    [row] = outbox(core, "reminder:")
    assert message_of(row).language == "de"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Nothing was imported. Fix these lines and try again:\nline 2: name is empty"),
        (
            "es",
            "No se importó nada. Corrige estas líneas e inténtalo de nuevo:\n"
            "línea 2: el nombre está vacío",
        ),
    ],
)
def test_roster_errors_speak_the_staff_members_language(language: str, expected: str) -> None:
    """A refused roster lists its problems in the language of whoever imported it."""
    with speaking(language), pytest.raises(UserError) as refused:
        parse_roster("email,name,role\nkim@example.edu,,student\n")
    assert str(refused.value) == expected


def test_an_alarm_names_the_alert_in_the_readers_language() -> None:
    """`describe_kind` (used in alarms and delivery notices) is a whole translated phrase."""
    alert = Alert(kind="crisis", severity="urgent", status="open", reason="", created_at=START)
    assert describe_kind("alert", alert) == "an urgent crisis alert"
    with speaking("fr"):
        assert describe_kind("alert", alert) == "une alerte de crise urgente"
        assert describe_kind("checkin") == "un point du jour"
