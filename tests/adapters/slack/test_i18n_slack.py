"""Slack in the reader's language, and readable without its pictures (issue 19 items 1 and 6).

The words the adapter adds (modal titles, submit and close buttons, the urgent header, the
notification text's "Buttons:") are in the language the message or reply was built in; the
plain-text fallback that notifications and screen readers use carries every field, button
and chart description, so nothing is lost when the emoji and sparklines are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.slack.app import (
    NOT_YOURS,
    SlackAdapter,
    _notice,
)
from adapters.slack.render import (
    MAX_MODAL_BUTTON,
    answer_modal,
    fallback_text,
    form_errors,
    goal_modal,
    record_modal,
    render_blocks,
    render_home,
    render_message,
    resolve_modal,
)
from bot.i18n import LANGUAGES, _, speaking
from bot.model import Message, Reply
from tests.adapters.meaning import RICH_WORDS, rich_message, strip_symbols

MODALS: dict[str, Callable[[], dict[str, Any]]] = {
    "goal": goal_modal,
    "resolve": lambda: resolve_modal("7", (("spoke", "Spoke with them"),)),
    "answer": lambda: answer_modal("3"),
    "record": lambda: record_modal("5"),
}


@pytest.mark.parametrize("name", sorted(MODALS))
def test_a_modal_opened_in_spanish_has_spanish_title_submit_and_close(name: str) -> None:
    """Title, submit and close buttons and the labels are the Spanish catalog's words."""
    english = MODALS[name]()
    with speaking("es"):
        spanish = MODALS[name]()
        cancel = _("Cancel")
    assert spanish["close"]["text"] == cancel == "Cancelar"
    for key in ("title", "submit"):
        assert spanish[key]["text"] != english[key]["text"], key
    assert spanish["callback_id"] == english["callback_id"]  # ids never change
    labels = [block["label"]["text"] for block in spanish["blocks"]]
    assert labels != [block["label"]["text"] for block in english["blocks"]]


def test_goal_modal_words_in_spanish() -> None:
    """The exact Spanish furniture of the add-goal form."""
    with speaking("es"):
        modal = goal_modal()
    assert modal["title"]["text"] == "Añadir una meta"
    assert modal["submit"]["text"] == "Añadir meta"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_modal_buttons_fit_slack_in_every_language(language: str) -> None:
    """Slack refuses a modal whose title, submit or close is over 24 characters."""
    with speaking(language):
        for build in MODALS.values():
            modal = build()
            for key in ("title", "submit", "close"):
                assert 0 < len(modal[key]["text"]) <= MAX_MODAL_BUTTON, (key, modal[key])


def test_a_spanish_message_gets_spanish_furniture_wherever_it_is_rendered() -> None:
    """The urgent header and the fallback's "Buttons:" follow the message, not the caller."""
    with speaking("es"):
        message = Message(text="Hola", urgent=True, choices=rich_message().choices)
    assert message.language == "es"
    # Rendered later, by a delivery loop speaking English: still Spanish.
    rendered = render_message(message)
    assert rendered.blocks[0]["text"]["text"] == "🚨 Urgente"
    assert "Botones: " in rendered.text
    home = render_home([message], recipient=None)
    assert home["blocks"][0]["text"]["text"] == "🚨 Urgente"


def test_app_home_without_messages_speaks_the_replys_language() -> None:
    """The empty App Home's own sentence is in the language being spoken."""
    with speaking("es"):
        home = render_home([], recipient=None)
    assert home["blocks"][0]["text"]["text"] == "Todavía no hay nada aquí."


def test_attachment_and_hint_context_are_in_the_messages_language() -> None:
    """The "sent as a file" and "send me a direct message" lines are translated."""
    with speaking("es"):
        message = Message(
            text="Tu gráfico", attachment=rich_message().attachment, expects_text=True
        )
    texts = [
        b["elements"][0]["text"]
        for b in render_blocks(message, in_dm=False)
        if b["type"] == "context"
    ]
    assert any("se envía como archivo" in t for t in texts)
    assert any("envíame un mensaje directo" in t for t in texts)


