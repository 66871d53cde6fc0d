"""Core messages as Block Kit, plus the add-goal modal and the App Home view.

Everything here is a pure function of the neutral `bot.model.Message`; nothing talks to Slack.
Slack's documented limits are respected so that a long note or a big caseload is shortened
rather than rejected (`invalid_blocks`): 50 blocks per message (100 per view), 3000 characters
per text object, 10 fields per section (2000 characters each), 25 elements per actions block,
75 characters per button label, 2000 characters per button value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from babel.lists import format_list

from bot.i18n import N_, PSEUDO_LANGUAGE, _, babel_locale, current_language, speaking
from bot.model import Choice, Message

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_FIELDS_PER_SECTION = 10
MAX_FIELD_TEXT = 2000
MAX_ACTIONS_PER_BLOCK = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_FALLBACK_TEXT = 3000
MAX_CONTEXT_TEXT = 2000
# A modal's title, submit and close buttons: 24 characters each, in every language.
MAX_MODAL_BUTTON = 24
MAX_LABEL = 2000
MAX_PLACEHOLDER = 150

# Every button the bot renders has an action_id with this prefix, so one bolt listener
# catches them all and anything else is "a button from somewhere else".
ACTION_PREFIX = "mentorbot:"
# Modal callback ids carry the core form name after this prefix.
FORM_PREFIX = "mentorbot-form:"
GOAL_FORM = "goal.add"
GOAL_TITLE_BLOCK = "goal_title"
GOAL_DUE_BLOCK = "goal_due"
# The resolve-an-alert modal (its form name is the core's `alerts.RESOLVE_FORM`).
RESOLVE_FORM = "alert.resolve"
RESOLVE_OUTCOME_BLOCK = "resolve_outcome"
RESOLVE_NOTE_BLOCK = "resolve_note"
# The answer-a-group-prompt modal (its form name is the core's `prompt_answers.ANSWER_FORM`).
ANSWER_FORM = "prompt.answer"
ANSWER_BLOCK = "prompt_answer"
# Slack's own cap for a plain_text_input; the core refuses longer answers too.
MAX_ANSWER_INPUT = 3000
# The session-record modal (its form name is the core's `meetings.records.RECORD_FORM`).
RECORD_FORM = "meeting.record"
RECORD_BLOCKS: tuple[tuple[str, str, str, bool], ...] = (
    # (block id and form field, label, placeholder, required)
    # Labels and placeholders are translated where the modal is built (`record_modal`).
    ("topics", N_("Topics"), N_("What you talked about"), True),
    ("actions", N_("Agreed actions"), N_("One per line: each can become a goal"), False),
    ("next", N_("Next step"), N_("What happens next"), False),
)
INPUT_ACTION = "value"
SLASH_COMMAND = "/mentor"

ELLIPSIS = "…"
SHORTENED = N_("(shortened: the full text didn't fit in one Slack message)")

Block = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """A message ready for chat.postMessage / chat.update / a response_url."""

    text: str
    """Plain fallback for notifications and screen readers (Slack wants it with blocks)."""
    blocks: list[Block]


@dataclass(frozen=True)
class PressedChoice:
    """A decoded button press: the core action, its args and whom the button was sent to."""

    action: str
    args: dict[str, str]
    recipient: str | None


class BadButton(ValueError):
    """A block action that the bot did not render (or that was tampered with)."""


# ---------------------------------------------------------------- text helpers


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters.

    Without this a student's note containing `<!channel>` would ping a whole channel.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _clip_escaped(raw: str, limit: int) -> str:
    """Escape `raw` and clip it to `limit` characters without cutting an `&amp;` in half."""
    whole = escape(raw)
    if len(whole) <= limit:
        return whole
    out: list[str] = []
    used = 0
    for char in raw:
        piece = escape(char)
        if used + len(piece) > limit - 1:
            out.append(ELLIPSIS)
            return "".join(out)
        out.append(piece)
        used += len(piece)
    return "".join(out)


def escaped_chunks(raw: str, limit: int = MAX_TEXT) -> list[str]:
    """Escape `raw` and split it into pieces of at most `limit` characters.

    Splits at line ends where possible so a long note stays readable across sections.
    """
    chunks: list[str] = []
    current = ""
    for line in raw.split("\n"):
        piece = escape(line)
        candidate = piece if not current else current + "\n" + piece
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
            current = ""
        while len(piece) > limit:
            cut = limit
            # Never cut inside an entity like "&amp;".
            amp = piece.rfind("&", max(0, cut - 5), cut)
            if amp != -1 and ";" not in piece[amp:cut]:
                cut = amp
            chunks.append(piece[:cut])
            piece = piece[cut:]
        current = piece
    if current:
        chunks.append(current)
    return [c for c in chunks if c.strip()]


@cache
def _command_pattern() -> re.Pattern[str]:
    # The core speaks of "/mood" and "/help"; in Slack those are subcommands of /mentor.
    from bot.features import build_registry

    commands = build_registry().names
    names = "|".join(sorted((re.escape(n) for n in commands), key=len, reverse=True))
    return re.compile(rf"(?<![\w/<])/({names})\b")


def slack_commands(text: str) -> str:
    """Rewrite the core's `/mood 3` hints as `/mentor mood 3`, the one Slack slash command."""
    return _command_pattern().sub(rf"{SLASH_COMMAND} \1", text)


