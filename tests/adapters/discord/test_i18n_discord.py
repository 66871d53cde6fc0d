"""Discord in the reader's language, and readable without its pictures (issue 19 items 1, 6).

Modals opened after a press are in the language of the core's reply; the goal form, opened
before the core is asked, in the language of the person's Discord client. The urgent line and
"More options" follow the message's language. What a screen reader announces of an embed
(content, title, description, fields, buttons, a file's description) keeps every word when
emoji and sparklines are dropped.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import discord
import pytest
from discord import app_commands

from adapters.discord.client import SORRY, MentorDiscordClient
from adapters.discord.commands import (
    MAX_INPUT_LABEL,
    MAX_MODAL_TITLE,
    AnswerModal,
    CatalogTranslator,
    GoalModal,
    RecordModal,
    ResolveModal,
    described,
)
from adapters.discord.render import render, screen_reader_text
from bot.i18n import LANGUAGES, _, speaking
from bot.model import Choice, Message
from tests.adapters.meaning import RICH_WORDS, rich_message, strip_symbols


class _Response:
    """Records the modal or message an interaction is answered with."""

    def __init__(self) -> None:
        self.modals: list[discord.ui.Modal] = []
        self.sent: list[str] = []

    async def send_modal(self, modal: discord.ui.Modal) -> None:
        """Keep the modal."""
        self.modals.append(modal)

    async def send_message(self, content: str, **_kwargs: Any) -> None:
        """Keep the words."""
        self.sent.append(content)

    def is_done(self) -> bool:
        """Nothing was answered yet."""
        return False


class _Interaction:
    """A stand-in for discord.Interaction with a client locale."""

    def __init__(self, locale: str = "en-US") -> None:
        self.locale = discord.Locale(locale)
        self.response = _Response()
        self.id = 1


def _words(modal: discord.ui.Modal) -> tuple[str, list[str]]:
    labels = [
        item._underlying.label for item in modal.children if isinstance(item, discord.ui.TextInput)
    ]
    return str(modal.title), labels


async def test_forms_opened_after_a_press_speak_the_replys_language() -> None:
    """Resolve, answer and record forms take the language the core's reply was built in."""
    interaction = _Interaction()
    await ResolveModal.open(interaction, "7", "es")  # type: ignore[arg-type]
    await AnswerModal.open(interaction, "3", "", "es")  # type: ignore[arg-type]
    await RecordModal.open(interaction, "5", "es")  # type: ignore[arg-type]
    resolve, answer, record = (_words(m) for m in interaction.response.modals)
    assert resolve == ("Resolver alerta", ["¿Cómo terminó?", "Nota (se guarda cifrada)"])
    assert answer == ("Tu respuesta", ["Tu respuesta (por ahora solo la ve el bot)"])
    assert record == ("Registro de la sesión", ["Temas", "Acciones acordadas", "Próximo paso"])
    outcome = interaction.response.modals[0].children[0]
    assert isinstance(outcome, discord.ui.TextInput)
    # The words the core reads stay as they are inside the Spanish sentence.
    assert outcome.placeholder == "spoke, counselling, emergency o none"


async def test_goal_form_speaks_the_discord_clients_language() -> None:
    """Opened before the core is asked, the goal form uses the interaction's locale."""
    spanish, english = _Interaction("es-ES"), _Interaction("en-GB")
    await GoalModal.open(spanish)  # type: ignore[arg-type]
    await GoalModal.open(english)  # type: ignore[arg-type]
    assert _words(spanish.response.modals[0]) == (
        "Nueva meta",
        ["¿Cuál es tu meta?", "Fecha límite (opcional)"],
    )
    assert _words(english.response.modals[0]) == (
        "New goal",
        ["What's your goal?", "Due date (optional)"],
    )


async def test_class_words_stay_english_after_a_translated_open() -> None:
    """Each modal is a copy: translating one never changes the next one's words."""
    interaction = _Interaction()
    await RecordModal.open(interaction, "5", "de")  # type: ignore[arg-type]
    await RecordModal.open(interaction, "5", "en")  # type: ignore[arg-type]
    assert _words(interaction.response.modals[1]) == (
        "Session record",
        ["Topics", "Agreed actions", "Next step"],
    )


