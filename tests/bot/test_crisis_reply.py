"""The reply around a crisis, on every surface where a student can type one (issue 12).

Whatever carried the words (a command, a check-in note, `/help` text, a goal title, a form, a
plain message), the student gets the crisis card with helplines and nothing after it; the
handler's work is still kept, and the mentor's alert names the category in plain words and
quotes the risky sentence, never a rule id or the mood digit.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.model import Reply
from bot.safety import Assessment, render_reason
from storage.db import Database
from storage.tables import Alert, Checkin, Goal, MoodEntry, StudentMessage
from tests.conftest import Chat, all_messages, text_of
from tests.tick import REGISTRY

CRISIS = "i cant do this anymore, i want to die"
CARD_TITLE = "You don't have to face this alone"
# What a cheerful or off-topic follow-up would contain.
AFTER_CARD = (
    "👋",
    "Thanks for checking in",
    "See you next time",
    "Got it",
    "Logged your mood",
    "/resources crisis",
    "Added",
    "added",
    "Thanks, I've kept",
    "asked your mentor",
)


def assert_card_and_nothing_after(reply: Reply) -> None:
    """The reply ends with the crisis card and holds nothing cheerful or unrelated."""
    assert reply.messages, "no reply at all"
    last = reply.messages[-1]
    assert last.title == CARD_TITLE and last.urgent
    assert any("Samaritans" in field.label for field in last.fields)
    rest = "\n".join(m.text for m in reply.messages[:-1])
    assert rest == "", f"something was said before or after the card: {rest!r}"
    for marker in AFTER_CARD:
        assert marker not in text_of(Reply(messages=reply.messages[1:])), marker
    assert all(not m.links for m in all_messages(reply))  # no study links


def crisis_alert(chat: Chat) -> Alert:
    """The one crisis alert raised about the student."""
    with chat.core.db.session() as session:
        [alert] = session.exec(select(Alert).where(Alert.kind == "crisis")).all()
        session.expunge(alert)
        return alert


def test_crisis_as_a_checkin_note_gets_the_card_only_and_the_note_is_kept(sam: Chat) -> None:
    """A check-in note in crisis: the card, no "See you next time 👋", the note still saved."""
    sam.send("/checkin")
    sam.press("3")
    reply = sam.send(CRISIS)
    assert_card_and_nothing_after(reply)
    with sam.core.db.session() as session:
        assert session.exec(select(Checkin.note)).one() == CRISIS


def test_crisis_in_a_mood_command_gets_the_card_and_the_mood_is_logged(sam: Chat) -> None:
    """`/mood 1 TEXT`: the card only; the mood is logged; the excerpt has no stray digit."""
    reply = sam.send(f"/mood 1 {CRISIS}")
    assert_card_and_nothing_after(reply)
    with sam.core.db.session() as session:
        assert session.exec(select(MoodEntry.score)).one() == 1
    alert = crisis_alert(sam)
    assert alert.excerpt == CRISIS
    assert alert.reason.startswith("crisis:")


def test_crisis_in_help_text_gets_the_card_not_a_search_pointer(sam: Chat) -> None:
    """`/help TEXT` in crisis: the card, never "type /resources crisis"."""
    reply = sam.send(f"/help {CRISIS}")
    assert_card_and_nothing_after(reply)


def test_plain_help_request_lists_the_crisis_lines_themselves(sam: Chat) -> None:
    """A non-crisis `/help TEXT` names the helplines instead of a search that finds nothing."""
    reply = sam.send("/help can we talk about my course choices")
    text = text_of(reply)
    assert "asked your mentor" in text and "Samaritans" in text
    assert "/resources crisis" not in text


def test_crisis_as_a_goal_title_gets_the_card_and_the_goal_is_kept(sam: Chat) -> None:
    """`/goal add TITLE` in crisis: the card only; the goal itself is still added."""
    reply = sam.send(f"/goal add {CRISIS}")
    assert_card_and_nothing_after(reply)
    with sam.core.db.session() as session:
        assert session.exec(select(Goal.title)).one() == CRISIS


def test_crisis_in_the_goal_form_gets_the_card_only(sam: Chat) -> None:
    """The add-goal form with a crisis title: the card only."""
    reply = sam.form("goal.add", title=CRISIS, due="")
    assert_card_and_nothing_after(reply)


def test_crisis_in_a_plain_message_gets_the_card_and_is_kept(sam: Chat) -> None:
    """A plain DM in crisis: the card only, and the message kept with its level."""
    reply = sam.send(CRISIS)
    assert_card_and_nothing_after(reply)
    with sam.core.db.session() as session:
        kept = session.exec(select(StudentMessage)).one()
        assert kept.safety_level == "crisis"


def test_crisis_with_a_refused_command_still_gets_only_the_card(sam: Chat) -> None:
    """`/mood 9 TEXT` is refused, but after the card no "please retype" follows."""
    reply = sam.send(f"/mood 9 {CRISIS}")
    assert_card_and_nothing_after(reply)
    assert reply.error is not None  # a form could still show its field error


def test_concern_keeps_the_handlers_answer_after_the_safety_message(sam: Chat) -> None:
    """Concern is not crisis: the handler's own answer still follows the supportive line."""
    reply = sam.send("/mood 2 i feel so alone lately")
    text = text_of(reply)
    assert "That sounds hard" in text and "Logged your mood" in text


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("i wish i could go to sleep and never wake up", "Wish to be dead"),
        ("my dad hits me when he drinks and im scared to go home", "Safeguarding"),
    ],
)
def test_alert_reason_is_codes_shown_as_plain_words(sam: Chat, text: str, label: str) -> None:
    """The alert stores codes; mentors read a plain label and the sentence, no rule id."""
    sam.send(f"ok so. {text}")
    alert = crisis_alert(sam)
    assert alert.reason.startswith("crisis:") and " " not in alert.reason
    shown = render_reason(alert.reason)
    assert label in shown and "crisis." not in shown and "_" not in shown
    assert alert.excerpt is not None and text in alert.excerpt and "ok so" not in alert.excerpt


