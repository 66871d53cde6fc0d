"""The Slack Messenger against the loopback fake: where pushes go, and how failures map."""

from __future__ import annotations

import asyncio
import socket

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.messenger import SlackMessenger
from adapters.slack.users import UserDirectory
from bot.model import (
    Attachment,
    Choice,
    Message,
    PermanentDeliveryError,
    PlatformDeliveryError,
    Recipient,
    TransientDeliveryError,
)
from mentorbot_fakes.slack_api import FakeSlack
from tests.adapters.slack.conftest import STUDENT

HELLO = Message(text="Hello", choices=(Choice("😄 5", "mood.log", (("score", "5"),)),))


async def test_push_to_a_user_id_returns_the_dm_channel(fake: FakeSlack) -> None:
    """Posting to a user id opens the DM; the result carries Slack's ts and the D channel."""
    result = await SlackMessenger(fake.web_client()).send(
        Recipient("slack", user_id=STUDENT), HELLO, nonce="n1"
    )
    assert result.channel_id == fake.dm_channel_id(STUDENT)
    [message] = fake.messages_in(result.channel_id)
    assert message.ts == result.message_id
    assert message.metadata == {"event_type": "mentorbot_push", "event_payload": {"nonce": "n1"}}
    [post] = fake.calls_to("chat.postMessage")
    assert post.json_params["blocks"][-1]["elements"][0]["value"].endswith(f'"to":"{STUDENT}"}}')


async def test_push_to_a_known_channel_posts_there_without_lookups(fake: FakeSlack) -> None:
    """With the DM channel known, one chat.postMessage to it and nothing else."""
    dm = fake.dm_channel_id(STUDENT)
    await SlackMessenger(fake.web_client()).send(
        Recipient("slack", user_id=STUDENT, channel_id=dm), HELLO, nonce="n2"
    )
    assert [(c.method, c.json_params["channel"]) for c in fake.calls] == [("chat.postMessage", dm)]


async def test_a_stale_dm_channel_falls_back_to_the_user_id(fake: FakeSlack) -> None:
    """If the kept DM channel is gone, the push still reaches the person by user id."""
    fake.fail_channel("D0GONE0001", "channel_not_found")
    result = await SlackMessenger(fake.web_client()).send(
        Recipient("slack", user_id=STUDENT, channel_id="D0GONE0001"), HELLO, nonce="n3"
    )
    assert result.channel_id == fake.dm_channel_id(STUDENT)


@pytest.mark.parametrize(
    "error",
    ["user_not_found", "channel_not_found", "is_archived", "cannot_dm_bot", "not_in_channel"],
)
async def test_permanent_slack_errors(fake: FakeSlack, error: str) -> None:
    """Errors about one recipient become PermanentDeliveryError (recorded, not retried)."""
    fake.fail_next("chat.postMessage", error)
    with pytest.raises(PermanentDeliveryError, match=error) as caught:
        await SlackMessenger(fake.web_client()).send(
            Recipient("slack", channel_id="C0STAFF001"), HELLO, nonce="p"
        )
    assert not isinstance(caught.value, TransientDeliveryError)


@pytest.mark.parametrize(
    "error",
    ["invalid_auth", "token_revoked", "account_inactive", "missing_scope", "some_new_error"],
)
async def test_token_and_unknown_slack_errors_stop_the_platform(
    fake: FakeSlack, error: str
) -> None:
    """A bad or revoked token, or an unclassified code, is a loud PlatformDeliveryError."""
    fake.fail_next("chat.postMessage", error)
    with pytest.raises(PlatformDeliveryError, match=error):
        await SlackMessenger(fake.web_client()).send(
            Recipient("slack", channel_id="C0STAFF001"), HELLO, nonce="p"
        )


async def test_rate_limit_is_transient_with_retry_after(fake: FakeSlack) -> None:
    """HTTP 429 becomes TransientDeliveryError carrying Slack's Retry-After."""
    fake.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=7)
    with pytest.raises(TransientDeliveryError) as caught:
        await SlackMessenger(fake.web_client()).send(
            Recipient("slack", user_id=STUDENT), HELLO, nonce="r"
        )
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(("error", "status"), [("internal_error", 500), ("fatal_error", 200)])
async def test_server_errors_are_transient(fake: FakeSlack, error: str, status: int) -> None:
    """5xx answers and Slack's own "try later" errors are retried by the outbox."""
    fake.fail_next("chat.postMessage", error, status=status)
    with pytest.raises(TransientDeliveryError):
        await SlackMessenger(fake.web_client()).send(
            Recipient("slack", user_id=STUDENT), HELLO, nonce="t"
        )


async def test_connection_errors_are_transient() -> None:
    """Slack unreachable (nothing listening) is a transient failure, not a crash."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AsyncWebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{port}/api/")
    with pytest.raises(TransientDeliveryError):
        await SlackMessenger(client).send(Recipient("slack", user_id=STUDENT), HELLO, nonce="c")


async def test_nowhere_to_send_is_permanent(fake: FakeSlack) -> None:
    """A recipient without user or channel id can never be delivered."""
    with pytest.raises(PermanentDeliveryError):
        await SlackMessenger(fake.web_client()).send(Recipient("slack"), HELLO, nonce="x")


async def test_attachment_is_uploaded_into_the_dm(fake: FakeSlack) -> None:
    """A message with an attachment is posted, then its file uploaded into the same DM."""
    message = Message(text="Your data", attachment=Attachment("export.json", '{"a": 1}'))
    result = await SlackMessenger(fake.web_client()).send(
        Recipient("slack", user_id=STUDENT), message, nonce="f"
    )
    [upload] = [f for f in fake.files.values() if f.completed]
    assert (upload.filename, upload.content, upload.channel_id) == (
        "export.json",
        b'{"a": 1}',
        result.channel_id,
    )


async def test_user_directory_caches_and_shares_lookups(fake: FakeSlack) -> None:
    """A burst of events from one person costs one users.info; entries expire and are bounded."""
    now = [0.0]
    directory = UserDirectory(
        fake.web_client(), max_size=2, ttl_seconds=60, monotonic=lambda: now[0]
    )
    actors = await asyncio.gather(*(directory.actor("T1", STUDENT) for _ in range(5)))
    assert {a.email for a in actors} == {"sam@example.edu"}
    assert actors[0].timezone == "Europe/London"
    assert len(fake.calls_to("users.info")) == 1
    now[0] = 61.0
    await directory.actor("T1", STUDENT)
    assert len(fake.calls_to("users.info")) == 2
    fake.add_user("U0OTHER001", email="o@example.edu")
    fake.add_user("U0OTHER002", email="p@example.edu")
    await directory.actor("T1", "U0OTHER001")
    await directory.actor("T1", "U0OTHER002")
    await directory.actor("T1", STUDENT)  # evicted as least recently used
    assert len(fake.calls_to("users.info")) == 5


async def test_user_directory_survives_slack_errors(fake: FakeSlack) -> None:
    """Unknown users and rate limits give an actor without email; limits are not cached."""
    directory = UserDirectory(fake.web_client())
    nobody = await directory.actor("T1", "U0NOBODY01")
    assert (nobody.user_id, nobody.email) == ("U0NOBODY01", None)
    fake.fail_next("users.info", "ratelimited", status=429)
    limited = await directory.actor("T1", STUDENT)
    assert limited.email is None
    again = await directory.actor("T1", STUDENT)
    assert again.email == "sam@example.edu"
