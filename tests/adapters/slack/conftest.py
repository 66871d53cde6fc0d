"""Fixtures for the Slack adapter tests.

The loopback fake, a roster with Slack ids, the adapter's real HTTP server on a free port, and a
harness that signs and POSTs captured payloads.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlmodel import select

from adapters.slack import SlackConfig, SlackService
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.outbox import Push, push_rows
from bot.pacing import Pacer
from bot.people import person_by_email
from bot.services.checkins import render_checkin, start_adhoc
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.roster import import_roster, parse_roster
from mentorbot.settings import PacingSettings
from mentorbot_fakes.slack_api import FakeSlack, StoredMessage
from mentorbot_fakes.slack_signing import sign_request
from storage.db import Database
from storage.tables import Checkin, Identity, Person

SECRET = "test-signing-secret"
PAYLOADS = Path(__file__).parent / "payloads"
STUDENT = "U0STUDENT1"
MENTOR = "U0MENTOR01"
ADMIN = "U0ADMIN001"
CHANNEL = "C0GENERAL1"

# The demo programme plus Slack user ids, as a programme lead would import it.
SLACK_ROSTER = """email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id
admin@example.edu,Avery Admin,admin,Europe/London,,,,U0ADMIN001
maya@example.edu,Maya Mentor,mentor,Europe/London,,,Study skills,U0MENTOR01
sam@example.edu,Sam Student,student,Europe/London,maya@example.edu,admin@example.edu,\
Study skills,U0STUDENT1
"""


def payload(name: str) -> dict[str, Any]:
    """A fresh copy of a captured payload from payloads/NAME.json."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def buttons_of(blocks: list[dict[str, Any]] | None) -> list[tuple[str, dict[str, Any]]]:
    """Every button in some blocks, with the block_id it sits in."""
    found = []
    for block in blocks or []:
        if block.get("type") == "actions":
            found += [(block["block_id"], el) for el in block["elements"]]
    return found


def button(blocks: list[dict[str, Any]] | None, label: str) -> tuple[str, dict[str, Any]]:
    """The button whose label contains `label`."""
    for block_id, element in buttons_of(blocks):
        if label in element["text"]["text"]:
            return block_id, element
    raise AssertionError(f"no button {label!r} in {json.dumps(blocks, ensure_ascii=False)}")


def all_text(blocks: list[dict[str, Any]] | None) -> str:
    """The visible text of some blocks, for assertions."""
    parts: list[str] = []
    for block in blocks or []:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        for element in block.get("elements", []):
            text = element.get("text")
            parts.append(text["text"] if isinstance(text, dict) else str(text or ""))
    return "\n".join(parts)


def push_checkin(db: Database, clock: FixedClock, email: str = "sam@example.edu") -> int:
    """Open a check-in for a person and queue its push, as the scheduler would."""
    with db.session() as session:
        person = person_by_email(session, email)
        assert person is not None and person.id is not None
        checkin = start_adhoc(session, person, clock.now())
        assert checkin.id is not None
        push_rows(
            session,
            [
                Push(
                    dedupe_key=f"checkin:test:{person.id}:{checkin.id}",
                    message=render_checkin(checkin, person),
                    person=person,
                    kind="checkin",
                    checkin_id=checkin.id,
                )
            ],
            clock.now(),
            "UTC",
        )
        return checkin.id


@pytest.fixture
def slack_roster(demo: Database, clock: FixedClock) -> Database:
    """The demo programme with Slack user ids for Avery, Maya and Sam (not Alex)."""
    with demo.session() as session:
        import_roster(session, parse_roster(SLACK_ROSTER), clock.now())
    return demo


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    """The loopback Slack with the programme's people in its user directory."""
    async with FakeSlack() as slack:
        slack.add_user(STUDENT, email="sam@example.edu", tz="Europe/London", name="sam.student")
        slack.add_user(MENTOR, email="maya@example.edu", tz="Europe/London", name="maya")
        slack.add_user(ADMIN, email="admin@example.edu", tz="Europe/London", name="avery")
        yield slack


