"""Unit tests of Block Kit rendering for every shape of core message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.slack.render import (
    FORM_PREFIX,
    GOAL_DUE_BLOCK,
    GOAL_TITLE_BLOCK,
    MAX_ACTIONS_PER_BLOCK,
    MAX_BUTTON_TEXT,
    MAX_MESSAGE_BLOCKS,
    MAX_TEXT,
    MAX_VIEW_BLOCKS,
    BadButton,
    decode_action,
    encode_choice,
    escape,
    escaped_chunks,
    form_errors,
    form_of,
    goal_modal,
    render_blocks,
    render_home,
    render_message,
    slack_commands,
)
from bot.model import Attachment, Choice, Field, Link, Message
from tests.adapters.slack.conftest import payload


def _types(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["type"] for b in blocks]


def _assert_within_limits(blocks: list[dict[str, Any]], max_blocks: int) -> None:
    """Slack's documented limits: blocks, text lengths, elements, labels, unique ids."""
    assert len(blocks) <= max_blocks
    block_ids = [b["block_id"] for b in blocks]
    assert len(block_ids) == len(set(block_ids))
    action_ids: list[str] = []
    for block in blocks:
        if block["type"] in ("section", "header"):
            if "text" in block:
                assert len(block["text"]["text"]) <= (150 if block["type"] == "header" else 3000)
            for field in block.get("fields", []):
                assert len(field["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        if block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= MAX_ACTIONS_PER_BLOCK
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= MAX_BUTTON_TEXT
                assert len(element["value"]) <= 2000
                assert len(element["action_id"]) <= 255
                action_ids.append(element["action_id"])
    assert len(action_ids) == len(set(action_ids))


def test_text_only_message_is_one_section_with_fallback_text() -> None:
    """Plain text becomes one mrkdwn section, and the same text is the notification fallback."""
    rendered = render_message(Message(text="Thanks for checking in."))
    assert _types(rendered.blocks) == ["section"]
    assert rendered.blocks[0]["text"] == {"type": "mrkdwn", "text": "Thanks for checking in."}
    assert rendered.text == "Thanks for checking in."


def test_title_is_a_header_block() -> None:
    """A title is a plain_text header above the text; the fallback starts with it."""
    rendered = render_message(Message(title="Check-in", text="How are you?"))
    assert _types(rendered.blocks) == ["header", "section"]
    assert rendered.blocks[0]["text"] == {"type": "plain_text", "text": "Check-in", "emoji": True}
    assert rendered.text == "Check-in\nHow are you?"


def test_fields_are_one_section_and_keep_the_sparkline() -> None:
    """Fields render as a section of label/value pairs; the sparkline survives untouched."""
    message = Message(
        text="Logged.", fields=(Field("Last 14 days", "··▂▃▅·▄"), Field("Goal", "50%"))
    )
    [_, fields] = render_blocks(message)
    assert fields["type"] == "section"
    assert [f["text"] for f in fields["fields"]] == ["*Last 14 days*\n··▂▃▅·▄", "*Goal*\n50%"]


def test_more_than_ten_fields_split_into_sections() -> None:
    """Slack allows 10 fields per section, so a big caseload spreads over several sections."""
    message = Message(text="", fields=tuple(Field(f"Student {i}", "mood 3/5") for i in range(23)))
    blocks = render_blocks(message)
    assert [len(b["fields"]) for b in blocks] == [10, 10, 3]
    _assert_within_limits(blocks, MAX_MESSAGE_BLOCKS)


def test_links_are_a_list_with_escaped_titles() -> None:
    """Links render as a bulleted list of <url|title>, with Slack's control characters escaped."""
    message = Message(
        text="These might help:",
        links=(
            Link("Exam stress", "https://example.edu/help/exam-stress", "Calm revision tips"),
            Link("Money <& food>", "https://example.edu/help/money?a=1|2"),
        ),
    )
    [_, links] = render_blocks(message)
    assert links["text"]["text"] == (
        "• <https://example.edu/help/exam-stress|Exam stress>: Calm revision tips\n"
        "• <https://example.edu/help/money?a=1%7C2|Money &lt;&amp; food&gt;>"
    )


def test_choices_are_buttons_with_styles_and_encoded_actions() -> None:
    """Choices become buttons; styles map to Slack's, and each button carries action + args."""
    message = Message(
        text="Alert",
        choices=(
            Choice("Acknowledge", "alert.ack", (("alert", "7"),), style="primary"),
            Choice("Remove", "goal.drop", (("goal", "3"),), style="danger"),
            Choice("I'll follow up", "alert.followup", (("alert", "7"),)),
        ),
    )
    [_, actions] = render_blocks(message, recipient="U0MENTOR01")
    ack, remove, follow = actions["elements"]
    assert (ack["style"], remove["style"]) == ("primary", "danger")
    assert "style" not in follow  # Slack rejects style "default"
    pressed = decode_action(ack["action_id"], ack["value"])
    assert (pressed.action, pressed.args, pressed.recipient) == (
        "alert.ack",
        {"alert": "7"},
        "U0MENTOR01",
    )
    _assert_within_limits([actions], MAX_MESSAGE_BLOCKS)


def test_mood_buttons_keep_their_faces() -> None:
    """The check-in's 1-5 buttons show their faces (emoji enabled)."""
    choices = tuple(
        Choice(f"{face} {n}", "checkin.mood", (("checkin", "1"), ("score", str(n))))
        for n, face in enumerate("😞🙁😐🙂😄", start=1)
    )
    [actions] = render_blocks(Message(text="", choices=choices))
    assert [e["text"]["text"] for e in actions["elements"]] == [
        "😞 1",
        "🙁 2",
        "😐 3",
        "🙂 4",
        "😄 5",
    ]
    assert all(e["text"]["emoji"] for e in actions["elements"])


def test_many_choices_split_over_actions_blocks_of_25() -> None:
    """Over 25 choices, buttons continue in a further actions block; ids stay unique."""
    choices = tuple(Choice(f"Option {i}", "pick", (("n", str(i)),)) for i in range(60))
    blocks = render_blocks(Message(text="Pick one", choices=choices))
    assert [len(b["elements"]) for b in blocks if b["type"] == "actions"] == [25, 25, 10]
    _assert_within_limits(blocks, MAX_MESSAGE_BLOCKS)


def test_long_button_labels_are_clipped_to_75() -> None:
    """A label over 75 characters is clipped with an ellipsis instead of being rejected."""
    [actions] = render_blocks(Message(text="", choices=(Choice("x" * 200, "go"),)))
    label = actions["elements"][0]["text"]["text"]
    assert len(label) == MAX_BUTTON_TEXT and label.endswith("…")


def test_long_text_is_split_into_sections_of_3000() -> None:
    """Text over 3000 characters is split across sections, at line ends where possible."""
    text = "\n".join(f"Line {i}: " + "word " * 60 for i in range(40))
    blocks = render_blocks(Message(text=text))
    assert len(blocks) > 1 and all(b["type"] == "section" for b in blocks)
    assert all(len(b["text"]["text"]) <= MAX_TEXT for b in blocks)
    assert "\n".join(b["text"]["text"] for b in blocks) == text


def test_one_long_line_with_entities_is_never_cut_inside_an_entity() -> None:
    """Splitting a single huge line never cuts "&amp;" in half."""
    chunks = escaped_chunks("a&" * 4000)
    assert all(len(c) <= MAX_TEXT for c in chunks)
    assert "".join(chunks) == escape("a&" * 4000)
    assert not any(c.endswith(("&", "&a", "&am", "&amp")) for c in chunks)


def test_over_fifty_blocks_keeps_the_buttons_and_says_it_was_shortened() -> None:
    """When text alone would exceed 50 blocks, text is shortened and the buttons are kept."""
    text = "\n".join("paragraph " * 290 for _ in range(80))
    message = Message(text=text, choices=(Choice("Skip", "checkin.skip"),))
    blocks = render_blocks(message)
    assert len(blocks) == MAX_MESSAGE_BLOCKS
    assert blocks[-1]["type"] == "actions"
    assert "shortened" in blocks[-2]["elements"][0]["text"]
    _assert_within_limits(blocks, MAX_MESSAGE_BLOCKS)


def test_attachment_adds_a_note_that_the_file_is_in_the_dm() -> None:
    """An attachment is uploaded separately; the message says where the file is."""
    message = Message(
        text="Here is your data.",
        attachment=Attachment(filename="mentorbot-my-data.json", content="{}"),
    )
    blocks = render_blocks(message)
    assert _types(blocks) == ["section", "context"]
    assert "mentorbot-my-data.json" in blocks[1]["elements"][0]["text"]


def test_urgent_message_gets_a_siren_header() -> None:
    """Urgent messages are marked in the header and the notification text."""
    rendered = render_message(Message(title="CRISIS: needs contact now", text="Sam", urgent=True))
    assert rendered.blocks[0]["text"]["text"] == "🚨 CRISIS: needs contact now"
    assert rendered.text.startswith("🚨 ")
    untitled = render_blocks(Message(text="Call now", urgent=True))
    assert untitled[0]["type"] == "header" and "🚨" in untitled[0]["text"]["text"]


def test_expects_text_hints_outside_the_dm_only() -> None:
    """Outside our DM the bot can't read typed answers, so the message says where to write."""
    message = Message(text="Anything on your mind?", expects_text=True)
    assert _types(render_blocks(message, in_dm=True)) == ["section"]
    hinted = render_blocks(message, in_dm=False)
    assert "direct message" in hinted[-1]["elements"][0]["text"]


def test_user_text_cannot_ping_a_channel() -> None:
    """`<!channel>` or a fake link in text a student wrote is escaped, not interpreted."""
    rendered = render_message(
        Message(text="<!channel> <http://evil|click>", fields=(Field("They wrote", "<!here>"),))
    )
    dumped = json.dumps(rendered.blocks)
    assert "<!channel>" not in dumped and "<!here>" not in dumped
    assert "&lt;!channel&gt;" in rendered.blocks[0]["text"]["text"]


def test_core_command_hints_become_mentor_subcommands() -> None:
    """The core's "/mood 3" hint reads "/mentor mood 3" in Slack; URLs are left alone."""
    assert (
        slack_commands("Try /mood 4 or /goal add X") == "Try /mentor mood 4 or /mentor goal add X"
    )
    assert slack_commands("see https://x.edu/help/now") == "see https://x.edu/help/now"
    assert slack_commands("/mentor mood") == "/mentor mood"


def test_button_value_roundtrip_and_rejections() -> None:
    """Buttons decode to what was encoded; foreign or tampered buttons raise BadButton."""
    action_id, value = encode_choice(Choice("Go", "mood.log", (("score", "3"),)), 4, None)
    pressed = decode_action(action_id, value)
    assert (pressed.action, pressed.args, pressed.recipient) == ("mood.log", {"score": "3"}, None)
    for bad_id, bad_value in (
        ("other_app_button", value),
        (action_id, "{nope"),
        (action_id, "[1, 2]"),
        (action_id, json.dumps({"a": "", "g": {}})),
        (action_id, json.dumps({"a": "x", "g": {"n": 1}})),
        (action_id, json.dumps({"a": "x", "g": {}, "to": 5})),
    ):
        with pytest.raises(BadButton):
            decode_action(bad_id, bad_value)


def test_home_view_separates_sections_and_keeps_ids_unique() -> None:
    """The App Home puts dividers between sections and never repeats a block or action id."""
    sections = [
        Message(title="Your mood", text="x", choices=(Choice("😄 5", "mood.log"),)),
        Message(title="Your goals", text="y", choices=(Choice("😄 5", "mood.log"),)),
    ]
    view = render_home(sections, recipient="U0STUDENT1")
    assert view["type"] == "home"
    assert _types(view["blocks"]) == [
        "header",
        "section",
        "actions",
        "divider",
        "header",
        "section",
        "actions",
    ]
    ids = [b["block_id"] for b in view["blocks"]]
    assert len(ids) == len(set(ids))


def test_home_view_is_capped_at_100_blocks() -> None:
    """A huge caseload still renders as a valid view of at most 100 blocks."""
    sections = [
        Message(title=f"Alert {i}", text="t", choices=(Choice("Ack", "a"),)) for i in range(60)
    ]
    view = render_home(sections, recipient=None)
    assert len(view["blocks"]) == MAX_VIEW_BLOCKS


def test_goal_modal_and_its_submission() -> None:
    """The modal fits Slack's limits and its captured submission decodes to the core form."""
    modal = goal_modal()
    assert modal["callback_id"] == f"{FORM_PREFIX}goal.add"
    assert len(modal["title"]["text"]) <= 24
    assert [b["block_id"] for b in modal["blocks"]] == [GOAL_TITLE_BLOCK, GOAL_DUE_BLOCK]
    submitted = payload("view_submission")["view"]
    assert form_of(submitted) == (
        "goal.add",
        {"title": "Finish my essay draft", "due": "2026-12-01"},
    )
    submitted["state"]["values"]["goal_due"]["value"]["selected_date"] = None
    assert form_of(submitted) == ("goal.add", {"title": "Finish my essay draft", "due": ""})
    assert form_of({"callback_id": "someone_else"}) is None


def test_form_errors_go_under_the_matching_input() -> None:
    """Date problems are shown under the date picker, anything else under the title."""
    assert form_errors("goal.add", "That due date has already passed.") == {
        GOAL_DUE_BLOCK: "That due date has already passed."
    }
    assert form_errors("goal.add", "A goal needs a title.") == {
        GOAL_TITLE_BLOCK: "A goal needs a title."
    }


def test_resolve_modal_errors_go_under_the_field_they_are_about() -> None:
    """A missing or unknown outcome shows under the select; a missing note under the note."""
    from adapters.slack.render import form_errors

    assert set(form_errors("alert.resolve", "Please say how it ended: spoke, ...")) == {
        "resolve_outcome"
    }
    assert set(form_errors("alert.resolve", "'x' isn't an outcome I know.")) == {"resolve_outcome"}
    assert set(form_errors("alert.resolve", "Please add a short note")) == {"resolve_note"}
