"""The reply around a crisis on Slack (issue 12): the card with helplines and nothing after it.

Every surface a student can type on: `/mentor mood 1 …`, `/mentor help …`, `/mentor goal add
…`, the add-goal modal, a check-in note typed in the DM, and a plain DM.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.clock import FixedClock
from storage.tables import Alert, Checkin
from tests.adapters.slack.conftest import STUDENT, Harness, all_text, push_checkin

CRISIS = "honestly i just want it all to end, i want to die"
CARD = "You don't have to face this alone"
CHEERFUL = ("👋", "See you next time", "Got it", "Logged your mood", "/resources", "New goal")


def _text(body: dict[str, Any] | None) -> str:
    assert body is not None
    return f"{body.get('text', '')}\n{all_text(body.get('blocks'))}"


def _assert_card_only(texts: list[str]) -> None:
    """One answer, the crisis card with a helpline, and nothing cheerful anywhere."""
    assert len(texts) == 1, texts
    [text] = texts
    assert CARD in text and "Samaritans" in text
    for marker in CHEERFUL:
        assert marker not in text, marker


def _crisis_alerts(slack: Harness) -> int:
    with slack.db.session() as session:
        return len(session.exec(select(Alert).where(Alert.kind == "crisis")).all())


async def _command_answers(slack: Harness, text: str) -> list[str]:
    status, name = await slack.command(text)
    assert status == 200
    await slack.settle()
    return [_text(post.body) for post in slack.fake.response_posts_to(name)]


async def test_mood_command_in_crisis_answers_with_the_card_only(slack: Harness) -> None:
    """`/mentor mood 1 TEXT`: the card, no "Logged your mood", and an urgent alert."""
    _assert_card_only(await _command_answers(slack, f"mood 1 {CRISIS}"))
    assert _crisis_alerts(slack) == 1


async def test_help_command_in_crisis_answers_with_the_card_only(slack: Harness) -> None:
    """`/mentor help TEXT`: the card, never a pointer to `/resources crisis`; one alert."""
    _assert_card_only(await _command_answers(slack, f"help {CRISIS}"))
    with slack.db.session() as session:
        [alert] = session.exec(select(Alert)).all()  # the help request joined the crisis alert
        assert alert.kind == "crisis" and "help_request" in alert.reason


async def test_goal_command_in_crisis_answers_with_the_card_only(slack: Harness) -> None:
    """`/mentor goal add TEXT`: the card, not "New goal"."""
    _assert_card_only(await _command_answers(slack, f"goal add {CRISIS}"))


async def test_goal_modal_in_crisis_answers_with_the_card_only(slack: Harness) -> None:
    """The add-goal modal with a crisis title: the card in the DM, nothing else."""
    status, _ = await slack.submit_goal(CRISIS, None)
    assert status == 200
    await slack.settle()
    _assert_card_only(
        [_text({"text": m.text, "blocks": m.blocks}) for m in slack.dm_messages(STUDENT)]
    )


async def test_checkin_note_in_crisis_answers_with_the_card_only(
    slack: Harness, clock: FixedClock
) -> None:
    """A check-in note in crisis: the card, no "See you next time 👋"; the note is kept."""
    checkin_id = push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    [prompt] = slack.dm_messages(STUDENT)
    await slack.press(prompt, " 2")
    await slack.settle()
    await slack.dm(CRISIS, event_id="Ev0NOTE0001")
    await slack.settle()
    after_prompt = slack.dm_messages(STUDENT)[1:]
    _assert_card_only([_text({"text": m.text, "blocks": m.blocks}) for m in after_prompt])
    assert slack.checkin(checkin_id).note == CRISIS


async def test_plain_dm_in_crisis_answers_with_the_card_only(slack: Harness) -> None:
    """A plain DM in crisis: the card and nothing else."""
    await slack.dm(CRISIS, event_id="Ev0PLAIN001")
    await slack.settle()
    _assert_card_only(
        [_text({"text": m.text, "blocks": m.blocks}) for m in slack.dm_messages(STUDENT)]
    )
    with slack.db.session() as session:
        assert session.exec(select(Checkin)).all() == []
