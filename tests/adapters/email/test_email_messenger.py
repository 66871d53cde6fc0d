"""The email Messenger against a loopback SMTP server (aiosmtpd): sends, and error mapping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.email import EmailConfig, EmailMessenger
from bot.model import (
    Message,
    PermanentDeliveryError,
    PlatformDeliveryError,
    Recipient,
    TransientDeliveryError,
)
from mentorbot_fakes.smtp import FakeSmtp

ALERT = Message(title="Urgent mentoring alert #7 is waiting", text="Open Discord.", urgent=True)


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    """A started loopback SMTP server."""
    server = FakeSmtp().start()
    yield server
    server.stop()


def messenger(smtp: FakeSmtp) -> EmailMessenger:
    return EmailMessenger(
        EmailConfig(host="127.0.0.1", port=smtp.port, sender="bot@school.edu", starttls=False)
    )


async def test_sends_subject_body_and_nonce_as_message_id(smtp: FakeSmtp) -> None:
    """The title is the subject, the text the body; the row's nonce names the Message-ID."""
    result = await messenger(smtp).send(
        Recipient("email", user_id="maya@example.edu"), ALERT, nonce="abc123"
    )
    smtp.wait_for(1)
    [mail] = smtp.to("maya@example.edu")
    assert mail.subject == "Urgent mentoring alert #7 is waiting"
    assert "Open Discord." in mail.body
    assert mail.message["Message-ID"] == "<abc123@school.edu>"
    assert mail.message["X-Priority"] == "1"
    assert result.message_id == "abc123"


async def test_server_errors_map_to_transient_or_permanent(smtp: FakeSmtp) -> None:
    """A 4xx answer is retried (transient); a 5xx refusal is permanent."""
    to = Recipient("email", user_id="maya@example.edu")
    smtp.refuse("451 4.3.0 try again later")
    with pytest.raises(TransientDeliveryError):
        await messenger(smtp).send(to, ALERT, nonce="n1")
    smtp.refuse("554 5.7.1 rejected")
    with pytest.raises(PermanentDeliveryError):
        await messenger(smtp).send(to, ALERT, nonce="n2")
    assert smtp.received == []


async def test_unreachable_server_is_transient_and_no_address_permanent() -> None:
    """Nothing listening is an outage (transient); a row without an address never works."""
    gone = FakeSmtp()  # never started: nothing listens on its port
    with pytest.raises(TransientDeliveryError) as caught:
        await messenger(gone).send(Recipient("email", user_id="a@b.edu"), ALERT, nonce="n")
    assert not isinstance(caught.value, PlatformDeliveryError)
    with pytest.raises(PermanentDeliveryError):
        await messenger(gone).send(Recipient("email", user_id=None), ALERT, nonce="n")