@pytest.mark.parametrize("language", sorted(LANGUAGES))
async def test_modal_words_fit_discord_in_every_language(language: str) -> None:
    """Discord refuses a modal title or input label over 45 characters."""
    interaction = _Interaction()
    await ResolveModal.open(interaction, "7", language)  # type: ignore[arg-type]
    await AnswerModal.open(interaction, "3", "", language)  # type: ignore[arg-type]
    await RecordModal.open(interaction, "5", language)  # type: ignore[arg-type]
    for modal in interaction.response.modals:
        title, labels = _words(modal)
        assert len(title) <= MAX_MODAL_TITLE
        assert all(0 < len(label) <= MAX_INPUT_LABEL for label in labels)


def test_a_spanish_message_gets_spanish_furniture() -> None:
    """The urgent line and "More options" are in the message's language, wherever rendered."""
    with speaking("es"):
        urgent = Message(text="Hola", urgent=True)
        many = Message(
            text="Elige",
            choices=tuple(Choice(f"Opción {i}", "x.y", (("i", str(i)),)) for i in range(30)),
        )
    assert render(urgent)[0].content == "🚨 **Urgente**"
    assert render(many)[1].content == "Más opciones (2/2):"
    assert render(replace(urgent, language="en"))[0].content == "🚨 **Urgent**"


async def test_sorry_and_done_follow_the_person() -> None:
    """The client's own words: the apology in the client's locale, "Done." in the reply's."""
    interaction = _Interaction("es-ES")
    await MentorDiscordClient._say_sorry(None, interaction)  # type: ignore[arg-type]
    with speaking("es"):
        assert interaction.response.sent == [_(SORRY)]
    assert interaction.response.sent[0] != SORRY


def test_screen_reader_text_keeps_fields_buttons_and_alt_text() -> None:
    """Embed fields as "name: value", every button label and the chart's description."""
    text = screen_reader_text(render(rich_message()))
    assert "Mood: 🙂 4" in text
    assert "Pause check-ins" in text
    assert "Mood over 14 days, mostly 4" in text


def test_embed_keeps_its_words_without_emoji_and_sparklines() -> None:
    """With every emoji and sparkline bar removed, every word and number is still there."""
    stripped = strip_symbols(screen_reader_text(render(rich_message())))
    for words in RICH_WORDS:
        assert words in stripped, (words, stripped)


def test_the_chart_file_carries_its_alt_text() -> None:
    """Discord's attachment description is the alt text a screen reader reads."""
    part = render(rich_message("es"))[0]
    file = part.discord_file()
    assert file is not None and file.description == "Mood over 14 days, mostly 4"


def test_arabic_render_has_no_forced_direction_marks() -> None:
    """Arabic text is left to the client's bidi algorithm: no LRM/RLM/embedding marks."""
    with speaking("ar"):
        message = Message(text="مرحبا", title="عنوان", urgent=True)
    text = screen_reader_text(render(message))
    assert "عاجل" in text
    marks = set("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert not set(text) & marks


class _Context:
    """What CatalogTranslator reads of discord.py's translation context."""

    def __init__(self, location: app_commands.TranslationContextLocation) -> None:
        self.location = location


async def test_command_descriptions_are_translated_and_names_stay_english() -> None:
    """Descriptions come from the catalog, by the words as marked; names are never translated."""
    translator = CatalogTranslator()
    description = _Context(app_commands.TranslationContextLocation.command_description)
    name = _Context(app_commands.TranslationContextLocation.command_name)

    async def shown(text: app_commands.locale_str, locale: str, context: _Context) -> str | None:
        return await translator.translate(text, discord.Locale(locale), context)  # type: ignore[arg-type]

    marked = described("What you talked about")
    assert await shown(marked, "es-ES", description) == "De qué hablaron"
    assert await shown(marked, "es-419", description) == "De qué hablaron"
    assert await shown(marked, "zh-CN", description) == "你们聊了什么"
    assert await shown(marked, "es-ES", name) is None
    assert await shown(marked, "en-US", description) is None
    assert await shown(marked, "zh-TW", description) is None  # Traditional: English, not Simplified
    # `fit` capitalises what Discord shows; the lookup uses the words as the code marks them.
    unmarked = described("what you talked about")
    assert unmarked.message == "What you talked about"
    assert await shown(unmarked, "es-ES", description) is None
