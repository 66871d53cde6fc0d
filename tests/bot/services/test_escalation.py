"""Escalation rules: low mood, sharp drop, missed check-ins, help requests, and delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.config import CoreSettings, EscalationRules
from bot.core import MentorBot
from bot.services.escalation import evaluate_missed
from storage.tables import Alert, AlertEvent, Checkin, Outbox, Person
from tests.conftest import Chat, find_choice, text_of
from tests.tick import REGISTRY


def alerts(chat: Chat) -> list[Alert]:
    with chat.core.db.session() as session:
        return list(session.exec(select(Alert)).all())


def outbox(chat: Chat) -> list[Outbox]:
    with chat.core.db.session() as session:
        return list(session.exec(select(Outbox)).all())


def test_low_mood_alerts_the_primary_mentor_through_the_outbox(sam: Chat) -> None:
    """Mood at the threshold creates an alert and an outbox row for Maya with actions."""
    sam.send("/mood 2 stressed about exams")
    [alert] = alerts(sam)
    assert (alert.kind, alert.status) == ("low_mood", "open")
    [row] = outbox(sam)
    assert row.user_id == "maya@example.edu" and row.kind == "alert"
    assert row.dedupe_key == f"alert:{alert.id}:{alert.mentor_id}:0"
    assert "Acknowledge" in row.payload and "stressed about exams" in row.payload


def test_mood_above_threshold_raises_nothing(sam: Chat) -> None:
    """A 3 with no history is no alert."""
    sam.send("/mood 3")
    assert alerts(sam) == []


def test_sharp_drop_against_the_fourteen_day_average(sam: Chat, clock) -> None:
    """5, 5, 5 then 3 is a drop of 2 points: a drop alert even above the low threshold."""
    for _ in range(3):
        sam.send("/mood 5")
        clock.advance(days=1)
    sam.send("/mood 3")
    assert [a.kind for a in alerts(sam)] == ["drop"]


def test_repeat_low_mood_is_folded_into_the_open_alert(sam: Chat, clock) -> None:
    """Two low moods in a day make one open alert, not two pings."""
    sam.send("/mood 1")
    clock.advance(hours=3)
    sam.send("/mood 2")
    assert [a.kind for a in alerts(sam)] == ["low_mood"]


def test_threshold_is_a_setting(demo, clock) -> None:
    """With the threshold at 3, a 3 escalates."""
    settings = CoreSettings(escalation=EscalationRules(low_mood_threshold=3))
    chat = Chat(MentorBot(demo, settings, clock, registry=REGISTRY), "sam@example.edu")
    chat.send("/mood 3")
    assert [a.kind for a in alerts(chat)] == ["low_mood"]


def test_help_request_reaches_the_mentor(sam: Chat) -> None:
    """`/help MESSAGE` creates a help alert carrying the message."""
    reply = sam.send("/help can we talk about my course choice")
    assert "asked your mentor" in text_of(reply)
    [alert] = alerts(sam)
    assert alert.kind == "help" and alert.excerpt == "can we talk about my course choice"


def test_help_button_reaches_the_mentor(sam: Chat) -> None:
    """The 'Ask my mentor' button under /help creates a help alert."""
    sam.send("/help")
    sam.press("Ask my mentor")
    assert [a.kind for a in alerts(sam)] == ["help"]


def test_consecutive_missed_checkins_escalate(sam: Chat, clock, core_settings) -> None:
    """Three misses in a row raise a missed alert; an answer in between resets the run."""
    db = sam.core.db
    with db.session() as session:
        person = session.exec(select(Person).where(Person.email == "sam@example.edu")).one()
        for i, status in enumerate(["missed", "answered", "missed", "missed"]):
            session.add(
                Checkin(
                    person_id=person.id,
                    occurrence_key=f"k{i}",
                    status=status,
                    step="done",
                    opened_at=clock.now() + timedelta(days=i),
                )
            )
        session.flush()
        assert evaluate_missed(session, core_settings, clock.now(), person) is None
        session.add(
            Checkin(
                person_id=person.id,
                occurrence_key="k9",
                status="missed",
                step="done",
                opened_at=clock.now() + timedelta(days=9),
            )
        )
        session.flush()
        alert = evaluate_missed(session, core_settings, clock.now(), person)
        assert alert is not None and alert.kind == "missed"


def test_mentor_acknowledges_with_one_click(sam: Chat, maya: Chat, clock) -> None:
    """Maya's Acknowledge button records who and when and stops re-escalation."""
    sam.send("/mood 1")
    listing = maya.send("/alerts")
    clock.advance(minutes=5)
    reply = maya.press(find_choice(listing, "Acknowledge"))
    assert reply.update is not None and "acknowledged" in reply.update.text
    [alert] = alerts(sam)
    assert alert.status == "acknowledged"
    assert alert.acknowledged_at == clock.now() and alert.next_escalation_at is None
    with sam.core.db.session() as session:
        events = [e.event for e in session.exec(select(AlertEvent))]
    assert events == ["created", "acknowledged"]


