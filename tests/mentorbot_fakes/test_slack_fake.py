"""Tests of the loopback Slack fake against the real slack_sdk and slack_bolt clients."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from mentorbot_fakes.slack_api import BOT_USER_ID, TEAM_ID, FakeSlack
from mentorbot_fakes.slack_signing import (
    block_actions_body,
    block_actions_payload,
    event_callback_body,
    message_event,
    sign_request,
    slash_command_body,
    slash_command_payload,
)

SECTION = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hi*"}}]


async def test_web_client_posts_message_and_fake_records_it(slack_fake: FakeSlack) -> None:
    """The real AsyncWebClient posts a message; the fake answers like Slack and records it."""
    client = slack_fake.web_client()
    first = await client.chat_postMessage(channel="C0GENERAL1", text="hello", blocks=SECTION)
    second = await client.chat_postMessage(channel="C0GENERAL1", text="again")

    assert first["ok"] is True
    assert first["channel"] == "C0GENERAL1"
    assert first["message"]["text"] == "hello"
    assert first["message"]["user"] == BOT_USER_ID
    assert float(second["ts"]) > float(first["ts"])
    [call, _] = slack_fake.calls_to("chat.postMessage")
    assert call.token == "xoxb-test"
    assert call.status == 200
    assert call.json_params["blocks"] == SECTION
    assert call.response["ts"] == first["ts"]
    assert [m.text for m in slack_fake.messages_in("C0GENERAL1")] == ["hello", "again"]


async def test_form_encoded_json_string_fields_are_decoded(slack_fake: FakeSlack) -> None:
    """Form-encoded calls keep raw strings in params and decoded JSON in json_params."""
    client = slack_fake.web_client()
    await client.api_call(
        "chat.postMessage", data={"channel": "C0GENERAL1", "blocks": json.dumps(SECTION)}
    )
    [call] = slack_fake.calls_to("chat.postMessage")
    assert call.params["blocks"] == json.dumps(SECTION)
    assert call.json_params["blocks"] == SECTION
    assert call.ok


async def test_conversations_open_is_stable(slack_fake: FakeSlack) -> None:
    """conversations.open gives the same D-channel per user every time, distinct per user."""
    client = slack_fake.web_client()
    first = await client.conversations_open(users="U0STUDENT1")
    again = await client.conversations_open(users=["U0STUDENT1"])
    other = await client.conversations_open(users="U0STUDENT2")

    channel_id = first["channel"]["id"]
    assert channel_id.startswith("D")
    assert again["channel"]["id"] == channel_id
    assert again["already_open"] is True
    assert other["channel"]["id"] != channel_id
    assert channel_id == FakeSlack().dm_channel_id("U0STUDENT1")
    posted = await client.chat_postMessage(channel="U0STUDENT1", text="dm")
    assert posted["channel"] == channel_id
    info = await client.conversations_info(channel=channel_id)
    assert info["channel"]["is_im"] is True


async def test_invalid_token_is_rejected(slack_fake: FakeSlack) -> None:
    """Wrong token: invalid_auth; missing: not_authed; app token on a bot method: wrong type."""
    with pytest.raises(SlackApiError) as wrong:
        await slack_fake.web_client(token="xoxb-wrong").auth_test()
    assert wrong.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        await slack_fake.web_client(token="").auth_test()
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as app_token:
        await slack_fake.web_client(token="xapp-test").chat_postMessage(channel="C1", text="x")
    assert app_token.value.response["error"] == "not_allowed_token_type"
    ok = await slack_fake.web_client().auth_test()
    assert (ok["user_id"], ok["team_id"]) == (BOT_USER_ID, TEAM_ID)
    assert [c.error for c in slack_fake.calls_to("auth.test")] == [
        "invalid_auth",
        "not_authed",
        None,
    ]


async def test_unknown_method_answers_unknown_method(slack_fake: FakeSlack) -> None:
    """Methods the fake does not implement answer unknown_method."""
    with pytest.raises(SlackApiError) as err:
        await slack_fake.web_client().api_call("pins.frobnicate")
    assert err.value.response["error"] == "unknown_method"


async def test_channel_rate_limit_answers_429_with_retry_after() -> None:
    """A second chat.postMessage to a channel within a second answers 429 + Retry-After."""
    async with FakeSlack(rate_limits=True, channel_burst=1) as fake:
        client = fake.web_client()
        await client.chat_postMessage(channel="C0GENERAL1", text="one")
        await client.chat_postMessage(channel="C0OTHER001", text="other channel is separate")
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel="C0GENERAL1", text="two")
        assert err.value.response.status_code == 429
        assert err.value.response.headers["Retry-After"] == "1"
        assert err.value.response["error"] == "ratelimited"
        assert fake.http_429 == 1


async def test_rate_limit_retry_handler_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk's AsyncRateLimitErrorRetryHandler honours Retry-After and then succeeds."""
    # The handler sleeps Retry-After + random(); pin the jitter so the test waits 1 s exactly.
    monkeypatch.setattr(random, "random", lambda: 0.0)
    async with FakeSlack(rate_limits=True, channel_burst=1) as fake:
        client = fake.web_client(retry_handlers=[AsyncRateLimitErrorRetryHandler()])
        await client.chat_postMessage(channel="C0GENERAL1", text="one")
        started = time.monotonic()
        second = await client.chat_postMessage(channel="C0GENERAL1", text="two")
        assert second["ok"] is True
        assert time.monotonic() - started >= 1.0
        assert fake.http_429 == 1
        assert [c.status for c in fake.calls_to("chat.postMessage")] == [200, 429, 200]


