"""Button presses are acknowledged only once the core has stored them.

Slack takes the HTTP 200 as "handled"; a process killed between an early ack and the commit
lost check-in answers the student saw accepted (found by `python -m bench crash`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from sqlmodel import select

from bot.model import Inbound, Reply
from storage.tables import MoodEntry
from tests.adapters.slack.conftest import STUDENT, Harness, payload, push_checkin

SLOW_CORE_SECONDS = 0.3  # longer than a loopback round trip, well inside Slack's 3 s


def _slow_core(slack: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    core = slack.service.adapter.core
    handle_batch = core.handle_batch

    def slow_handle_batch(inbounds: Sequence[Inbound]) -> list[Reply]:
        time.sleep(SLOW_CORE_SECONDS)
        return handle_batch(inbounds)

    monkeypatch.setattr(core, "handle_batch", slow_handle_batch)


async def test_mood_answer_is_stored_before_the_ack(
    slack: Harness, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 200 for a check-in answer arrives only after the mood is committed."""
    checkin_id = push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    [message] = slack.dm_messages(STUDENT)
    _slow_core(slack, monkeypatch)

    status, _ = await slack.press(message, "🙂 4")

    assert status == 200
    assert slack.checkin(checkin_id).mood == 4  # before settle(): stored, then acked
    await slack.settle()
    assert "You answered 🙂 4/5" in message.text


async def test_stale_button_is_still_acknowledged(slack: Harness) -> None:
    """A button the core can't decode is acknowledged and answered, never left unacked."""
    data = payload("block_actions")
    data["user"]["id"] = STUDENT
    data["response_url"] = slack.fake.response_url("stale")
    data["actions"][0].update(action_id="not-ours", value="{}")

    status, _ = await slack.interact(data)
    await slack.settle()

    assert status == 200
    [answer] = slack.fake.response_posts_to("stale")
    assert answer.body is not None and "doesn't do anything" in answer.body["text"]


async def test_a_slash_command_is_stored_before_the_ack(
    slack: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/mentor mood 4` answers 200 only once the mood is committed; the reply follows."""
    _slow_core(slack, monkeypatch)
    status, name = await slack.command("mood 4 long day")
    assert status == 200
    assert _moods(slack) == [4]  # before settle(): stored, then acked
    await slack.settle()
    [answer] = slack.fake.response_posts_to(name)
    assert answer.body is not None and "4/5" in answer.body["text"]


async def test_a_direct_message_is_stored_before_the_ack(
    slack: Harness, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check-in note typed in the DM is committed before Slack gets its 200."""
    checkin_id = push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    [message] = slack.dm_messages(STUDENT)
    await slack.press(message, "🙂 4")
    await slack.settle()
    _slow_core(slack, monkeypatch)
    status, _ = await slack.dm("Revision is going fine", event_id="Ev0ACKNOTE1")
    assert status == 200
    assert slack.checkin(checkin_id).note == "Revision is going fine"  # before settle()


def _moods(slack: Harness) -> list[int]:
    with slack.db.session() as session:
        return list(session.exec(select(MoodEntry.score)).all())
