"""A crisis DM from a Slack member the roster missed, end to end over HTTP mode.

They get the crisis card saying the programme staff were told; the admin's DM and the on-call
channel get an urgent alert that says how to find them (their Slack id, name and email); an
admin's one-click Acknowledge updates every copy and tells them a person has seen it; a
second crisis DM folds into the open alert instead of paging again.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.config import CoreSettings
from storage.tables import Alert, Outbox
from tests.adapters.slack.conftest import ADMIN, Harness, all_text, buttons_of

ONCALL = "C0ONCALL01"
NEWBIE = "U0NEWBIE01"
CRISIS_TEXT = "i want to end it all tonight"


@pytest.fixture
def core_settings() -> CoreSettings:
    """Default settings plus an on-call staff channel on Slack."""
    return CoreSettings(staff_channel=f"slack:{ONCALL}")


async def test_a_crisis_dm_from_someone_not_on_the_roster_reaches_on_call_staff(
    slack: Harness,
) -> None:
    """The card says staff were told; admin and on-call are paged; Acknowledge works; folding."""
    slack.fake.add_channel(ONCALL, name="mentoring-oncall")
    slack.fake.add_user(NEWBIE, email="nia@example.edu", name="nia", display_name="Nia")
    status, _ = await slack.dm(CRISIS_TEXT, user=NEWBIE, event_id="Ev0STRANGE1")
    assert status == 200
    await slack.settle()
    [card] = slack.dm_messages(NEWBIE)
    shown = all_text(card.blocks)
    assert "Samaritans" in shown and "let the programme staff know" in shown

    stats = await slack.delivery.deliver_once(["slack"])
    assert stats.sent == 2  # Avery's DM and the on-call channel
    [to_avery] = slack.dm_messages(ADMIN)
    [on_call] = slack.fake.messages_in(ONCALL)
    for message in (to_avery, on_call):
        text = all_text(message.blocks)
        assert "CRISIS: needs contact now" in text and "Not on the roster" in text
        assert f"Slack user {NEWBIE}" in text and "nia@example.edu" in text
        assert CRISIS_TEXT in text
        assert "Acknowledge" in {b["text"]["text"] for _, b in buttons_of(message.blocks)}

    status, _ = await slack.press(to_avery, "Acknowledge", user=ADMIN)
    assert status == 200
    await slack.settle()
    assert "Avery Admin acknowledged this" in to_avery.text
    assert "Avery Admin acknowledged this" in on_call.text  # every copy is updated
    await slack.delivery.deliver_once(["slack"])
    told = slack.dm_messages(NEWBIE)[-1]
    assert "has seen your message" in told.text

    status, _ = await slack.dm("i really want to kill myself", user=NEWBIE, event_id="Ev0STRANGE2")
    await slack.settle()
    assert "let the programme staff know" in all_text(slack.dm_messages(NEWBIE)[-1].blocks)
    await slack.delivery.deliver_once(["slack"])
    with slack.db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        assert alert.folded_count == 1 and alert.status == "open"  # reopened: needs a person
        rows = session.exec(select(Outbox).where(Outbox.kind == "alert")).all()
    assert "1 more message since" in all_text(slack.dm_messages(ADMIN)[0].blocks)
    assert len(rows) == 4  # a fresh urgent round after the reopen, nothing per message beyond
