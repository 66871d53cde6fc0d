"""End to end over Socket Mode.

Envelopes are pushed through the fake's loopback websocket to the real AsyncSocketModeHandler,
acknowledged, and answered through the Web API fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import func, select

from adapters.slack import SlackConfig, SlackService
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.services.delivery_events import ServiceDeliveryEvents
from mentorbot_fakes.slack_api import FakeSlack
from storage.db import Database
from storage.tables import Checkin, MoodEntry, StudentMessage
from tests.adapters.slack.conftest import STUDENT, all_text, button, payload, push_checkin


@pytest.fixture
async def socket_service(
    core: MentorBot, fake: FakeSlack, slack_roster: Database
) -> AsyncIterator[SlackService]:
    """The adapter connected to the fake in Socket Mode (no signing secret involved)."""
    config = SlackConfig(
        bot_token=fake.token, app_token=fake.app_token, mode="socket", api_url=fake.base_url
    )
    service = SlackService(config, core)
    await service.start()
    await fake.wait_for_socket()
    try:
        yield service
    finally:
        await service.stop()


async def test_slash_command_over_the_socket(socket_service: SlackService, fake: FakeSlack) -> None:
    """A /mentor command envelope is acked at once and answered on its response_url."""
    command = payload("slash_command")
    command["response_url"] = fake.response_url("socket-cmd")
    envelope_id = await fake.socket_send("slash_commands", command)
    assert await fake.wait_for_ack(envelope_id) is None  # an empty ack: nothing shown yet
    await socket_service.adapter.drain()
    [answer] = fake.response_posts_to("socket-cmd")
    assert answer.body is not None and "Logged your mood: 🙂 4/5" in answer.body["text"]
    # The startup check and the socket handler both asked with the app-level token.
    assert {c.token for c in fake.calls_to("apps.connections.open")} == {fake.app_token}


async def test_checkin_button_and_retried_dm_over_the_socket(
    socket_service: SlackService,
    fake: FakeSlack,
    core: MentorBot,
    clock: FixedClock,
    core_settings: CoreSettings,
) -> None:
    """Check-in pushed, mood pressed (message edited in place), a retried DM answered once."""
    delivery = OutboxDelivery(
        core.db,
        {"slack": socket_service.messenger},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
    )
    checkin_id = push_checkin(core.db, clock)
    assert (await delivery.deliver_once(["slack"])).sent == 1
    dm = fake.dm_channel_id(STUDENT)
    [message] = fake.messages_in(dm)

    block_id, element = button(message.blocks, "😐 3")
    press = payload("block_actions")
    press["container"].update(channel_id=dm, message_ts=message.ts)
    press["channel"]["id"] = dm
    press["response_url"] = fake.message_response_url("socket-press", dm, message.ts)
    press["actions"][0].update(
        action_id=element["action_id"], block_id=block_id, value=element["value"]
    )
    envelope_id = await fake.socket_send("interactive", press)
    await fake.wait_for_ack(envelope_id)
    await socket_service.adapter.drain()
    assert "You answered 😐 3/5" in message.text
    assert "Anything on your mind?" in message.text
    assert len(fake.messages_in(dm)) == 1  # replaced in place, with the note question
    [replaced] = fake.response_posts_to("socket-press")
    assert replaced.body is not None and replaced.body["replace_original"] is True

    event = payload("message_im")
    event["event"].update(channel=dm, text="Long day at the library")
    first = await fake.socket_send("events_api", event)
    await fake.wait_for_ack(first)
    await socket_service.adapter.drain()
    retry = await fake.socket_send("events_api", event, retry_attempt=1, retry_reason="timeout")
    await fake.wait_for_ack(retry)
    await socket_service.adapter.drain()
    assert len(fake.messages_in(dm)) == 2  # one answer to the note, none to the retry
    with core.db.session() as session:
        assert session.exec(select(MoodEntry.score)).all() == [3]
        assert session.exec(select(func.count()).select_from(StudentMessage)).one() == 0
        checkin = session.get(Checkin, checkin_id)
        assert checkin is not None and checkin.note == "Long day at the library"


async def test_home_tab_over_the_socket(socket_service: SlackService, fake: FakeSlack) -> None:
    """app_home_opened through the socket publishes the student's home."""
    envelope_id = await fake.socket_send("events_api", payload("app_home_opened"))
    await fake.wait_for_ack(envelope_id)
    await socket_service.adapter.drain()
    await fake.wait_for_call("views.publish")
    assert "Your mood" in all_text(fake.home_views[STUDENT].view["blocks"])
