"""The alert lifecycle over Slack HTTP mode: buttons, the resolve modal, folded copies edited.

Issue 13, part 5: the real bolt adapter against the loopback Slack; SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from mentorbot_fakes.slack_api import StoredMessage
from storage.tables import Alert, Outbox
from tests.adapters.slack.conftest import MENTOR, STUDENT, Harness, all_text, buttons_of, payload

CRISIS_TEXT = "i want to end it all tonight"


def _labels(message: StoredMessage) -> set[str]:
    return {b["text"]["text"] for _, b in buttons_of(message.blocks)}


def _alert(slack: Harness) -> Alert:
    with slack.db.session() as session:
        alert = session.exec(select(Alert)).one()
        session.expunge(alert)
        return alert


async def _alert_dm(slack: Harness) -> StoredMessage:
    """Sam's crisis DM, delivered to Maya; returns Maya's alert message."""
    status, _ = await slack.dm(CRISIS_TEXT, event_id="Ev0LIFE0001")
    assert status == 200
    await slack.settle()
    assert (await slack.delivery.deliver_once(["slack"])).sent == 1
    [to_maya] = slack.dm_messages(MENTOR)
    return to_maya


def _resolve_submission(view: dict[str, Any], outcome: str, note: str) -> dict[str, Any]:
    """A view_submission of the resolve modal the bot opened."""
    data = payload("view_submission")
    data["user"]["id"] = MENTOR
    data["view"].update(
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],
        state={
            "values": {
                "resolve_outcome": {
                    "value": {
                        "type": "static_select",
                        "selected_option": None if not outcome else {"value": outcome},
                    }
                },
                "resolve_note": {"value": {"type": "plain_text_input", "value": note}},
            }
        },
    )
    return data


async def test_acknowledge_follow_up_and_resolve_through_the_modal(slack: Harness) -> None:
    """Acknowledge, I'll follow up, then Resolve opens a modal whose submission resolves it."""
    to_maya = await _alert_dm(slack)
    assert {"Acknowledge", "I'll follow up", "Resolve"} <= _labels(to_maya)

    status, _ = await slack.press(to_maya, "Acknowledge", user=MENTOR)
    assert status == 200
    await slack.settle()
    assert "Maya Mentor acknowledged this" in to_maya.text
    assert _labels(to_maya) == {"I'll follow up", "Resolve"}
    # Sam hears, once, that a person has seen it.
    await slack.delivery.deliver_once(["slack"])
    assert any("has seen your message" in m.text for m in slack.dm_messages(STUDENT))

    await slack.press(to_maya, "I'll follow up", user=MENTOR)
    await slack.settle()
    assert "will follow up on" in to_maya.text and _alert(slack).status == "following"

    await slack.press(to_maya, "Resolve", user=MENTOR)
    await slack.settle()
    [opened] = slack.fake.calls_to("views.open")
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "mentorbot-form:alert.resolve"
    options = view["blocks"][0]["element"]["options"]
    assert [o["value"] for o in options] == ["spoke", "counselling", "emergency", "none"]

    # An outcome without a note: the modal shows the error under the note; nothing changes.
    status, body = await slack.interact(_resolve_submission(view, "spoke", ""))
    assert status == 200
    errors = json.loads(body)
    assert errors["response_action"] == "errors" and "resolve_note" in errors["errors"]
    assert _alert(slack).status == "following"

    status, body = await slack.interact(
        _resolve_submission(view, "counselling", "Called Sam, counselling booked")
    )
    assert status == 200
    await slack.settle()
    alert = _alert(slack)
    assert (alert.status, alert.outcome) == ("resolved", "counselling")
    assert alert.resolution_note == "Called Sam, counselling booked"
    # The DM copy is edited in place: resolved, no buttons left.
    assert "resolved this" in to_maya.text and _labels(to_maya) == set()
    assert "Referred to counselling" in all_text(to_maya.blocks)


async def test_resolve_by_command_updates_the_delivered_copy(slack: Harness) -> None:
    """`/mentor alerts resolve ID OUTCOME NOTE` resolves and edits Maya's alert DM."""
    to_maya = await _alert_dm(slack)
    alert = _alert(slack)
    status, name = await slack.command(
        f"alerts resolve {alert.id} spoke Talked on the phone", user=MENTOR
    )
    assert status == 200
    await slack.settle()
    [answer] = slack.fake.response_posts_to(name)
    assert "resolved this" in answer.body["text"]
    assert "resolved this" in to_maya.text and _labels(to_maya) == set()


async def test_folded_crisis_messages_edit_the_delivered_alert(slack: Harness) -> None:
    """Two more crisis DMs after delivery: one alert, Maya's message edited to "2 more"."""
    to_maya = await _alert_dm(slack)
    for index in (2, 3):
        status, _ = await slack.dm(f"{CRISIS_TEXT} {index}", event_id=f"Ev0LIFE000{index}")
        assert status == 200
        await slack.settle()
    stats = await slack.delivery.deliver_once(["slack"])
    assert stats.sent == 2 and stats.failed == 0  # two edits, no new post
    assert len(slack.dm_messages(MENTOR)) == 1
    assert "2 more messages since" in all_text(to_maya.blocks)
    assert f"{CRISIS_TEXT} 3" in all_text(to_maya.blocks)
    assert len(slack.fake.calls_to("chat.update")) == 2
    with slack.db.session() as session:
        assert len(session.exec(select(Alert)).all()) == 1
        edits = session.exec(select(Outbox).where(Outbox.kind == "alert_update")).all()
        assert {e.status for e in edits} == {"sent"}


async def test_a_deleted_copy_gets_the_new_state_as_a_new_message(slack: Harness) -> None:
    """If Maya's alert DM can't be edited any more, the fold is posted anew, never lost."""
    await _alert_dm(slack)
    status, _ = await slack.dm(f"{CRISIS_TEXT} again", event_id="Ev0LIFE0009")
    assert status == 200
    await slack.settle()
    slack.fake.fail_next("chat.update", "message_not_found")
    stats = await slack.delivery.deliver_once(["slack"])
    assert stats.sent == 1 and stats.failed == 0
    _first, second = slack.dm_messages(MENTOR)
    assert "1 more message since" in all_text(second.blocks)
    assert "Acknowledge" in _labels(second)
