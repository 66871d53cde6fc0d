"""The core: one entry point, `MentorBot.handle(inbound) -> Reply`, for every adapter.

Order of work for every inbound event:
1. screen the student's free text with `bot.safety.assess` before anything else happens to it;
2. in a first transaction: resolve the person, drop a retried platform event, and raise the
   alert that crisis or concern text calls for (committed even if the command then fails);
3. in a second transaction: run the command, action, form or text handler;
4. return the direct reply (crisis help first); pushes to anyone else went to the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from bot.auth import authorize
from bot.clock import Clock
from bot.config import CoreSettings
from bot.errors import NotAllowed, UserError
from bot.model import Inbound, Message, Reply
from bot.people import STUDENT, resolve_actor
from bot.safety import Assessment, assess
from bot.services.crisis import respond_to_concern, respond_to_crisis
from bot.services.resources import as_links, suggest
from storage.db import Database
from storage.tables import Person, ProcessedEvent, StudentMessage

log = logging.getLogger(__name__)
NO_CONCERN = Assessment(level="none", reasons=())
SCREEN_FAILED = Assessment(level="concern", reasons=("safety.screen_failed",))

NOT_ENROLLED = (
    "Hi! I'm the mentoring programme's bot, but you're not enrolled in the programme yet. "
    "Please ask your programme lead to add you."
)
SOMETHING_WENT_WRONG = (
    "Sorry, something went wrong on my side. Anything you wrote has been kept, and the "
    "programme team can see the error. Please try again in a moment."
)


@dataclass
class Context:
    """Everything a handler needs for one inbound event, inside one unit of work."""

    session: Session
    settings: CoreSettings
    now: datetime
    person: Person
    inbound: Inbound
    assessment: Assessment

    @property
    def timezone(self) -> str:
        """The actor's time zone (or the programme default)."""
        return self.person.timezone or self.settings.default_timezone


Handler = Callable[[Context], Reply]


def free_text_of(inbound: Inbound) -> str:
    """The free text a person sent with an event: typed text, command text, form fields."""
    if inbound.kind == "form":
        return "\n".join(v for v in inbound.args.values() if isinstance(v, str))
    if inbound.kind in ("text", "command"):
        return inbound.text
    return ""


