"""The core: one entry point, `MentorBot.handle(inbound) -> Reply`, for every adapter.

Order of work for every inbound event:
1. screen the student's free text with `bot.safety.assess` before anything else happens to it;
2. resolve the person, drop a retried platform event, and raise the alert that crisis or
   concern text calls for;
3. run the feature's command, action, form or text handler (`bot.registry.Registry.route`,
   the only routing) inside a savepoint, so a refusal or a failure
   rolls back the handler's changes and nothing else (the alert of step 2 stays);
4. commit, then return the direct reply (crisis help first); pushes to anyone else went to the
   outbox in the same transaction.

From step 2 on, the core speaks the actor's language (`bot.services.language.language_of`:
their own choice, the roster's, their platform's locale, the programme's default): the safety
messages, the early replies and the handler's answer are all written in it. Someone not
enrolled is answered in their platform's locale.

Events that arrive while the database is busy are handled together (`ahandle`): one
transaction, one commit and one thread hand-off for the lot (group commit), each event in its
own savepoint, except the plain mood answers of a burst, which `bot.services.answer_burst`
answers in bulk. A batch whose commit fails is handled again one event at a time in the
original two-transaction form (safety work committed on its own first), so a failure in one
event can neither lose nor block another's answer or alert.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sqlmodel import Session

from bot.clock import Clock
from bot.config import CoreSettings
from bot.errors import NotAllowed, UserError
from bot.group_commit import GroupCommit
from bot.i18n import DEFAULT_LANGUAGE, N_, _, normalise_language, speaking
from bot.model import Actor, Inbound, Message, Reply
from bot.outbox import outbox_rows_written
from bot.people import STUDENT, known_person, resolve_actor
from bot.registry import Context, Registry
from bot.safety import Assessment, Category, assess
from bot.services.alerts import unresolved_message_alert, who_is_told
from bot.services.answer_burst import MOOD_ACTION, answer_in_bulk, mood_presses
from bot.services.crisis import (
    respond_to_concern,
    respond_to_crisis,
    respond_to_stranger_crisis,
)
from bot.services.language import language_of
from bot.services.resources import as_links, suggest
from bot.services.unrostered import is_unrostered
from storage.db import Database
from storage.insert import insert_ignore
from storage.tables import Person, ProcessedEvent, StudentMessage

log = logging.getLogger(__name__)
NO_CONCERN = Assessment(level="none", reasons=())
SCREEN_FAILED = Assessment(
    level="concern", reasons=("safety.screen_failed",), categories=(Category.SCREEN_FAILED,)
)

NOT_ENROLLED = N_(
    "Hi! I'm the mentoring programme's bot, but you're not enrolled in the programme yet. "
    "Please ask your programme lead to add you."
)
SOMETHING_WENT_WRONG = N_(
    "Sorry, something went wrong on my side. Anything you wrote has been kept, and the "
    "programme team can see the error. Please try again in a moment."
)
# How many queued events one transaction takes at most: big enough to amortise the commit
# in a 09:00 burst, small enough that the first event in a batch isn't kept waiting long.
MAX_BATCH = 64


@dataclass(frozen=True)
class Screened:
    """An inbound event with its free text and the safety screen's verdict on it."""

    inbound: Inbound
    text: str
    assessment: Assessment


@dataclass(frozen=True)
class Prepared:
    """The outcome of step 2 for one event: who acted and the safety messages to show first.

    `person` is None when the actor is not enrolled; `duplicate` marks a platform retry of an
    event handled before. Holding the person keeps it in the session's identity map (a weak
    map), so the handler's step finds it without a second SELECT.
    """

    person: Person | None
    safety_messages: tuple[Message, ...] = ()
    duplicate: bool = False
    needs_profile: bool = False
    # The language the event is answered in (the actor's: see the module doc).
    language: str = DEFAULT_LANGUAGE

    @property
    def person_id(self) -> int | None:
        """The acting person's id, or None for someone not enrolled."""
        return self.person.id if self.person is not None else None


class PrepareFailed(Exception):
    """Step 2 failed inside a batch: the batch is abandoned and handled event by event."""


def _with_pushed(reply: Reply, pushed: bool) -> Reply:
    """The reply, marked when its event queued messages for others (see `Reply.pushed`)."""
    return replace(reply, pushed=True) if pushed and not reply.pushed else reply