def test_follow_up_is_recorded(sam: Chat, maya: Chat) -> None:
    """The follow-up button records the follow-up and the acknowledgement."""
    sam.send("/mood 1")
    maya.press(find_choice(maya.send("/alerts"), "follow up"))
    [alert] = alerts(sam)
    assert alert.status == "following" and alert.follow_up_by == alert.acknowledged_by


@pytest.mark.parametrize("who", ["alex@example.edu", "sam@example.edu"])
def test_others_cannot_acknowledge(sam: Chat, maya: Chat, core: MentorBot, who: str) -> None:
    """Students (including the subject) can't press the mentor's buttons."""
    sam.send("/mood 1")
    choice = find_choice(maya.send("/alerts"), "Acknowledge")
    reply = Chat(core, who).press(choice)
    assert "for mentors" in text_of(reply)
    assert alerts(sam)[0].status == "open"


def test_alert_without_mentor_goes_to_admins(core: MentorBot, avery: Chat) -> None:
    """A student with no mentor still reaches a person: the admins."""
    with core.db.session() as session:
        from bot.services.roster import import_roster, parse_roster

        import_roster(
            session,
            parse_roster("email,name,role\nlone@example.edu,Lone Student,student\n"),
            core.clock.now(),
        )
    Chat(core, "lone@example.edu").send("/mood 1")
    rows = outbox(avery)
    assert [r.user_id for r in rows] == ["admin@example.edu"]


def test_low_mood_with_crisis_words_makes_one_crisis_alert(sam: Chat) -> None:
    """`/mood 2 <crisis words>` raises one crisis alert that also names the low mood."""
    sam.send("/mood 2 i want to kill myself")
    [alert] = alerts(sam)
    assert (alert.kind, alert.severity) == ("crisis", "urgent")
    assert alert.reason.startswith("crisis:") and alert.reason.endswith(",low_mood")
    assert alert.folded_count == 0  # the mood is a signal, not another message
    with sam.core.db.session() as session:
        details = [e.detail for e in session.exec(select(AlertEvent)).all()]
    assert "low_mood signal folded in" in details
    payloads = " ".join(row.payload for row in outbox(sam) if row.kind == "alert")
    assert "Very low mood" in payloads


def test_low_mood_folds_into_an_unresolved_concern_alert(sam: Chat, clock) -> None:
    """A low score while a concern alert is unresolved joins it instead of a second alert."""
    sam.send("i feel like such a burden to everyone")
    [concern] = alerts(sam)
    assert concern.kind == "concern"
    clock.advance(hours=1)
    sam.send("/mood 1")
    [alert] = alerts(sam)
    assert alert.id == concern.id and alert.kind == "concern"
    assert alert.reason.endswith(",low_mood")


def test_low_mood_alone_still_raises_its_own_alert(sam: Chat) -> None:
    """With no crisis or concern alert open, a low score is a low-mood alert as before."""
    sam.send("/mood 2 tired")
    assert [a.kind for a in alerts(sam)] == ["low_mood"]


def test_a_concern_alert_never_shows_a_crisis_label(sam: Chat, maya: Chat) -> None:
    """A concern alert whose codes include a crisis category reads as mentioned, not crisis."""
    from bot.services.alerts import render_alert

    with sam.core.db.session() as session:
        student = session.exec(select(Person).where(Person.email == "sam@example.edu")).one()
        alert = Alert(
            student_id=student.id,
            kind="concern",
            reason="concern:risk_mentioned,suicidal_ideation",
            created_at=sam.core.clock.now(),
        )
        why = {f.label: f.value for f in render_alert(alert, student, None).fields}["Why"]
    assert "Thoughts of suicide (mentioned, not judged a crisis)" in why
    assert "Thoughts of suicide;" not in why and not why.endswith("Thoughts of suicide")
