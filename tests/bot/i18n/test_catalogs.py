"""The catalogs ship complete: every marked message translated in every language, none stale."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from bot.i18n import LANGUAGES
from bot.i18n.catalogs import Problem, _check_message, check, extract, placeholders
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
