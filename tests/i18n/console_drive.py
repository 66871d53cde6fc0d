"""The scenario on the console: typed lines, every new button pressed once, forms, a week of jobs.

The console's own words count too (its prompts for the resolve and record forms, "you are
now ..."): everything it prints is what a console user reads.
"""

from __future__ import annotations

import io
from datetime import timedelta

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.services.delivery_events import ServiceDeliveryEvents
from tests.i18n.shapes import (
    ALEX,
    ANSWER,
    AVERY,
    DO_NOT_PRESS,
    MAYA,
    NEXT,
    RESOLVE_NOTE,
    SAM,
    TOPICS,
    Seen,
    command_lines,
    script,
)
from tests.scheduling.world import set_watermark
from tests.tick import run_due_work

EVERYONE = (SAM, ALEX, MAYA, AVERY)


class ConsoleRun:
    """One console conversation that records what each line printed."""

    def __init__(self, core: MentorBot, clock: FixedClock, settings: CoreSettings) -> None:
        self.out = io.StringIO()
        messenger = ConsoleMessenger(self.out)
        delivery = OutboxDelivery(
            core.db, {"console": messenger}, clock, settings, ServiceDeliveryEvents(settings)
        )
        self.chat = ConsoleChat(core, delivery, messenger, SAM, self.out)
        self.core, self.clock, self.settings = core, clock, settings
        self.seen: list[Seen] = []
        self.pressed: set[str] = set()

    async def type(self, who: str, line: str, origin: str | None = None) -> None:
        """`who` types `line`; then every button not pressed before is pressed once."""
        await self.become(who)
        await self._line(line, origin or f"{who}: {line}")
        await self.press_new(who)

    async def become(self, who: str) -> None:
        """Switch person (which delivers their waiting pushes)."""
        if self.chat.email != who:
            await self._line(f"/as {who}", f"{who}: (switches to them; their pushes arrive)")

    async def _line(self, line: str, origin: str) -> None:
        start = len(self.out.getvalue())
        await self.chat.handle_line(line)
        self.seen.append(Seen("console", origin, self.out.getvalue()[start:]))

    async def press_new(self, who: str) -> None:
        """Press, once per action, each button now on screen (forms answered as asked)."""
        for _round in range(40):
            fresh = [
                (n, c)
                for n, c in enumerate(self.chat.choices, 1)
                if c.action not in self.pressed and c.action not in DO_NOT_PRESS
            ]
            if not fresh:
                return
            number, choice = fresh[0]
            self.pressed.add(choice.action)
            await self._line(str(number), f"{who}: presses '{choice.label}' ({choice.action})")
            await self.answer_forms(who)

    async def answer_forms(self, who: str) -> None:
        """The console's forms after Resolve, Record and Answer ask on the next lines."""
        if self.chat.resolving is not None:
            await self._line("1", f"{who}: resolve form, outcome")
            await self._line(RESOLVE_NOTE, f"{who}: resolve form, note")
        if self.chat.recording is not None:
            for answer in (TOPICS, "-", NEXT):
                await self._line(answer, f"{who}: record form")
        if self.chat.answering is not None:
            await self._line(ANSWER, f"{who}: prompt answer form")

    async def deliver_all(self, when: str) -> None:
        """Everyone reads what was pushed to them (and presses what is new)."""
        for who in EVERYONE:
            start = len(self.out.getvalue())
            await self.chat.handle_line(f"/as {who}")
            self.seen.append(
                Seen("console", f"push to {who} ({when})", self.out.getvalue()[start:])
            )
            await self.press_new(who)
        await self.chat.handle_line(f"/as {SAM}")

    async def week_of_jobs(self, days: int = 8, step_hours: int = 2) -> None:
        """Run the scheduled jobs for a week, reading the pushes twice a day."""
        start = self.clock.now()
        set_watermark(self.core.db, start)
        at = start
        end = start + timedelta(days=days)
        ticks = 0
        while at < end:
            at += timedelta(hours=step_hours)
            self.clock.set(at)
            run_due_work(self.core.db, self.settings, at)
            ticks += 1
            if ticks % (12 // step_hours) == 0:
                await self.deliver_all(f"jobs up to {at:%a %H:%M} UTC")

    async def everything(self) -> list[Seen]:
        """The whole scenario: script, a week of jobs, every command bare and by example."""
        for who, line in script():
            await self.type(who, line)
        await self.deliver_all("after the script")
        await self.week_of_jobs()
        for who, line in command_lines():
            await self.type(who, line)
        await self.deliver_all("at the end")
        return self.seen