def _safe_url(url: str) -> str:
    # "|" and ">" end a Slack link; percent-encoding keeps the URL intact.
    return url.strip().replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")


# ---------------------------------------------------------------- buttons


def encode_choice(choice: Choice, index: int, recipient: str | None) -> tuple[str, str]:
    """The (action_id, value) of a button: the core action and args, plus its recipient.

    The action name sits in the action_id for readable logs; the value is compact JSON that
    the click handler decodes. `index` keeps action ids unique within a message.
    """
    payload: dict[str, Any] = {"a": choice.action, "g": dict(choice.args)}
    if recipient:
        payload["to"] = recipient
    value = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    action_id = _clip(f"{ACTION_PREFIX}{index}:{choice.action}", MAX_ACTION_ID)
    return action_id, value


def decode_action(action_id: str, value: str) -> PressedChoice:
    """Decode a pressed button rendered by `encode_choice`; raise BadButton otherwise."""
    if not action_id.startswith(ACTION_PREFIX):
        raise BadButton(f"not a mentorbot button: {action_id!r}")
    try:
        payload = json.loads(value)
    except ValueError as exc:
        raise BadButton("button value is not JSON") from exc
    if not isinstance(payload, dict):
        raise BadButton("button value is not an object")
    action, args, recipient = payload.get("a"), payload.get("g", {}), payload.get("to")
    if not isinstance(action, str) or not action:
        raise BadButton("button has no action")
    if not isinstance(args, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in args.items()
    ):
        raise BadButton("button args are not strings")
    if recipient is not None and not isinstance(recipient, str):
        raise BadButton("button recipient is not a string")
    return PressedChoice(action=action, args=dict(args), recipient=recipient)


def _button(choice: Choice, index: int, recipient: str | None) -> Block | None:
    action_id, value = encode_choice(choice, index, recipient)
    if len(value) > MAX_BUTTON_VALUE:
        return None  # cannot happen with the core's short ids; never send an invalid block
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": _clip(choice.label, MAX_BUTTON_TEXT), "emoji": True},
        "value": value,
    }
    if choice.style in ("primary", "danger"):
        button["style"] = choice.style
    return button


# ---------------------------------------------------------------- messages


def _section(text: str, block_id: str) -> Block:
    return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": text}}


def _context(text: str, block_id: str) -> Block:
    return {
        "type": "context",
        "block_id": block_id,
        "elements": [{"type": "mrkdwn", "text": _clip(text, MAX_CONTEXT_TEXT)}],
    }


