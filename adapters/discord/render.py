"""Core messages as Discord messages: embeds, persistent buttons, files, safe mentions.

One core ``Message`` becomes one or more ``DiscordMessage`` parts, because Discord's limits
are hard: 2000 characters of content, embed descriptions of 4096, 25 fields and 6000
characters per embed, 25 buttons (5 rows of 5) per message, labels of 80. Nothing is
silently dropped: long text continues in the next part and buttons past 25 go on
"More options" parts.

Where the parts go:
* the title, the first piece of text and the file are on the first part;
* fields and links follow the text;
* buttons sit on the last text part (the one a person reads last), extra buttons after it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import discord

from adapters.discord.components import ActionButton
from adapters.discord.custom_ids import CustomIdTooLong, encode_action
from bot.i18n import N_, _, speaking
from bot.model import Choice, Message
from bot.sparkline import BARS, GAP

log = logging.getLogger(__name__)

MAX_CONTENT = 2000
MAX_DESCRIPTION = 4096
MAX_TITLE = 256
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FIELDS = 25
MAX_EMBED_TOTAL = 6000
MAX_BUTTONS = 25
BUTTONS_PER_ROW = 5
MAX_LABEL = 80
ELLIPSIS = "…"
# Discord rejects an empty field name or value; a zero-width space renders as nothing.
BLANK = "\u200b"

COLOUR = discord.Colour(0x5865F2)
URGENT_COLOUR = discord.Colour.red()
URGENT = N_("Urgent")
# Said under a message whose buttons Discord can't show (translated where it is added).
SOME_OPTIONS_HIDDEN = N_(
    "(Some options can't be shown on Discord. Type /help to see what I can do.)"
)

STYLES = {
    "default": discord.ButtonStyle.secondary,
    "primary": discord.ButtonStyle.primary,
    "danger": discord.ButtonStyle.danger,
}
_SPARK_CHARS = frozenset(BARS + GAP + " ")


@dataclass(frozen=True)
class ButtonSpec:
    """One rendered button: what ActionButton needs."""

    label: str
    custom_id: str
    style: discord.ButtonStyle
    row: int


@dataclass(frozen=True)
class FileSpec:
    """A file to upload with a part (a fresh discord.File is made for every send)."""

    filename: str
    data: bytes
    description: str = ""  # alt text, read by screen readers


@dataclass
class DiscordMessage:
    """One Discord message: content and/or one embed, buttons, maybe a file."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    buttons: tuple[ButtonSpec, ...] = ()
    file: FileSpec | None = None
    private: bool = True

    def view(self) -> discord.ui.View | None:
        """A persistent view (no timeout, every item has a custom id); None without buttons."""
        if not self.buttons:
            return None
        view = discord.ui.View(timeout=None)
        for spec in self.buttons:
            view.add_item(
                ActionButton(spec.custom_id, label=spec.label, style=spec.style, row=spec.row)
            )
        return view

    def discord_file(self) -> discord.File | None:
        """The file to upload; discord.py consumes a File, so each send gets a new one."""
        if self.file is None:
            return None
        return discord.File(
            io.BytesIO(self.file.data),
            filename=self.file.filename,
            description=self.file.description or None,
        )

    def send_kwargs(self, allowed_mentions: discord.AllowedMentions) -> dict[str, Any]:
        """Keyword arguments for ``Messageable.send`` / ``followup.send`` / ``send_message``."""
        kwargs: dict[str, Any] = {"allowed_mentions": allowed_mentions}
        if self.content:
            kwargs["content"] = self.content
        if self.embeds:
            kwargs["embeds"] = self.embeds
        view = self.view()
        if view is not None:
            kwargs["view"] = view
        file = self.discord_file()
        if file is not None:
            kwargs["file"] = file
        return kwargs

    def edit_kwargs(self, allowed_mentions: discord.AllowedMentions) -> dict[str, Any]:
        """Keyword arguments for editing a message in place into this part.

        Everything is set explicitly, so what the old message had (embeds, buttons, files)
        and this one lacks is removed rather than left behind.
        """
        file = self.discord_file()
        return {
            "content": self.content or None,
            "embeds": self.embeds,
            "view": self.view(),
            "attachments": [file] if file is not None else [],
            "allowed_mentions": allowed_mentions,
        }


def mentions_for(recipient_id: int | str | None) -> discord.AllowedMentions:
    """Nobody may be pinged except the person the message is for (no @everyone, no roles)."""
    if recipient_id is None or not str(recipient_id).isdigit():
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(
        everyone=False,
        roles=False,
        users=[discord.Object(id=int(recipient_id))],
        replied_user=False,
    )


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit``, preferring line then word breaks."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut <= limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _field_value(value: str) -> str:
    # A sparkline reads best in a monospace code span, where every day is one column wide.
    stripped = value.strip()
    if stripped and set(stripped) <= _SPARK_CHARS:
        return f"`{stripped}`"
    return truncate(value, MAX_FIELD_VALUE) or BLANK


def _fields_of(message: Message) -> list[tuple[str, str]]:
    rows = [
        (truncate(f.label, MAX_FIELD_NAME) or BLANK, _field_value(f.value)) for f in message.fields
    ]
    for link in message.links:
        value = link.url + (f"\n{link.description}" if link.description else "")
        rows.append(
            (truncate(f"🔗 {link.title}", MAX_FIELD_NAME), truncate(value, MAX_FIELD_VALUE))
        )
    return rows


