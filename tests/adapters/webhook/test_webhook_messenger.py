"""The alert webhook Messenger against a loopback receiver: signed body, error mapping."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from adapters.webhook import SIGNATURE_HEADER, WebhookMessenger
from bot.model import (
    Field,
    Message,
    PermanentDeliveryError,
    PlatformDeliveryError,
    Recipient,
    TransientDeliveryError,
)
from mentorbot_fakes.webhook import FakeWebhook

SECRET = "s3cret"
HOOK = Message(title="urgent_alert", text="Urgent alert #3", fields=(Field("alert_id", "3"),))


async def test_body_is_json_and_signed_with_hmac_sha256() -> None:
    """The receiver can verify the body with the shared secret; ids only, keyed by nonce."""
    async with FakeWebhook() as hook:
        await WebhookMessenger(hook.url, SECRET).send(Recipient("webhook"), HOOK, nonce="n1")
        [got] = hook.received
    expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert got.json == {
        "id": "n1",
        "event": "urgent_alert",
        "urgent": False,
        "text": "Urgent alert #3",
        "fields": {"alert_id": "3"},
    }


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (503, TransientDeliveryError),
        (429, TransientDeliveryError),
        (401, PlatformDeliveryError),
        (400, PermanentDeliveryError),
    ],
)
async def test_answers_map_to_delivery_errors(status: int, error: type[Exception]) -> None:
    """5xx and 429 are retried; a refused signature stops the channel; other 4xx are final."""
    async with FakeWebhook(status=status) as hook:
        with pytest.raises(error):
            await WebhookMessenger(hook.url, SECRET).send(Recipient("webhook"), HOOK, nonce="n")
