"""The console in the reader's language, and readable without pictures (issue 19 items 1, 6).

The console's forms (resolve an alert, a session record, a prompt's answer) are its modals:
their questions, like its own notes ("Nothing was changed.", "(updated)", "[file ...]"), are
in the language of the core's last reply. A rendered message keeps every word and number when
emoji and sparklines are dropped.
"""

from __future__ import annotations

import io
from pathlib import Path

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from adapters.console.render import render_message
from bot.model import Inbound, Message, PostedCopy, Reply
from tests.adapters.meaning import RICH_WORDS, rich_message, strip_symbols


class _Core:
    """Answers every event with an empty reply in one language."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.seen: list[Inbound] = []

    async def ahandle(self, inbound: Inbound) -> Reply:
        """Record the event; agree to it."""
        self.seen.append(inbound)
        return Reply(language=self.language)


def _chat(language: str) -> tuple[ConsoleChat, io.StringIO, _Core]:
    out = io.StringIO()
    core = _Core(language)
    chat = ConsoleChat(core, None, ConsoleMessenger(out), "maya@example.edu", out)  # type: ignore[arg-type]
    return chat, out, core


def _press(chat: ConsoleChat, action: str, **args: str) -> Inbound:
    return Inbound(chat.actor(), "action", action, args)


async def test_resolve_form_asks_in_the_replys_language() -> None:
    """The resolve form's questions and its cancel note are Spanish after a Spanish reply."""
    chat, out, _core = _chat("es")
    await chat.start_resolving(_press(chat, "alert.resolve", alert="7"))
    assert "Resolviendo la alerta #7. ¿Cómo terminó?" in out.getvalue()
    assert "(un número, o /cancel)" in out.getvalue()
    await chat.resolve_step("1")
    assert "Una nota breve sobre lo que pasó (se guarda cifrada), o /cancel:" in out.getvalue()
    chat.resolving = None
    await chat.start_resolving(_press(chat, "alert.resolve", alert="7"))
    await chat.resolve_step("/cancel")
    assert out.getvalue().rstrip().endswith("No se cambió nada.")


async def test_record_form_and_answer_prompt_in_the_replys_language() -> None:
    """The session record's questions and the answer prompt follow the reply's language."""
    chat, out, core = _chat("es")
    await chat.start_recording(_press(chat, "meeting.record", meeting="5"))
    assert "Registro de la sesión de la reunión #5 (se guarda cifrado; /cancel lo detiene)." in (
        out.getvalue()
    )
    assert "Temas: ¿de qué hablaron?" in out.getvalue()
    await chat.record_step("Plan")
    assert "Acciones acordadas (sepáralas con ';', o '-' si no hay ninguna):" in out.getvalue()
    await chat.record_step("-")
    assert "Próximo paso ('-' si no hay ninguno):" in out.getvalue()
    await chat.record_step("-")
    assert core.seen[-1].kind == "form" and core.seen[-1].args["topics"] == "Plan"
    await chat.start_answering(_press(chat, "prompt.answer", round="3"))
    assert "Tu respuesta, en una línea" in out.getvalue()


async def test_english_prompts_are_unchanged() -> None:
    """English readers see exactly the words they saw before."""
    chat, out, _core = _chat("en")
    await chat.start_resolving(_press(chat, "alert.resolve", alert="7"))
    assert "Resolving alert #7. How did it end?" in out.getvalue()
    await chat.resolve_step("/cancel")
    assert out.getvalue().rstrip().endswith("Nothing was changed.")


def test_a_spanish_message_renders_spanish_console_words(tmp_path: Path) -> None:
    """The file line is in the message's language; the data in it is untouched."""
    text, _choices = render_message(rich_message("es"), files_dir=tmp_path)
    assert "[archivo mood.png: " in text
    assert "(Mood over 14 days, mostly 4)" in text


async def test_an_edited_copy_is_marked_in_its_language() -> None:
    """The "(updated)" note of an edited push follows the message."""
    out = io.StringIO()
    messenger = ConsoleMessenger(out)
    copy = PostedCopy("console", "c", "m")
    await messenger.edit(copy, Message(text="Hola", language="es"))
    assert out.getvalue() == "✏️ (actualizado) Hola\n"


def test_rendered_message_keeps_its_words_without_emoji_and_sparklines(tmp_path: Path) -> None:
    """Fields as "label: value", numbered buttons, the chart's alt text: all survive."""
    text, choices = render_message(rich_message(), files_dir=tmp_path)
    stripped = strip_symbols(text)
    for words in RICH_WORDS:
        assert words in stripped, (words, stripped)
    assert [c.label for c in choices][-1] == "Pause check-ins"
