"""What an assessment carries (issue 12).

Taxonomy codes, the risky sentence, the language, content framing lowered to concern, and
the language packs' findings merged in.
"""

from __future__ import annotations

import pytest

from bot.safety import Assessment, Category, alert_reason, assess, render_reason
from bot.safety import screen as screen_module
from bot.safety.lang import LangFinding
from bot.safety.screen import FRAMED
from bot.safety.taxonomy import TAXONOMY, family_of, label_of


def test_excerpt_is_the_risky_sentence_of_a_long_message() -> None:
    """In a long message the excerpt is the sentence that carries the risk, as written."""
    text = (
        "Lectures were fine this week. The library was packed. "
        "Honestly I don't want to be alive anymore. Anyway, can we meet Thursday?"
    )
    result = assess(text)
    assert result.level == "crisis"
    assert result.excerpt == "Honestly I don't want to be alive anymore."


def test_excerpt_of_an_obfuscated_sentence_is_found_through_its_variants() -> None:
    """Leetspeak in the risky sentence still picks that sentence out."""
    result = assess("ok so. i want to k1ll mys3lf. bye")
    assert result.level == "crisis"
    assert result.excerpt == "i want to k1ll mys3lf."


def test_language_is_detected_for_a_flagged_message_only() -> None:
    """A flagged message carries its language; an ordinary one skips the work."""
    assert assess("i want to die").language == "en"
    assert assess("see you thursday").language is None


@pytest.mark.parametrize(
    "text",
    [
        "my essay is on self harm in adolescents, anyone got good sources?",
        "my story ends with the narrator jumping off the bridge, is that too much?",
        "that song 'i want to die' by the band is on repeat",
        "the lecture today was about domestic abuse and safeguarding law",
    ],
)
def test_crisis_words_about_content_are_concern_not_crisis(text: str) -> None:
    """An essay topic, a plot, a song, a lecture: a mentor may hear of it, no emergency."""
    result = assess(text)
    assert result.level == "concern"
    assert FRAMED in result.reasons


@pytest.mark.parametrize(
    "text",
    [
        "in the film she wants to die and honestly i relate, same",
        "my essay is due friday and i want to kill myself",
        "i watched a film about it. i want to die too",
    ],
)
def test_content_tied_back_to_the_student_stays_crisis(text: str) -> None:
    """A sentence that owns the feeling, or a topic word that is no frame, stays a crisis."""
    assert assess(text).level == "crisis"


@pytest.mark.parametrize(
    "text",
    [
        "i saw the news and i'm going to kill myself tonight",
        "the news made me realise i want to kill myself",
        "after this exam i'm ending it, i have the pills",
    ],
)
def test_a_first_person_crisis_that_mentions_the_news_or_an_exam_stays_crisis(text: str) -> None:
    """The news or an exam sets the scene; the student's own crisis is not content."""
    result = assess(text)
    assert result.level == "crisis"
    assert FRAMED not in result.reasons


@pytest.mark.parametrize(
    "text",
    [
        "in the news a man said he was going to kill himself",
        "the headline said i want to die",
        "news me padha kota me ek aur student ne suicide kar liya, bahut bura laga",
    ],
)
def test_the_news_reporting_someone_elses_crisis_stays_framed(text: str) -> None:
    """A crisis the news reports, even quoted in the first person, is content: concern."""
    result = assess(text)
    assert result.level == "concern"
    assert FRAMED in result.reasons


def test_language_pack_findings_are_merged_most_severe_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pack's crisis finding makes the whole message a crisis, its sentence the excerpt."""
    finding = LangFinding(Category.PASSIVE_DEATH_WISH, "crisis", "de", "ich will nicht mehr leben")

    def fake_screen_languages(text: str) -> list[LangFinding]:
        return [finding] if "leben" in text else []

    monkeypatch.setattr(screen_module, "screen_languages", fake_screen_languages)
    result = screen_module.default_screen().assess("hallo. ich will nicht mehr leben")
    assert result.level == "crisis"
    assert result.categories[0] == Category.PASSIVE_DEATH_WISH
    assert "lang.de.passive_death_wish" in result.reasons
    assert result.excerpt == "ich will nicht mehr leben"


def test_every_english_rule_names_a_taxonomy_category() -> None:
    """No built-in rule falls back to the catch-all: every one maps to a real category."""
    rules = screen_module.default_screen().rules
    catch_all = {Category.OTHER_CRISIS, Category.OTHER_CONCERN}
    assert [r.id for r in rules if r.risk in catch_all] == []


def test_the_english_rules_cover_every_corpus_category() -> None:
    """Every top-level category of the taxonomy has at least one English rule."""
    from bot.safety.corpus import RISK_CODES

    families = {str(family_of(r.risk)) for r in screen_module.default_screen().rules}
    assert set(RISK_CODES) <= families


def test_alert_reasons_are_codes_rendered_as_labels() -> None:
    """Alerts store "crisis:code,code"; mentors read the labels, never the codes."""
    reason = alert_reason("crisis", (Category.PASSIVE_DEATH_WISH, Category.SAFEGUARDING_HOME))
    assert reason == "crisis:passive_death_wish,safeguarding_home"
    assert render_reason(reason) == "Wish to be dead; Safeguarding: unsafe at home"
    assert alert_reason("concern", ()) == "concern:other_concern"
    assert render_reason("Mood 2/5 (low)") == "Mood 2/5 (low)"  # other kinds shown as stored
    assert label_of("no_such_code") == "Worrying message"


def test_every_category_has_a_plain_label() -> None:
    """Each category has a level and a label in words (no codes, no underscores)."""
    for category, info in TAXONOMY.items():
        assert info.level in ("crisis", "concern")
        assert "_" not in info.label and info.label[0].isupper(), category


def test_assessment_families_count_sub_labels_as_their_parent() -> None:
    """Safeguarding sub-labels count as safeguarding for the corpus figures."""
    result = Assessment("crisis", (), (Category.SAFEGUARDING_HOME, Category.SAFEGUARDING))
    assert result.families == (Category.SAFEGUARDING,)