@dataclass
class Harness:
    """The adapter's real HTTP server plus helpers that POST signed, captured payloads."""

    fake: FakeSlack
    service: SlackService
    delivery: OutboxDelivery
    http: aiohttp.ClientSession
    db: Database
    names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        """Where the adapter serves /slack/events."""
        return f"http://127.0.0.1:{self.service.port}/slack/events"

    async def settle(self) -> None:
        """Wait until the adapter finished the work it started after acknowledging."""
        await self.service.adapter.drain()

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        secret: str = SECRET,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST a body signed like Slack signs it; returns (status, text)."""
        signed = sign_request(body, secret, timestamp)
        all_headers = {"Content-Type": content_type, **signed, **(headers or {})}
        async with self.http.post(self.url, data=body.encode(), headers=all_headers) as response:
            return response.status, await response.text()

    async def command(
        self, text: str, *, user: str = STUDENT, channel: str = CHANNEL
    ) -> tuple[int, str]:
        """Run `/mentor TEXT`; returns (HTTP status, the response_url name its answer goes to)."""
        name = f"cmd-{next(self.names)}"
        data = payload("slash_command")
        data.update(
            text=text,
            user_id=user,
            channel_id=channel,
            response_url=self.fake.response_url(name),
        )
        status, _ = await self.post(urlencode(data), "application/x-www-form-urlencoded")
        return status, name

    async def interact(self, data: dict[str, Any]) -> tuple[int, str]:
        """POST an interactivity payload (block_actions, view_submission)."""
        body = urlencode({"payload": json.dumps(data, separators=(",", ":"))})
        return await self.post(body, "application/x-www-form-urlencoded")

    def action_payload(
        self,
        blocks: list[dict[str, Any]] | None,
        label: str,
        *,
        user: str = STUDENT,
        container: dict[str, Any],
    ) -> tuple[dict[str, Any], str]:
        """A block_actions payload pressing the button `label`; returns it and its reply name."""
        block_id, element = button(blocks, label)
        name = f"act-{next(self.names)}"
        data = payload("block_actions")
        data["user"].update(id=user, username=user.lower(), name=user.lower())
        data["container"] = container
        data["response_url"] = self.fake.response_url(name)
        if container.get("type") == "view":
            data.pop("channel")
            data.pop("message")
            data["view"] = {"id": container["view_id"], "type": "home", "blocks": blocks}
        else:
            data["channel"]["id"] = container["channel_id"]
            data["message"].update(ts=container["message_ts"], blocks=blocks)
        data["actions"] = [
            {
                "action_id": element["action_id"],
                "block_id": block_id,
                "text": element["text"],
                "value": element["value"],
                "type": "button",
                "action_ts": "1700000010.000200",
            }
        ]
        return data, name

    async def press(
        self, message: StoredMessage, label: str, *, user: str = STUDENT
    ) -> tuple[int, str]:
        """Press a button on a message the bot posted (in a DM or channel)."""
        container = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
        }
        data, name = self.action_payload(message.blocks, label, user=user, container=container)
        # As on Slack, the interaction's response_url can replace the pressed message.
        self.fake.bind_response_url(name, message.channel, message.ts)
        status, _ = await self.interact(data)
        return status, name

    async def press_ephemeral(
        self, blocks: list[dict[str, Any]], label: str, *, user: str = STUDENT
    ) -> tuple[int, str]:
        """Press a button on an ephemeral answer (from a slash command's response_url)."""
        container = {
            "type": "message",
            "message_ts": "1700000005.000900",
            "channel_id": CHANNEL,
            "is_ephemeral": True,
        }
        data, name = self.action_payload(blocks, label, user=user, container=container)
        status, _ = await self.interact(data)
        return status, name

    async def press_home(self, user: str, label: str) -> tuple[int, str]:
        """Press a button on the user's published App Home."""
        view = self.fake.home_views[user]
        container = {"type": "view", "view_id": view.view_id}
        data, name = self.action_payload(view.view["blocks"], label, user=user, container=container)
        status, _ = await self.interact(data)
        return status, name

    async def event(self, data: dict[str, Any], *, retry: int | None = None) -> tuple[int, str]:
        """POST an Events API callback; `retry` sets Slack's X-Slack-Retry-Num."""
        headers = {}
        if retry is not None:
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(json.dumps(data), "application/json", headers=headers)

    async def dm(
        self, text: str, *, user: str = STUDENT, event_id: str, retry: int | None = None
    ) -> tuple[int, str]:
        """The user types `text` in their DM with the bot."""
        data = payload("message_im")
        data["event"].update(user=user, text=text, channel=self.fake.dm_channel_id(user), blocks=[])
        data["event_id"] = event_id
        return await self.event(data, retry=retry)

    async def open_home(self, user: str, *, event_id: str) -> tuple[int, str]:
        """The user opens the bot's Home tab."""
        data = payload("app_home_opened")
        data["event"].update(user=user, channel=self.fake.dm_channel_id(user))
        data["event_id"] = event_id
        return await self.event(data)

    async def submit_goal(
        self, title: str, due: str | None, *, user: str = STUDENT
    ) -> tuple[int, str]:
        """Submit the add-goal modal."""
        data = payload("view_submission")
        data["user"]["id"] = user
        values = data["view"]["state"]["values"]
        values["goal_title"]["value"]["value"] = title
        values["goal_due"]["value"]["selected_date"] = due
        return await self.interact(data)

    def dm_messages(self, user: str) -> list[StoredMessage]:
        """The bot's live messages in its DM with `user`, oldest first."""
        return self.fake.messages_in(self.fake.dm_channel_id(user))

    def identity(self, user_id: str) -> Identity | None:
        """The stored Slack identity for a user id, if any."""
        with self.db.session() as session:
            found = session.exec(
                select(Identity).where(Identity.platform == "slack", Identity.user_id == user_id)
            ).first()
            if found is not None:
                session.expunge(found)
            return found

    def person(self, email: str) -> Person:
        """A person, detached."""
        with self.db.session() as session:
            found = person_by_email(session, email)
            assert found is not None
            session.expunge(found)
            return found

    def checkin(self, checkin_id: int) -> Checkin:
        """A check-in, detached."""
        with self.db.session() as session:
            found = session.get(Checkin, checkin_id)
            assert found is not None
            session.expunge(found)
            return found


@pytest.fixture
async def slack(
    core: MentorBot,
    fake: FakeSlack,
    clock: FixedClock,
    core_settings: CoreSettings,
    slack_roster: Database,
) -> AsyncIterator[Harness]:
    """The Slack adapter in HTTP mode on 127.0.0.1 (a free port), talking to the fake."""
    config = SlackConfig(
        bot_token=fake.token,
        signing_secret=SECRET,
        mode="http",
        http_host="127.0.0.1",
        http_port=0,
        api_url=fake.base_url,
    )
    # Paced as the composition root paces Slack (the default settings' buckets): the fake
    # refuses a channel's posts faster than about one a second, as Slack does.
    delivery = OutboxDelivery(
        core.db,
        {},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
        pacer=Pacer(PacingSettings(_env_file=None).limits()),
    )
    core.on_queued = delivery.wake  # as the composition root does
    service = SlackService(config, core)
    delivery.messengers["slack"] = service.messenger
    await service.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Harness(fake, service, delivery, http, core.db)
    finally:
        await service.stop()