def after_safety(item: Screened, messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """What of a handler's answer may follow the safety reply: the one place that decides.

    After the crisis card nothing else is said: no "Thanks for checking in 👋", no next
    check-in question, no study links, no pointer elsewhere, no "please retype that". The
    handler's work (the note, the mood, the goal) is still kept, a message updated in place
    still changes, and a form still gets its field error. After a concern reply the
    handler's answer follows as usual.
    """
    if item.assessment.level == "crisis":
        return ()
    return messages


# "/mood 1 i want to die": the score is not the student's words. Screened without it, the
# risky sentence a mentor reads has no stray digit in front.
_MOOD_SCORE = re.compile(r"\s*[1-5](?:/5)?(?=\s|$)\s*")


def words_of(inbound: Inbound, text: str) -> str:
    """The part of an event's free text the student wrote in words (what is screened)."""
    if inbound.kind == "command" and inbound.name.lower().lstrip("/") == "mood":
        return _MOOD_SCORE.sub("", text, count=1) if _MOOD_SCORE.match(text) else text
    return text


def locale_language(actor: Actor, settings: CoreSettings) -> str:
    """The language of someone the core can't look up: their platform's locale, else the default."""
    return (
        normalise_language(actor.locale)
        or normalise_language(settings.default_language)
        or DEFAULT_LANGUAGE
    )


def note_locale(person: Person, actor: Actor) -> None:
    """Remember the language the person's client is set to; written only when it changed."""
    if actor.locale is None:
        return  # this event doesn't say (a Slack event without the profile, a Discord DM)
    tag = normalise_language(actor.locale)
    if person.platform_language != tag:
        person.platform_language = tag


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
        *,
        registry: Registry,
        max_batch: int = MAX_BATCH,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.screen = screen
        # What the bot can do: the features, assembled by the composition root.
        self.registry = registry
        # Through a lambda, not the bound method: a test may wrap `handle_batch` afterwards.
        self._group_commit: GroupCommit[Inbound, Reply] = GroupCommit(
            lambda inbounds: self.handle_batch(inbounds), max_batch=max_batch
        )
        # Called after each `ahandle` with the event and its seconds (the entrance counts
        # events and latency for its metrics; the core knows no metrics library).
        self.on_handled: Callable[[Inbound, float], None] | None = None
        # Called (on the caller's thread: the event loop for `ahandle`) once an event's
        # transaction committed outbox rows for others (an alert for a mentor), so the
        # composition root can wake the delivery loop; adapters never do.
        self.on_queued = on_queued

    async def ahandle(self, inbound: Inbound) -> Reply:
        """`handle` off the event loop, together with whatever else arrived meanwhile."""
        started = time.perf_counter()
        reply = await self._group_commit.submit(inbound)
        self._queued(reply)
        if self.on_handled is not None:
            self.on_handled(inbound, time.perf_counter() - started)
        return reply

    def language_for(self, actor: Actor) -> str:
        """The language to answer `actor` in before an event is handled (reads only).

        An adapter that must speak first (a form opened within the platform's trigger
        window, a stale button) asks this: the person's own language if they are known,
        else their app's locale, else the programme's. A failed lookup is never an error.
        """
        try:
            with self.db.session() as session:
                person = known_person(session, actor)
                if person is not None:
                    return language_of(person, self.settings)
        except Exception:
            log.exception("could not look up the language of a %s actor", actor.platform)
        return locale_language(actor, self.settings)

    def handle(self, inbound: Inbound) -> Reply:
        """Handle one inbound event and return the direct reply; never raises."""
        reply = self.handle_batch((inbound,))[0]
        self._queued(reply)
        return reply

    def _queued(self, reply: Reply) -> None:
        """Tell `on_queued` when the event's committed work queued pushes (`Reply.pushed`)."""
        if reply.pushed and self.on_queued is not None:
            try:
                self.on_queued()
            except Exception:
                # The rows are committed: the delivery loop's next pass sends them anyway.
                log.exception("the on_queued hook failed")

    def handle_batch(self, inbounds: Sequence[Inbound]) -> list[Reply]:
        """Handle events in one transaction, each in its own savepoint; never raises.

        Replies come back in the order of `inbounds`, and only once everything is committed.
        """
        # Screening comes first; it costs microseconds and must never be skipped.
        screened = [self._screen(inbound) for inbound in inbounds]
        presses = mood_presses(inbounds)
        if len(screened) == 1 and not presses:
            return [self._handle_alone(screened[0])]
        try:
            with self.db.session() as session:
                # The plain mood answers of a burst first, all together; the rest one by one.
                # (A mood press carries no text, so it raises no safety alert that would have
                # to be committed ahead of it: one transaction is enough even when alone.)
                bulk = answer_in_bulk(
                    session,
                    self.settings,
                    self.clock.now(),
                    presses,
                    self.registry.actions.get(MOOD_ACTION),
                )
                replies = [
                    bulk[index] if index in bulk else self._handle_in(session, item)
                    for index, item in enumerate(screened)
                ]
        except Exception:
            # The commit failed, or step 2 of one event did: nothing of the batch was kept.
            log.warning(
                "a batch of %d events failed; handling them one by one",
                len(screened),
                exc_info=True,
            )
            return [self._handle_alone(item) for item in screened]
        return replies

    def _screen(self, inbound: Inbound) -> Screened:
        text = free_text_of(inbound)
        try:
            assessment = self.screen(words_of(inbound, text)) if text else NO_CONCERN
        except Exception:
            # A broken screen must not silence a student: a person reads it instead.
            log.exception("safety screen failed; treating the text as a concern")
            assessment = SCREEN_FAILED
        return Screened(inbound, text, assessment)

    def _handle_alone(self, item: Screened) -> Reply:
        """One event in two transactions: step 2 is committed before the handler runs."""
        inbound = item.inbound
        try:
            with self.db.session() as session:
                prepared = self._prepare(session, item)
                pushed = outbox_rows_written(session) > 0
        except Exception:
            log.exception("could not prepare inbound %s/%s", inbound.kind, inbound.name)
            with speaking(locale_language(inbound.actor, self.settings)):
                return Reply.say(_(SOMETHING_WENT_WRONG))
        with speaking(prepared.language):
            early = self._early_reply(item, prepared)
            if early is not None:
                return _with_pushed(early, pushed)
            assert prepared.person_id is not None
            try:
                with self.db.session() as session:
                    reply = self._run(session, item, prepared)
                    pushed = pushed or outbox_rows_written(session) > 0
            except Exception:
                log.exception("could not commit %s/%s", inbound.kind, inbound.name)
                self._keep_text(prepared.person_id, item)
                sorry = Message(text=_(SOMETHING_WENT_WRONG))
                failed = Reply(messages=(*prepared.safety_messages, sorry))
                return _with_pushed(failed, pushed)
            return _with_pushed(reply, pushed)

    def _handle_in(self, session: Session, item: Screened) -> Reply:
        """One event of a batch, inside the batch's transaction."""
        written = outbox_rows_written(session)
        try:
            prepared = self._prepare(session, item)
        except Exception as exc:
            # The session may hold half of step 2: only a fresh start is safe.
            raise PrepareFailed from exc
        with speaking(prepared.language):
            reply = self._early_reply(item, prepared) or self._run(session, item, prepared)
        return _with_pushed(reply, outbox_rows_written(session) > written)

    def _early_reply(self, item: Screened, prepared: Prepared) -> Reply | None:
        """The answer when the handler must not run: a retry, a stranger, an overlong text."""
        if prepared.needs_profile:
            return Reply(messages=(Message(text=_(NOT_ENROLLED)),), needs_profile=True)
        if prepared.duplicate:
            return Reply()  # a platform retry of an event handled before
        if prepared.person_id is None:
            if prepared.safety_messages:
                # The crisis card already says they are not enrolled; nothing cheerful after it.
                return Reply(messages=prepared.safety_messages)
            return Reply.say(_(NOT_ENROLLED))
        limit = self.settings.max_text_length
        if len(item.text) > limit:
            too_long = Message(
                text=_(
                    "That message is too long for me ({length} characters; the limit is "
                    "{limit}). Please send it in shorter parts."
                ).format(length=f"{len(item.text):,}", limit=f"{limit:,}")
            )
            return Reply(messages=(*prepared.safety_messages, too_long), error=too_long.text)
        return None

    def _run(self, session: Session, item: Screened, prepared: Prepared) -> Reply:
        """Run the handler in a savepoint: a refusal or a failure undoes only its own work."""
        inbound = item.inbound
        person_id = prepared.person_id
        safety_messages = prepared.safety_messages
        # Alone, step 2 ran in a transaction of its own: the person is read again in this one.
        person = prepared.person if prepared.person in session else session.get(Person, person_id)
        assert person is not None
        savepoint = session.begin_nested()
        try:
            now = self.clock.now()
            ctx = Context(
                session, self.settings, now, person, inbound, item.assessment, self.registry
            )
            reply = self.registry.route(ctx)
            savepoint.commit()
        except UserError as exc:
            savepoint.rollback()
            if isinstance(exc, NotAllowed):
                # Ids and entry names only: a refusal log must not copy what was written.
                log.info("refused %s/%s for person %s", inbound.kind, inbound.name, person_id)
            refusal = after_safety(item, (Message(text=exc.message),))
            return Reply(messages=(*safety_messages, *refusal), error=exc.message)
        except Exception:
            savepoint.rollback()
            log.exception("handler failed for %s/%s", inbound.kind, inbound.name)
            assert person_id is not None
            self._add_kept_text(session, person_id, item)
            return Reply(messages=(*safety_messages, Message(text=_(SOMETHING_WENT_WRONG))))
        if safety_messages:
            return replace(reply, messages=(*safety_messages, *after_safety(item, reply.messages)))
        return reply

    def _prepare(self, session: Session, item: Screened) -> Prepared:
        """Resolve the actor, de-duplicate the event, act on safety."""
        inbound, text, assessment = item.inbound, item.text, item.assessment
        person = resolve_actor(session, inbound.actor)
        if inbound.actor.profile_omitted and (person is None or person.timezone is None):
            # Linking by email, or filling the zone, needs the profile: nothing is done yet.
            language = locale_language(inbound.actor, self.settings)
            return Prepared(person=None, needs_profile=True, language=language)
        if person is None or is_unrostered(person):
            return self._prepare_stranger(session, item, person)
        note_locale(person, inbound.actor)
        language = language_of(person, self.settings)
        if inbound.event_id and not self._first_time(session, inbound):
            return Prepared(person=person, duplicate=True, language=language)
        session.flush()
        assert person.id is not None
        with speaking(language):
            messages = self._safety_messages(session, person, text, assessment)
        return Prepared(person=person, safety_messages=tuple(messages), language=language)

    def _prepare_stranger(
        self, session: Session, item: Screened, person: Person | None
    ) -> Prepared:
        """Someone not enrolled: "not enrolled", or in a crisis the lines and a staff alert.

        Nothing is stored about them unless the screen rates their words a crisis: then their
        alert reaches on-call staff through a provisional person (`respond_to_stranger_crisis`),
        found again next time (`person` here), so a repeat folds into the open alert, and so
        does a worrying (concern) message while that alert is unresolved.
        """
        inbound = item.inbound
        if person is None:
            language = locale_language(inbound.actor, self.settings)
        else:
            note_locale(person, inbound.actor)
            language = language_of(person, self.settings)
        # A worrying message after their crisis is added to the open alert (staff read it
        # there, as "Latest"); on its own it is no reason to store anything about them.
        folds = (
            item.assessment.level == "concern"
            and person is not None
            and person.id is not None
            and unresolved_message_alert(session, person.id) is not None
        )
        if item.assessment.level != "crisis" and not folds:
            return Prepared(person=None, language=language)
        if inbound.event_id and not self._first_time(session, inbound):
            return Prepared(person=None, duplicate=True, language=language)
        with speaking(language):
            if folds:
                assert person is not None
                reply = self._concern_reply(session, person, item.text, item.assessment)
            else:
                reply = respond_to_stranger_crisis(
                    session,
                    self.settings,
                    self.clock.now(),
                    inbound.actor,
                    item.text,
                    item.assessment,
                )
        return Prepared(person=None, safety_messages=(reply,), language=language)

    def _safety_messages(
        self, session: Session, person: Person, text: str, assessment: Assessment
    ) -> list[Message]:
        """Raise the alert the text calls for; the crisis card or concern reply to show first."""
        messages: list[Message] = []
        if person.role == STUDENT and assessment.level == "crisis":
            now = self.clock.now()
            reply, _unused = respond_to_crisis(
                session, self.settings, now, person, text, assessment
            )
            messages.append(reply)
        elif person.role == STUDENT and assessment.level == "concern":
            messages.append(self._concern_reply(session, person, text, assessment))
        return messages

    def _concern_reply(
        self, session: Session, person: Person, text: str, assessment: Assessment
    ) -> Message:
        """Raise (or fold) the concern alert; the reply saying who was told, with links."""
        respond_to_concern(session, self.settings, self.clock.now(), person, text, assessment)
        links = as_links(suggest(session, text, True, self.settings.resource_suggestions))
        return Message(
            text=_(
                "That sounds hard. I've let {who} know so they can check in with you. "
                "These might help in the meantime:"
            ).format(who=who_is_told(session, person)),
            links=links,
        )

    def _first_time(self, session: Session, inbound: Inbound) -> bool:
        values = {
            "platform": inbound.actor.platform,
            "event_id": inbound.event_id,
            "at": self.clock.now(),
        }
        return bool(insert_ignore(session, ProcessedEvent, values, returning=["id"]))

    def _add_kept_text(self, session: Session, person_id: int, item: Screened) -> None:
        """Keep what a student wrote when their handler failed, so it is never lost."""
        if item.text:
            session.add(
                StudentMessage(
                    person_id=person_id,
                    text=item.text[: self.settings.max_text_length],
                    safety_level=item.assessment.level,
                    received_at=self.clock.now(),
                )
            )

    def _keep_text(self, person_id: int, item: Screened) -> None:
        """After a failed transaction, keep the text in one of its own."""
        if not item.text:
            return
        try:
            with self.db.session() as session:
                self._add_kept_text(session, person_id, item)
        except Exception:
            log.exception("could not keep the text of a failed message")
