"""Features and the registry: what the bot can do, declared once, routed once.

A feature (`bot/features/<name>.py`) declares everything it adds in one `Feature` record:
its commands with their arguments and help, its buttons (actions) and forms, what it does
with free text, its scheduled jobs and the tables that hold personal data. The composition
root (`mentorbot.app`) assembles the features into a `Registry` and injects it into the core
(`bot.core.MentorBot`) and the tick (`bot.tick.run_due_work`); the adapters derive their
command lists and help from the same registry, so no list can drift from another.

Help texts, summaries and refusals are declared in English marked with `N_` and translated
where they are shown (`help_rows`, `usage_error`, `parse_value`), in the actor's language;
platform command registration (Discord) reads the English as declared.

Routing happens here, once: `Registry.route(ctx)` finds the handler for a command, action,
form or free text, checks the actor's role (`bot.auth.authorize`), parses a command's
arguments with the shared parsers of `bot.args` and calls the handler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from sqlmodel import Session

from bot.args import (
    parse_day,
    parse_email,
    parse_int,
    parse_time,
    parse_zone,
    record_id,
    split_words,
)
from bot.auth import allowed_roles, authorize
from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import N_, _
from bot.model import Inbound, Reply
from bot.personal_data import PersonalData
from bot.safety import Assessment
from storage.db import Database
from storage.tables import Person

T = TypeVar("T")


@dataclass
class Context:
    """Everything a handler needs for one inbound event, inside one unit of work."""

    session: Session
    settings: CoreSettings
    now: datetime
    person: Person
    inbound: Inbound
    assessment: Assessment
    registry: Registry | None = None
    args: Args = field(default_factory=lambda: Args({}))
    # The command being run (its `sub` tells a family's shared handler which variant).
    command: Command | None = None

    @property
    def timezone(self) -> str:
        """The actor's time zone (or the programme default)."""
        return self.person.timezone or self.settings.default_timezone

    def button(self, name: str) -> str:
        """A button's argument; a friendly error when an old or forged button lacks it."""
        value = self.inbound.args.get(name)
        if value is None:
            raise UserError(
                _("That button is missing something. Please try again from a new message.")
            )
        return value


Handler = Callable[[Context], Reply]
# Free text a feature may claim before it is kept as a message (a check-in note, a comment).
TextClaim = Callable[[Context, str], Reply | None]


class ArgKind(StrEnum):
    """How an argument is typed and parsed; adapters type their options from it."""

    ID = "id"  # a record's number: out of range reads as "no such ..."
    INT = "int"  # a whole number within `low`..`high`
    WORD = "word"  # one word (or one quoted name)
    CHOICE = "choice"  # one of `choices`
    DATE = "date"  # YYYY-MM-DD
    TIME = "time"  # HH:MM
    ZONE = "zone"  # an IANA time zone
    EMAIL = "email"
    TEXT = "text"  # the rest of the line, spacing kept (always last)


@dataclass(frozen=True)
class Arg:
    """One argument of a command: how it is typed, parsed, described and refused.

    `help` and `invalid` are English marked with `N_`; they are translated where shown.
    """

    name: str
    kind: ArgKind
    help: str
    optional: bool = False
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    # The answer when an ID names nothing or a number is off; `{raw}` is what was typed.
    invalid: str = ""
    # How it shows in a usage line, when its name doesn't say it (`...` for free words).
    shown: str = ""

    @property
    def placeholder(self) -> str:
        """How the argument shows in a usage line: ID, 0-100, YYYY-MM-DD, ..."""
        if self.shown:
            return self.shown
        if self.kind is ArgKind.INT and self.low is not None and self.high is not None:
            shown = f"{self.low}-{self.high}"
        elif self.kind is ArgKind.CHOICE:
            shown = "|".join(self.choices)
        elif self.kind is ArgKind.DATE:
            shown = "YYYY-MM-DD"
        elif self.kind is ArgKind.TIME:
            shown = "HH:MM"
        else:
            shown = self.name.upper()
        return f"[{shown}]" if self.optional else shown