def _buttons(choices: Sequence[Choice]) -> tuple[list[ButtonSpec], int]:
    """Button specs in order (rows left unset), and how many choices couldn't be encoded."""
    specs: list[ButtonSpec] = []
    seen: set[str] = set()
    skipped = 0
    for choice in choices:
        try:
            custom_id = encode_action(choice.action, choice.args)
            unique = 1
            while custom_id in seen:  # Discord rejects duplicate custom ids in one message
                custom_id = encode_action(choice.action, choice.args, unique=unique)
                unique += 1
        except CustomIdTooLong:
            log.warning("choice %r doesn't fit in a Discord custom id; not shown", choice.action)
            skipped += 1
            continue
        seen.add(custom_id)
        specs.append(
            ButtonSpec(
                label=truncate(choice.label.strip(), MAX_LABEL) or ELLIPSIS,
                custom_id=custom_id,
                style=STYLES.get(choice.style, discord.ButtonStyle.secondary),
                row=0,
            )
        )
    return specs, skipped


def _with_rows(specs: Sequence[ButtonSpec]) -> tuple[ButtonSpec, ...]:
    return tuple(
        ButtonSpec(s.label, s.custom_id, s.style, row=i // BUTTONS_PER_ROW)
        for i, s in enumerate(specs)
    )


def _uses_embed(message: Message) -> bool:
    return bool(message.title or message.fields or message.links or message.urgent)


def _embed_parts(message: Message, text: str) -> list[DiscordMessage]:
    colour = URGENT_COLOUR if message.urgent else COLOUR
    embeds: list[discord.Embed] = []
    title = truncate(message.title, MAX_TITLE) or None
    for index, piece in enumerate(split_text(text, MAX_DESCRIPTION) if text else [""]):
        embeds.append(
            discord.Embed(
                title=title if index == 0 else None,
                description=piece or None,
                colour=colour,
            )
        )
    for name, value in _fields_of(message):
        last = embeds[-1]
        if len(last.fields) >= MAX_FIELDS or len(last) + len(name) + len(value) > MAX_EMBED_TOTAL:
            last = discord.Embed(colour=colour)
            embeds.append(last)
        last.add_field(name=name, value=value, inline=False)
    # One embed per part keeps each Discord message under its 6000-character total; Discord
    # refuses an embed with nothing in it (an urgent message without text, say).
    parts = [
        DiscordMessage(embeds=[embed] if len(embed) else [], private=message.private)
        for embed in embeds
    ]
    if message.urgent:
        parts[0].content = urgent_content()
    return parts


def urgent_content() -> str:
    """The visible urgent line of an urgent message, in the language being spoken."""
    return f"🚨 **{_(URGENT)}**"


def render(message: Message) -> list[DiscordMessage]:
    """The Discord parts of one core message, in the order they are sent (at least one).

    The words the adapter adds (the urgent line, "More options") are in the message's language.
    """
    with speaking(message.language):
        return _render(message)


def _render(message: Message) -> list[DiscordMessage]:
    text = message.text.strip()
    specs, skipped = _buttons(message.choices)
    if skipped:
        text += "\n\n" + _(SOME_OPTIONS_HIDDEN)
    if _uses_embed(message):
        parts = _embed_parts(message, text)
    else:
        pieces = split_text(text, MAX_CONTENT) if text else []
        parts = [DiscordMessage(content=piece, private=message.private) for piece in pieces]
        if not parts:
            parts = [DiscordMessage(private=message.private)]
    parts[-1].buttons = _with_rows(specs[:MAX_BUTTONS])
    extra = [specs[i : i + MAX_BUTTONS] for i in range(MAX_BUTTONS, len(specs), MAX_BUTTONS)]
    for page, chunk in enumerate(extra, start=2):
        parts.append(
            DiscordMessage(
                content=_("More options ({page}/{pages}):").format(page=page, pages=len(extra) + 1),
                buttons=_with_rows(chunk),
                private=message.private,
            )
        )
    if message.attachment is not None:
        parts[0].file = FileSpec(
            filename=message.attachment.filename,
            data=message.attachment.data,
            description=message.attachment.alt_text,
        )
    if not any((p.content, p.embeds, p.buttons, p.file) for p in parts[:1]):
        parts[0].content = BLANK  # Discord refuses an entirely empty message
    return parts


def screen_reader_text(parts: Sequence[DiscordMessage]) -> str:
    """Everything a screen reader announces of sent parts, as plain lines.

    Content, each embed's title, description and fields ("name: value"), the buttons by
    their labels and a file's description (its alt text). Tests use it to check that a
    message keeps its meaning without its emoji and sparklines.
    """
    lines: list[str] = []
    for part in parts:
        if part.content and part.content != BLANK:
            lines.append(part.content)
        for embed in part.embeds:
            lines += [text for text in (embed.title, embed.description) if text]
            lines += [f"{f.name}: {f.value}" for f in embed.fields]
        lines += [spec.label for spec in part.buttons]
        if part.file is not None:
            lines.append(part.file.description or part.file.filename)
    return "\n".join(lines)
