"""The slash commands, generated from the feature registry: options in, a command Inbound out.

Every family of the registry (`bot.registry.Registry.families`) becomes one slash command: a
family with a single sub-less command is a top-level command (`/mood`), one with subcommands
an `app_commands.Group` with one subcommand per variant (`/goal list`, `/goal progress`).
Options are typed from each `Arg`'s kind, so Discord itself refuses a word where a number
belongs or an id too large to store.

The core reads a command's ``text`` like typed words (``/goal progress 3 50``) and screens it
for safety, so free-text options such as a mood note always travel in ``text`` too; the same
values go by name in ``args``, which the registry's parser prefers.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, Optional, Protocol

import discord
from discord import app_commands

from adapters.discord.custom_ids import form_custom_id, form_with_ref
from bot.i18n import (
    DEFAULT_LANGUAGE,
    N_,
    _,
    current_language,
    normalise_language,
    speaking,
)
from bot.registry import Arg, ArgKind, Command, Registry

GOAL_FORM = "goal.add"
RESOLVE_FORM = "alert.resolve"
ANSWER_FORM = "prompt.answer"
#: The core refuses longer answers; Discord enforces this in the modal itself.
MAX_ANSWER_INPUT = 3000
RECORD_FORM = "meeting.record"
#: Discord's limits on a modal's title, an input's label and its placeholder.
MAX_MODAL_TITLE = 45
MAX_INPUT_LABEL = 45
MAX_PLACEHOLDER = 100


class Answerer(Protocol):
    """The client side of a command: build the actor and answer with the core's reply."""

    async def answer_command(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        text: str = "",
        args: dict[str, str] | None = None,
        *,
        kind: Literal["command", "action"] = "command",
    ) -> None:
        """Send a command (or action) to the core and answer the interaction with its reply."""
        ...


def _answerer(interaction: discord.Interaction[Any]) -> Answerer:
    # The tree only ever runs on MentorDiscordClient, which implements Answerer.
    client: Answerer = interaction.client
    return client


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _translated(text: str | None) -> str:
    return _(text) if text else ""


def localise(modal: discord.ui.Modal, language: str | None) -> discord.ui.Modal:
    """Put a modal's title, labels and placeholders into `language` (the spoken one if None).

    The classes below name their words in English (marked with `N_`); each opened modal is a
    fresh copy whose words are replaced by their translations.
    """
    with speaking(language or current_language()):
        modal.title = _clip(_translated(modal.title), MAX_MODAL_TITLE)
        for item in modal.children:
            if isinstance(item, discord.ui.TextInput):
                # The label through the component itself: discord.py's deprecated `label`
                # property (superseded by discord.ui.Label) resets the process's warning
                # filters each time it is used.
                component = item._underlying
                component.label = _clip(_translated(component.label), MAX_INPUT_LABEL)
                if item.placeholder:
                    item.placeholder = _clip(_(item.placeholder), MAX_PLACEHOLDER)
    return modal


def interaction_language(interaction: discord.Interaction[Any]) -> str | None:
    """The language of the person's Discord client (for a form opened before the core is asked)."""
    locale = getattr(interaction, "locale", None)
    return normalise_language(str(getattr(locale, "value", locale) or ""))


class GoalModal(discord.ui.Modal, title=N_("New goal")):
    """The add-goal form. Its submit is decoded in the client by custom id (see ``open``)."""

    goal_title: discord.ui.TextInput[GoalModal] = discord.ui.TextInput(
        label=N_("What's your goal?"),
        custom_id="title",
        placeholder=N_("e.g. Finish the essay draft"),
        max_length=200,
    )
    due: discord.ui.TextInput[GoalModal] = discord.ui.TextInput(
        label=N_("Due date (optional)"),
        custom_id="due",
        placeholder=N_("YYYY-MM-DD"),
        required=False,
        max_length=10,
    )

    @classmethod
    async def open(cls, interaction: discord.Interaction[Any]) -> None:
        """Show the form, in the language of the person's Discord client.

        The modal is stopped before sending, so discord.py doesn't keep it waiting in memory:
        every submit, also one made after a restart, reaches the client's on_interaction and is
        decoded from the custom id like the buttons are.
        """
        modal = cls(custom_id=form_custom_id(GOAL_FORM), timeout=None)
        localise(modal, interaction_language(interaction))
        modal.stop()
        await interaction.response.send_modal(modal)


