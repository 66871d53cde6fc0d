"""Button presses are acknowledged only once the core has stored them.

Slack takes the HTTP 200 as "handled"; a process killed between an early ack and the commit
lost check-in answers the student saw accepted (found by `python -m bench crash`).
"""

from __future__ import annotations

import time

import pytest

from bot.model import Inbound, Reply
from tests.adapters.slack.conftest import STUDENT, Harness, payload, push_checkin

SLOW_CORE_SECONDS = 0.3  # longer than a loopback round trip, well inside Slack's 3 s


def _slow_core(slack: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    core = slack.service.adapter.core
    handle = core.handle

    def slow_handle(inbound: Inbound) -> Reply:
        time.sleep(SLOW_CORE_SECONDS)
        return handle(inbound)

    monkeypatch.setattr(core, "handle", slow_handle)


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
