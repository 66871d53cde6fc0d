"""The catalogs ship complete: every marked message translated in every language, none stale."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from bot.i18n import LANGUAGES
from bot.i18n.catalogs import (
    CRISIS_LINES_FILE,
    ROOT,
    Problem,
    _check_message,
    check,
    crisis_tokens,
    extract,
    placeholders,
)
from bot.i18n.translations import catalog_files


def test_every_catalog_is_complete_and_current() -> None:
    """`make test` fails on a missing, stale, fuzzy or placeholder-changing translation."""
    problems = check()
    assert not problems, "\n".join(map(str, problems[:40])) + (
        "\nRun: python -m bot.i18n.catalogs update, then translate (see bot/i18n/catalogs.py)"
    )


def test_every_language_has_catalogs() -> None:
    """Each language we offer has catalog files, so it is not silently English."""
    for language in LANGUAGES:
        if language != "en":
            assert catalog_files(language), language


def test_the_code_marks_messages() -> None:
    """Extraction finds the marked messages (a broken extractor would make the check vacuous)."""
    assert "Logged your mood: {face} {score}/5." in extract()


def _message(catalog: Catalog, msgid: str | tuple[str, str], string: object) -> list[Problem]:
    catalog.add(msgid, string=string)  # type: ignore[arg-type]
    key = msgid if isinstance(msgid, str) else msgid[0]
    message = catalog[key]
    assert message is not None
    return _check_message(str(catalog.locale), "t", message, catalog.num_plurals)


@pytest.mark.parametrize(
    ("english", "translated", "ok"),
    [
        ("Hi {name}", "Hola {name}", True),
        ("Hi {name}", "Hola {nombre}", False),
        ("Hi {name}", "Hola", False),
        ("{a} and {b}", "{b} y {a}", True),
        ("Limit {n:,}", "Límite {n:,}", True),
        ("Hi {name}", "", False),
    ],
)
def test_a_translation_must_keep_its_placeholders(english: str, translated: str, ok: bool) -> None:
    """A renamed, dropped or missing placeholder is reported; a reordered one is fine."""
    problems = _message(Catalog(locale="es"), english, translated)
    assert (not problems) is ok, problems


def test_plural_forms_must_match_the_language() -> None:
    """Arabic needs six plural forms; two are reported, six pass."""
    english = ("{n} day", "{n} days")
    assert _message(Catalog(locale="ar"), english, ("{n}", "{n}"))
    six = tuple(f"{{n}} يوم{i}" for i in range(6))
    assert not _message(Catalog(locale="ar"), english, six)


def test_placeholders_are_found_in_both_styles() -> None:
    """Brace and percent placeholders both count."""
    assert placeholders("{b} %(a)s {c:,}") == ["%(a)s", "{b}", "{c:,}"]


def test_catalog_files_live_beside_the_package() -> None:
    """Catalogs are package data, so an installed wheel speaks every language."""
    for path in catalog_files("es"):
        assert Path(path).suffix == ".po"


# ---- The crisis lines: numbers, addresses and keywords survive translation --------------


@pytest.mark.parametrize(
    ("english", "translated", "ok"),
    [
        ("Call 024 (free, confidential, 24/7)", "Llama al 024 (gratis, confidencial, 24/7)", True),
        ("Call 0800 111 0 111 (free)", "Ruf 0800-111-0-111 an (kostenlos)", True),
        ("Call 0800 111 0 111 (free)", "Ruf 0800 111 0 112 an (kostenlos)", False),
        ("Call 0800 111 0 111 (free)", "Ruf 0800 111 0 an (kostenlos)", False),
        ("Call 116 123 (free, 24/7)", "Llama al 116 123 (gratis, 24 horas)", False),
        ("Call 112", "Llama al 112 o al 112", False),
        ("Call 112", "الاتصال بالرقم ١١٢", False),
        ("Text TALK to 50808", "发短信 TALK 到 50808", True),
        ("Text TALK to 50808", "Envía HABLA al 50808", False),
        ("Call 112", "Envoie un SMS au 112", False),
        ("Or chat at 113.nl", "在113.nl聊天", True),
        ("Or chat at 113.nl", "O chatea en 113.es", False),
        ("https://findahelpline.com (free)", "https://findahelpline.org (gratis)", False),
        ("Call 119 (ambulance)", "拨打 119（救护车）", True),
    ],
)
def test_a_crisis_line_translation_keeps_every_number(
    english: str, translated: str, ok: bool
) -> None:
    """A changed, dropped, added or re-scripted number, address or keyword is reported."""
    catalog = Catalog(locale="es")
    catalog.add(english, string=translated)
    message = catalog[english]
    assert message is not None
    problems = _check_message("es", "crisis_lines", message, catalog.num_plurals)
    assert (not problems) is ok, problems
    # Other areas keep only their placeholders.
    assert not _check_message("es", "features", message, catalog.num_plurals)


def test_crisis_tokens_normalise_numbers_only_inside_a_number() -> None:
    """Spaces and dashes join the groups of one number; "24/7" is two runs; URLs are whole."""
    tokens = crisis_tokens("Call 0800 111 0 111 or 1-800-891-4416 (24/7), or chat at 113.nl")
    assert tokens == Counter(
        {
            "number 08001110111": 1,
            "number 18008914416": 1,
            "number 24": 1,
            "number 7": 1,
            "web 113.nl": 1,
        }
    )
    assert crisis_tokens("Text TALK or HOME, WhatsApp") == Counter(
        {"keyword TALK": 1, "keyword HOME": 1}
    )


def test_the_crisis_lines_file_is_extracted_where_it_says_so() -> None:
    """Contacts and generic names are messages of the crisis_lines area, at their own line."""
    messages = extract()
    text = (ROOT / CRISIS_LINES_FILE).read_text(encoding="utf-8").splitlines()
    for english in ("Call 024 (free, confidential, 24/7)", "Emergency services", "Call 112"):
        item = messages[english]
        assert item.area == "crisis_lines"
        for path, line in item.locations:
            assert path == CRISIS_LINES_FILE
            assert text[line - 1].split(":", 1)[1].strip() == english
    # The proper names of services stay as they are.
    assert "Samaritans" not in messages
    assert "988 Suicide & Crisis Lifeline" not in messages
