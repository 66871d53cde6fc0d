"""Speaking a language: tags map to our languages, the context nests, and falls back safely."""

from __future__ import annotations

import asyncio

import pytest

from bot.i18n import (
    PSEUDO_LANGUAGE,
    _,
    current_language,
    is_right_to_left,
    ngettext,
    normalise_language,
    speaking,
)
from bot.i18n.translations import pseudo_translate
from bot.model import Message


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("es", "es"),
        ("es-ES", "es"),
        ("es-419", "es"),
        ("ES_mx", "es"),
        ("pt-BR", "pt_BR"),
        ("pt", "pt_BR"),
        ("zh-CN", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh-TW", None),
        ("en-GB", "en"),
        ("ar-EG", "ar"),
        ("ko-KR", "ko"),
        ("hi", "hi"),
        ("sw", None),
        ("", None),
        (None, None),
        ("Spanish", "es"),
    ],
)
def test_platform_and_roster_tags_map_to_our_languages(
    tag: str | None, expected: str | None
) -> None:
    """Slack's, Discord's and a roster's tags find the language we speak, or none."""
    assert normalise_language(tag) == expected


def test_speaking_nests_and_restores() -> None:
    """An inner language applies inside its block only; outside it is English."""
    assert current_language() == "en"
    with speaking("es"):
        with speaking("ar"):
            assert current_language() == "ar"
        assert current_language() == "es"
    assert current_language() == "en"


def test_an_unknown_language_speaks_english() -> None:
    """A language we have no catalog for reads English, never an error."""
    with speaking("tlh"):
        assert _("These might help:") == "These might help:"


def test_a_translated_message_reads_in_the_language() -> None:
    """A marked message comes out in the language being spoken."""
    with speaking("es"):
        assert _("These might help:") == "Esto podría ayudarte:"
    assert _("These might help:") == "These might help:"


async def test_concurrent_events_keep_their_own_language() -> None:
    """Two events handled at once on one loop never speak each other's language."""

    async def answer(language: str) -> str:
        with speaking(language):
            await asyncio.sleep(0)
            return current_language()

    assert await asyncio.gather(answer("es"), answer("ko")) == ["es", "ko"]


def test_messages_remember_their_language_through_the_outbox() -> None:
    """A message rendered in Arabic says so after a round trip through JSON."""
    with speaking("ar"):
        message = Message(text="x")
    assert Message.from_json(message.to_json()).language == "ar"
    assert is_right_to_left("ar") and not is_right_to_left("es")


def test_the_pseudo_language_marks_every_message_and_keeps_placeholders() -> None:
    """Pseudo text is bracketed and accented; {placeholders} survive for .format()."""
    with speaking(PSEUDO_LANGUAGE):
        text = _("Logged your mood: {face} {score}/5.").format(face="🙂", score=4)
        plural = ngettext("{n} day", "{n} days", 2).format(n=2)
    assert text.startswith("⟦") and text.endswith("⟧") and "🙂 4/5" in text
    assert "Logged" not in text
    assert plural == pseudo_translate("{n} days").format(n=2)