def _listed(items: Sequence[str]) -> str:
    """Items as the spoken language lists them ("A, B and C", "A、B和C", "A وB وC")."""
    language = current_language()
    if language == PSEUDO_LANGUAGE:
        # Babel formats the test-only pseudo-language as English ("and"), a word no catalog
        # marked; a plain comma keeps the pseudo-locale test about the catalog's words.
        return ", ".join(items)
    return format_list(list(items), locale=babel_locale(language))


def fallback_text(message: Message) -> str:
    """The notification text of a message, escaped and clipped: all of its meaning in words.

    Screen readers and notifications read only this, so it carries what the blocks show:
    the title and text, each field as "label: value", each link, the buttons by their labels
    and what an attached file shows (its alt text). Written in the message's own language.
    """
    with speaking(message.language):
        return _clip_escaped(_fallback_raw(message) or " ", MAX_FALLBACK_TEXT)


def _fallback_raw(message: Message) -> str:
    title = message.title
    if message.urgent:
        title = f"🚨 {title}" if title else f"🚨 {_('Urgent')}"
    lines = [part for part in (title, slack_commands(message.text)) if part]
    lines += [f"{slack_commands(f.label)}: {slack_commands(f.value)}" for f in message.fields]
    for link in message.links:
        line = f"{link.title}: {link.url}"
        lines.append(f"{line} ({link.description})" if link.description else line)
    labels = [c.label.strip() for c in message.choices if c.label.strip()]
    if labels:
        lines.append(_("Buttons: {labels}").format(labels=_listed(labels)))
    attachment = message.attachment
    if attachment is not None:
        if attachment.alt_text:
            lines.append(
                _("Attached {filename}: {alt_text}").format(
                    filename=attachment.filename, alt_text=attachment.alt_text
                )
            )
        elif not lines:
            lines.append(attachment.filename)
    return "\n".join(lines)


def render_blocks(
    message: Message,
    *,
    recipient: str | None = None,
    in_dm: bool = True,
    max_blocks: int = MAX_MESSAGE_BLOCKS,
    block_prefix: str = "",
) -> list[Block]:
    """The Block Kit blocks of one message.

    `recipient` is the Slack user the buttons are meant for (checked on click); `in_dm` says
    whether free text typed next to the message reaches the bot (only in our DM);
    `block_prefix` keeps block ids unique when several messages share one view.
    """
    counter = iter(range(10_000))

    def bid(kind: str) -> str:
        return f"{block_prefix}{kind}-{next(counter)}"

    with speaking(message.language):
        return _render_blocks(message, recipient, in_dm, max_blocks, bid)


def _render_blocks(
    message: Message, recipient: str | None, in_dm: bool, max_blocks: int, bid: Any
) -> list[Block]:
    content: list[Block] = []
    header = message.title
    if message.urgent:
        header = f"🚨 {header}" if header else f"🚨 {_('Urgent')}"
    if header:
        content.append(
            {
                "type": "header",
                "block_id": bid("title"),
                "text": {"type": "plain_text", "text": _clip(header, MAX_HEADER), "emoji": True},
            }
        )
    if message.text:
        content += [_section(c, bid("text")) for c in escaped_chunks(slack_commands(message.text))]
    if message.fields:
        rows = [
            {
                "type": "mrkdwn",
                "text": f"*{_clip_escaped(slack_commands(f.label), 200)}*\n"
                + _clip_escaped(slack_commands(f.value), MAX_FIELD_TEXT - 210),
            }
            for f in message.fields
        ]
        for start in range(0, len(rows), MAX_FIELDS_PER_SECTION):
            content.append(
                {
                    "type": "section",
                    "block_id": bid("fields"),
                    "fields": rows[start : start + MAX_FIELDS_PER_SECTION],
                }
            )
    if message.links:
        lines = []
        for link in message.links:
            line = f"• <{_safe_url(link.url)}|{escape(link.title.replace('|', '¦'))}>"
            if link.description:
                line += f": {escape(link.description)}"
            lines.append(line)
        joined = "\n".join(lines)
        # The escaped lines already are mrkdwn; chunk them without escaping again.
        for chunk in _chunk_lines(joined.split("\n"), MAX_TEXT):
            content.append(_section(chunk, bid("links")))

    tail: list[Block] = []
    buttons = [
        b
        for b in (_button(c, i, recipient) for i, c in enumerate(message.choices))
        if b is not None
    ]
    for start in range(0, len(buttons), MAX_ACTIONS_PER_BLOCK):
        tail.append(
            {
                "type": "actions",
                "block_id": bid("actions"),
                "elements": buttons[start : start + MAX_ACTIONS_PER_BLOCK],
            }
        )
    if message.attachment is not None:
        tail.append(
            _context(
                "📎 "
                + _("{filename} is sent as a file in our direct messages.").format(
                    filename=escape(message.attachment.filename)
                ),
                bid("attachment"),
            )
        )
    if message.expects_text and not in_dm:
        tail.append(
            _context("✏️ " + _("To answer in words, send me a direct message."), bid("hint"))
        )
    return _fit(content, tail, max_blocks, bid)