async def test_workspace_rpm_limit_per_method() -> None:
    """workspace_rpm caps each method per minute; other methods are unaffected."""
    async with FakeSlack(rate_limits=True, workspace_rpm=2) as fake:
        fake.add_user("U0STUDENT1", email="s1@example.edu")
        client = fake.web_client()
        await client.users_info(user="U0STUDENT1")
        await client.users_info(user="U0STUDENT1")
        with pytest.raises(SlackApiError) as err:
            await client.users_info(user="U0STUDENT1")
        assert err.value.response.status_code == 429
        assert 55 <= int(err.value.response.headers["Retry-After"]) <= 60
        await client.users_lookupByEmail(email="s1@example.edu")
        fake.reset_rate_limits()
        await client.users_info(user="U0STUDENT1")


async def test_user_directory(slack_fake: FakeSlack) -> None:
    """users.info/lookupByEmail serve added users and answer user(s)_not_found otherwise."""
    slack_fake.add_user("U0STUDENT1", email="ada@example.edu", tz="Europe/Paris", name="ada")
    client = slack_fake.web_client()
    user = (await client.users_info(user="U0STUDENT1"))["user"]
    assert user["tz"] == "Europe/Paris"
    assert user["profile"]["email"] == "ada@example.edu"
    assert user["real_name"] == "ada"
    assert user["tz_offset"] in (3600, 7200)
    found = await client.users_lookupByEmail(email="ada@example.edu")
    assert found["user"]["id"] == "U0STUDENT1"
    with pytest.raises(SlackApiError) as missing_user:
        await client.users_info(user="U0NOBODY01")
    assert missing_user.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as missing_email:
        await client.users_lookupByEmail(email="nobody@example.edu")
    assert missing_email.value.response["error"] == "users_not_found"


async def test_error_injection(slack_fake: FakeSlack) -> None:
    """fail_next fails only the next call; fail_channel/fail_user fail until cleared."""
    client = slack_fake.web_client()
    slack_fake.fail_next("chat.postMessage", "internal_error", status=500)
    with pytest.raises(SlackApiError) as injected:
        await client.chat_postMessage(channel="C0GENERAL1", text="x")
    assert injected.value.response.status_code == 500
    await client.chat_postMessage(channel="C0GENERAL1", text="x")

    slack_fake.fail_channel("C0LOCKED01", "not_in_channel")
    with pytest.raises(SlackApiError) as channel_err:
        await client.chat_postMessage(channel="C0LOCKED01", text="x")
    assert channel_err.value.response["error"] == "not_in_channel"

    slack_fake.fail_user("U0GONE0001", "user_disabled")
    with pytest.raises(SlackApiError) as user_err:
        await client.conversations_open(users="U0GONE0001")
    assert user_err.value.response["error"] == "user_disabled"
    slack_fake.clear_failures()
    await client.conversations_open(users="U0GONE0001")


async def test_latency_delays_answers() -> None:
    """The latency attribute delays every answer by that many seconds."""
    async with FakeSlack(latency=0.05) as fake:
        started = time.monotonic()
        await fake.web_client().auth_test()
        assert time.monotonic() - started >= 0.05


async def test_update_ephemeral_and_delete(slack_fake: FakeSlack) -> None:
    """chat.update/chat.delete act on posted messages; chat.postEphemeral returns message_ts."""
    client = slack_fake.web_client()
    posted = await client.chat_postMessage(channel="C0GENERAL1", text="draft")
    updated = await client.chat_update(channel="C0GENERAL1", ts=posted["ts"], text="final")
    assert updated["message"]["text"] == "final"
    assert updated["ts"] == posted["ts"]
    ephemeral = await client.chat_postEphemeral(channel="C0GENERAL1", user="U0S1", text="psst")
    assert ephemeral["message_ts"]
    await client.chat_delete(channel="C0GENERAL1", ts=posted["ts"])
    assert slack_fake.messages_in("C0GENERAL1") == []
    with pytest.raises(SlackApiError) as gone:
        await client.chat_update(channel="C0GENERAL1", ts=posted["ts"], text="again")
    assert gone.value.response["error"] == "message_not_found"


