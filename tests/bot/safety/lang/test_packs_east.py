"""The Chinese, Japanese, Korean, Hindi, Hinglish, Arabic and Arabizi language packs.

Each pack loads and covers the whole taxonomy, its own examples and counter-examples hold, its
development set (`tests/safety/corpus/dev/<code>.jsonl`) has the agreed shape and meets the
floors through `screen_languages` (every pack at once, as the bot runs them), and English text
raises no crisis from these packs.
"""

from __future__ import annotations

import functools
import itertools
import json
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.safety.corpus import RISK_CODES
from bot.safety.lang import PACK_FOLDER, LanguagePack, load_pack, normalise, screen_languages
from bot.safety.taxonomy import TAXONOMY, Category, level_of

LANGS = ("zh", "ja", "ko", "hi", "hi-Latn", "ar", "ar-Latn")
DEV_FOLDER = Path(__file__).parents[3] / "safety" / "corpus" / "dev"
# The corpus categories (the taxonomy also has finer labels the packs need not use).
CRISIS = frozenset(
    c for c, info in TAXONOMY.items() if info.level == "crisis" and c.value in RISK_CODES
)
CONCERN = frozenset(
    c for c, info in TAXONOMY.items() if info.level == "concern" and c.value in RISK_CODES
)
BENIGN_KINDS = frozenset(
    ["hyperbole", "academic", "news", "media", "gaming", "joking_threat", "fiction", "everyday"]
)


@dataclass(frozen=True)
class DevItem:
    """One labelled development message."""

    text: str
    label: str
    category: str
    lang: str


@dataclass(frozen=True)
class DevScore:
    """How the screen did on one development set."""

    crisis_recall: float
    concern_recall: float
    benign_false_crisis: float
    misses: tuple[str, ...]


def pack_path(code: str) -> Path:
    """Where a language's pack file lives."""
    return PACK_FOLDER / f"{code}.yaml"


@functools.cache
def pack_of(code: str) -> LanguagePack:
    """A language's pack, loaded once for the whole module."""
    return load_pack(pack_path(code))


def dev_items(code: str) -> list[DevItem]:
    """The development set of one language."""
    lines = (DEV_FOLDER / f"{code}.jsonl").read_text(encoding="utf-8").splitlines()
    return [DevItem(**json.loads(line)) for line in lines if line.strip()]


def score(items: list[DevItem]) -> DevScore:
    """Crisis recall, concern-or-crisis recall on concern items, benign false-crisis rate."""
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    misses: list[str] = []
    for item in items:
        levels = {f.level for f in screen_languages(item.text)}
        totals[item.label] += 1
        good = {
            "crisis": "crisis" in levels,
            "concern": bool(levels),
            "none": "crisis" not in levels,
        }[item.label]
        hits[item.label] += good
        if not good:
            misses.append(f"{item.label}/{item.category}: {item.text}")
    return DevScore(
        crisis_recall=hits["crisis"] / totals["crisis"],
        concern_recall=hits["concern"] / totals["concern"],
        benign_false_crisis=1 - hits["none"] / totals["none"],
        misses=tuple(misses),
    )


def rule_samples(code: str, key: str) -> list[tuple[str, Category, str]]:
    """(text, category, level) for every example or counter-example in a pack file."""
    data = yaml.safe_load(pack_path(code).read_text(encoding="utf-8"))
    samples = []
    for entry in data["rules"]:
        category = Category(entry["category"])
        level = str(entry.get("level") or level_of(category))
        samples.extend((str(text), category, level) for text in entry.get(key) or ())
    return samples


@pytest.fixture(scope="module", params=LANGS)
def pack(request: pytest.FixtureRequest) -> LanguagePack:
    """One of this file's language packs, loaded from its file."""
    return load_pack(pack_path(str(request.param)))


def test_pack_loads_and_covers_every_category(pack: LanguagePack) -> None:
    """A pack loads, names its own language and has rules for every category in the taxonomy."""
    assert pack.code in LANGS
    assert {str(rule.category) for rule in pack.rules} >= RISK_CODES  # the corpus categories
    data = yaml.safe_load(pack_path(pack.code).read_text(encoding="utf-8"))
    assert all(rule.get("examples") and rule.get("counter_examples") for rule in data["rules"])
    assert all(level in {r.level for r in pack.rules} for level in ("crisis", "concern"))


