"""The rule file, its loader and the screen that runs it."""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.safety import (
    NO_CONCERN,
    Assessment,
    Category,
    RuleFileError,
    Screen,
    assess,
    default_screen,
    load_rules,
    set_default_screen,
)
from bot.safety.rules import Requirement, RequirementTable, analyse, builtin_rules_path

RULES = load_rules()
SCREEN = Screen(RULES)
LABELLED = Path(__file__).with_name("labelled_phrases.csv")

EXAMPLES = [
    pytest.param(rule.id, text, id=f"{rule.id}:{text[:40]}")
    for rule in RULES
    for text in rule.examples
]
COUNTER_EXAMPLES = [
    pytest.param(rule.id, text, id=f"{rule.id}:{text[:40]}")
    for rule in RULES
    for text in rule.counter_examples
]


def fired_ids(text: str, *, gated: bool = True) -> set[str]:
    return {rule.id for rule in SCREEN.fired_rules(text, gated=gated)}


@pytest.mark.parametrize(("rule_id", "text"), EXAMPLES)
def test_rule_fires_on_its_examples(rule_id: str, text: str) -> None:
    """Every example listed in the rule file makes its rule fire."""
    assert rule_id in fired_ids(text)


@pytest.mark.parametrize(("rule_id", "text"), COUNTER_EXAMPLES)
def test_rule_ignores_its_counter_examples(rule_id: str, text: str) -> None:
    """No counter-example listed in the rule file makes its rule fire."""
    assert rule_id not in fired_ids(text)


def test_every_rule_has_examples() -> None:
    """Each built-in rule documents at least one example (so it is tested)."""
    assert all(rule.examples for rule in RULES)
    assert SCREEN.check_examples() == []


def test_rule_ids_name_their_level_and_category() -> None:
    """Ids read <level>.<category>.<name>, so reasons are self-describing."""
    for rule in RULES:
        assert rule.id.startswith(f"{rule.level}.{rule.category}.")


def test_builtin_rules_ship_as_package_data() -> None:
    """rules.yaml sits inside the bot.safety package, where package data is picked up."""
    path = builtin_rules_path()
    assert path.name == "rules.yaml"
    assert path.parent.name == "safety"
    assert path.is_file()


# --- the screen --------------------------------------------------------------------------


def test_assessment_orders_levels_and_reasons() -> None:
    """The most severe rule sets the level; reasons list every rule, most severe first."""
    result = assess("i feel so alone and i want to kill myself")
    assert result.level == "crisis"
    assert result.reasons[0].startswith("crisis.")
    assert any(reason.startswith("concern.") for reason in result.reasons)
    assert "suicidal_ideation" in result.categories
    assert result.at_least("concern")
    assert result.severity == 2


def test_nothing_found_is_none() -> None:
    """Ordinary text and empty text are "none" with no reasons."""
    assert assess("exam went ok, see you thursday") == NO_CONCERN
    assert assess("") == Assessment("none", ())
    assert not assess("").at_least("concern")


def test_categories_are_taxonomy_codes_and_families_their_parents() -> None:
    """An assessment's categories are taxonomy codes; `families` maps sub-labels to parents."""
    result = assess("my dad hits me when he's drunk")
    assert result.level == "crisis"
    assert all(isinstance(code, Category) for code in result.categories)
    assert Category.SAFEGUARDING in result.families
    assert Assessment("crisis", (), (Category.OVERDOSE,)).families == (Category.SUICIDE_PLAN,)


def test_assess_rejects_non_text() -> None:
    """A non-string is a programming error, reported as such."""
    with pytest.raises(TypeError):
        assess(None)  # type: ignore[arg-type]


def test_negation_lowers_to_concern_but_not_with_but() -> None:
    """Negation: "not suicidal" is concern; "not ok, I want to die" stays crisis, as does "but"."""
    assert assess("I'm not suicidal, just tired").level == "concern"
    assert assess("I'm not ok, I want to die").level == "crisis"
    assert assess("i'm not suicidal but i don't want to wake up").level == "crisis"


def test_friend_at_risk_is_crisis_like_a_friend_in_danger() -> None:
    """A friend who talks of dying is a crisis (issue 12), as is a friend in danger now."""
    assert assess("worried about my friend, she said she wants to die").level == "crisis"
    assert assess("my friend took a bunch of pills").level == "crisis"
    assert assess("my friend said she's going to kill herself tonight").level == "crisis"