def test_fallback_text_carries_fields_buttons_and_alt_text() -> None:
    """Notifications and screen readers get the whole message, not only its first line."""
    text = fallback_text(rich_message())
    assert "Mood: 🙂 4" in text
    assert "Last 14 days: ▁▂▃▄▅·▄" in text
    assert "Buttons: 😀 5, 😟 2, and Pause check-ins" in text
    assert "Attached mood.png: Mood over 14 days, mostly 4" in text


def test_fallback_keeps_its_words_without_emoji_and_sparklines() -> None:
    """With every emoji and sparkline bar removed, every word and number is still there."""
    stripped = strip_symbols(fallback_text(rich_message()))
    for words in RICH_WORDS:
        assert words in stripped, (words, stripped)


def test_spanish_fallback_keeps_its_words_without_symbols() -> None:
    """The same in Spanish: the adapter's words are Spanish, the data untouched."""
    stripped = strip_symbols(fallback_text(rich_message("es")))
    assert "Botones: 5, 2 y Pause check-ins" in stripped
    assert "Adjunto mood.png: Mood over 14 days, mostly 4" in stripped
    assert "Mood: 4" in stripped


def test_arabic_fallback_has_no_forced_direction_marks() -> None:
    """Arabic text is left to the client's bidi algorithm: no LRM/RLM/embedding marks."""
    with speaking("ar"):
        message = Message(text="مرحبا", title="عنوان", urgent=True, choices=rich_message().choices)
    rendered = render_message(message)
    everything = rendered.text + str(rendered.blocks)
    assert not set(everything) & set(
        "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    )
    assert "الأزرار" in rendered.text


def test_form_errors_find_their_input_in_the_replys_language() -> None:
    """A Spanish refusal about the date goes under the date picker, as an English one does."""
    with speaking("es"):
        errors = form_errors("goal.add", "Esa fecha límite ya pasó.")
        outcome = form_errors("alert.resolve", "Elige un resultado: spoke, counselling.")
    assert set(errors) == {"goal_due"}
    assert set(outcome) == {"resolve_outcome"}


class _Views:
    """A stand-in for the Slack client: records the views the adapter opens."""

    def __init__(self) -> None:
        self.opened: list[dict[str, Any]] = []

    async def views_open(self, *, trigger_id: str, view: dict[str, Any]) -> None:
        self.opened.append(view)


class _Adapter:
    """Just what the adapter's form openers use."""

    def __init__(self) -> None:
        self.client = _Views()


async def test_forms_opened_after_a_press_speak_the_replys_language() -> None:
    """Resolve, answer and record modals take the language of the core's reply to the press."""
    adapter = _Adapter()
    body = {"trigger_id": "t", "response_url": ""}
    hint = Reply(language="es")
    await SlackAdapter._open_resolve_form(adapter, body, "U1", "7", hint)  # type: ignore[arg-type]
    await SlackAdapter._open_answer_form(adapter, body, "U1", "3", "", "es")  # type: ignore[arg-type]
    await SlackAdapter._open_record_form(adapter, body, "U1", "5", hint)  # type: ignore[arg-type]
    titles = [view["title"]["text"] for view in adapter.client.opened]
    submits = [view["submit"]["text"] for view in adapter.client.opened]
    assert titles == ["Resolver alerta", "Tu respuesta", "Registro de la sesión"]
    assert submits == ["Resolver", "Enviar", "Guardar"]


def test_adapter_notices_are_in_the_language_asked() -> None:
    """The adapter's own notices (someone else's button) are translated when sent."""
    assert (
        _notice(NOT_YOURS, "es").text == "Ese botón se envió a otra persona, así que no hice nada."
    )
    assert _notice(NOT_YOURS, "es").language == "es"
    assert _notice(NOT_YOURS, None).text == NOT_YOURS