class MentorBot:
    """The platform-agnostic core."""

    def __init__(
        self,
        db: Database,
        settings: CoreSettings,
        clock: Clock,
        screen: Callable[[str], Assessment] = assess,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.screen = screen
        from bot.handlers import ACTIONS, COMMANDS, FORMS, handle_text

        self._commands: dict[str, Handler] = COMMANDS
        self._actions: dict[str, Handler] = ACTIONS
        self._forms: dict[str, Handler] = FORMS
        self._text: Handler = handle_text

    async def ahandle(self, inbound: Inbound) -> Reply:
        """`handle` off the event loop, so adapters stay responsive while the database works."""
        return await asyncio.to_thread(self.handle, inbound)

    def handle(self, inbound: Inbound) -> Reply:
        """Handle one inbound event and return the direct reply; never raises."""
        text = free_text_of(inbound)
        # Screening comes first; it costs microseconds and must never be skipped.
        try:
            assessment = self.screen(text) if text else NO_CONCERN
        except Exception:
            # A broken screen must not silence a student: a person reads it instead.
            log.exception("safety screen failed; treating the text as a concern")
            assessment = SCREEN_FAILED
        try:
            first = self._prepare(inbound, assessment, text)
        except Exception:
            log.exception("could not prepare inbound %s/%s", inbound.kind, inbound.name)
            return Reply.say(SOMETHING_WENT_WRONG)
        if first is None:
            return Reply()  # a platform retry of an event handled before
        person_id, safety_messages, enrolled = first
        if not enrolled:
            return Reply.say(NOT_ENROLLED)
        if len(text) > self.settings.max_text_length:
            too_long = Message(
                text=f"That message is too long for me ({len(text):,} characters; the limit is "
                f"{self.settings.max_text_length:,}). Please send it in shorter parts."
            )
            return Reply(messages=(*safety_messages, too_long), error=too_long.text)
        try:
            with self.db.session() as session:
                person = session.get(Person, person_id)
                assert person is not None
                ctx = Context(session, self.settings, self.clock.now(), person, inbound, assessment)
                reply = self._route(ctx)
        except UserError as exc:
            if isinstance(exc, NotAllowed):
                # Ids and entry names only: a refusal log must not copy what was written.
                log.info("refused %s/%s for person %s", inbound.kind, inbound.name, person_id)
            return Reply(messages=(*safety_messages, Message(text=exc.message)), error=exc.message)
        except Exception:
            log.exception("handler failed for %s/%s", inbound.kind, inbound.name)
            self._keep_text(person_id, text, assessment)
            return Reply(messages=(*safety_messages, Message(text=SOMETHING_WENT_WRONG)))
        if safety_messages:
            return replace(reply, messages=(*safety_messages, *reply.messages))
        return reply

    def _prepare(
        self, inbound: Inbound, assessment: Assessment, text: str
    ) -> tuple[int, tuple[Message, ...], bool] | None:
        """Resolve the actor, de-duplicate the event, act on safety; committed on its own."""
        with self.db.session() as session:
            person = resolve_actor(session, inbound.actor)
            if person is None:
                session.rollback()
                return (0, (), False)
            if inbound.event_id and not self._first_time(session, inbound):
                return None
            session.flush()
            assert person.id is not None
            messages: list[Message] = []
            if person.role == STUDENT and assessment.level == "crisis":
                now = self.clock.now()
                reply, _alert = respond_to_crisis(
                    session, self.settings, now, person, text, assessment
                )
                messages.append(reply)
            elif person.role == STUDENT and assessment.level == "concern":
                now = self.clock.now()
                respond_to_concern(session, self.settings, now, person, text, assessment)
                links = as_links(suggest(session, text, True, self.settings.resource_suggestions))
                messages.append(
                    Message(
                        text="That sounds hard. I've let your mentor know so they can check in "
                        "with you. These might help in the meantime:",
                        links=links,
                    )
                )
            return (person.id, tuple(messages), True)

    def _first_time(self, session: Session, inbound: Inbound) -> bool:
        values = {
            "platform": inbound.actor.platform,
            "event_id": inbound.event_id,
            "at": self.clock.now(),
        }
        stmt: Any
        if session.get_bind().dialect.name == "postgresql":
            stmt = pg_insert(ProcessedEvent).values(values).on_conflict_do_nothing()
        else:
            stmt = sqlite_insert(ProcessedEvent).values(values).on_conflict_do_nothing()
        # RETURNING, not rowcount: with psycopg an INSERT ... RETURNING reports rowcount -1,
        # which would make every retried event look new on PostgreSQL.
        return session.execute(stmt.returning(ProcessedEvent.id)).first() is not None

    def _route(self, ctx: Context) -> Reply:
        inbound = ctx.inbound
        if inbound.kind == "command":
            handler = self._commands.get(inbound.name.lower().lstrip("/"))
            if handler is None:
                raise UserError(
                    f"I don't know the command '{inbound.name}'. Type /help to see what I can do."
                )
            authorize(ctx.person, handler, f"command {inbound.name}")
            return handler(ctx)
        if inbound.kind == "action":
            action = self._actions.get(inbound.name)
            if action is None:
                raise UserError("That button doesn't do anything any more. Type /help for options.")
            authorize(ctx.person, action, f"action {inbound.name}")
            return action(ctx)
        if inbound.kind == "form":
            form = self._forms.get(inbound.name)
            if form is None:
                raise UserError("I don't recognise that form. Type /help for options.")
            authorize(ctx.person, form, f"form {inbound.name}")
            return form(ctx)
        authorize(ctx.person, self._text, "text")
        return self._text(ctx)

    def _keep_text(self, person_id: int, text: str, assessment: Assessment) -> None:
        """After an unexpected failure, keep what a student wrote so it is never lost."""
        if not text:
            return
        try:
            with self.db.session() as session:
                session.add(
                    StudentMessage(
                        person_id=person_id,
                        text=text[: self.settings.max_text_length],
                        safety_level=assessment.level,
                        received_at=self.clock.now(),
                    )
                )
        except Exception:
            log.exception("could not keep the text of a failed message")