@dataclass(frozen=True)
class Command:
    """One command, or one subcommand of a family (`/goal progress`), and its handler.

    `summary` is English marked with `N_` (help translates it; registration keeps it).

    A family is every `Command` with the same `name`; `sub` names the variant and the one
    marked `default` answers the bare command (`/goal` lists goals). Roles come from the
    handler's `@allow(...)`, so the help and the check can't disagree.
    """

    name: str
    summary: str
    handler: Handler
    sub: str = ""
    args: tuple[Arg, ...] = ()
    # Other words for this variant's `sub` (`/goal complete` is `/goal done`).
    aliases: tuple[str, ...] = ()
    default: bool = False
    example: str = ""
    # Other names of the whole command (`/goals` is `/goal`), declared on any one variant.
    other_names: tuple[str, ...] = ()

    @property
    def roles(self) -> tuple[str, ...]:
        """Who may run it (from the handler's @allow)."""
        return allowed_roles(self.handler) or ()

    @property
    def usage(self) -> str:
        """The usage line: `/goal progress ID 0-100`."""
        parts = [f"/{self.name}", self.sub, *(arg.placeholder for arg in self.args)]
        return " ".join(part for part in parts if part)

    def usage_error(self) -> UserError:
        """The refusal for words that don't fit: how to use it, with the example."""
        if self.example:
            return UserError(
                _("Use {usage}, for example: {example}.").format(
                    usage=self.usage, example=self.example
                )
            )
        return UserError(_("Use {usage}.").format(usage=self.usage))


@dataclass(frozen=True)
class Sub:
    """One variant of a family whose words its service parses (see `word_family`)."""

    sub: str
    summary: str
    example: str = ""
    aliases: tuple[str, ...] = ()
    default: bool = False
    other_names: tuple[str, ...] = ()


DETAILS = Arg(
    "details",
    ArgKind.TEXT,
    N_("The rest of the command, as you'd type it"),
    optional=True,
    shown="...",
)


def word_family(name: str, handler: Handler, subs: Sequence[Sub]) -> tuple[Command, ...]:
    """A family whose variants share one handler that passes the words to a service parser.

    Workshops, groups, prompts, pairing and schedules have rich grammars of their own
    (`"Exam stress" 2026-12-01 16:00 Europe/London 60 cap 12`); their services parse the
    words with `bot.args`, and the registry still knows every variant for help and Discord.
    """
    return tuple(
        Command(
            name,
            sub.summary,
            handler,
            sub=sub.sub,
            args=(DETAILS,),
            aliases=sub.aliases,
            default=sub.default,
            example=sub.example,
            other_names=sub.other_names,
        )
        for sub in subs
    )


def typed_words(ctx: Context) -> str:
    """`SUB DETAILS` as typed, for a word family's service parser."""
    sub = ctx.command.sub if ctx.command is not None else ""
    return f"{sub} {ctx.args.text('details')}".strip()


@dataclass(frozen=True)
class Args:
    """A command's parsed arguments, by name."""

    values: Mapping[str, object]

    def get(self, name: str, kind: type[T]) -> T | None:
        """The parsed value, or None when an optional argument was not given."""
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, kind):
            raise TypeError(f"argument {name} is {type(value).__name__}, not {kind.__name__}")
        return value

    def need(self, name: str, kind: type[T]) -> T:
        """The parsed value of a required argument."""
        value = self.get(name, kind)
        if value is None:
            raise KeyError(name)
        return value

    def text(self, name: str) -> str:
        """A text or word argument, "" when absent."""
        return self.get(name, str) or ""


class JobOutcome(Protocol):
    """What one scheduled job did: whether it queued messages and lines for the log."""

    @property
    def queued(self) -> bool:
        """True when it wrote to the outbox (the delivery loop should look now)."""
        ...

    def lines(self) -> list[str]:
        """Human-readable lines for the log (none when it did nothing)."""
        ...


@dataclass(frozen=True)
class Window:
    """The stretch of time one tick covers: occurrences in `(start, end]` are due."""

    start: datetime
    end: datetime

    @property
    def new(self) -> bool:
        """Whether any time passed since the last tick (window jobs run only then)."""
        return self.start < self.end


@dataclass(frozen=True)
class Job:
    """A feature's scheduled work, run by every tick (and its catch-up) in registry order.

    `run` must be idempotent: a tick may run twice, after a crash, or in two processes.
    `window` jobs run only over new time and hold the watermark back when they fail.
    """

    name: str
    run: Callable[[Database, CoreSettings, Window], JobOutcome]
    window: bool = False


@dataclass(frozen=True)
class Count:
    """The outcome of a job that only counts what it did."""

    what: str
    n: int = 0
    queues: bool = True

    @property
    def queued(self) -> bool:
        """True when it queued something."""
        return self.queues and self.n > 0

    def lines(self) -> list[str]:
        """One line when it did anything."""
        return [f"{self.what}: {self.n}"] if self.n else []