@pytest.mark.parametrize("code", LANGS)
def test_pack_file_is_nfkc_normalised(code: str) -> None:
    """Patterns are written in the normalised form the text is matched in (NFKC)."""
    text = pack_path(code).read_text(encoding="utf-8")
    assert unicodedata.normalize("NFKC", text) == text


EXAMPLES = [
    pytest.param(code, text, category, level, id=f"{code}:{category}:{text[:30]}")
    for code in LANGS
    for text, category, level in rule_samples(code, "examples")
]
COUNTER_EXAMPLES = [
    pytest.param(code, text, category, level, id=f"{code}:{category}:{text[:30]}")
    for code in LANGS
    for text, category, level in rule_samples(code, "counter_examples")
]


@pytest.mark.parametrize(("code", "text", "category", "level"), EXAMPLES)
def test_example_fires_with_its_category_and_level(
    code: str, text: str, category: Category, level: str
) -> None:
    """Every example of a rule is found with the rule's category at the rule's level."""
    findings = pack_of(code).findings(text)
    assert (category, level) in {(f.category, f.level) for f in findings}


@pytest.mark.parametrize(("code", "text", "category", "level"), COUNTER_EXAMPLES)
def test_counter_example_raises_no_crisis(
    code: str, text: str, category: Category, level: str
) -> None:
    """No counter-example is raised to crisis, nor found by its own rule at the rule's level."""
    findings = pack_of(code).findings(text)
    assert [f.category for f in findings if f.level == "crisis"] == []
    assert (category, level) not in {(f.category, f.level) for f in findings}


@pytest.mark.parametrize("code", LANGS)
def test_dev_set_has_the_agreed_shape(code: str) -> None:
    """100+ messages, 40%+ hard negatives, each crisis category 4+ times, several concerns."""
    items = dev_items(code)
    assert len(items) >= 100
    assert {item.lang for item in items} == {code}
    labels = Counter(item.label for item in items)
    assert set(labels) == {"crisis", "concern", "none"}
    assert labels["none"] / len(items) >= 0.40
    crisis = Counter(item.category for item in items if item.label == "crisis")
    assert all(crisis[c.value] >= 4 for c in CRISIS), crisis
    assert set(crisis) <= {c.value for c in CRISIS}
    concern = {item.category for item in items if item.label == "concern"}
    assert concern <= {c.value for c in CONCERN} and len(concern) >= 5
    assert {item.category for item in items if item.label == "none"} <= BENIGN_KINDS
    assert len({item.text for item in items}) == len(items)


@pytest.mark.parametrize("code", LANGS)
def test_dev_set_meets_the_floors(code: str) -> None:
    """Crisis recall >= 0.98, concern-or-crisis >= 0.95 and benign false-crisis <= 0.03."""
    result = score(dev_items(code))
    assert result.crisis_recall >= 0.98, result.misses
    assert result.concern_recall >= 0.95, result.misses
    assert result.benign_false_crisis <= 0.03, result.misses


def test_scoring_counts_misses_and_false_alarms() -> None:
    """The scorer itself: a missed crisis and a benign line raised to crisis both count."""
    items = [
        DevItem("我想自杀", "crisis", "suicidal_ideation", "zh"),
        DevItem("今天天气很好", "crisis", "suicidal_ideation", "zh"),
        DevItem("我想自杀", "none", "everyday", "zh"),
        DevItem("今天天气很好", "none", "everyday", "zh"),
        DevItem("我好孤独", "concern", "isolation", "zh"),
    ]
    result = score(items)
    assert (result.crisis_recall, result.benign_false_crisis) == (0.5, 0.5)
    assert result.concern_recall == 1.0
    assert len(result.misses) == 2


