"""The crisis card's helpline instructions in the student's language (issue 19, part 3).

A student in crisis must not have to read English to know what to do: every line's contact
("Call 024 (free, confidential, 24/7)") and the generic names ("Emergency services") are
translated, and every translation keeps the English's numbers, web addresses and keywords
exactly (`bot.i18n.catalogs.crisis_tokens`). The proper names of services stay as they are.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.config import CoreSettings
from bot.crisis_lines import FALLBACK, LineKind, default_crisis_lines
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, _, speaking
from bot.i18n.catalogs import crisis_tokens
from bot.i18n.translations import merged_catalog
from bot.services.crisis import render_crisis_reply
from storage.tables import Person

LINES = default_crisis_lines()
TRANSLATED = [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]
# What is left of a text without its numbers, web addresses and keywords.
_TOKENS = re.compile(r"https?://\S+|[\w-]+(?:\.[\w-]+)+|[\d\s/:()+-]+|\b[A-Z]{2,}\b")


def _only_numbers(english: str) -> bool:
    return not re.search(r"[A-Za-z]", _TOKENS.sub(" ", english))


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("country", sorted(LINES))
def test_every_contact_is_translated_and_keeps_its_numbers(country: str, language: str) -> None:
    """Every country's and the fallback's instructions, in every language, numbers intact."""
    for line in LINES[country]:
        with speaking(language):
            contact = _(line.contact)
        assert crisis_tokens(contact) == crisis_tokens(line.contact), (language, contact)
        if not _only_numbers(line.contact):
            assert contact != line.contact, (country, language, line.contact)


@pytest.mark.parametrize("language", TRANSLATED)
def test_generic_line_names_are_translated_and_keep_their_numbers(language: str) -> None:
    """'Emergency services' and the fallback's names are in every catalog; proper names not."""
    catalog = merged_catalog(language)
    for country, lines in LINES.items():
        for line in lines:
            generic = country == FALLBACK or line.kind is LineKind.EMERGENCY
            if not generic:
                continue
            assert catalog.get(line.name) is not None, (language, line.name)
            with speaking(language):
                name = _(line.name)
            assert crisis_tokens(name) == crisis_tokens(line.name), (language, name)
    assert catalog.get("Samaritans") is None


def test_the_fallback_is_translated_in_spanish() -> None:
    """The international list a student anywhere may see."""
    fallback = {line.name: line.contact for line in LINES[FALLBACK]}
    with speaking("es"):
        assert _("Find a helpline near you") == "Busca una línea de ayuda cerca de ti"
        assert _(fallback["Emergency services"]) == "Llama al número de emergencias de tu zona"


def test_a_spanish_student_in_spain_gets_024_with_spanish_instructions() -> None:
    """The card a Spanish student in Spain reads: 024 and 112, told what to do in Spanish."""
    student = Person(
        email="s@example.edu",
        name="S",
        role="student",
        timezone="Europe/Madrid",
        country="ES",
        language="es",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    with speaking("es"):
        reply = render_crisis_reply(CoreSettings(), student)
    fields = [(field.label, field.value) for field in reply.fields]
    assert ("Línea 024", "Llama al 024 (gratis, confidencial, 24/7)") in fields
    assert ("Servicios de emergencia", "Llama al 112") in fields
