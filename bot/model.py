"""The platform-neutral message model: what people do (Inbound) and what the bot says (Message).

Adapters translate platform payloads into `Inbound` events and render `Message` objects into
Block Kit, discord.py components or terminal text. Nothing here knows a platform.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from bot.i18n import DEFAULT_LANGUAGE, current_language

InboundKind = Literal["command", "action", "text", "form"]
Platform = Literal["slack", "discord", "console"]
PLATFORMS: tuple[str, ...] = ("slack", "discord", "console")

# Every inbound free-text field is capped so a pasted essay cannot fill the database.
MAX_TEXT_LENGTH = 4000


@dataclass(frozen=True)
class Actor:
    """Who acted, as the platform knows them."""

    platform: str
    workspace: str
    user_id: str
    email: str | None = None
    display_name: str | None = None
    timezone: str | None = None
    # The language the person's Slack or Discord client is set to ("es-ES", "zh-CN"), if known.
    locale: str | None = None
    # The platform could tell email and time zone, but the adapter left them out to save a
    # lookup: the core answers `Reply.needs_profile` when it can't do without them.
    profile_omitted: bool = False


@dataclass(frozen=True)
class Inbound:
    """One thing a person did: a command, a button press, free text or a submitted form."""

    actor: Actor
    kind: InboundKind
    name: str
    args: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    event_id: str | None = None


@dataclass(frozen=True)
class Choice:
    """A button (or numbered option): pressing it sends `Inbound(kind="action", name=action)`."""

    label: str
    action: str
    args: tuple[tuple[str, str], ...] = ()
    style: Literal["default", "primary", "danger"] = "default"

    def args_dict(self) -> dict[str, str]:
        """The action arguments as a mapping."""
        return dict(self.args)


@dataclass(frozen=True)
class Link:
    """A titled link, such as a resource from the library."""

    title: str
    url: str
    description: str = ""


@dataclass(frozen=True)
class Field:
    """A label/value row; values may hold a mood sparkline."""

    label: str
    value: str


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: a personal data export, a chart (PNG), an invite (ICS).

    `content` is text for text files and bytes for binary ones (a PNG chart). `alt_text`
    says in words what an image shows, for screen readers and for the console; a chart
    is never sent without it.
    """

    filename: str
    content: str | bytes
    mime_type: str = "application/json"
    alt_text: str = ""

    @property
    def data(self) -> bytes:
        """The file's bytes, whatever form `content` holds (text is UTF-8)."""
        return self.content if isinstance(self.content, bytes) else self.content.encode("utf-8")

    @property
    def is_text(self) -> bool:
        """True when the content is text a terminal can show."""
        return isinstance(self.content, str)

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form: binary content travels as base64 under its own key."""
        out = {"filename": self.filename, "mime_type": self.mime_type, "alt_text": self.alt_text}
        if isinstance(self.content, bytes):
            out["content_b64"] = base64.b64encode(self.content).decode("ascii")
        else:
            out["content"] = self.content
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> Attachment:
        """Rebuild an attachment serialised by `to_dict`."""
        content: str | bytes
        if "content_b64" in data:
            content = base64.b64decode(data["content_b64"])
        else:
            content = data["content"]
        return cls(
            filename=data["filename"],
            content=content,
            mime_type=data.get("mime_type", "application/json"),
            alt_text=data.get("alt_text", ""),
        )


@dataclass(frozen=True)
class Message:
    """What the bot says, platform-neutral."""

    text: str
    choices: tuple[Choice, ...] = ()
    links: tuple[Link, ...] = ()
    fields: tuple[Field, ...] = ()
    private: bool = True
    title: str = ""
    urgent: bool = False
    attachment: Attachment | None = None
    # Set when the message asks for free text next (check-in note), so adapters can hint.
    expects_text: bool = False
    # A channel post whose replies belong together (a group prompt): platforms that need it
    # open a reply thread of this name on the post (Discord); Slack threads need no setup.
    # Also the name of a private Discord thread opened for a group conversation.
    thread_name: str = ""
    # Post this as a reply in the thread of that platform message (a prompt's summary under
    # its post): Slack's thread_ts; on Discord the thread opened on the post has its id.
    reply_to: str = ""
    # The language the words were rendered in (the one being spoken when it was built): an
    # adapter adds its own words (a modal's title, a fallback) in the same language.
    language: str = field(default_factory=current_language)

    def to_json(self) -> str:
        """Serialise for the outbox."""
        return json.dumps(
            {
                "text": self.text,
                "title": self.title,
                "private": self.private,
                "urgent": self.urgent,
                "expects_text": self.expects_text,
                "thread_name": self.thread_name,
                "reply_to": self.reply_to,
                "language": self.language,
                "choices": [
                    {"label": c.label, "action": c.action, "args": list(c.args), "style": c.style}
                    for c in self.choices
                ],
                "links": [
                    {"title": lk.title, "url": lk.url, "description": lk.description}
                    for lk in self.links
                ],
                "fields": [{"label": f.label, "value": f.value} for f in self.fields],
                "attachment": None if self.attachment is None else self.attachment.to_dict(),
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> Message:
        """Rebuild a message serialised by `to_json`."""
        data = json.loads(raw)
        att = data.get("attachment")
        return cls(
            text=data["text"],
            title=data.get("title", ""),
            private=data.get("private", True),
            urgent=data.get("urgent", False),
            expects_text=data.get("expects_text", False),
            thread_name=data.get("thread_name", ""),
            reply_to=data.get("reply_to", ""),
            language=data.get("language", DEFAULT_LANGUAGE),
            choices=tuple(
                Choice(
                    label=c["label"],
                    action=c["action"],
                    args=tuple((str(k), str(v)) for k, v in c.get("args", [])),
                    style=c.get("style", "default"),
                )
                for c in data.get("choices", [])
            ),
            links=tuple(
                Link(title=lk["title"], url=lk["url"], description=lk.get("description", ""))
                for lk in data.get("links", [])
            ),
            fields=tuple(Field(label=f["label"], value=f["value"]) for f in data.get("fields", [])),
            attachment=None if att is None else Attachment.from_dict(att),
        )


class SerialisedMessage(str):
    """A `Message` already serialised by `Message.to_json`, as the outbox stores it.

    Bulk callers fill a template serialised once (see `checkins.CheckinPromptJson`) instead
    of building and serialising thousands of equal messages.
    """

    __slots__ = ()


@dataclass(frozen=True)
class PostedCopy:
    """A message pushed earlier through the outbox, as the platform identifies it."""

    platform: str
    channel_id: str
    message_id: str


@dataclass(frozen=True)
class Reply:
    """The direct answer to the person who acted.

    `update` replaces the message whose button was pressed (the check-in edited in place);
    `messages` are sent after it, privately where the platform allows. `also_update` lists
    other delivered copies that `update` replaces too (an alert sent to several mentors).
    `error` is set when the request was refused (the refusal is also in `messages`), so a
    form can show it next to its fields. `needs_profile` asks the adapter to send the event
    again with the actor's profile: without it the person could not be identified (first
    contact, linked by email) or their missing time zone filled in.
    """

    messages: tuple[Message, ...] = ()
    update: Message | None = None
    also_update: tuple[PostedCopy, ...] = ()
    error: str | None = None
    # Nothing was done: ask again with the actor's profile (see `Actor.profile_omitted`).
    needs_profile: bool = False
    # The event queued messages for others (an alert for a mentor): the core then calls its
    # `on_queued` hook, which wakes the delivery loop.
    pushed: bool = False
    # What a form the adapter opens next starts with, by field (an answer being edited).
    form_values: tuple[tuple[str, str], ...] = ()
    # The language the person who acted is spoken to in: the words an adapter adds to this
    # answer (a modal it opens, an error next to a field) are in it.
    language: str = field(default_factory=current_language)

    @classmethod
    def say(cls, text: str, **kwargs: object) -> Reply:
        """A reply of one plain message."""
        return cls(messages=(Message(text=text, **kwargs),))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Recipient:
    """Where a pushed message goes: a person's DM on a platform, a channel, or a group.

    The core addresses a push with it (the outbox row stores it) and the delivery loop hands
    it to the platform's Messenger. With `member_ids` it is a group conversation of those
    platform users: a Slack multi-party DM, or a private Discord thread under the channel
    `channel_id`. A channel post or a group conversation has no `user_id` (stored as "");
    `person_id` is the person the row is for, when there is one.
    """

    platform: str
    user_id: str | None = None
    channel_id: str | None = None
    person_id: int | None = None
    member_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendResult:
    """What a platform said about one send."""

    message_id: str
    channel_id: str | None = None


class PermanentDeliveryError(Exception):
    """The platform will never accept this send (user gone, DMs closed)."""


class DirectMessagesClosed(PermanentDeliveryError):
    """The person does not take direct messages from the bot (Discord 50007).

    The services mark their identity once and tell their mentors once; the platform's
    Messenger then sends them nothing until they write to the bot again. `known` says the
    Messenger refused without asking the platform (the mark was already there).
    """

    def __init__(self, message: str, *, known: bool = False) -> None:
        super().__init__(message)
        self.known = known


class TransientDeliveryError(Exception):
    """The send may work later; `retry_after` is the platform's hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PlatformDeliveryError(TransientDeliveryError):
    """Nothing goes out on this platform until an operator acts (a bad token, an unknown error).

    The delivery loop reports it loudly, once, on the admins' other routes, and keeps the
    rows waiting instead of failing them one by one.
    """


class Messenger(Protocol):
    """Implemented by each adapter: push one message to one recipient."""

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """Deliver `message`; raise PermanentDeliveryError or TransientDeliveryError on failure."""
        ...


@runtime_checkable
class CopyRemover(Protocol):
    """A Messenger that can delete or edit a message it delivered earlier (erasure).

    Both raise PermanentDeliveryError when the platform refuses (not the bot's message, no
    access) and TransientDeliveryError when it may work later; a message already gone is done.
    """

    async def delete_copy(self, channel_id: str, message_id: str) -> None:
        """Delete one of the bot's delivered messages."""
        ...

    async def edit_copy(self, channel_id: str, message_id: str, message: Message) -> None:
        """Replace one of the bot's delivered messages with `message`."""
        ...


@runtime_checkable
class MessageEditor(Protocol):
    """Implemented by messengers that can edit a message they posted (an alert's copies)."""

    async def edit(self, copy: PostedCopy, message: Message) -> None:
        """Replace a posted message; raise PermanentDeliveryError when it is gone."""
        ...