def _chunk_lines(lines: Sequence[str], limit: int) -> list[str]:
    """Join already-escaped lines into pieces of at most `limit` characters."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = _clip(line, limit)
        candidate = line if not current else current + "\n" + line
        if len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = line
    if current:
        chunks.append(current)
    return chunks


def _fit(content: list[Block], tail: list[Block], max_blocks: int, bid: Any) -> list[Block]:
    """Keep within `max_blocks`, sacrificing text before buttons (buttons are the action)."""
    if len(content) + len(tail) <= max_blocks:
        return content + tail
    tail = tail[: max_blocks - 1]
    room = max_blocks - len(tail) - 1
    return [*content[: max(room, 0)], _context(f"_{_(SHORTENED)}_", bid("more")), *tail]


def render_message(
    message: Message,
    *,
    recipient: str | None = None,
    in_dm: bool = True,
) -> Rendered:
    """The message as fallback text plus blocks for chat.postMessage or a response_url."""
    return Rendered(
        text=fallback_text(message),
        blocks=render_blocks(message, recipient=recipient, in_dm=in_dm),
    )


# ---------------------------------------------------------------- views


def render_home(messages: Sequence[Message], *, recipient: str | None) -> Block:
    """The App Home view: each core message a section, separated by dividers.

    Each message is rendered in its own language; the view's own words are in the language
    being spoken (the adapter speaks the reply's).
    """
    blocks: list[Block] = []
    for index, message in enumerate(messages):
        if blocks:
            blocks.append({"type": "divider", "block_id": f"m{index}-divider"})
        blocks += render_blocks(
            message,
            recipient=recipient,
            in_dm=True,
            max_blocks=MAX_VIEW_BLOCKS,
            block_prefix=f"m{index}-",
        )
    if len(blocks) > MAX_VIEW_BLOCKS:
        blocks = [*blocks[: MAX_VIEW_BLOCKS - 1], _context(f"_{_(SHORTENED)}_", "home-more")]
    if not blocks:
        blocks = [_section(_("Nothing here yet."), "home-empty")]
    return {"type": "home", "blocks": blocks}


def _plain(text: str, limit: int = MAX_LABEL) -> Block:
    return {"type": "plain_text", "text": _clip(text, limit)}


def _modal_frame(form: str, title: str, submit: str) -> Block:
    """A modal's callback id and its title, submit and close buttons, in the spoken language."""
    return {
        "type": "modal",
        "callback_id": f"{FORM_PREFIX}{form}",
        "title": _plain(title, MAX_MODAL_BUTTON),
        "submit": _plain(submit, MAX_MODAL_BUTTON),
        "close": _plain(_("Cancel"), MAX_MODAL_BUTTON),
    }


def goal_modal(private_metadata: str = "") -> Block:
    """The add-goal modal; its submission becomes `Inbound(kind="form", name="goal.add")`.

    A datepicker makes the due date well-formed by construction; the core still decides
    whether it is acceptable (not in the past).
    """
    return {
        **_modal_frame(GOAL_FORM, _("Add a goal"), _("Add goal")),
        "private_metadata": private_metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": GOAL_TITLE_BLOCK,
                "label": _plain(_("What do you want to achieve?")),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION,
                    "max_length": 200,
                    "placeholder": _plain(_("Finish my essay draft"), MAX_PLACEHOLDER),
                },
            },
            {
                "type": "input",
                "block_id": GOAL_DUE_BLOCK,
                "optional": True,
                "label": _plain(_("By when? (optional)")),
                "element": {"type": "datepicker", "action_id": INPUT_ACTION},
            },
        ],
    }


