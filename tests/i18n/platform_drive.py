"""The scenario on Slack and Discord through their fakes: what the fakes recorded is what is read.

Each step is compared with the fake's recordings before it: every Web API / REST call the
adapter made that carries words (posts, edits, ephemerals, modals, App Home, uploads,
interaction answers) becomes one `Seen` labelled with the step. New buttons are pressed once
per action, by the person they were sent to.
"""

from __future__ import annotations

import contextlib
import itertools
from datetime import timedelta
from typing import Any

from adapters.discord.custom_ids import decode_action as discord_action
from adapters.slack.render import BadButton
from adapters.slack.render import decode_action as slack_action
from bot.args import split_words
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.errors import UserError
from bot.registry import ArgKind, pick_variant
from mentorbot_fakes import discord_payloads as p
from mentorbot_fakes.discord_api import FakeDiscord
from storage.db import Database
from tests.adapters.slack.conftest import Harness
from tests.i18n.shapes import (
    ALEX,
    ANSWER,
    AVERY,
    DO_NOT_PRESS,
    MAYA,
    SAM,
    Seen,
    command_lines,
    discord_texts,
    script,
    slack_texts,
)
from tests.scheduling.world import set_watermark
from tests.tick import REGISTRY, run_due_work

EVERYONE = (SAM, ALEX, MAYA, AVERY)
# Slack Web API methods whose parameters hold no words a person reads.
SLACK_SILENT = frozenset(
    {
        "auth.test",
        "users.info",
        "users.lookupByEmail",
        "users.list",
        "conversations.open",
        "conversations.info",
        "conversations.members",
        "chat.delete",
        "apps.connections.open",
        "team.info",
        "bots.info",
    }
)