def test_mentor_alert_card_shows_the_label_not_rule_ids(sam: Chat, maya: Chat) -> None:
    """/alerts for the mentor: "Why" is plain words; the risky sentence is quoted."""
    sam.send("i wish i could go to sleep and never wake up")
    reply = maya.send("/alerts")
    text = text_of(reply)
    assert "Why: Wish to be dead" in text
    assert "i wish i could go to sleep and never wake up" in text
    assert "crisis." not in text and "passive_death_wish" not in text


def test_a_broken_screen_raises_a_concern_a_mentor_reads_as_unscreened(
    demo: Database, core_settings: CoreSettings, clock: FixedClock
) -> None:
    """A screen that fails never silences the student: the mentor is told to read it."""

    def broken(text: str) -> Assessment:
        raise RuntimeError("rules failed to load")

    core = MentorBot(demo, core_settings, clock, screen=broken, registry=REGISTRY)
    reply = Chat(core, "sam@example.edu").send("i need to talk to someone")
    assert "That sounds hard" in text_of(reply)
    with demo.session() as session:
        [alert] = session.exec(select(Alert).where(Alert.kind == "concern")).all()
    assert alert.reason == "concern:screen_failed"
    assert render_reason(alert.reason) == "Could not be screened: please read it"


def alerts_about_the_student(chat: Chat) -> list[Alert]:
    """Every alert raised so far, detached from the session."""
    with chat.core.db.session() as session:
        alerts = list(session.exec(select(Alert).order_by(Alert.id)).all())  # type: ignore[arg-type]
        for alert in alerts:
            session.expunge(alert)
        return alerts


def test_crisis_in_help_text_raises_one_alert_with_both_reasons(sam: Chat) -> None:
    """`/help TEXT` in crisis: one crisis alert that also says the student asked for the mentor."""
    sam.send(f"/help {CRISIS}")
    [alert] = alerts_about_the_student(sam)
    assert alert.kind == "crisis" and alert.excerpt == CRISIS
    reason = render_reason(alert.reason)
    assert "Wish to be dead" in reason and "Asked to talk to their mentor" in reason


def test_concern_in_help_text_raises_one_concern_alert_with_the_request(sam: Chat) -> None:
    """`/help TEXT` rated concern: one concern alert carrying the help request, not two alerts."""
    sam.send("/help i feel like such a worthless failure lately")
    [alert] = alerts_about_the_student(sam)
    assert alert.kind == "concern"
    assert "Asked to talk to their mentor" in render_reason(alert.reason)


def test_help_text_with_no_risk_raises_one_help_alert(sam: Chat) -> None:
    """`/help TEXT` the screen passes: one help alert quoting the words."""
    sam.send("/help can we talk about my course choices")
    [alert] = alerts_about_the_student(sam)
    assert alert.kind == "help" and alert.excerpt == "can we talk about my course choices"


def test_help_button_after_an_older_crisis_is_its_own_alert(sam: Chat) -> None:
    """A later "ask my mentor" press is not hidden inside an older crisis alert."""
    sam.send(CRISIS)
    reply = sam.send("/help")
    sam.press("Ask my mentor to get in touch", reply)
    kinds = [alert.kind for alert in alerts_about_the_student(sam)]
    assert kinds == ["crisis", "help"]