def resolve_modal(alert_id: str, outcomes: Sequence[tuple[str, str]]) -> Block:
    """The resolve-an-alert modal: an outcome select and a note; the alert id rides along.

    Its submission becomes `Inbound(kind="form", name="alert.resolve")` with `alert`,
    `outcome` and `note`; the core checks all three (and who is asking) again.
    """
    return {
        **_modal_frame(RESOLVE_FORM, _("Resolve alert"), _("Resolve")),
        "private_metadata": json.dumps({"alert": alert_id}),
        "blocks": [
            {
                "type": "input",
                "block_id": RESOLVE_OUTCOME_BLOCK,
                "label": _plain(_("How did it end?")),
                "element": {
                    "type": "static_select",
                    "action_id": INPUT_ACTION,
                    "placeholder": _plain(_("Pick an outcome"), MAX_PLACEHOLDER),
                    "options": [
                        {"text": {"type": "plain_text", "text": label}, "value": value}
                        for value, label in outcomes
                    ],
                },
            },
            {
                "type": "input",
                "block_id": RESOLVE_NOTE_BLOCK,
                "label": _plain(_("Note (kept encrypted)")),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION,
                    "multiline": True,
                    "max_length": 2000,
                    "placeholder": _plain(_("What happened, and what's next"), MAX_PLACEHOLDER),
                },
            },
        ],
    }


def answer_modal(round_id: str, so_far: str = "") -> Block:
    """The answer-a-prompt modal: one text input; the round rides in private_metadata.

    Its submission becomes `Inbound(kind="form", name="prompt.answer")` with `round` and
    `answer`; the core screens the words and checks the round and the person again.
    """
    element: Block = {
        "type": "plain_text_input",
        "action_id": INPUT_ACTION,
        "multiline": True,
        "max_length": MAX_ANSWER_INPUT,
    }
    if so_far:
        element["initial_value"] = so_far[:MAX_ANSWER_INPUT]  # editing: start from it
    return {
        **_modal_frame(ANSWER_FORM, _("Your answer"), _("Send")),
        "private_metadata": json.dumps({"round": round_id}),
        "blocks": [
            {
                "type": "input",
                "block_id": ANSWER_BLOCK,
                "label": _plain(_("Your answer (only the bot sees it now)")),
                "hint": _plain(
                    _(
                        "Shared with the group when the prompt closes; you can change "
                        "or withdraw it until then."
                    )
                ),
                "element": element,
            }
        ],
    }


def record_modal(meeting_id: str) -> Block:
    """The session-record modal: topics, agreed actions, next step; the meeting rides along.

    Its submission becomes `Inbound(kind="form", name="meeting.record")` with `meeting`,
    `topics`, `actions` and `next`; the core checks them (and who is asking) again.
    """
    return {
        **_modal_frame(RECORD_FORM, _("Session record"), _("Save")),
        "private_metadata": json.dumps({"meeting": meeting_id}),
        "blocks": [
            {
                "type": "input",
                "block_id": block,
                "optional": not required,
                "label": _plain(_(label)),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION,
                    "multiline": True,
                    "max_length": 2000,
                    "placeholder": _plain(_(placeholder), MAX_PLACEHOLDER),
                },
            }
            for block, label, placeholder, required in RECORD_BLOCKS
        ],
    }


