"""The console adapter: chat with the bot in a terminal, as any enrolled person.

Scriptable: with stdin not a terminal it reads one line at a time and prints the replies.
Numbers pick any choice (button) shown for the last line typed, across all its messages
and pushes; `/as EMAIL` switches person.
The Resolve button of an alert asks for the outcome and a note on the next lines (the
console's form), then submits them like the Slack and Discord modals do; the Answer button
of a group prompt takes the next line as the answer.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from dataclasses import dataclass, field
from typing import TextIO

from sqlmodel import select

from adapters.console.render import render_message
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.i18n import N_, _, current_language, speaking
from bot.model import (
    Actor,
    Choice,
    Inbound,
    Message,
    PostedCopy,
    Recipient,
    Reply,
    SendResult,
)
from bot.services.alert_lifecycle import outcome_choices
from bot.services.alerts import RESOLVE_ACTION, RESOLVE_FORM
from bot.services.language import language_of
from bot.services.meetings.records import RECORD_ACTION, RECORD_FORM
from bot.services.prompt_answers import ANSWER_ACTION, ANSWER_FORM
from storage.tables import Person

PLATFORM = "console"
CANCEL = "/cancel"


@dataclass
class ResolvePrompt:
    """The console's resolve form in progress: which alert, and the outcome once given."""

    alert_id: str
    outcome: str | None = None


@dataclass
class RecordPrompt:
    """The console's session-record form in progress: the meeting and the answers so far."""

    meeting_id: str
    answers: list[str] = field(default_factory=list)


# The record form's questions, in order, with the form field each answer fills (translated
# where they are asked).
RECORD_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("topics", N_("Topics: what did you talk about?")),
    ("actions", N_("Agreed actions (separate them with ';', or '-' for none):")),
    ("next", N_("Next step ('-' for none):")),
)