class PlatformRun:
    """The shared walk: script, a week of jobs, every command; subclasses talk to a fake."""

    area = ""

    def __init__(self, db: Database, clock: FixedClock, settings: CoreSettings) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.seen: list[Seen] = []
        # Every message body as the platform got it, by step (for the meaning test).
        self.bodies: list[tuple[str, Any]] = []
        self.pressed: set[str] = set()
        self.events = itertools.count(1)

    async def type(self, who: str, line: str) -> None:
        """Send one line as `who`, record what came back, deliver, press what is new."""
        raise NotImplementedError

    async def deliver(self, when: str) -> None:
        """Deliver the outbox and record the pushes."""
        raise NotImplementedError

    async def week_of_jobs(self, days: int = 8, step_hours: int = 2) -> None:
        """Run the scheduled jobs for a week, delivering twice a day."""
        start = self.clock.now()
        set_watermark(self.db, start)
        at, end, ticks = start, start + timedelta(days=days), 0
        while at < end:
            at += timedelta(hours=step_hours)
            self.clock.set(at)
            run_due_work(self.db, self.settings, at)
            ticks += 1
            if ticks % (12 // step_hours) == 0:
                await self.deliver(f"jobs up to {at:%a %H:%M} UTC")

    async def everything(self) -> list[Seen]:
        """The whole scenario, as on the console."""
        for who, line in script():
            await self.type(who, line)
        await self.deliver("after the script")
        await self.week_of_jobs()
        for who, line in command_lines():
            await self.type(who, line)
        await self.deliver("at the end")
        return self.seen


# ------------------------------------------------------------------ Slack

SLACK_IDS = {SAM: "U0STUDENT1", ALEX: "U0STUDENT2", MAYA: "U0MENTOR01", AVERY: "U0ADMIN001"}


class SlackRun(PlatformRun):
    """The scenario as `/mentor ...` commands, DMs, button presses and App Home on Slack."""

    area = "slack"

    def __init__(
        self, harness: Harness, db: Database, clock: FixedClock, settings: CoreSettings
    ) -> None:
        super().__init__(db, clock, settings)
        self.h = harness
        self.owner = {harness.fake.dm_channel_id(uid): uid for uid in SLACK_IDS.values()}
        self.who_is = {uid: who for who, uid in SLACK_IDS.items()}

    def _mark(self) -> tuple[int, int]:
        return len(self.h.fake.calls), len(self.h.fake.response_posts)

    def _record(self, mark: tuple[int, int], origin: str) -> list[tuple[str, list[Any]]]:
        """Record the words of everything since `mark`; return (channel or '', blocks) seen."""
        fake = self.h.fake
        texts: list[str] = []
        with_blocks: list[tuple[str, list[Any]]] = []
        for call in fake.calls[mark[0] :]:
            if call.method in SLACK_SILENT or not call.ok:
                continue
            params = call.json_params
            texts += slack_texts(params)
            if call.method.startswith("chat."):
                self.bodies.append((origin, params))
            if call.method in ("chat.postMessage", "chat.update") and params.get("blocks"):
                with_blocks.append((str(params.get("channel", "")), list(params["blocks"])))
        for post in fake.response_posts[mark[1] :]:
            if post.body:
                texts += slack_texts(post.body)
                self.bodies.append((origin, post.body))
                if post.body.get("blocks"):
                    with_blocks.append(("", list(post.body["blocks"])))
        if texts:
            self.seen.append(Seen(self.area, origin, "\n".join(texts)))
        return with_blocks

    async def type(self, who: str, line: str) -> None:
        """A command goes through `/mentor`, free text is a DM."""
        user = SLACK_IDS[who]
        mark = self._mark()
        if line.startswith("/"):
            await self.h.command(line[1:], user=user)
        else:
            await self.h.dm(line, user=user, event_id=f"Ev{next(self.events):08d}")
        await self.h.settle()
        shown = self._record(mark, f"{who}: {line}")
        await self.deliver(f"after {who}: {line}", shown)

    async def deliver(self, when: str, shown: list[tuple[str, list[Any]]] | None = None) -> None:
        """Deliver the outbox to the fake, record it, then press the new buttons."""
        mark = self._mark()
        for _i in range(20):
            stats = await self.h.delivery.deliver_once()
            if not stats.sent and not getattr(stats, "failed", 0):
                break
        pushed = self._record(mark, f"pushes ({when})")
        await self._press_new([*(shown or []), *pushed])

    async def _press_new(self, shown: list[tuple[str, list[Any]]]) -> None:
        for channel, blocks in shown:
            for block in blocks:
                if block.get("type") != "actions":
                    continue
                for element in block.get("elements", []):
                    try:
                        action = slack_action(element["action_id"], element["value"]).action
                    except (BadButton, KeyError):
                        continue
                    if action in self.pressed or action in DO_NOT_PRESS:
                        continue
                    self.pressed.add(action)
                    await self._press(channel, blocks, element["text"]["text"], action)

    async def _press(self, channel: str, blocks: list[Any], label: str, action: str) -> None:
        fake = self.h.fake
        user = self.owner.get(channel, SLACK_IDS[SAM])
        mark = self._mark()
        if channel:
            live = [m for m in fake.messages_in(channel) if m.blocks == blocks]
            if not live:
                return
            await self.h.press(live[-1], label, user=user)
        else:
            await self.h.press_ephemeral(blocks, label, user=user)
        await self.h.settle()
        who = self.who_is.get(user, user)
        shown = self._record(mark, f"{who}: presses '{label}' ({action})")
        await self.deliver(f"after {who} pressed {action}", shown)

    async def homes(self) -> None:
        """Everyone opens the App Home."""
        for who, user in SLACK_IDS.items():
            mark = self._mark()
            await self.h.open_home(user, event_id=f"Ev{next(self.events):08d}")
            await self.h.settle()
            self._record(mark, f"{who}: opens the App Home")

    async def everything(self) -> list[Seen]:
        """The scenario, then the App Home of everyone."""
        await super().everything()
        await self.homes()
        return self.seen


# ------------------------------------------------------------------ Discord

DISCORD_IDS = {
    SAM: "301000000000000011",
    ALEX: "301000000000000012",
    MAYA: "301000000000000013",
    AVERY: "301000000000000014",
}


def slash_options(line: str) -> tuple[str, list[dict[str, Any]]] | None:
    """`/goal progress 1 50` as Discord sends it: the family and its (sub)command options."""
    name, _sp, rest = line[1:].partition(" ")
    family = REGISTRY.family(name)
    if family is None:
        return None
    try:
        command, words_text = pick_variant(family, rest)
    except UserError:
        return None
    words = split_words(words_text)
    options: list[dict[str, Any]] = []
    index = 0
    for arg in command.args:
        if arg.kind is ArgKind.TEXT:
            value: Any = words.rest_after(index)
            index = len(words.items)
        elif index < len(words.items):
            value = words.items[index]
            index += 1
        else:
            value = ""
        if value == "":
            if not arg.optional:
                return None  # Discord's client never sends a command without a required option
            continue
        if arg.kind in (ArgKind.ID, ArgKind.INT):
            if not str(value).isdigit():
                return None  # nor a word where a number belongs
            value = int(value)
        options += p.command_options({arg.name: value})
    top = command.name
    if command.sub:
        return top, [{"type": 1, "name": command.sub, "options": options}]
    return top, options


class DiscordRun(PlatformRun):
    """The scenario as slash commands, DMs, button presses and modals on Discord."""

    area = "discord"

    def __init__(
        self, fake: FakeDiscord, db: Database, clock: FixedClock, settings: CoreSettings
    ) -> None:
        super().__init__(db, clock, settings)
        self.fake = fake
        self.who_is = {uid: who for who, uid in DISCORD_IDS.items()}
        self.delivery: Any = None  # set by the test: an OutboxDelivery with the messenger

    def registered(self) -> None:
        """The synced commands' descriptions: Discord shows them in the command picker."""
        for call in self.fake.calls:
            if "/commands" in call.path and call.json:
                texts = [t for t in _descriptions(call.json) if t.strip()]
                self.seen.append(Seen(self.area, "registered slash commands", "\n".join(texts)))

    def _record(self, mark: int, origin: str) -> list[tuple[str, str, list[Any]]]:
        """Record the words since `mark`; return (message id, user, components) shown."""
        texts: list[str] = []
        shown: list[tuple[str, str, list[Any]]] = []
        for call in self.fake.calls[mark:]:
            if call.method not in ("POST", "PATCH", "PUT") or not call.json:
                continue
            if "/commands" in call.path:
                continue
            body = call.json
            data = body.get("data", body) if isinstance(body, dict) else body
            texts += discord_texts(data)
            self.bodies.append((origin, data))
            if isinstance(data, dict) and data.get("components"):
                response = call.response_json if isinstance(call.response_json, dict) else {}
                message_id = str(response.get("id", ""))
                channel = str(response.get("channel_id", ""))
                user = next((u for u, c in self.fake.dm_channels.items() if c == channel), "")
                kind = body.get("type") if isinstance(body, dict) else None
                if kind == p.CALLBACK_MODAL:
                    shown.append(("modal", str(data.get("custom_id", "")), data["components"]))
                else:
                    shown.append((message_id, user, data["components"]))
        if texts:
            self.seen.append(Seen(self.area, origin, "\n".join(texts)))
        return shown

    async def type(self, who: str, line: str) -> None:
        """A command is a slash command, free text a DM."""
        user = DISCORD_IDS[who]
        mark = len(self.fake.calls)
        if line.startswith("/"):
            slash = slash_options(line)
            if slash is None:
                return  # Discord offers only the commands it knows
            name, options = slash
            guild = self.fake.default_guild
            assert guild is not None
            inter = await self.fake.dispatch_slash_command(
                name, options, user_id=user, guild_id=guild.id, command_guild_id=guild.id
            )
            with contextlib.suppress(TimeoutError):
                await self.fake.wait_for_interaction_response(inter, timeout=2)
        else:
            await self.fake.dispatch_message_create(None, user, line)
        await _settle()
        shown = self._record(mark, f"{who}: {line}")
        await self.deliver(f"after {who}: {line}", shown, who)

    async def deliver(
        self, when: str, shown: list[tuple[str, str, list[Any]]] | None = None, who: str = SAM
    ) -> None:
        """Deliver the outbox through the Discord messenger, record, press what is new."""
        mark = len(self.fake.calls)
        if self.delivery is not None:
            for _i in range(20):
                stats = await self.delivery.deliver_once()
                if not stats.sent:
                    break
        pushed = self._record(mark, f"pushes ({when})")
        await self._press_new([*(shown or []), *pushed], who)

    async def _press_new(self, shown: list[tuple[str, str, list[Any]]], who: str) -> None:
        for message_id, user, components in shown:
            if message_id == "modal":
                await self._submit(user, components, who)
                continue
            for row in components:
                for button in row.get("components", []):
                    decoded = discord_action(str(button.get("custom_id", "")))
                    if decoded is None:
                        continue
                    action = decoded[0]
                    if action in self.pressed or action in DO_NOT_PRESS:
                        continue
                    self.pressed.add(action)
                    presser = user or DISCORD_IDS[who]
                    mark = len(self.fake.calls)
                    inter = await self.fake.dispatch_button(
                        button["custom_id"], user_id=presser, message_id=message_id or None
                    )
                    with contextlib.suppress(TimeoutError):
                        # A button of a message already answered may get no answer at all.
                        await self.fake.wait_for_interaction_response(inter, timeout=1)
                    await _settle()
                    name = self.who_is.get(presser, presser)
                    label = button.get("label", "")
                    more = self._record(mark, f"{name}: presses '{label}' ({action})")
                    await self.deliver(f"after {name} pressed {action}", more, name)

    async def _submit(self, custom_id: str, components: list[Any], who: str) -> None:
        """Submit an opened modal with every field filled."""
        if custom_id in self.pressed:
            return
        self.pressed.add(custom_id)
        fields = {
            c["custom_id"]: ("1" if c.get("max_length", 100) < 3 else ANSWER)
            for row in components
            for c in row.get("components", [])
            if "custom_id" in c
        }
        if "due" in fields:
            fields["due"] = "2026-12-18"
        mark = len(self.fake.calls)
        try:
            inter = await self.fake.dispatch_modal_submit(
                custom_id, fields, user_id=DISCORD_IDS[who]
            )
        except ValueError:
            return
        await self.fake.wait_for_interaction_response(inter)
        await _settle()
        self._record(mark, f"{who}: submits the form {custom_id}")


def _descriptions(value: Any) -> list[str]:
    """Every `description` in registered command JSON that no translation stands beside.

    Discord shows a command's base `description` (English: Discord requires one) to clients
    in a language the command has no `description_localizations` for; where the
    localisations are there, the base one is not what the reader sees, so it is excused.
    """
    out: list[str] = []
    if isinstance(value, dict):
        localised = bool(value.get("description_localizations"))
        for key, item in value.items():
            if key == "description" and isinstance(item, str):
                if not localised:
                    out.append(item)
            else:
                out += _descriptions(item)
    elif isinstance(value, list):
        for item in value:
            out += _descriptions(item)
    return out


async def _settle() -> None:
    """Let the client finish follow-ups it started after answering."""
    import asyncio

    for _i in range(3):
        await asyncio.sleep(0.01)
