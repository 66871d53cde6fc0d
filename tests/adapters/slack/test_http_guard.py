"""HTTP mode's door: signature before parsing, timestamps, body limit, replays processed once.

Real signed (and unsigned) requests against the adapter's running aiohttp server; the
assertions look at the stored rows, the loopback Slack and the captured logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import urlencode

import aiohttp
import pytest
import slack_bolt.request.async_request as bolt_request_module
from aiohttp import web
from sqlmodel import select

from adapters.slack.http_guard import SlackRequestGuard
from mentorbot_fakes.slack_signing import sign_request
from storage.tables import MoodEntry, ProcessedEvent
from tests.adapters.slack.conftest import SECRET, STUDENT, Harness, payload, push_checkin

FORM = "application/x-www-form-urlencoded"
# Would crash bolt's parser (the interactivity JSON is cut short) if it were ever parsed.
PARSER_BOMB = "payload=%7B%22type%22%3A%22block_actions%22%2C%22secret-words-never-logged"


def _moods(harness: Harness) -> list[int]:
    with harness.db.session() as session:
        return list(session.exec(select(MoodEntry.score)).all())


def _command_body(harness: Harness, text: str, name: str) -> str:
    data = payload("slash_command")
    data.update(text=text, user_id=STUDENT, response_url=harness.fake.response_url(name))
    return urlencode(data)


async def _post_raw(harness: Harness, body: str, headers: dict[str, str]) -> int:
    async with harness.http.post(
        harness.url, data=body.encode(), headers={"Content-Type": FORM, **headers}
    ) as response:
        return response.status


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The reasons the running guard refuses requests for, in order."""
    seen: list[str] = []
    original = SlackRequestGuard.refuse

    def refuse(self: SlackRequestGuard, status: int, reason: str) -> web.Response:
        seen.append(reason)
        return original(self, status, reason)

    monkeypatch.setattr(SlackRequestGuard, "refuse", refuse)
    return seen


async def test_replayed_slash_command_is_answered_but_stored_once(slack: Harness) -> None:
    """The same signed `/mentor mood` POSTed twice: both 200, one mood, one answer."""
    body = _command_body(slack, "mood 3 tired", "replayed")
    headers = {"Content-Type": FORM, **sign_request(body, SECRET)}
    statuses = []
    for _ in range(2):
        async with slack.http.post(slack.url, data=body.encode(), headers=headers) as response:
            statuses.append(response.status)
        await slack.settle()
    assert statuses == [200, 200]
    assert _moods(slack) == [3]
    assert len(slack.fake.response_posts_to("replayed")) == 1
    # A fresh request (new signature) with the same words is a new mood: only replays are caught.
    fresh = _command_body(slack, "mood 3 tired", "fresh")
    assert await _post_raw(slack, fresh, sign_request(fresh, SECRET)) == 200
    await slack.settle()
    assert _moods(slack) == [3, 3]


async def test_replayed_button_press_is_processed_once(slack: Harness, clock) -> None:
    """A check-in mood button replayed (same signed body) stores one answer, edits once."""
    push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    [message] = slack.dm_messages(STUDENT)
    container = {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": message.channel,
        "is_ephemeral": False,
    }
    data, name = slack.action_payload(message.blocks, "🙂 4", container=container)
    body = urlencode({"payload": json.dumps(data, separators=(",", ":"))})
    headers = sign_request(body, SECRET)
    assert await _post_raw(slack, body, headers) == 200
    await slack.settle()
    assert await _post_raw(slack, body, headers) == 200
    await slack.settle()
    assert _moods(slack) == [4]
    # The pressed message is replaced once, through the interaction's response_url.
    assert len(slack.fake.response_posts_to(name)) == 1
    with slack.db.session() as session:
        keys = session.exec(select(ProcessedEvent.event_id)).all()
    assert len([k for k in keys if k.startswith("sig:")]) == 1


@pytest.mark.parametrize(
    "timestamp",
    [None, "", "abc", "1e9", "-5", "１２３４５", "12345678901234567890", "now"],
)
async def test_missing_or_non_numeric_timestamp_is_401(
    slack: Harness, refusals: list[str], timestamp: str | None
) -> None:
    """A timestamp that is absent or not plain digits is 401 (never a 500), nothing stored."""
    body = _command_body(slack, "mood 2", "ts")
    headers = sign_request(body, SECRET)
    if timestamp is None:
        del headers["X-Slack-Request-Timestamp"]
    else:
        headers["X-Slack-Request-Timestamp"] = timestamp
    assert await _post_raw(slack, body, headers) == 401
    await slack.settle()
    assert _moods(slack) == []
    assert refusals == ["bad_timestamp"]