async def test_views(slack_fake: FakeSlack) -> None:
    """views.open/push/update/publish return view objects with ids and hashes."""
    client = slack_fake.web_client()
    modal = {
        "type": "modal",
        "callback_id": "goal",
        "title": {"type": "plain_text", "text": "Set a goal"},
        "blocks": SECTION,
    }
    opened = (await client.views_open(trigger_id="1.2.abc", view=modal))["view"]
    assert opened["id"].startswith("V")
    pushed = (await client.views_push(trigger_id="1.2.abd", view=modal))["view"]
    assert pushed["previous_view_id"] == opened["id"]
    updated = await client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)
    assert updated["view"]["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as conflict:
        await client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)
    assert conflict.value.response["error"] == "hash_conflict"
    home = {"type": "home", "blocks": SECTION}
    published = await client.views_publish(user_id="U0STUDENT1", view=home)
    assert slack_fake.home_views["U0STUDENT1"].view_id == published["view"]["id"]


async def test_files_upload_v2_round_trip(slack_fake: FakeSlack) -> None:
    """files_upload_v2 gets a loopback upload URL, uploads the bytes and completes."""
    client = slack_fake.web_client()
    result = await client.files_upload_v2(
        channel="C0GENERAL1", content="week,goal\n1,read", filename="plan.csv", title="Plan"
    )
    file_id = result["file"]["id"]
    assert slack_fake.files[file_id].content == b"week,goal\n1,read"
    assert slack_fake.files[file_id].completed
    assert slack_fake.messages_in("C0GENERAL1")[-1].files == [file_id]


async def test_response_url_records_posts(slack_fake: FakeSlack) -> None:
    """POSTs to fake.response_url(name) are answered "ok" and recorded under that name."""
    webhook = AsyncWebhookClient(url=slack_fake.response_url("cmd-1"))
    response = await webhook.send(text="Working on it", response_type="ephemeral")
    assert (response.status_code, response.body) == (200, "ok")
    [post] = slack_fake.response_posts_to("cmd-1")
    assert post.body == {"text": "Working on it", "response_type": "ephemeral"}


async def test_signing_helpers_match_slack_verifier() -> None:
    """sign_request headers pass slack_sdk's SignatureVerifier; bodies use Slack's fields."""
    body = slash_command_body(text="help", user_id="U0STUDENT1")
    headers = sign_request(body, "s3cret")
    assert SignatureVerifier("s3cret").is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    fields = {k: v[0] for k, v in parse_qs(body).items()}
    assert fields["command"] == "/mentor"
    assert fields["user_id"] == "U0STUDENT1"
    assert {"trigger_id", "response_url", "team_id", "channel_id", "api_app_id"} <= fields.keys()
    assert "payload" in parse_qs(block_actions_body(block_actions_payload("next")))
    assert '"type": "event_callback"' in event_callback_body(message_event("hi"))


async def test_bolt_http_mode_accepts_signed_bodies(slack_fake: FakeSlack) -> None:
    """A bolt AsyncApp with a signing secret accepts the helpers' signed slash command body."""
    app = AsyncApp(client=slack_fake.web_client(), signing_secret="s3cret")
    seen: list[str] = []

    @app.command("/mentor")
    async def on_mentor(ack: Any, command: dict[str, Any]) -> None:
        seen.append(command["text"])
        await ack()

    body = slash_command_body(text="help")
    ok = await app.async_dispatch(AsyncBoltRequest(body=body, headers=sign_request(body, "s3cret")))
    bad_headers = sign_request(body, "s3cret", timestamp=int(time.time()) - 3600)
    stale = await app.async_dispatch(AsyncBoltRequest(body=body, headers=bad_headers))
    assert (ok.status, stale.status) == (200, 401)
    assert seen == ["help"]


