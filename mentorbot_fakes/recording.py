"""A Messenger that records what it is asked to send, for core tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bot.model import (
    Message,
    PermanentDeliveryError,
    Recipient,
    SendResult,
    TransientDeliveryError,
)


@dataclass
class Sent:
    """One recorded send."""

    to: Recipient
    message: Message
    nonce: str


@dataclass
class RecordingMessenger:
    """Records sends; can be told to fail for a user, permanently or transiently."""

    platform: str = "console"
    sent: list[Sent] = field(default_factory=list)
    permanent_failures: set[str] = field(default_factory=set)
    transient_failures: dict[str, float | None] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """Record the send, or fail as configured."""
        key = to.user_id or to.channel_id or ""
        if key in self.permanent_failures:
            raise PermanentDeliveryError("cannot_dm")
        if key in self.transient_failures:
            raise TransientDeliveryError("ratelimited", self.transient_failures[key])
        self.sent.append(Sent(to, message, nonce))
        return SendResult(message_id=f"m{next(self._ids)}", channel_id=f"D-{key}")

    def to(self, user_id: str) -> list[Message]:
        """Messages sent to one user id."""
        return [s.message for s in self.sent if s.to.user_id == user_id]
