"""Posting urgent alerts to a paging or on-call system: a signed JSON webhook.

The body is JSON (event, text, fields, the row's nonce as `id` for de-duplication); the
header `X-Mentorbot-Signature: sha256=<hex>` is the HMAC-SHA256 of the exact body with
ALERT_WEBHOOK_SECRET, so the receiver can tell it came from us. The core writes these
messages (bot.services.routing, bot.services.watchdog): ids and kinds, no student words.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import aiohttp

from bot.model import (
    Message,
    PermanentDeliveryError,
    PlatformDeliveryError,
    Recipient,
    SendResult,
    TransientDeliveryError,
)

log = logging.getLogger(__name__)

PLATFORM = "webhook"
SIGNATURE_HEADER = "X-Mentorbot-Signature"


def signature(secret: str, body: bytes) -> str:
    """The signature header's value for a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookMessenger:
    """The core's Messenger for the alert webhook."""

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def body(self, message: Message, nonce: str) -> bytes:
        """The JSON body for one row."""
        payload = {
            "id": nonce,
            "event": message.title or "alert",
            "urgent": message.urgent,
            "text": message.text,
            "fields": {field.label: field.value for field in message.fields},
        }
        return json.dumps(payload, sort_keys=True).encode()

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """POST the signed body; 2xx is delivered, the rest maps to the core's errors."""
        body = self.body(message, nonce)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.secret, body),
        }
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as http,
                http.post(self.url, data=body, headers=headers) as response,
            ):
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise TransientDeliveryError(f"webhook unreachable: {exc!r}") from exc
        if 200 <= status < 300:
            return SendResult(message_id=nonce)
        if status in (401, 403):
            raise PlatformDeliveryError(f"the webhook refused our signature (HTTP {status})")
        if status == 429 or status >= 500:
            raise TransientDeliveryError(f"webhook answered HTTP {status}")
        raise PermanentDeliveryError(f"webhook answered HTTP {status}")
