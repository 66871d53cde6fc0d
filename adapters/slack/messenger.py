"""Sending to Slack: the outbox's Messenger, plus the posting helpers replies reuse.

A push goes to the person's DM channel when we know it (one chat.postMessage per person in a
fan-out, no conversations.open); otherwise to their user id, which makes Slack open the DM and
tell us its channel id, which the delivery loop then keeps on the person's Identity.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import Rendered, render_message
from bot.model import (
    Message,
    PermanentDeliveryError,
    PlatformDeliveryError,
    PostedCopy,
    Recipient,
    SendResult,
    TransientDeliveryError,
)

log = logging.getLogger(__name__)

# Slack will never accept these sends as they are: the person, channel or token is gone or
# the request itself is wrong. Retrying would only delay telling a human.
PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "users_not_found",
        "user_disabled",
        "channel_not_found",
        "is_archived",
        "cannot_dm_bot",
        "not_in_channel",
        "messages_tab_disabled",
        "restricted_action",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
        # chat.delete / chat.update of a message the bot may not touch (erasure, alert edits)
        "cant_delete_message",
        "cant_update_message",
        "edit_window_closed",
        "message_not_found",
    }
)
# The token is wrong, revoked or lacks a scope, or the bot's workspace account is gone:
# nothing goes out on Slack until someone fixes the settings. Reported loudly, once, on the
# admins' other routes; the rows wait (they are not failed one by one).
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "team_access_not_granted",
        "org_login_required",
        "ekm_access_denied",
    }
)
# Slack's own "try again later" answers, sent with HTTP 200.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# chat.delete / chat.update of a message that is already gone: nothing is left to remove.
GONE_ERRORS = frozenset({"message_not_found", "channel_not_found", "is_archived"})
# Slack errors that mean the DM channel we kept is no good, but the user id may still work.
STALE_CHANNEL_ERRORS = frozenset({"channel_not_found", "is_archived"})


def slack_error_code(exc: SlackApiError) -> str:
    """The Slack error code of a failed call ("" when Slack sent no JSON body)."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, Mapping):
        return str(data.get("error") or "")
    return ""


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    for key, value in (headers or {}).items():
        if str(key).lower() == "retry-after":
            try:
                return float(value[0] if isinstance(value, list) else value)
            except (TypeError, ValueError):
                return None
    return None


def delivery_error(exc: Exception) -> PermanentDeliveryError | TransientDeliveryError:
    """Map a Slack or network failure to the outbox's permanent/transient/platform distinction.

    A token problem or an error code nobody classified is a `PlatformDeliveryError`: loud,
    reported once, the rows kept.
    """
    if isinstance(exc, SlackApiError):
        code = slack_error_code(exc)
        status = int(getattr(exc.response, "status_code", 200) or 200)
        if status == 429 or code == "ratelimited":
            headers = getattr(exc.response, "headers", None)
            return TransientDeliveryError(code or "ratelimited", _retry_after(headers))
        if status >= 500 or code in TRANSIENT_ERRORS:
            return TransientDeliveryError(f"Slack answered {status} {code}".strip())
        if code in TOKEN_ERRORS:
            return PlatformDeliveryError(f"Slack rejected the bot token ({code})")
        if code in PERMANENT_ERRORS:
            return PermanentDeliveryError(code)
        # An error nobody classified: said loudly, never dropped quietly row by row.
        return PlatformDeliveryError(f"unknown Slack error {code or f'HTTP {status}'}")
    if isinstance(exc, aiohttp.ClientError | TimeoutError | OSError):
        return TransientDeliveryError(f"network: {exc!r}")
    if isinstance(exc, SlackClientError):
        return PermanentDeliveryError(f"slack client: {exc}")
    return TransientDeliveryError(repr(exc))


