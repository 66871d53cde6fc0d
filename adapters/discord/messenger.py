"""Pushes (check-ins, nudges, alerts) to Discord DMs and channels for the outbox delivery loop.

A person's DM channel id is kept by the core (``Identity.dm_channel_id``) and handed back as
``Recipient.channel_id``, so a fan-out costs one message request per person: the message is
posted straight to the channel through a ``PartialMessageable``, with no fetch and no DM
creation. Only the first push to a person opens the DM (POST /users/@me/channels) and returns
its id for the core to keep.

Every send carries the outbox row's stable nonce with ``enforce_nonce``, so Discord answers a
retried send with the message it already created instead of posting a duplicate.

Threads: bots cannot open group DMs on Discord, so a group conversation (a peer pairing,
``Recipient.member_ids``) is a private thread in the group's channel with the members added;
a channel post with ``Message.thread_name`` (a group prompt) gets a public thread on it, so
replies stay together. Thread creation is not idempotent: a retry after a half-done send may
open a second thread (the post itself is still deduplicated by its nonce).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp
import discord

from adapters.discord.limits import (
    DM_OPEN_BACKOFF_SECONDS,
    BucketPruner,
    FirstContactRamp,
    InvalidRequestGuard,
)
from adapters.discord.render import DiscordMessage, mentions_for, render
from bot.i18n import _, speaking
from bot.model import (
    DirectMessagesClosed,
    Message,
    PermanentDeliveryError,
    PlatformDeliveryError,
    PostedCopy,
    Recipient,
    SendResult,
    TransientDeliveryError,
)

if TYPE_CHECKING:
    # discord.types is for type checkers only: importing it first at runtime is circular.
    from discord.types.threads import ThreadArchiveDuration, ThreadType

log = logging.getLogger(__name__)

PLATFORM = "discord"
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
#: 403 codes: "Cannot send messages to this user" (DMs closed or the bot blocked), and
#: "You are opening direct messages too fast" (transient).
DMS_CLOSED = 50007
OPENING_DMS_TOO_FAST = 40003
#: How long to wait before retrying when the client hasn't logged in yet.
NOT_CONNECTED_RETRY = 5.0
#: Threads archive after a week of silence (Discord allows 60, 1440, 4320 or 10080 minutes).
THREAD_ARCHIVE_MINUTES: ThreadArchiveDuration = 10080
PRIVATE_THREAD: ThreadType = 12
MAX_THREAD_NAME = 100


def part_nonce(nonce: str, index: int) -> str:
    """The nonce of one part of a multi-part message (Discord allows 25 characters)."""
    if index == 0:
        return nonce[:25]
    return hashlib.sha256(f"{nonce}:{index}".encode()).hexdigest()[:25]


def delivery_error(exc: Exception) -> Exception:
    """Translate a discord.py / network error into the core's delivery errors.

    403 50007 (DMs closed) is `DirectMessagesClosed`: the services mark the person once.
    403 40003 (opening DMs too fast) is transient, with a long backoff. Other 403s (no
    access), 404 (unknown user or channel) and other 4xx answers will never succeed:
    permanent. 429 beyond discord.py's own waiting, 5xx and network trouble may: transient,
    with Discord's retry_after when it gave one. 401 (the token) and anything unexpected stop
    the whole platform: `PlatformDeliveryError`.
    """
    if isinstance(exc, discord.RateLimited):
        return TransientDeliveryError(
            f"rate limited for {exc.retry_after:.0f}s", retry_after=exc.retry_after
        )
    if isinstance(exc, discord.HTTPException):
        detail = f"Discord {exc.status} (code {exc.code}): {exc.text or exc}"
        if exc.status == 429:
            retry = exc.response.headers.get("Retry-After") if exc.response else None
            return TransientDeliveryError(detail, retry_after=float(retry) if retry else None)
        if exc.status == 401:
            # A revoked or wrong token: nothing goes out until an operator fixes it. Loud,
            # reported on the admins' other routes; the rows wait.
            return PlatformDeliveryError(f"Discord rejected the bot token: {detail}")
        if exc.status >= 500:
            return TransientDeliveryError(detail)
        if exc.status == 403 and exc.code == DMS_CLOSED:
            return DirectMessagesClosed(detail)
        if exc.status == 403 and exc.code == OPENING_DMS_TOO_FAST:
            return TransientDeliveryError(detail, retry_after=DM_OPEN_BACKOFF_SECONDS)
        return PermanentDeliveryError(detail)
    if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        return TransientDeliveryError(f"network error: {exc!r}")
    # Anything else nobody classified: loud, never quietly per row.
    return PlatformDeliveryError(f"unexpected Discord error {type(exc).__name__}")


class DiscordMessenger:
    """The core's Messenger for Discord, over a logged-in discord.py client."""

    def __init__(
        self,
        client: discord.Client,
        *,
        guard: InvalidRequestGuard | None = None,
        ramp: FirstContactRamp | None = None,
        closed_users: set[str] | None = None,
    ) -> None:
        self.client = client
        # DMs reopened this run because the kept channel vanished: stale id -> fresh id. The
        # core also keeps the fresh id; this spares queued rows that still carry the old one.
        self._reopened: dict[str, str] = {}
        self.guard = guard or InvalidRequestGuard()
        self.ramp = ramp or FirstContactRamp()
        #: Users whose DMs are closed to the bot (50007): nothing is sent to them, so no
        #: invalid request is spent, until they write to the bot (`user_wrote`).
        self.closed_users: set[str] = closed_users if closed_users is not None else set()
        self.pruner = BucketPruner()

    def report_holds(self, hold: Callable[[float], None]) -> None:
        """Call `hold(seconds)` on every global 429 the client sees (bot.pacing.HoldReporter).

        Heard through the guard's trace on the client's session, so `guard` must be the
        client's own (`MentorDiscordClient.guard`), as the runtime passes it.
        """
        self.guard.global_listeners.append(hold)

    def user_wrote(self, user_id: str) -> None:
        """The person wrote to the bot: their DMs are open again."""
        self.closed_users.discard(user_id)

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """Deliver one message; raise PermanentDeliveryError or TransientDeliveryError."""
        if self.client.is_closed() or self.client.user is None:
            raise TransientDeliveryError("Discord client isn't connected", NOT_CONNECTED_RETRY)
        pause = self.guard.pause_seconds()
        if pause > 0:
            # Far below Discord's ban: every push waits (the rows are kept), said once, loudly.
            raise PlatformDeliveryError(
                f"{self.guard.count()} invalid requests in the last 10 minutes: "
                f"pausing sends for {pause:.0f}s to stay clear of Discord's ban"
            )
        if to.user_id and not to.member_ids and to.user_id in self.closed_users:
            raise DirectMessagesClosed("Discord 403 (code 50007): DMs closed", known=True)
        parts = render(message)
        # Before discord.py adds this send's bucket: its own scan of the table stays unused.
        self.pruner.prune(self.client.http)
        try:
            if to.member_ids:
                return await self._send_thread(to, message, parts, nonce)
            if message.reply_to and to.user_id is None:
                return await self._send_reply(to, message.reply_to, parts, nonce)
            result = await self._send(to, parts, nonce)
            if message.thread_name and to.user_id is None:
                await self._open_reply_thread(result, message.thread_name)
            return result
        except (PermanentDeliveryError, TransientDeliveryError):
            raise
        except Exception as exc:
            error = delivery_error(exc)
            if isinstance(error, DirectMessagesClosed) and to.user_id:
                self.closed_users.add(to.user_id)
            raise error from exc

    async def edit(self, copy: PostedCopy, message: Message) -> None:
        """Edit a posted copy for the outbox (an alert's "N more messages since")."""
        if self.client.is_closed() or self.client.user is None:
            raise TransientDeliveryError("Discord client isn't connected", NOT_CONNECTED_RETRY)
        if not copy.channel_id.isdigit() or not copy.message_id.isdigit():
            raise PermanentDeliveryError(
                f"not a Discord message: {copy.channel_id}/{copy.message_id}"
            )
        channel = self.client.get_partial_messageable(int(copy.channel_id))
        first = render(message)[0]
        try:
            await channel.get_partial_message(int(copy.message_id)).edit(
                **first.edit_kwargs(discord.AllowedMentions.none())
            )
        except Exception as exc:
            raise delivery_error(exc) from exc

    async def _send(self, to: Recipient, parts: list[DiscordMessage], nonce: str) -> SendResult:
        channel_id = self._reopened.get(to.channel_id, to.channel_id) if to.channel_id else None
        first_contact = channel_id is None
        if channel_id is None:
            wait = self.ramp.wait()
            if wait > 0:
                # First contacts ramp up (Discord refuses opening DMs too fast, 40003).
                raise TransientDeliveryError("first-contact DMs are ramping up", retry_after=wait)
        try:
            if channel_id is None:
                channel_id = await self.open_dm(to)
            first = await self._post(channel_id, parts, nonce, to.user_id)
        except discord.NotFound as exc:
            if first_contact:
                self.ramp.refund()
            if exc.code != UNKNOWN_CHANNEL or not to.user_id or not to.channel_id:
                raise
            # The kept DM channel is gone: open the DM again once and return its new id,
            # which the core stores in place of the stale one.
            log.info("DM channel %s of user %s is gone; reopening", channel_id, to.user_id)
            fresh = await self.open_dm(to)
            self._reopened[to.channel_id] = fresh
            channel_id = fresh
            first = await self._post(channel_id, parts, nonce, to.user_id)
        except Exception as exc:
            if first_contact:
                too_fast = isinstance(exc, discord.Forbidden) and exc.code == OPENING_DMS_TOO_FAST
                # Only Discord's "too fast" slows the ramp; an outage gives the turn back.
                if too_fast:
                    self.ramp.refused()
                else:
                    self.ramp.refund()
            raise
        assert channel_id is not None
        return SendResult(message_id=str(first.id), channel_id=channel_id)

    async def _send_thread(
        self, to: Recipient, message: Message, parts: list[DiscordMessage], nonce: str
    ) -> SendResult:
        """A private thread in the channel `to.channel_id`, the members added, then the post."""
        if not to.channel_id or not to.channel_id.isdigit():
            raise PermanentDeliveryError("a Discord group conversation needs a channel to thread")
        members = [int(m) for m in to.member_ids if m.isdigit()]
        if len(members) != len(to.member_ids):
            raise PermanentDeliveryError(f"not Discord user ids: {to.member_ids!r}")
        with speaking(message.language):
            fallback = _("Conversation")
        name = (message.thread_name or message.title or fallback)[:MAX_THREAD_NAME]
        thread = await self.client.http.start_thread_without_message(
            int(to.channel_id),
            name=name,
            auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            type=PRIVATE_THREAD,
            invitable=False,  # the pairing is theirs: members can't pull others in
        )
        thread_id = str(thread["id"])
        for member in members:
            await self.client.http.add_user_to_thread(thread_id, member)
        first = await self._post(thread_id, parts, nonce, None)
        return SendResult(message_id=str(first.id), channel_id=thread_id)

    async def _send_reply(
        self, to: Recipient, post_id: str, parts: list[DiscordMessage], nonce: str
    ) -> SendResult:
        """Post into the thread opened on a channel post, else into the channel.

        A thread started from a message has the message's id; with no thread there (the
        bot lacked the permission to open it), the reply goes to the channel itself.
        """
        try:
            first = await self._post(post_id, parts, nonce, None)
            return SendResult(message_id=str(first.id), channel_id=post_id)
        except discord.NotFound:
            log.info("no thread on post %s; replying in its channel", post_id)
            return await self._send(to, parts, nonce)

    async def _open_reply_thread(self, result: SendResult, name: str) -> None:
        """Open a public thread on a channel post; the post stands even if this fails."""
        if not result.channel_id:
            return
        try:
            await self.client.http.start_thread_with_message(
                int(result.channel_id),
                int(result.message_id),
                name=name[:MAX_THREAD_NAME],
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as exc:
            # No thread permission, or a retried post that already has its thread: the post
            # asks people to reply in a thread either way.
            log.warning("no reply thread on %s: %s", result.message_id, exc)

    async def open_dm(self, to: Recipient) -> str:
        """Open (or look up) the DM channel with the recipient; returns its id."""
        if not to.user_id or not to.user_id.isdigit():
            raise PermanentDeliveryError(f"no Discord user id to DM (got {to.user_id!r})")
        data = await self.client.http.start_private_message(int(to.user_id))
        return str(data["id"])

    async def _post(
        self, channel_id: str, parts: list[DiscordMessage], nonce: str, user_id: str | None
    ) -> discord.Message:
        if not channel_id.isdigit():
            raise PermanentDeliveryError(f"{channel_id!r} isn't a Discord channel id")
        channel = self.client.get_partial_messageable(int(channel_id))
        mentions = mentions_for(user_id)
        first: discord.Message | None = None
        for index, part in enumerate(parts):
            sent = await channel.send(**part.send_kwargs(mentions), nonce=part_nonce(nonce, index))
            first = first or sent
        assert first is not None  # render() always returns at least one part
        return first

    async def delete_copy(self, channel_id: str, message_id: str) -> None:
        """Delete one of our delivered messages (erasure); already gone counts as done.

        Without Manage Messages (which the bot is not given) Discord lets a bot delete only
        its own messages; a refusal is permanent and reported to the admins.
        """
        if not channel_id.isdigit() or not message_id.isdigit():
            raise PermanentDeliveryError("not a Discord channel and message id")
        try:
            await self.client.http.delete_message(int(channel_id), int(message_id))
        except discord.NotFound:
            return
        except Exception as exc:
            raise delivery_error(exc) from exc

    async def edit_copy(self, channel_id: str, message_id: str, message: Message) -> None:
        """Replace one of our delivered messages with the first part of `message` (erasure)."""
        if not channel_id.isdigit() or not message_id.isdigit():
            raise PermanentDeliveryError("not a Discord channel and message id")
        part = render(message)[0]
        channel = self.client.get_partial_messageable(int(channel_id))
        try:
            await channel.get_partial_message(int(message_id)).edit(
                **part.edit_kwargs(discord.AllowedMentions.none())
            )
        except discord.NotFound:
            return
        except Exception as exc:
            raise delivery_error(exc) from exc