class ResolveModal(discord.ui.Modal, title=N_("Resolve alert")):
    """Resolve an alert: the outcome and a note. The alert id rides in the custom id."""

    outcome: discord.ui.TextInput[ResolveModal] = discord.ui.TextInput(
        label=N_("How did it end?"),
        custom_id="outcome",
        # The words the core reads (bot.services.alert_lifecycle.OUTCOME_WORDS) stay as they
        # are; `open` puts them into a sentence in the mentor's language.
        placeholder="spoke, counselling, emergency or none",
        max_length=20,
    )
    note: discord.ui.TextInput[ResolveModal] = discord.ui.TextInput(
        label=N_("Note (kept encrypted)"),
        custom_id="note",
        style=discord.TextStyle.paragraph,
        placeholder=N_("What happened, and what's next"),
        # Not required here: the core answers a missing note with a clear message.
        required=False,
        max_length=2000,
    )

    @classmethod
    async def open(
        cls, interaction: discord.Interaction[Any], alert_id: str, language: str | None = None
    ) -> None:
        """Show the form in `language` (stopped at once, like GoalModal).

        The client decodes the submit.
        """
        modal = cls(custom_id=form_with_ref(RESOLVE_FORM, alert_id), timeout=None)
        localise(modal, language)
        with speaking(language or current_language()):
            modal.outcome.placeholder = _clip(
                _("{spoke}, {counselling}, {emergency} or {none}").format(
                    spoke="spoke", counselling="counselling", emergency="emergency", none="none"
                ),
                MAX_PLACEHOLDER,
            )
        modal.stop()
        await interaction.response.send_modal(modal)


class AnswerModal(discord.ui.Modal, title=N_("Your answer")):
    """Answer a group prompt privately. The round rides in the custom id."""

    answer: discord.ui.TextInput[AnswerModal] = discord.ui.TextInput(
        label=N_("Your answer (only the bot sees it now)"),
        custom_id="answer",
        style=discord.TextStyle.paragraph,
        placeholder=N_("Shared with the group when the prompt closes"),
        max_length=MAX_ANSWER_INPUT,
    )

    @classmethod
    async def open(
        cls,
        interaction: discord.Interaction[Any],
        round_id: str,
        so_far: str,
        language: str | None = None,
    ) -> None:
        """Show the form in `language`, holding the answer so far when editing.

        Stopped at once, like GoalModal: the client decodes the submit.
        """
        modal = cls(custom_id=form_with_ref(ANSWER_FORM, round_id), timeout=None)
        localise(modal, language)
        if so_far:
            modal.answer.default = so_far[:MAX_ANSWER_INPUT]
        modal.stop()
        await interaction.response.send_modal(modal)


class RecordModal(discord.ui.Modal, title=N_("Session record")):
    """A meeting's session record: topics, agreed actions, next step.

    The meeting id rides in the custom id, as the alert id does in ResolveModal.
    """

    topics: discord.ui.TextInput[RecordModal] = discord.ui.TextInput(
        label=N_("Topics"),
        custom_id="topics",
        style=discord.TextStyle.paragraph,
        placeholder=N_("What you talked about"),
        # Not required here: the core answers missing topics with a clear message.
        required=False,
        max_length=2000,
    )
    actions: discord.ui.TextInput[RecordModal] = discord.ui.TextInput(
        label=N_("Agreed actions"),
        custom_id="actions",
        style=discord.TextStyle.paragraph,
        placeholder=N_("One per line: each can become a goal"),
        required=False,
        max_length=2000,
    )
    next: discord.ui.TextInput[RecordModal] = discord.ui.TextInput(
        label=N_("Next step"),
        custom_id="next",
        style=discord.TextStyle.paragraph,
        placeholder=N_("What happens next"),
        required=False,
        max_length=2000,
    )

    @classmethod
    async def open(
        cls, interaction: discord.Interaction[Any], meeting_id: str, language: str | None = None
    ) -> None:
        """Show the form in `language` (stopped at once, like ResolveModal).

        The client decodes the submit.
        """
        modal = cls(custom_id=form_with_ref(RECORD_FORM, meeting_id), timeout=None)
        localise(modal, language)
        modal.stop()
        await interaction.response.send_modal(modal)


#: Discord's limits on application commands (names, descriptions, options, top-level count).
NAME_PATTERN = r"^[-_a-z0-9]{1,32}$"
MAX_DESCRIPTION = 100
MAX_OPTIONS = 25
MAX_TOP_LEVEL = 100
#: The largest id an integer option accepts: Discord refuses larger ones before we see them.
MAX_ID = 2**31 - 1

AppCommand = app_commands.Command[Any, ..., Any] | app_commands.Group
Opener = Callable[[discord.Interaction[Any]], Awaitable[None]]

#: Variants that open a form when given no options (`/goal add` alone shows the goal form);
#: their options are optional on Discord so the form can be asked for.
FORM_WHEN_EMPTY: dict[tuple[str, str], Opener] = {("goal", "add"): GoalModal.open}