def session_job(
    name: str, what: str, work: Callable[[Session, CoreSettings, datetime], int]
) -> Job:
    """A job that runs `work(session, settings, now)` in one transaction and counts."""

    def run(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
        with db.session() as session:
            return Count(what, work(session, settings, window.end))

    return Job(name, run)


@dataclass(frozen=True)
class Feature:
    """One feature in one place (see the module docstring)."""

    name: str
    summary: str
    commands: tuple[Command, ...] = ()
    actions: Mapping[str, Handler] = field(default_factory=dict)
    forms: Mapping[str, Handler] = field(default_factory=dict)
    text_claims: tuple[TextClaim, ...] = ()
    # The one feature that answers free text nobody claimed (keeps it, offers help).
    text_fallback: Handler | None = None
    jobs: tuple[Job, ...] = ()
    personal_data: tuple[PersonalData, ...] = ()


@dataclass(frozen=True)
class HelpRow:
    """One line of generated help: the usage and what it does (in the spoken language)."""

    usage: str
    summary: str


class Registry:
    """The assembled features: lookups for routing, help, jobs and personal data."""

    def __init__(self, features: Sequence[Feature]) -> None:
        self.features: tuple[Feature, ...] = tuple(features)
        self.families: dict[str, list[Command]] = {}
        self._names: dict[str, str] = {}
        self.actions: dict[str, Handler] = {}
        self.forms: dict[str, Handler] = {}
        fallbacks = [f.text_fallback for f in features if f.text_fallback is not None]
        if len(fallbacks) != 1:
            raise ValueError(f"exactly one feature must answer free text, found {len(fallbacks)}")
        self.text_fallback: Handler = fallbacks[0]
        for feature in features:
            for command in feature.commands:
                self._add_command(command)
            for table, kind in ((feature.actions, self.actions), (feature.forms, self.forms)):
                for name, handler in table.items():
                    if allowed_roles(handler) is None:
                        raise ValueError(f"{feature.name}: '{name}' has no @allow")
                    if name in kind:
                        raise ValueError(f"{feature.name}: '{name}' is declared twice")
                    kind[name] = handler
        for name, family in self.families.items():
            if len(family) > 1 and not any(c.default for c in family):
                # A family's bare command must go somewhere: the first variant by default.
                raise ValueError(f"/{name} has subcommands but none is the default")

    def _add_command(self, command: Command) -> None:
        if allowed_roles(command.handler) is None:
            raise ValueError(f"/{command.name} {command.sub}: the handler has no @allow")
        if any(arg.kind is ArgKind.TEXT for arg in command.args[:-1]):
            raise ValueError(f"/{command.name} {command.sub}: a TEXT argument must come last")
        family = self.families.setdefault(command.name, [])
        if any(c.sub == command.sub for c in family):
            raise ValueError(f"/{command.name} {command.sub} is declared twice")
        family.append(command)
        for alias in (command.name, *command.other_names):
            owner = self._names.setdefault(alias, command.name)
            if owner != command.name:
                raise ValueError(f"/{alias} names both /{owner} and /{command.name}")

    # ------------------------------------------------------------------ lookups

    @property
    def commands(self) -> list[Command]:
        """Every command and subcommand, in declaration order."""
        return [command for family in self.families.values() for command in family]

    @property
    def names(self) -> list[str]:
        """Every name a command answers to (`goal`, `goals`, ...)."""
        return list(self._names)

    @property
    def jobs(self) -> list[Job]:
        """Every feature's scheduled jobs, in feature order."""
        return [job for feature in self.features for job in feature.jobs]

    @property
    def personal_data(self) -> list[PersonalData]:
        """Every table holding personal data."""
        return [table for feature in self.features for table in feature.personal_data]

    @property
    def text_claims(self) -> list[TextClaim]:
        """Claims on free text, in feature order."""
        return [claim for feature in self.features for claim in feature.text_claims]

    def family(self, typed: str) -> list[Command] | None:
        """The commands answering `/typed` (a name or an alias), or None."""
        name = self._names.get(typed.lower().lstrip("/"))
        return self.families.get(name) if name is not None else None

    def help_rows(self, role: str) -> list[HelpRow]:
        """The generated help for one role: every command they may run, in order.

        Summaries are translated into the language being spoken; usage lines stay as typed.
        """
        rows: list[HelpRow] = []
        for command in self.commands:
            if role in command.roles:
                rows.append(HelpRow(command.usage, _(command.summary)))
        return rows

    # ------------------------------------------------------------------ routing

    def route(self, ctx: Context) -> Reply:
        """Run the handler for `ctx.inbound` (the core's only way into a feature)."""
        ctx.registry = self
        inbound = ctx.inbound
        if inbound.kind == "command":
            return self.run_command(ctx, inbound.name, inbound.text)
        if inbound.kind == "action":
            action = self.actions.get(inbound.name)
            if action is None:
                raise UserError(
                    _("That button doesn't do anything any more. Type /help for options.")
                )
            authorize(ctx.person, action, f"action {inbound.name}")
            return action(ctx)
        if inbound.kind == "form":
            form = self.forms.get(inbound.name)
            if form is None:
                raise UserError(_("I don't recognise that form. Type /help for options."))
            authorize(ctx.person, form, f"form {inbound.name}")
            return form(ctx)
        return self.handle_text(ctx)

    def run_command(self, ctx: Context, typed: str, text: str) -> Reply:
        """Find the command `/typed text`, check the role, parse its arguments, run it."""
        family = self.family(typed)
        if family is None:
            raise UserError(
                _("I don't know the command '/{command}'. Type /help to see what I can do.").format(
                    command=typed.lstrip("/")
                )
            )
        command, rest = pick_variant(family, text)
        authorize(ctx.person, command.handler, f"command {command.name} {command.sub}".strip())
        given = ctx.inbound.args if ctx.inbound.kind == "command" else {}
        ctx.args = parse_args(command, rest, given)
        ctx.command = command
        return command.handler(ctx)

    def handle_text(self, ctx: Context) -> Reply:
        """Free text: a typed command, a feature's claim, else the fallback (kept and answered)."""
        text = ctx.inbound.text.strip()
        if not text:
            return Reply()
        if text.startswith("/"):
            name, _sep, rest = text[1:].partition(" ")
            return self.run_command(ctx, name, rest)
        for claim in self.text_claims:
            reply = claim(ctx, text)
            if reply is not None:
                return reply
        authorize(ctx.person, self.text_fallback, "text")
        return self.text_fallback(ctx)


def pick_variant(family: Sequence[Command], text: str) -> tuple[Command, str]:
    """The variant of a family that `text` asks for, and the text after its subcommand word."""
    if len(family) == 1 and not family[0].sub:
        return family[0], text
    words = split_words(text)
    first = words.items[0].lower() if words.items else ""
    for command in family:
        if first and (first == command.sub or first in command.aliases):
            return command, words.rest_after(1)
    default = next(c for c in family if c.default)
    if first:
        subs = ", ".join(c.sub for c in family if c.sub)
        raise UserError(
            _("I don't know '/{command} {word}'. Try /{command} {subs}.").format(
                command=default.name, word=first, subs=subs
            )
        )
    return default, text


def parse_args(command: Command, text: str, given: Mapping[str, str]) -> Args:
    """Parse `text` (or the platform's named options in `given`) by the command's specs.

    Named options win: Discord sends typed options, Slack and the console send words.
    """
    words = split_words(text)
    values: dict[str, object] = {}
    index = 0
    for arg in command.args:
        raw: str | None = given.get(arg.name)
        if raw is None:
            if arg.kind is ArgKind.TEXT:
                raw = words.rest_after(index)
                index = len(words.items)
            elif index < len(words.items):
                raw = words.items[index]
                index += 1
        if raw is None or not raw.strip():
            if not arg.optional:
                raise command.usage_error()
            continue
        values[arg.name] = parse_value(command, arg, raw)
    if index < len(words.items) and not given:
        # Words left over that no argument takes: say how it is used, store nothing.
        raise command.usage_error()
    return Args(values)


def parse_value(command: Command, arg: Arg, raw: str) -> object:
    """One argument's value, parsed by its kind, or a friendly UserError."""
    kind = arg.kind
    refusal = (
        UserError(_(arg.invalid).replace("{raw}", raw.strip()))
        if arg.invalid
        else command.usage_error()
    )
    if kind is ArgKind.ID:
        value = record_id(raw)
        if value is None:
            raise refusal
        return value
    if kind is ArgKind.INT:
        low = arg.low if arg.low is not None else -(10**9)
        high = arg.high if arg.high is not None else 10**9
        return parse_int(raw, low, high, refusal.message)
    if kind is ArgKind.CHOICE:
        choice = raw.strip().lower()
        if choice not in arg.choices:
            raise refusal
        return choice
    if kind is ArgKind.DATE:
        return parse_day(raw)
    if kind is ArgKind.TIME:
        return parse_time(raw)
    if kind is ArgKind.ZONE:
        return parse_zone(raw)
    if kind is ArgKind.EMAIL:
        return parse_email(raw)
    return raw.strip()