class ConsoleMessenger:
    """Pushes for the person at the keyboard are printed; others wait for their turn."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        # Every choice shown since the chat last reset it: pushes number on from the reply.
        self.shown: list[Choice] = []

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """Print a pushed message (the delivery loop only hands over the current user's)."""
        text, choices = render_message(message, first_number=len(self.shown) + 1)
        self.out.write(f"📬 {text}\n")
        self.out.flush()
        self.shown.extend(choices)
        return SendResult(message_id=uuid.uuid4().hex, channel_id=None)

    async def edit(self, copy: PostedCopy, message: Message) -> None:
        """A posted message changed (an alert with more messages): print its new state."""
        text, _choices = render_message(message)
        with speaking(message.language):
            updated = _("(updated)")
        self.out.write(f"✏️ {updated} {text}\n")
        self.out.flush()


class ConsoleChat:
    """One terminal conversation."""

    def __init__(
        self,
        core: MentorBot,
        delivery: OutboxDelivery,
        messenger: ConsoleMessenger,
        email: str,
        out: TextIO,
    ) -> None:
        self.core = core
        self.delivery = delivery
        self.messenger = messenger
        self.email = email.strip().lower()
        self.out = out
        self.choices: list[Choice] = []
        self.resolving: ResolvePrompt | None = None
        self.recording: RecordPrompt | None = None
        # The prompt round whose answer the next line is (after Answer or Edit).
        self.answering: str | None = None
        # The language the person at the keyboard was last answered in: the console's own
        # prompts (the resolve and record forms, "Nothing was changed.") are written in it.
        self.language: str = current_language()

    def say(self, text: str) -> None:
        """Write a line of the console's own words (already in `self.language`)."""
        self.out.write(text + "\n")

    def actor(self) -> Actor:
        """The console identity of the current person (keyed by email)."""
        return Actor(platform=PLATFORM, workspace="local", user_id=self.email, email=self.email)

    def inbound_for(self, line: str) -> Inbound | None:
        """Turn a typed line into an inbound event (None for console-only meta commands)."""
        text = line.strip()
        if text.isdigit() and self.choices:
            index = int(text) - 1
            if 0 <= index < len(self.choices):
                choice = self.choices[index]
                return Inbound(self.actor(), "action", choice.action, choice.args_dict())
        if text.startswith("/"):
            name, _sep, rest = text[1:].partition(" ")
            return Inbound(self.actor(), "command", name, {}, rest.strip())
        return Inbound(self.actor(), "text", "message", {}, text)

    def show(self, reply: Reply) -> None:
        """Print a reply and remember its choices for numbered answers."""
        self.language = reply.language
        messages = ([reply.update] if reply.update else []) + list(reply.messages)
        shown = self.messenger.shown
        for message in messages:
            text, choices = render_message(message, first_number=len(shown) + 1)
            shown.extend(choices)
            self.out.write(text + "\n")
        if shown or messages:
            self.choices = list(shown)
        self.out.flush()

    def _language_of(self, email: str) -> str:
        """The language of the person the console now speaks as (the programme's if unknown)."""
        with self.core.db.session() as session:
            person = session.exec(select(Person).where(Person.email == email)).first()
            return language_of(person, self.core.settings)

    async def handle_line(self, line: str) -> None:
        """Process one typed line: meta command, or core event, then deliver my pushes."""
        stripped = line.strip()
        if not stripped:
            return
        # One numbering for everything this line brings: the reply's messages, then pushes.
        self.messenger.shown = []
        if stripped.startswith("/as "):
            self.email = stripped[4:].strip().lower()
            self.choices = []
            self.language = self._language_of(self.email)
            with speaking(self.language):
                self.say(_("(you are now {email})").format(email=self.email))
        elif stripped in ("/quit", "/exit"):
            raise EOFError
        elif self.resolving is not None:
            await self.resolve_step(stripped)
        elif self.recording is not None:
            await self.record_step(stripped)
        elif self.answering is not None:
            await self.submit_answer(stripped)
        else:
            inbound = self.inbound_for(stripped)
            if inbound is not None and inbound.kind == "action" and inbound.name == RESOLVE_ACTION:
                await self.start_resolving(inbound)
            elif inbound is not None and inbound.kind == "action" and inbound.name == RECORD_ACTION:
                await self.start_recording(inbound)
            elif inbound is not None and inbound.kind == "action" and inbound.name == ANSWER_ACTION:
                await self.start_answering(inbound)
            elif inbound is not None:
                self.show(await self.core.ahandle(inbound))
        await self.deliver_mine()

    async def start_resolving(self, pressed: Inbound) -> None:
        """The Resolve button: once the core agrees the person may, ask for the outcome."""
        reply = await self.core.ahandle(pressed)
        self.language = reply.language
        if reply.error is not None:
            self.show(reply)
            return
        self.resolving = ResolvePrompt(alert_id=pressed.args.get("alert", ""))
        with speaking(self.language):
            lines = [
                _("Resolving alert #{alert}. How did it end?").format(alert=self.resolving.alert_id)
            ]
            lines += [f"  [{n}] {label}" for n, (_value, label) in enumerate(outcome_choices(), 1)]
            lines.append(_("(a number, or {cancel})").format(cancel=CANCEL))
        self.out.write("\n".join(lines) + "\n")

    async def resolve_step(self, line: str) -> None:
        """The next answer of the resolve form: the outcome, then the note (then submit)."""
        prompt = self.resolving
        assert prompt is not None
        if line == CANCEL:
            self.resolving = None
            with speaking(self.language):
                self.say(_("Nothing was changed."))
            return
        if prompt.outcome is None:
            outcomes = outcome_choices()
            if line.isdigit() and 1 <= int(line) <= len(outcomes):
                prompt.outcome = outcomes[int(line) - 1][0]
            else:
                prompt.outcome = line  # a typed outcome word; the core checks it
            with speaking(self.language):
                self.say(
                    _("A short note on what happened (kept encrypted), or {cancel}:").format(
                        cancel=CANCEL
                    )
                )
            return
        self.resolving = None
        args = {"alert": prompt.alert_id, "outcome": prompt.outcome, "note": line}
        self.show(await self.core.ahandle(Inbound(self.actor(), "form", RESOLVE_FORM, args)))

    async def start_answering(self, pressed: Inbound) -> None:
        """The Answer button: once the core agrees the prompt is open and theirs, ask."""
        reply = await self.core.ahandle(pressed)
        self.language = reply.language
        if reply.error is not None:
            self.show(reply)
            return
        self.answering = pressed.args.get("round", "")
        so_far = dict(reply.form_values).get("answer", "")
        with speaking(self.language):
            if so_far:
                self.say(_("Your answer so far: {answer}").format(answer=so_far))
            self.say(
                _(
                    "Your answer, on one line (only the bot sees it until the prompt closes), "
                    "or {cancel}:"
                ).format(cancel=CANCEL)
            )

    async def submit_answer(self, line: str) -> None:
        """The next line is the answer: submitted like the Slack and Discord modals."""
        round_id, self.answering = self.answering, None
        if line == CANCEL:
            with speaking(self.language):
                self.say(_("Nothing was sent."))
            return
        args = {"round": round_id or "", "answer": line}
        self.show(await self.core.ahandle(Inbound(self.actor(), "form", ANSWER_FORM, args)))

    async def start_recording(self, pressed: Inbound) -> None:
        """The session-record button: once the core agrees, ask the form's questions."""
        reply = await self.core.ahandle(pressed)
        self.language = reply.language
        if reply.error is not None:
            self.show(reply)
            return
        self.recording = RecordPrompt(meeting_id=pressed.args.get("meeting", ""))
        with speaking(self.language):
            self.say(
                _("Session record for meeting #{meeting} (kept encrypted; {cancel} stops).").format(
                    meeting=self.recording.meeting_id, cancel=CANCEL
                )
            )
            self.say(_(RECORD_QUESTIONS[0][1]))

    async def record_step(self, line: str) -> None:
        """The next answer of the record form; after the last, the form is submitted."""
        prompt = self.recording
        assert prompt is not None
        if line == CANCEL:
            self.recording = None
            with speaking(self.language):
                self.say(_("Nothing was changed."))
            return
        prompt.answers.append("" if line == "-" else line)
        if len(prompt.answers) < len(RECORD_QUESTIONS):
            with speaking(self.language):
                self.say(_(RECORD_QUESTIONS[len(prompt.answers)][1]))
            return
        self.recording = None
        args = {"meeting": prompt.meeting_id}
        args.update(
            {
                name: answer
                for (name, _question), answer in zip(RECORD_QUESTIONS, prompt.answers, strict=True)
            }
        )
        self.show(await self.core.ahandle(Inbound(self.actor(), "form", RECORD_FORM, args)))

    async def deliver_mine(self) -> None:
        """Deliver pushes addressed to the person at the keyboard (only theirs)."""
        before = len(self.messenger.shown)
        await self.delivery.deliver_once([PLATFORM], user_id=self.email)
        if len(self.messenger.shown) > before:
            self.choices = list(self.messenger.shown)

    async def run(self, stdin: TextIO | None = None) -> None:
        """Read lines until end of input."""
        source = stdin or sys.stdin
        interactive = source.isatty()
        if interactive:
            with speaking(self.language):
                self.say(
                    _(
                        "mentorbot console: you are {email}. Type /help, numbers pick options, "
                        "/as EMAIL switches person, /quit leaves."
                    ).format(email=self.email)
                )
        await self.deliver_mine()
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                self.out.write(f"{self.email}> ")
                self.out.flush()
            line = await loop.run_in_executor(None, source.readline)
            if not line:
                break
            try:
                await self.handle_line(line)
            except EOFError:
                break
