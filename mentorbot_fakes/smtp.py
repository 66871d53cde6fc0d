"""A loopback SMTP server (aiosmtpd) that keeps what it receives, for the email channel's tests.

It runs in aiosmtpd's own thread on 127.0.0.1; `refuse` makes it answer every message with
an SMTP error (a 4xx outage or a 5xx refusal) until cleared.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One email as the server got it."""

    sender: str
    recipients: list[str]
    message: Message

    @property
    def subject(self) -> str:
        """The Subject header ("" when there is none)."""
        return str(self.message["Subject"] or "")

    @property
    def body(self) -> str:
        """The decoded body text."""
        payload = self.message.get_payload(decode=True)
        return payload.decode() if isinstance(payload, bytes) else str(payload)


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refuse: str | None = None  # an SMTP reply such as "451 try later"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                message_from_bytes(envelope.original_content or envelope.content),
            )
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FakeSmtp:
    """The loopback mail server: `received` holds every accepted email."""

    def __init__(self) -> None:
        self.handler = _Handler()
        self.port = _free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def received(self) -> list[Received]:
        """Every email accepted so far, in arrival order."""
        return self.handler.received

    def refuse(self, reply: str | None) -> None:
        """Answer every message with this SMTP reply ("451 ..."), or accept again (None)."""
        self.handler.refuse = reply

    def to(self, address: str) -> list[Received]:
        """The emails addressed to one recipient."""
        return [r for r in self.received if address in r.recipients]

    def start(self) -> FakeSmtp:
        """Start serving on 127.0.0.1:`port` (in the controller's own thread)."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.controller.stop()

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        """Block until `count` emails arrived (the server runs in its own thread)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
