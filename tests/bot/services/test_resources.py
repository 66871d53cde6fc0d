"""The resource library: import and search."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.errors import UserError
from bot.services.resources import import_resources, parse_resources, search
from storage.tables import Resource
from tests.conftest import Chat, text_of

SAMPLES = Path(__file__).parent / "samples"


def test_search_matches_tags_title_and_description(sam: Chat) -> None:
    """`/resources exam` finds the exam stress guide first."""
    reply = sam.send("/resources exam")
    assert reply.messages[0].links[0].title == "Exam stress: a survival guide"


def test_search_without_match_says_so(sam: Chat) -> None:
    """Unknown words get a friendly 'nothing found'."""
    assert "found nothing" in text_of(sam.send("/resources xylophone"))


def test_yaml_and_csv_import_upsert_by_url(db) -> None:
    """Both formats import; a second import updates rather than duplicates."""
    rows = parse_resources((SAMPLES / "resources.yaml").read_text(), "resources.yaml")
    rows += parse_resources((SAMPLES / "resources.csv").read_text(), "resources.csv")
    with db.session() as session:
        assert import_resources(session, rows) == (3, 0)
        assert import_resources(session, rows) == (0, 3)
        found = search(session, "money")
        assert [r.title for r in found] == ["Hardship fund"]
        assert len(session.exec(select(Resource)).all()) == 3


@pytest.mark.parametrize(
    ("raw", "name", "expected"),
    [
        ("- title: X\n  url: ftp://x\n", "r.yaml", "entry 1: url must start"),
        ("title,url\n,https://x.example\n", "r.csv", "line 2: title is missing"),
        ("::: not yaml", "r.yaml", "must be a list"),
        ("a,b", "r.txt", ".yaml, .yml or .csv"),
    ],
)
def test_bad_resource_files_are_rejected_whole(raw: str, name: str, expected: str) -> None:
    """Malformed files raise a clear error naming the entry; nothing is imported."""
    with pytest.raises(UserError, match=expected):
        parse_resources(raw, name)


@pytest.mark.parametrize("typed", ["%", "_", "%_%", "%%", "\\", "%exam%"])
def test_wildcards_are_letters_in_a_search(sam: Chat, typed: str) -> None:
    """`%` and `_` match themselves: `/resources %` finds nothing instead of the whole library."""
    everything = text_of(sam.send("/resources"))
    reply = text_of(sam.send(f"/resources {typed}"))
    if typed == "%exam%":
        # The word inside still counts, as it would with any punctuation around it.
        assert "I found nothing" not in reply
    else:
        assert f"I found nothing for '{typed}'" in reply and reply != everything


def test_search_and_suggestions_prefer_the_readers_language_then_english(db) -> None:
    """A Spanish reader: the Spanish guide first, then English, then any other language."""
    from bot.i18n import speaking
    from bot.services.resources import ResourceRow, suggest

    rows = [
        ResourceRow("Exam stress", "https://e.org/en", "exam,stress", "", "en"),
        ResourceRow("Estrés de exámenes", "https://e.org/es", "exam,stress", "", "es"),
        ResourceRow("Prüfungsstress", "https://e.org/de", "exam,stress", "", "de"),
    ]
    with db.session() as session:
        import_resources(session, rows)
        with speaking("es"):
            assert [r.language for r in search(session, "exam")] == ["es", "en", "de"]
            assert [r.language for r in suggest(session, "exam stress", False)] == [
                "es",
                "en",
                "de",
            ]
        assert [r.language for r in search(session, "exam", language="de")] == ["de", "en", "es"]
        assert [r.language for r in search(session, "exam")] == ["en", "es", "de"]


def test_import_reads_a_language_and_refuses_one_we_dont_speak() -> None:
    """The `language` field of an import: a code or name; unknown ones name their entry."""
    raw = "- title: Guía\n  url: https://e.org/g\n  language: es\n- title: X\n  url: https://e.org/x\n"
    assert [r.language for r in parse_resources(raw, "r.yaml")] == ["es", "en"]
    with pytest.raises(UserError, match="entry 1: language 'tlh'"):
        parse_resources("- title: Q\n  url: https://e.org/q\n  language: tlh\n", "r.yaml")