def _metadata(view: Mapping[str, Any], key: str) -> str:
    """One string the bot put in a modal's private_metadata ("" when missing or forged)."""
    try:
        meta = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        meta = {}
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, str) else ""


def form_of(view: Mapping[str, Any]) -> tuple[str, dict[str, str]] | None:
    """The core form name and its args from a submitted view, or None if it isn't ours."""
    callback_id = view.get("callback_id")
    if not isinstance(callback_id, str) or not callback_id.startswith(FORM_PREFIX):
        return None
    name = callback_id[len(FORM_PREFIX) :]
    values = (view.get("state") or {}).get("values") or {}
    args: dict[str, str] = {}
    if name == GOAL_FORM:
        args["title"] = _input_value(values, GOAL_TITLE_BLOCK)
        args["due"] = _input_value(values, GOAL_DUE_BLOCK)
    elif name == RESOLVE_FORM:
        try:
            meta = json.loads(str(view.get("private_metadata") or "{}"))
        except ValueError:
            meta = {}
        alert = meta.get("alert") if isinstance(meta, dict) else None
        args["alert"] = alert if isinstance(alert, str) else ""
        args["outcome"] = _input_value(values, RESOLVE_OUTCOME_BLOCK)
        args["note"] = _input_value(values, RESOLVE_NOTE_BLOCK)
    elif name == ANSWER_FORM:
        args["round"] = _metadata(view, "round")
        args["answer"] = _input_value(values, ANSWER_BLOCK)
    elif name == RECORD_FORM:
        args["meeting"] = _metadata(view, "meeting")
        for block, *_rest in RECORD_BLOCKS:
            args[block] = _input_value(values, block)
    return name, args


def _input_value(values: Mapping[str, Any], block_id: str) -> str:
    element = (values.get(block_id) or {}).get(INPUT_ACTION) or {}
    if not isinstance(element, Mapping):
        return ""
    for key in ("value", "selected_date"):
        found = element.get(key)
        if isinstance(found, str):
            return found
    option = element.get("selected_option")
    if isinstance(option, Mapping) and isinstance(option.get("value"), str):
        return str(option["value"])
    return ""


# Words that place a refused form's message under the input it is about. The core's refusal
# is written in the person's language, so each word is looked for in English and in its
# translation into the language being spoken (translators: the word as the core's own
# messages use it, lower case).
DATE_WORDS = (N_("date"),)
NEXT_STEP_WORDS = (N_("next step"),)
ACTION_WORDS = (N_("action"),)
OUTCOME_WORDS = (N_("outcome"), N_("how it ended"))


def _mentions(error: str, words: Sequence[str]) -> bool:
    lowered = error.lower()
    return any(word in lowered or _(word).lower() in lowered for word in words)


def form_errors(name: str, error: str) -> dict[str, str]:
    """The `response_action: errors` map for a refused form: the message under its input.

    The core refuses with one sentence; a date problem belongs under the date picker,
    everything else (empty title, too many goals, not a student) under the title. Call it
    speaking the reply's language (see `_mentions`).
    """
    block = GOAL_TITLE_BLOCK
    if name == GOAL_FORM and _mentions(error, DATE_WORDS):
        block = GOAL_DUE_BLOCK
    if name == RECORD_FORM:
        block = (
            "next"
            if _mentions(error, NEXT_STEP_WORDS)
            else "actions"
            if _mentions(error, ACTION_WORDS)
            else "topics"
        )
    if name == RESOLVE_FORM:
        about_outcome = _mentions(error, OUTCOME_WORDS)
        block = RESOLVE_OUTCOME_BLOCK if about_outcome else RESOLVE_NOTE_BLOCK
    if name == ANSWER_FORM:
        block = ANSWER_BLOCK
    return {block: _clip(error, MAX_FIELD_TEXT)}
