"""Answering within Slack's limits: presses replace their message, interactive calls retry a 429."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

from adapters.slack.app import interactive_client
from bot.clock import FixedClock
from mentorbot_fakes.slack_api import FakeSlack
from tests.adapters.slack.conftest import STUDENT, Harness, buttons_of, push_checkin


def _has_rate_limit_retry(handlers: Sequence[object]) -> bool:
    return any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in handlers)


async def test_a_student_never_sees_two_live_checkins(slack: Harness, clock: FixedClock) -> None:
    """Pressed twice (a double click), the check-in is replaced in place: one live copy."""
    push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    dm = slack.fake.dm_channel_id(STUDENT)
    [checkin] = slack.fake.live_with_buttons(dm)
    posts_before = len(slack.fake.calls_to("chat.postMessage"))

    await slack.press(checkin, "🙂 4")
    await slack.settle()
    # One message with buttons in the DM: the check-in, now asking for its note.
    assert slack.fake.live_with_buttons(dm) == [checkin]
    assert [b["text"]["text"] for _, b in buttons_of(checkin.blocks)] == ["Skip"]
    assert len(slack.fake.calls_to("chat.postMessage")) == posts_before

    await slack.press(checkin, "Skip")  # a second press on the replaced message
    await slack.settle()
    assert slack.fake.messages_in(dm)[0] is checkin  # a goodbye may follow, no copy
    assert slack.fake.live_with_buttons(dm) == []  # done: no buttons left anywhere
    assert slack.fake.calls_to("chat.update") == []


async def test_spent_response_url_never_reposts_the_checkin(
    slack: Harness, clock: FixedClock
) -> None:
    """A refused replacement (the URL's 5 uses spent) becomes an edit, never a new post."""
    push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    dm = slack.fake.dm_channel_id(STUDENT)
    [checkin] = slack.fake.live_with_buttons(dm)
    slack.fake.response_url_uses = 0

    await slack.press(checkin, "😐 3")
    await slack.settle()

    assert slack.fake.live_with_buttons(dm) == [checkin]
    assert len(slack.fake.messages_in(dm)) == 1
    assert "You answered" in checkin.text  # the next step shows, through chat.update


async def test_interactive_reply_waits_out_a_429(slack: Harness, clock: FixedClock) -> None:
    """A reply refused with 429 + Retry-After is sent again after the wait, not dropped."""
    slack.fake.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=1)
    status, _ = await slack.dm("hello there", event_id="Ev0LIMIT01")
    assert status == 200
    await slack.settle()
    calls = slack.fake.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0  # Retry-After honoured
    assert len(slack.dm_messages(STUDENT)) == 1


async def test_every_interactive_client_retries_rate_limits(slack: Harness) -> None:
    """The bolt app's client has the handler; the outbox's pushes keep their own pacing."""
    adapter = slack.service.adapter
    assert _has_rate_limit_retry(adapter.client.retry_handlers)
    assert adapter.app.client is adapter.client
    assert not _has_rate_limit_retry(adapter.messenger.client.retry_handlers)


async def test_interactive_client_copy_shares_token_and_url() -> None:
    """The interactive copy talks to the same Slack with the same token, and is made once."""
    async with FakeSlack() as fake:
        plain = fake.web_client()
        interactive = interactive_client(plain)
        assert interactive is not plain
        assert (interactive.token, interactive.base_url) == (plain.token, plain.base_url)
        assert interactive_client(interactive) is interactive
        assert (await interactive.auth_test())["ok"] is True