def fit(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """`text` as a Discord description: capitalised, at most `limit` characters, never empty."""
    text = " ".join(text.split()) or "-"
    text = text[0].upper() + text[1:]
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def described(text: str) -> app_commands.locale_str:
    """A command, group or option description: fitted English, translated per Discord locale.

    The catalog's message id (the registry's own words) rides along, so `CatalogTranslator`
    looks up the words as marked, not as `fit` shortened them.
    """
    return app_commands.locale_str(fit(text), msgid=text)


class CatalogTranslator(app_commands.Translator):
    """The slash commands' descriptions in each Discord locale mentorbot has a catalog for.

    Command and option names stay English (they are what people type, and what the help
    texts name); Discord shows a description in the client's language when it has one and
    the English otherwise (Arabic, which Discord's clients don't offer, always).
    """

    DESCRIPTIONS = frozenset(
        {
            app_commands.TranslationContextLocation.command_description,
            app_commands.TranslationContextLocation.group_description,
            app_commands.TranslationContextLocation.parameter_description,
        }
    )

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """The description in `locale`'s language, or None to let Discord show the English."""
        if context.location not in self.DESCRIPTIONS:
            return None
        language = normalise_language(str(locale.value))
        if language is None or language == DEFAULT_LANGUAGE:
            return None
        msgid = str(string.extras.get("msgid") or string.message)
        with speaking(language):
            translated = _(msgid)
        return fit(translated) if translated != msgid else None


def option_type(arg: Arg) -> Any:
    """The annotation discord.py turns into the option's type for one argument."""
    kind = arg.kind
    annotation: Any
    if kind is ArgKind.ID:
        annotation = app_commands.Range[int, 1, MAX_ID]
    elif kind is ArgKind.INT:
        annotation = (
            app_commands.Range[int, arg.low, arg.high]
            if arg.low is not None or arg.high is not None
            else int
        )
    elif kind is ArgKind.CHOICE and arg.choices:
        annotation = Literal[arg.choices]  # a choice list, which Discord enforces
    else:
        # DATE, TIME, ZONE, EMAIL, WORD and TEXT: typed as words, parsed by the core.
        annotation = str
    return annotation


def typed_value(arg: Arg, value: str) -> str:
    """One option as a user would type it: a multi-word value quoted unless it is the rest."""
    if arg.kind is not ArgKind.TEXT and len(value.split()) > 1:
        return '"' + value.replace('"', "'") + '"'
    return value


def command_words(command: Command, values: Mapping[str, str]) -> str:
    """`SUB` and the given values, in argument order, as the user would type the command."""
    parts = [
        command.sub,
        *(typed_value(a, values[a.name]) for a in command.args if values.get(a.name)),
    ]
    return " ".join(part for part in parts if part)


def _signature(command: Command, all_optional: bool) -> inspect.Signature:
    # Keyword-only parameters: discord.py calls back with keywords, and a required argument
    # may follow an optional one (Discord lists required options first anyway).
    params = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for arg in command.args:
        annotation = option_type(arg)
        optional = arg.optional or all_optional
        params.append(
            inspect.Parameter(
                arg.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Optional[annotation] if optional else annotation,  # noqa: UP045 - a runtime type object, not an annotation
                default=None if optional else inspect.Parameter.empty,
            )
        )
    return inspect.Signature(params)


def slash_command(command: Command, name: str) -> app_commands.Command[Any, ..., Any]:
    """One registry command as a Discord (sub)command called `name`."""
    opener = FORM_WHEN_EMPTY.get((command.name, command.sub))

    async def callback(interaction: discord.Interaction[Any], **options: Any) -> None:
        values = {k: str(v).strip() for k, v in options.items() if v is not None}
        if opener is not None and not any(values.values()):
            await opener(interaction)
            return
        # Every argument by name, "" when not given, so the core never reads it positionally.
        args = {arg.name: values.get(arg.name, "") for arg in command.args}
        text = command_words(command, values)
        await _answerer(interaction).answer_command(interaction, command.name, text, args)

    # discord.py reads the options from the callback's signature and annotations.
    callback.__signature__ = _signature(command, opener is not None)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = f"slash_{command.name}_{command.sub or 'run'}"
    with_options = app_commands.describe(**{arg.name: described(arg.help) for arg in command.args})(
        callback
    )
    return app_commands.Command(
        name=name, description=described(command.summary), callback=with_options
    )


def build_commands(registry: Registry) -> list[AppCommand]:
    """Fresh command objects for one client's tree, one per registry family."""
    summaries = {c.name: f.summary for f in registry.features for c in f.commands}
    built: list[AppCommand] = []
    for name, family in registry.families.items():
        if len(family) == 1 and not family[0].sub:
            built.append(slash_command(family[0], name))
            continue
        group = app_commands.Group(name=name, description=described(summaries.get(name, name)))
        for command in family:
            group.add_command(slash_command(command, command.sub))
        built.append(group)
    return built


def tree_names(commands: Sequence[AppCommand]) -> list[str]:
    """Every command path of a built tree: `mood`, `goal list`, `goal progress`, ..."""
    names: list[str] = []
    for command in commands:
        if isinstance(command, app_commands.Group):
            names.extend(f"{command.name} {sub.name}" for sub in command.commands)
        else:
            names.append(command.name)
    return names