def test_default_screen_can_be_replaced_and_restored() -> None:
    """`set_default_screen` installs a screen for `assess`; None restores the built-in one."""
    empty = Screen([], learned=False)
    set_default_screen(empty)
    try:
        assert default_screen() is empty
        assert assess("i want to die").level == "none"  # no rules, no model: nothing found
    finally:
        set_default_screen(None)
    assert assess("i want to die").level == "crisis"


def _labelled_texts() -> Iterator[str]:
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["text"]


def test_prefilter_never_changes_a_result() -> None:
    """The anchor pre-filter gives exactly the rules a full scan gives, on every phrase."""
    texts = [*_labelled_texts()]
    texts += [text for rule in RULES for text in (*rule.examples, *rule.counter_examples)]
    texts.append(" ".join(texts))  # one long text with everything in it
    for text in texts:
        assert fired_ids(text) == fired_ids(text, gated=False), text


_PIECES = sorted(
    {word for rule in RULES for text in rule.examples for word in text.split()}
    | {"the", "exam", "lol", "not", "but", "my", "friend", "said", ".", ",", "\U0001f602"}
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=25))
def test_prefilter_agrees_with_full_scan_on_shuffled_words(words: list[str]) -> None:
    """On random mixes of the words rules care about, pre-filtered and full scans agree."""
    text = " ".join(words)
    assert fired_ids(text) == fired_ids(text, gated=False)


def test_analysis_finds_required_words() -> None:
    """The pattern analyser proves which words a match must contain, and where."""
    found = analyse(r"\b(?:my |his )?(?:dad|mum) (?:\w{1,30} ){0,2}(?:hits|hit) me\b")
    assert {r.words for r in found.requires} == {
        frozenset({"dad", "mum"}),
        frozenset({"hit", "hits"}),
    }
    assert analyse(r"\bkill+ ?myself\b").lead == frozenset({"kil"})
    assert analyse(r"\b(?i)kill").requires == ()  # flags: not analysed, always run


# --- speed and safety on long or hostile input ----------------------------------------------

LONG_MESSAGE = (
    "This week has been busy but mostly fine. On Monday the organic chemistry lab ran over "
    "because the fume cupboards broke, so I missed the bus back to halls. Tuesday I met my "
    "project group and we split the literature review; my part is enzyme kinetics, which I "
    "like, although the reading list is huge. Netball went well and we won 24-19. The "
    "careers fair was useful and one company said to apply in January. I worked two shifts "
    "at the cafe, which is tiring but pays the rent. My tutor said my essay plan is solid "
    "but needs more sources. My flatmates and I cooked pasta and watched a film. I went home "
    "for my brother's birthday and we went bowling. I am a bit worried about the statistics "
    "coursework, so I might book a maths drop-in. Could we move our next meeting to Thursday "
    "afternoon? Overall my mood is about a seven out of ten; tired but fine. "
)


def _median_seconds(text: str, runs: int = 15) -> float:
    # CPU time of this thread, not wall time: other work on a shared machine must not make
    # the screen look slow (the regression this guards against is an order of magnitude).
    times = []
    for _ in range(runs):
        start = time.thread_time()
        SCREEN.assess(text)
        times.append(time.thread_time() - start)
    return statistics.median(times)


def test_a_4000_character_message_is_screened_quickly(
    record_property: pytest.RecordProperty,
) -> None:
    """A maximum-length everyday message takes milliseconds, not more (figure printed)."""
    text = (LONG_MESSAGE * 10)[:4000]
    assert SCREEN.assess(text).level == "none"
    seconds = _median_seconds(text)
    record_property("assess_4000_chars_ms", round(seconds * 1000, 3))
    print(f"\nassess() on a 4,000-character message: median {seconds * 1000:.2f} ms")
    assert seconds < 0.05  # generous: catches a regression by an order of magnitude