class SlackMessenger:
    """Posts core messages to Slack; implements `bot.model.Messenger` for the outbox."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """Deliver a push to a person's DM (or a channel); errors become delivery errors."""
        if to.member_ids:
            return await self.send_group(to, message, nonce=nonce)
        target = to.channel_id or to.user_id
        if not target:
            raise PermanentDeliveryError("no Slack channel or user id to send to")
        try:
            try:
                return await self.post(target, message, recipient=to.user_id, nonce=nonce)
            except SlackApiError as exc:
                # A kept DM channel can go stale (workspace migration); the user id still
                # reaches the person, and the delivery loop learns the new channel.
                stale = slack_error_code(exc) in STALE_CHANNEL_ERRORS
                if not (stale and to.channel_id and to.user_id):
                    raise
                log.info("DM channel %s of %s is stale; posting to the user", target, to.user_id)
                return await self.post(to.user_id, message, recipient=to.user_id, nonce=nonce)
        except Exception as exc:
            error = delivery_error(exc)
            log.warning("Slack send to %s failed: %s", target, error)
            raise error from exc

    async def send_group(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """Open (or find) the multi-party DM of `to.member_ids` with the bot, and post there.

        conversations.open returns the same channel for the same people, so a retried row
        posts into the conversation it opened before.
        """
        try:
            opened = await self.client.conversations_open(users=",".join(to.member_ids))
            channel = str(opened["channel"]["id"])
            # Buttons in a shared conversation are not one person's: no recipient check.
            return await self.post(channel, message, nonce=nonce, in_dm=False)
        except Exception as exc:
            error = delivery_error(exc)
            log.warning("Slack group DM with %s failed: %s", ",".join(to.member_ids), error)
            raise error from exc

    async def post(
        self,
        channel: str,
        message: Message,
        *,
        recipient: str | None = None,
        nonce: str | None = None,
        in_dm: bool = True,
    ) -> SendResult:
        """chat.postMessage the message (and upload its attachment); raises Slack errors."""
        rendered = render_message(message, recipient=recipient, in_dm=in_dm)
        kwargs: dict[str, Any] = {}
        if message.reply_to:
            kwargs["thread_ts"] = message.reply_to  # a reply under the post (a prompt summary)
        if nonce:
            # Slack has no idempotency key; the nonce in the metadata lets an operator match
            # a Slack message to its outbox row.
            kwargs["metadata"] = {"event_type": "mentorbot_push", "event_payload": {"nonce": nonce}}
        response = await self.client.chat_postMessage(
            channel=channel,
            text=rendered.text,
            blocks=rendered.blocks,
            unfurl_links=False,
            unfurl_media=False,
            **kwargs,
        )
        posted_channel = str(response.get("channel") or channel)
        result = SendResult(message_id=str(response["ts"]), channel_id=posted_channel)
        if message.attachment is not None:
            await self.client.files_upload_v2(
                channel=posted_channel,
                content=message.attachment.content,
                filename=message.attachment.filename,
                title=message.attachment.filename,
                # Alt text for images (a chart): what a screen reader says instead.
                alt_txt=message.attachment.alt_text or None,
            )
        return result

    async def update(
        self, channel: str, ts: str, message: Message, *, recipient: str | None = None
    ) -> None:
        """chat.update one of our messages in place with a new rendering; raises Slack errors."""
        rendered: Rendered = render_message(message, recipient=recipient)
        await self.client.chat_update(
            channel=channel, ts=ts, text=rendered.text, blocks=rendered.blocks
        )

    async def delete_copy(self, channel_id: str, message_id: str) -> None:
        """chat.delete one of our delivered messages (erasure); already gone counts as done.

        A bot token deletes only the bot's own messages: Slack answers cant_delete_message
        for anything else, a permanent refusal the delivery loop reports to the admins.
        """
        try:
            await self.client.chat_delete(channel=channel_id, ts=message_id)
        except SlackApiError as exc:
            if slack_error_code(exc) in GONE_ERRORS:
                return
            raise delivery_error(exc) from exc
        except Exception as exc:
            raise delivery_error(exc) from exc

    async def edit_copy(self, channel_id: str, message_id: str, message: Message) -> None:
        """chat.update one of our delivered messages with `message` (erasure: words removed)."""
        try:
            # No recipient: the copy may sit in a shared conversation, so no button check.
            await self.update(channel_id, message_id, message)
        except SlackApiError as exc:
            if slack_error_code(exc) in GONE_ERRORS:
                return
            raise delivery_error(exc) from exc
        except Exception as exc:
            raise delivery_error(exc) from exc

    async def edit(self, copy: PostedCopy, message: Message) -> None:
        """Edit a posted copy for the outbox (an alert's "N more messages since")."""
        try:
            await self.update(copy.channel_id, copy.message_id, message)
        except Exception as exc:
            error = delivery_error(exc)
            log.warning("Slack update of %s/%s failed: %s", copy.channel_id, copy.message_id, error)
            raise error from exc