# English that shares letters with Hinglish and Arabizi: hyperbole, study of hard topics,
# gaming, names and words like "mar", "ana", "moot", "bas", "mera" that read as romanised
# Hindi or Arabic.
ENGLISH_HARD_NEGATIVES = [
    "this exam is killing me",
    "i'd die for a coffee rn",
    "i'm dead lol that meme",
    "killed the final boss on my third try",
    "we discussed suicide prevention in psych class",
    "the play ends with the king killing himself, so dramatic",
    "essay on domestic violence due friday",
    "my roommate's snoring will be the death of me",
    "that point is moot now that the deadline moved",
    "ana and maria are coming to the study group",
    "mar 3 is the last day to drop modules",
    "the bas relief in the museum was amazing",
    "mera, the character in aquaman, is cool",
    "i could just die of embarrassment haha",
    "my phone is dying, text you later",
    "hang on, i'll call you back",
    "i'm so done with this assignment lol",
    "the news said a student attempted suicide at another uni, so sad",
    "we watched a documentary on self harm awareness",
    "ugh i want to kill my brother he ate my leftovers lol",
    "the villain wants revenge in the last act",
    "my grandma passed away peacefully last year",
    "dying my hair blue this weekend",
    "the cut on my finger is from cooking",
    "drop dead gorgeous dress tbh",
    "khalid and yara are presenting first",
    "i'm starving, is the canteen open",
    "coach made us run suicides at practice",
    "my mom will kill me if i fail this",
    "i'm literally dead tired",
    "the suicide squad movie was mid",
    "lecture on the history of the death penalty",
    "i need to blade the edges of the model with a craft knife",
    "moot court practice at 5",
    "bas, the bus driver, was late again",
    "the dead sea scrolls exhibit opens tomorrow",
    "hari and mira are my lab partners",
    "i'm gonna murder this pizza",
    "this song slaps, i could die",
    "no worries, take your time",
]
OPENERS = [
    "honestly",
    "ok so",
    "just a heads up,",
    "quick question:",
    "lol",
    "btw",
    "ugh",
    "so",
    "fyi",
    "hey,",
    "tbh",
    "anyway",
    "wait",
    "omg",
    "hmm",
    "yo",
    "good news:",
    "reminder:",
    "small update:",
    "random thought:",
]
TAILS = [
    "the library closes at ten tonight",
    "i finished my lab report early",
    "can we move the meeting to thursday",
    "my flatmate made pasta for everyone",
    "the bus was late again this morning",
    "i think i failed the quiz but whatever",
    "does anyone have the slides from monday",
    "i'm going home for the weekend",
    "the wifi in the dorm keeps dropping",
    "practice got cancelled because of rain",
    "i'm so tired after the night shift",
    "we should study together before the final",
    "my mentor said my essay was good",
    "i got a part time job at the cafe",
    "the exam results come out next week",
]
ENGLISH_BENIGN = ENGLISH_HARD_NEGATIVES + [
    f"{opener} {tail}" for opener, tail in itertools.product(OPENERS, TAILS)
]


def own_crisis(text: str) -> list[str]:
    """Crisis findings that this file's packs raise on a message."""
    return [
        f"{f.lang}:{f.category}"
        for code in LANGS
        for f in pack_of(code).findings(text)
        if f.level == "crisis"
    ]


def test_english_benign_sentences_raise_no_crisis() -> None:
    """A few hundred benign English messages get no crisis from these packs."""
    assert len(ENGLISH_BENIGN) >= 300
    raised = {text: found for text in ENGLISH_BENIGN if (found := own_crisis(text))}
    assert raised == {}


@pytest.mark.skipif(
    not (DEV_FOLDER / "en.jsonl").exists(), reason="the English development set is not here yet"
)
def test_english_dev_set_raises_no_crisis_from_these_packs() -> None:
    """English benign and concern messages get no crisis from these packs."""
    items = [i for i in dev_items("en") if i.label != "crisis"]
    raised = {i.text: found for i in items if (found := own_crisis(i.text))}
    assert raised == {}


def test_arabic_spelling_variants_fold_together() -> None:
    """With fold_accents, ى/ي, ة/ه, hamza seats and the tatweel no longer split a word."""
    assert normalise("أنا تعبانة على الآخر مـــوت", fold_accents=True, join_wide=False) == (
        "انا تعبانه علي الاخر موت"
    )
    assert normalise("حياة", fold_accents=False, join_wide=False) == "حياة"


def test_arabic_crisis_found_whatever_the_spelling() -> None:
    """An Egyptian ى, a stretched word or a hamza seat does not hide a wish to die."""
    for text in ("نفسى أمـــوت", "عايزة أموت", "أبي أموت"):
        assert "crisis" in {f.level for f in screen_languages(text)}, text