async def test_bolt_socket_mode_slash_command(slack_fake: FakeSlack) -> None:
    """A real bolt AsyncApp in Socket Mode connects, acks a pushed slash command and posts."""
    app = AsyncApp(client=slack_fake.web_client())

    @app.command("/mentor")
    async def on_mentor(ack: Any, command: dict[str, Any], client: Any, respond: Any) -> None:
        await ack("On it")
        await client.chat_postMessage(channel=command["channel_id"], text="Here is your plan")
        await respond("done")

    handler = AsyncSocketModeHandler(app, app_token="xapp-test")
    await handler.connect_async()
    try:
        payload = slash_command_payload(text="plan", response_url=slack_fake.response_url("c1"))
        envelope_id = await slack_fake.socket_send("slash_commands", payload)
        assert await slack_fake.wait_for_ack(envelope_id) == {"text": "On it"}
        [post] = await slack_fake.wait_for_call("chat.postMessage")
        assert post.json_params["text"] == "Here is your plan"
        [reply] = await slack_fake.wait_for_response_post("c1")
        assert reply.body is not None and reply.body["text"] == "done"
    finally:
        await handler.close_async()
    # Socket Mode asked for its URL with the app token; bolt checked the bot token lazily.
    [connections_open] = slack_fake.calls_to("apps.connections.open")
    assert connections_open.token == "xapp-test"
    assert len(slack_fake.calls_to("auth.test")) == 1


async def test_socket_mode_reconnects_after_disconnect(slack_fake: FakeSlack) -> None:
    """A Slack "disconnect" message makes the SDK fetch a new URL and reconnect."""
    client = SocketModeClient(app_token="xapp-test", web_client=slack_fake.web_client())
    await client.connect()
    try:
        await slack_fake.wait_for_socket()
        await slack_fake.socket_disconnect()
        await slack_fake.wait_for_call("apps.connections.open", count=2)
        await slack_fake.wait_until(
            lambda: slack_fake.socket_connect_count == 2 and slack_fake.socket_connections == 1
        )
    finally:
        await client.close()


async def test_wrong_app_token_makes_socket_mode_retry_forever(slack_fake: FakeSlack) -> None:
    """apps.connections.open rejects a wrong app token; the SDK then retries without end."""
    client = SocketModeClient(app_token="xapp-wrong", web_client=slack_fake.web_client())
    try:
        # SocketModeClient.connect() swallows the SlackApiError and loops every
        # ping_interval, so a caller must bound it with its own timeout.
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await client.connect()
    finally:
        await client.close()
    assert slack_fake.calls_to("apps.connections.open")[0].error == "invalid_auth"
    assert slack_fake.socket_connect_count == 0


async def test_views_open_refuses_a_text_input_longer_than_slack_allows() -> None:
    """A plain_text_input promising more than 3,000 characters is invalid_arguments."""
    async with FakeSlack() as fake:
        client = fake.web_client()
        view = {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Answer"},
            "blocks": [
                {
                    "type": "input",
                    "block_id": "b",
                    "label": {"type": "plain_text", "text": "Your answer"},
                    "element": {"type": "plain_text_input", "action_id": "v", "max_length": 3001},
                }
            ],
        }
        with pytest.raises(SlackApiError) as refused:
            await client.views_open(trigger_id="1.2.3", view=view)
        assert refused.value.response["error"] == "invalid_arguments"
        view["blocks"][0]["element"]["max_length"] = 3000
        assert (await client.views_open(trigger_id="1.2.3", view=view))["ok"]


async def test_limits_are_on_by_default_with_each_methods_tier() -> None:
    """Without options the fake enforces Slack's tiers: chat.update (Tier 3) allows 50 a minute."""
    async with FakeSlack() as fake:
        assert fake.rate_limits_enabled
        assert fake.method_limit("chat.update") == 50
        assert fake.method_limit("users.info") == 100
        assert fake.method_limit("users.lookupByEmail") == 50
        assert fake.method_limit("chat.postMessage") is None  # per channel only, by default
        client = fake.web_client()
        posted = await client.chat_postMessage(channel="C0GENERAL1", text="x")
        for _ in range(50):
            await client.chat_update(channel="C0GENERAL1", ts=posted["ts"], text="y")
        with pytest.raises(SlackApiError) as err:
            await client.chat_update(channel="C0GENERAL1", ts=posted["ts"], text="z")
        assert err.value.response.status_code == 429
        assert int(err.value.response.headers["Retry-After"]) >= 1


async def test_response_url_takes_five_posts_and_replaces_its_message() -> None:
    """A bound response_url replaces its message; the sixth post is refused with used_url."""
    async with FakeSlack() as fake:
        client = fake.web_client()
        posted = await client.chat_postMessage(channel="C0GENERAL1", text="old", blocks=[])
        url = fake.message_response_url("r1", "C0GENERAL1", str(posted["ts"]))
        async with aiohttp.ClientSession() as http:
            statuses = []
            for index in range(6):
                body = {"replace_original": True, "text": f"new {index}"}
                async with http.post(url, json=body) as response:
                    statuses.append((response.status, await response.text()))
        assert statuses[:5] == [(200, "ok")] * 5
        assert statuses[5] == (404, "used_url")
        [message] = fake.messages_in("C0GENERAL1")
        assert message.text == "new 4"
