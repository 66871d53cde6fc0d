"""Sending outbox rows by email (SMTP through aiosmtplib): the platform "email".

The row's address is the person's roster email (`Recipient.user_id`); the message's title is
the subject and its text the body, plain text only. The core writes these messages itself
(bot.services.routing): they say that an urgent alert waits and where, never what a student
wrote. The outbox row's nonce becomes the Message-ID, so a retried send is recognisable as the
same email.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from bot.model import (
    Message,
    PermanentDeliveryError,
    PlatformDeliveryError,
    Recipient,
    SendResult,
    TransientDeliveryError,
)

log = logging.getLogger(__name__)

PLATFORM = "email"
IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True)
class EmailConfig:
    """Where and as whom to send."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout: float = 20.0


def delivery_error(exc: Exception) -> TransientDeliveryError | PermanentDeliveryError:
    """Map an SMTP failure to the outbox's distinction.

    A refused login or sender is the configuration: nothing can go until it is fixed
    (`PlatformDeliveryError`). A recipient refused for good (5xx) is permanent; 4xx answers,
    a lost connection and timeouts are transient; anything else is loud.
    """
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError | aiosmtplib.SMTPSenderRefused):
        return PlatformDeliveryError(f"the mail server refused us: {exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        if codes and all(code >= 500 for code in codes):
            return PermanentDeliveryError(f"recipient refused ({codes[0]})")
        return TransientDeliveryError(f"recipient deferred ({codes[0] if codes else '?'})")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if exc.code >= 500:
            return PermanentDeliveryError(f"mail server answered {exc.code} {exc.message}")
        return TransientDeliveryError(f"mail server answered {exc.code} {exc.message}")
    if isinstance(
        exc,
        aiosmtplib.SMTPConnectError
        | aiosmtplib.SMTPServerDisconnected
        | aiosmtplib.SMTPTimeoutError
        | OSError
        | TimeoutError,
    ):
        return TransientDeliveryError(f"mail server unreachable: {exc!r}")
    return PlatformDeliveryError(f"unexpected email error {type(exc).__name__}")


class EmailMessenger:
    """The core's Messenger for email."""

    def __init__(self, config: EmailConfig) -> None:
        self.config = config

    def build(self, to: Recipient, message: Message, nonce: str) -> EmailMessage:
        """The email for one row: subject from the title, the text as a plain body."""
        email = EmailMessage()
        email["From"] = self.config.sender
        email["To"] = to.user_id or ""
        email["Subject"] = message.title or message.text.splitlines()[0][:120]
        email["Date"] = formatdate(localtime=False)
        domain = self.config.sender.rpartition("@")[2] or "mentorbot"
        email["Message-ID"] = f"<{nonce}@{domain}>"
        if message.urgent:
            email["X-Priority"] = "1"
        body = [message.text]
        body += [f"{field.label}: {field.value}" for field in message.fields]
        email.set_content("\n\n".join(body) + "\n")
        return email

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """Send one email; raise the core's delivery errors on failure."""
        if not to.user_id or "@" not in to.user_id:
            raise PermanentDeliveryError("no email address to send to")
        config = self.config
        implicit_tls = config.port == IMPLICIT_TLS_PORT
        try:
            await aiosmtplib.send(
                self.build(to, message, nonce),
                hostname=config.host,
                port=config.port,
                username=config.username or None,
                password=config.password or None,
                use_tls=implicit_tls,
                start_tls=config.starttls and not implicit_tls,
                timeout=config.timeout,
            )
        except Exception as exc:
            error = delivery_error(exc)
            # The address is a person's: the row id is in the delivery loop's own log.
            log.warning("email send failed: %s", error)
            raise error from exc
        return SendResult(message_id=nonce)