@pytest.mark.parametrize("offset", [-6 * 60, 6 * 60])
async def test_stale_or_future_timestamp_is_401(
    slack: Harness, refusals: list[str], offset: int
) -> None:
    """Correctly signed but more than five minutes off our clock (either way): 401."""
    body = _command_body(slack, "mood 2", "stale")
    headers = sign_request(body, SECRET, timestamp=int(time.time()) + offset)
    assert await _post_raw(slack, body, headers) == 401
    await slack.settle()
    assert _moods(slack) == [] and slack.fake.response_posts == []
    assert refusals == ["stale_timestamp"]


async def test_unsigned_body_is_never_parsed(
    slack: Harness, refusals: list[str], monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    """A body that would crash bolt's parser, unsigned or wrongly signed: 401, parser never run."""
    parsed: list[str] = []
    real_parse = bolt_request_module.parse_body

    def spy(body: str, content_type: str | None):  # type: ignore[no-untyped-def]
        parsed.append(body)
        return real_parse(body, content_type)

    monkeypatch.setattr(bolt_request_module, "parse_body", spy)
    caplog.set_level(logging.DEBUG)
    wrong = sign_request(PARSER_BOMB, "not-the-secret")
    assert await _post_raw(slack, PARSER_BOMB, wrong) == 401
    assert await _post_raw(slack, PARSER_BOMB, {}) == 401
    assert parsed == []
    assert refusals == ["bad_signature", "bad_timestamp"]
    assert "secret-words" not in caplog.text and "Traceback" not in caplog.text
    # The same bomb, correctly signed, reaches the parser: the spy could have caught it.
    assert await _post_raw(slack, PARSER_BOMB, sign_request(PARSER_BOMB, SECRET)) == 400
    assert parsed == [PARSER_BOMB]
    assert "secret-words" not in caplog.text and "Traceback" not in caplog.text


async def test_body_over_the_limit_is_413_from_its_length_alone(
    slack: Harness, refusals: list[str]
) -> None:
    """A declared Content-Length over the limit is refused before the body is sent at all."""
    limit = slack.service.config.max_body_bytes
    reader, writer = await asyncio.open_connection("127.0.0.1", slack.service.port)
    # Headers only: a server that waited for the body would never answer (the wait_for fails).
    writer.write(
        (
            "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: {FORM}\r\nContent-Length: {limit + 1}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    writer.close()
    assert status_line.split()[1] == b"413"
    assert refusals == ["too_large"]


async def test_streamed_body_over_the_limit_is_413(slack: Harness, refusals: list[str]) -> None:
    """A chunked body with no length is refused once it passes the limit."""
    limit = slack.service.config.max_body_bytes
    sent = 0

    async def chunks():  # type: ignore[no-untyped-def]
        nonlocal sent
        while sent < 4 * limit:
            sent += 64 * 1024
            yield b"x" * (64 * 1024)

    headers = {"Content-Type": FORM, **sign_request("", SECRET)}
    try:
        async with slack.http.post(slack.url, data=chunks(), headers=headers) as response:
            status = response.status
    except (aiohttp.ClientError, ConnectionError):
        # The server answers and closes while the client still sends; the guard's refusal
        # reason below says why it closed.
        status = 413
    assert status == 413
    assert refusals == ["too_large"]
    assert _moods(slack) == []


async def test_body_at_the_limit_is_accepted(slack: Harness) -> None:
    """A signed body just under the limit is read and handled as usual."""
    limit = slack.service.config.max_body_bytes
    data = payload("slash_command")
    data.update(text="mood 4", user_id=STUDENT, response_url=slack.fake.response_url("big"))
    base = urlencode(data) + "&padding="
    body = base + "p" * (limit - len(base))
    assert len(body.encode()) == limit
    assert await _post_raw(slack, body, sign_request(body, SECRET)) == 200
    await slack.settle()
    assert _moods(slack) == [4]


async def test_refusals_log_no_body_and_no_traceback(
    slack: Harness, refusals: list[str], caplog
) -> None:
    """At DEBUG, refused requests leave only reasons in the log, never the words sent."""
    caplog.set_level(logging.DEBUG)
    words = "my-private-words-about-self-harm"
    body = _command_body(slack, f"mood 1 {words}", "leak")
    await _post_raw(slack, body, sign_request(body, "wrong"))
    await _post_raw(slack, body, sign_request(body, SECRET, timestamp=int(time.time()) - 3600))
    await _post_raw(slack, body, {"X-Slack-Request-Timestamp": "x"})
    await slack.settle()
    assert refusals == ["bad_signature", "stale_timestamp", "bad_timestamp"]
    assert words not in caplog.text and "Traceback" not in caplog.text
    assert _moods(slack) == []


async def test_guard_needs_a_secret() -> None:
    """HTTP mode without a signing secret can't build a guard (and the config refuses it)."""
    with pytest.raises(ValueError):
        SlackRequestGuard("")