HOSTILE = {
    "one long word": "a" * 4000,
    "single letters": "a " * 2000,
    "spaced then broken": "a " * 1999 + "ab",
    "leet digits": "1" * 4000,
    "mixed leet word": "k1" * 2000,
    "stretched": "e" * 4000,
    "zero width": "\u200b" * 4000,
    "homoglyphs": "\u0430" * 4000,
    "punctuation": "!?." * 1333,
    "trigger words": "kill die suicide hurt cut " * 160,
    "pronouns": "i im me my he she they " * 180,
    "emoji": "\U0001f602" * 2000,
    "newlines": "\n" * 4000,
    "ten times the cap": (LONG_MESSAGE * 100)[:40000],
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_has_no_catastrophic_backtracking(name: str) -> None:
    """Pathological text of any length is screened in bounded time."""
    start = time.perf_counter()
    SCREEN.assess(HOSTILE[name])
    assert time.perf_counter() - start < 2.0


def test_a_crisis_late_in_a_long_message_is_found() -> None:
    """The whole message is screened, not just its start."""
    text = (LONG_MESSAGE * 10)[:3980] + " i want to die"
    assert SCREEN.assess(text).level == "crisis"


# --- loading rule files ---------------------------------------------------------------------

GOOD_EXTRA = """
rules:
  - id: concern.exam_stress.meltdown
    level: concern
    category: exam_stress
    patterns: ['\\bexam meltdown\\b']
    examples: ["having an exam meltdown"]
    counter_examples: ["exam went fine"]
  - id: crisis.custom.uses_fragment
    level: crisis
    category: custom
    patterns: ['\\b{{kill}} ?{{self}} tomorrow\\b']
    examples: ["kill myself tomorrow"]
"""


def write(tmp_path: Path, text: str, name: str = "extra.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_extra_rule_files_load_after_the_builtin_ones(tmp_path: Path) -> None:
    """Extra files add rules and may use the built-in fragments."""
    rules = load_rules([write(tmp_path, GOOD_EXTRA)])
    ids = [rule.id for rule in rules]
    assert ids[: len(RULES)] == [rule.id for rule in RULES]
    assert "concern.exam_stress.meltdown" in ids
    screen = Screen(rules)
    assert screen.assess("having an exam meltdown").reasons == ("concern.exam_stress.meltdown",)
    assert screen.check_examples() == []


def test_extra_files_alone(tmp_path: Path) -> None:
    """`include_builtin=False` loads only the given files."""
    text = GOOD_EXTRA.split("  - id: crisis.custom")[0]
    rules = load_rules([write(tmp_path, text)], include_builtin=False)
    assert [rule.id for rule in rules] == ["concern.exam_stress.meltdown"]


MALFORMED = {
    "not yaml": ("rules: [unclosed", "not valid YAML"),
    "not a mapping": ("- just a list", "mapping"),
    "no rules list": ("rules: nope", "'rules' must be a list"),
    "unknown top key": ("rulez: []", "unknown top-level keys"),
    "rule not a mapping": ("rules: [oops]", "must be a mapping"),
    "missing id": ("rules: [{level: crisis}]", "has no 'id'"),
    "bad level": (
        "rules: [{id: x.y.z, level: severe, category: y, patterns: ['\\bx'], examples: [x]}]",
        "'level' must be crisis or concern",
    ),
    "id not matching level": (
        "rules: [{id: crisis.y.z, level: concern, category: y, patterns: ['\\bx'], examples: [x]}]",
        "'id' must look like concern.y.<name>",
    ),
    "unknown key": (
        "rules: [{id: crisis.y.z, level: crisis, category: y, paterns: ['\\bx'], examples: [x]}]",
        "unknown keys ['paterns']",
    ),
    "no patterns": (
        "rules: [{id: crisis.y.z, level: crisis, category: y, examples: [x]}]",
        "'patterns' is required",
    ),
    "no examples": (
        "rules: [{id: crisis.y.z, level: crisis, category: y, patterns: ['\\bx']}]",
        "'examples' is required",
    ),
    "bad regex": (
        "rules: [{id: crisis.y.z, level: crisis, category: y, patterns: ['\\b(x'], examples: [x]}]",
        "not a valid regex",
    ),
    "no word boundary": (
        "rules: [{id: crisis.y.z, level: crisis, category: y, patterns: ['x'], examples: [x]}]",
        "must start with \\b",
    ),
    "upper case": (
        "rules: [{id: crisis.y.z, level: crisis, category: y, patterns: ['\\bKill'], "
        "examples: [x]}]",
        "upper-case",
    ),
    "catastrophic": (
        "rules: [{id: crisis.y.z, level: crisis, category: y, patterns: ['\\b(a+)+b'], "
        "examples: [x]}]",
        "nests unbounded repeats",
    ),
    "unknown fragment": (
        "rules: [{id: crisis.y.z, level: crisis, category: y, patterns: ['\\b{{nope}}'], "
        "examples: [x]}]",
        "unknown fragment {{nope}}",
    ),
    "bad window": (
        "rules: [{id: crisis.y.z, level: crisis, category: y, patterns: ['\\bx'], "
        "unless_window: -1, examples: [x]}]",
        "'unless_window' must be between",
    ),
    "duplicate id": (
        "rules: [{id: crisis.suicidal_ideation.kill_self, level: crisis, "
        "category: suicidal_ideation, patterns: ['\\bx'], examples: [x]}]",
        "duplicate rule id",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_rule_files_are_named_clearly(tmp_path: Path, case: str) -> None:
    """Each kind of mistake raises RuleFileError naming the file (and rule) and the problem."""
    text, message = MALFORMED[case]
    path = write(tmp_path, text)
    with pytest.raises(RuleFileError) as caught:
        load_rules([path])
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_error_names_the_rule(tmp_path: Path) -> None:
    """When a rule is at fault, the error carries its id."""
    text = "rules: [{id: crisis.y.z, level: crisis, category: y, patterns: ['x'], examples: [x]}]"
    with pytest.raises(RuleFileError) as caught:
        load_rules([write(tmp_path, text)], include_builtin=False)
    assert caught.value.rule_id == "crisis.y.z"
    assert "rule 'crisis.y.z'" in str(caught.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    """A path that doesn't exist is a RuleFileError, not a bare OSError."""
    with pytest.raises(RuleFileError, match="cannot read rule file"):
        load_rules([tmp_path / "absent.yaml"])


# --- the phrases the brief names ------------------------------------------------------------

BRIEF = {
    "crisis": [
        "I don't want to be here anymore",
        "everyone would be better off without me",
        "thinking of ending it all",
        "kms",
        "I want to unalive myself",
        "wanna die",
        "I have a plan",
        "cutting again",
        "I want to hurt myself",
        "I'm going to hurt him",
        "I'm going to bring a gun to school",
        "my dad hits me",
        "someone is touching me",
        "I'm not safe at home tonight",
        "I took a bunch of pills",
        "I think I'm going to overdose",
        "thinking about sucide",
        "I feel suicidle",
        "I'm going to kil myself",
        "quiero morir",
        "me quiero matar",
        "je veux mourir",
        "je vais me suicider",
        "I'm not ok, I want to die",
    ],
    "concern": [
        "nothing matters",
        "what's the point",
        "I can't cope",
        "haven't eaten in days",
        "can't sleep for a week",
        "got kicked out",
        "I'm sleeping in my car",
        "I can't afford food",
        "they keep bullying me",
        "worried about my friend, she said she wants to die",
        "I've been drinking every day to cope",
        "I keep having panic attacks",
    ],
    "none": [
        "this exam is killing me",
        "I'd die for a coffee",
        "I could kill for a pizza",
        "dying of laughter",
        "my phone died",
        "killed it in the presentation",
        "dead tired",
        "I'm dead \U0001f602",
        "deadline is going to be the death of me",
        "kill the lights",
        "suicide squad movie",
        "we discussed suicide prevention in psych class",
    ],
}


@pytest.mark.parametrize(
    ("expected", "text"),
    [(level, text) for level, texts in BRIEF.items() for text in texts],
)
def test_phrases_named_in_the_brief(expected: str, text: str) -> None:
    """Each example the brief gives lands on its level (concern phrases at least concern)."""
    level = assess(text).level
    if expected == "concern":
        assert level in ("concern", "crisis")
    else:
        assert level == expected


def test_not_suicidal_just_tired_is_at_most_concern() -> None:
    """A negated statement is never escalated to crisis."""
    assert assess("I'm not suicidal, just tired").level != "crisis"


def test_requirement_table_needs_a_word_of_every_requirement() -> None:
    """A pattern is chosen when each of its requirements has a word present, in index order."""
    pills = Requirement(frozenset({"pills", "tablets"}), 0, 40)
    took = Requirement(frozenset({"took", "swallowed"}), 0, 10)
    nothing = Requirement(frozenset(), 0, None)
    table = RequirementTable([(pills, took), (), (pills,), (nothing,)])
    assert table.satisfied(["took", "tablets", "unrelated"]) == [0, 1, 2]
    assert table.satisfied(["took"]) == [1]
    assert table.satisfied([]) == [1]
