"""The console adapter: chat with the bot in a terminal, as any enrolled person.

Scriptable: with stdin not a terminal it reads one line at a time and prints the replies.
Numbers pick the choices (buttons) of the last message; `/as EMAIL` switches person.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import TextIO

from adapters.console.render import render_message
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.model import Actor, Choice, Inbound, Message, Recipient, Reply, SendResult

PLATFORM = "console"


class ConsoleMessenger:
    """Pushes for the person at the keyboard are printed; others wait for their turn."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.on_choices: list[Choice] = []

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """Print a pushed message (the delivery loop only hands over the current user's)."""
        text, choices = render_message(message)
        self.out.write(f"📬 {text}\n")
        self.out.flush()
        self.on_choices = choices or self.on_choices
        return SendResult(message_id=uuid.uuid4().hex, channel_id=None)


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
            name, _, rest = text[1:].partition(" ")
            return Inbound(self.actor(), "command", name, {}, rest.strip())
        return Inbound(self.actor(), "text", "message", {}, text)

    def show(self, reply: Reply) -> None:
        """Print a reply and remember its choices for numbered answers."""
        messages = ([reply.update] if reply.update else []) + list(reply.messages)
        shown: list[Choice] = []
        for message in messages:
            text, choices = render_message(message, first_number=len(shown) + 1)
            shown.extend(choices)
            self.out.write(text + "\n")
        if shown or messages:
            self.choices = shown
        self.out.flush()

    async def handle_line(self, line: str) -> None:
        """Process one typed line: meta command, or core event, then deliver my pushes."""
        stripped = line.strip()
        if not stripped:
            return
        if stripped.startswith("/as "):
            self.email = stripped[4:].strip().lower()
            self.choices = []
            self.out.write(f"(you are now {self.email})\n")
        elif stripped in ("/quit", "/exit"):
            raise EOFError
        else:
            inbound = self.inbound_for(stripped)
            if inbound is not None:
                self.show(await self.core.ahandle(inbound))
        await self.deliver_mine()

    async def deliver_mine(self) -> None:
        """Deliver pushes addressed to the person at the keyboard (only theirs)."""
        self.messenger.on_choices = []
        await self.delivery.deliver_once([PLATFORM], user_id=self.email)
        if self.messenger.on_choices:
            self.choices = self.messenger.on_choices

    async def run(self, stdin: TextIO | None = None) -> None:
        """Read lines until end of input."""
        source = stdin or sys.stdin
        interactive = source.isatty()
        if interactive:
            self.out.write(
                f"mentorbot console: you are {self.email}. Type /help, numbers pick options, "
                "/as EMAIL switches person, /quit leaves.\n"
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
