"""The Spanish, French, German, Portuguese, Turkish, Russian and Vietnamese language packs.

Each pack must load, fire on every example it lists, keep its counter-examples out of crisis,
and reach the floors on its development set (`tests/safety/corpus/dev/<code>.jsonl`) when all
packs run together, as `screen_languages` runs them. The packs must stay quiet at crisis on
English, which every Latin-script pack also sees.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.safety.corpus import RISK_CODES
from bot.safety.lang import PACK_FOLDER, LanguagePack, load_pack, screen_languages
from bot.safety.taxonomy import TAXONOMY, Category, level_of

CODES = ("es", "fr", "de", "pt", "tr", "ru", "vi")
DEV_FOLDER = Path(__file__).parents[3] / "safety" / "corpus" / "dev"
CRISIS_CATEGORIES = [
    c for c, info in TAXONOMY.items() if info.level == "crisis" and c.value in RISK_CODES
]
RANK = {"none": 0, "concern": 1, "crisis": 2}


@dataclass(frozen=True)
class DevItem:
    """One labelled message of a development set."""

    text: str
    label: str
    category: str
    lang: str


def _pack(code: str) -> LanguagePack:
    return load_pack(PACK_FOLDER / f"{code}.yaml")


def _raw_rules(code: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((PACK_FOLDER / f"{code}.yaml").read_text(encoding="utf-8"))
    return list(data["rules"])


def _dev(code: str) -> list[DevItem]:
    lines = (DEV_FOLDER / f"{code}.jsonl").read_text(encoding="utf-8").splitlines()
    return [DevItem(**json.loads(line)) for line in lines if line.strip()]


def _level(text: str, langs: frozenset[str] | None = None) -> str:
    """The highest level `screen_languages` gives `text`, counting only packs in `langs`."""
    found = [f for f in screen_languages(text) if langs is None or f.lang in langs]
    return max((f.level for f in found), key=RANK.__getitem__, default="none")


# ------------------------------------------------------------------------------ the packs


@pytest.mark.parametrize("code", CODES)
def test_pack_loads_with_its_code_and_covers_every_category(code: str) -> None:
    """Each pack loads, names its language and has a rule for every category of the taxonomy."""
    pack = _pack(code)
    assert pack.code == code
    assert pack.any_crisis is not None and pack.any_concern is not None
    assert {str(rule.category) for rule in pack.rules} >= RISK_CODES  # the corpus categories


@pytest.mark.parametrize("code", CODES)
def test_fragments_are_named_by_strings(code: str) -> None:
    """Fragment names survive YAML (a bare `no:` key would silently become False)."""
    data = yaml.safe_load((PACK_FOLDER / f"{code}.yaml").read_text(encoding="utf-8"))
    assert all(isinstance(name, str) for name in data.get("fragments") or {})


@pytest.mark.parametrize("code", CODES)
def test_every_example_fires_with_its_category_at_its_level(code: str) -> None:
    """Each rule's examples are found, in the rule's category, at least at the rule's level."""
    pack = _pack(code)
    missed = []
    for rule in _raw_rules(code):
        category = Category(rule["category"])
        level = rule.get("level") or level_of(category)
        for example in rule.get("examples") or ():
            found = pack.findings(str(example))
            if not any(f.category == category and RANK[f.level] >= RANK[level] for f in found):
                missed.append((category.value, example))
    assert missed == []


@pytest.mark.parametrize("code", CODES)
def test_no_counter_example_fires_at_crisis(code: str) -> None:
    """Counter-examples (hyperbole, coursework, games, jokes) never reach crisis in their pack."""
    pack = _pack(code)
    fired = [c for c in pack.counter_examples if any(f.level == "crisis" for f in pack.findings(c))]
    assert fired == []


@pytest.mark.parametrize("code", CODES)
def test_concern_counter_examples_stay_out_of_their_category(code: str) -> None:
    """A concern rule's counter-examples do not raise that rule's category."""
    pack = _pack(code)
    fired = []
    for rule in _raw_rules(code):
        category = Category(rule["category"])
        if (rule.get("level") or level_of(category)) != "concern":
            continue
        for counter in rule.get("counter_examples") or ():
            if any(f.category == category for f in pack.findings(str(counter))):
                fired.append((category.value, counter))
    assert fired == []


def _unbounded_groups(pattern: str) -> list[str]:
    """Groups repeated without bound whose own body repeats without bound (catastrophic)."""
    bad = []
    stack: list[int] = []
    escaped = False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
            continue
        if ch == "\\":
            escaped = True
        elif ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            start = stack.pop()
            after = pattern[i + 1 : i + 8]
            if re.match(r"[+*]|\{\d+,\}", after):
                body = pattern[start + 1 : i]
                if re.search(r"(?<!\\)[+*]|\{\d+,\}", body):
                    bad.append(pattern[start : i + 2])
    return bad


@pytest.mark.parametrize("code", CODES)
def test_patterns_stay_linear(code: str) -> None:
    """No unbounded `.*`/`.+` and no unbounded repeat of a group that itself repeats unbounded."""
    pack = _pack(code)
    sources = [r.pattern.pattern for r in pack.rules]
    sources += [r.unless.pattern for r in pack.rules if r.unless is not None]
    assert [s for s in sources if re.search(r"(?<!\\)\.[*+]", s)] == []
    assert [g for s in sources for g in _unbounded_groups(s)] == []


# ------------------------------------------------------------------------ the dev sets


@pytest.mark.parametrize("code", CODES)
def test_dev_set_is_shaped_as_the_corpus_readme_asks(code: str) -> None:
    """>= 100 messages, >= 40% hard negatives, each crisis category >= 4 times, 5+ concern kinds."""
    items = _dev(code)
    assert len(items) >= 100
    assert {i.lang for i in items} == {code}
    assert {i.label for i in items} <= {"crisis", "concern", "none"}
    assert sum(i.label == "none" for i in items) >= 0.4 * len(items)
    crisis = Counter(i.category for i in items if i.label == "crisis")
    assert all(crisis[c.value] >= 4 for c in CRISIS_CATEGORIES)
    concern = {i.category for i in items if i.label == "concern"}
    assert concern <= {c.value for c, info in TAXONOMY.items() if info.level == "concern"}
    assert len(concern) >= 5


@pytest.mark.parametrize("code", CODES)
def test_dev_set_reaches_the_floors_with_all_packs_running(code: str) -> None:
    """All packs together: crisis recall >= 0.98, concern seen >= 0.95, false-crisis <= 0.03."""
    items = _dev(code)
    crisis = [i for i in items if i.label == "crisis"]
    concern = [i for i in items if i.label == "concern"]
    benign = [i for i in items if i.label == "none"]
    missed = [i.text for i in crisis if _level(i.text) != "crisis"]
    unseen = [i.text for i in concern if _level(i.text) == "none"]
    false_crisis = [i.text for i in benign if _level(i.text) == "crisis"]
    assert 1 - len(missed) / len(crisis) >= 0.98, missed
    assert 1 - len(unseen) / len(concern) >= 0.95, unseen
    assert len(false_crisis) / len(benign) <= 0.03, false_crisis


# ------------------------------------------------------------------------ cross-language

ENGLISH_BENIGN = (
    "this exam is killing me",
    "i'd die for a coffee right now",
    "i nearly died laughing at that video",
    "killed the final boss on my third try",
    "we got wiped five times in a row last night",
    "my mum is going to kill me when she sees my grades lol",
    "i'm dead tired after the gym",
    "the lecture on suicide prevention was really moving",
    "we discussed domestic abuse in sociology today",
    "reading papers about self-harm for my dissertation",
    "the play is about a son who kills his father",
    "in the film the main character takes his own life at the end",
    "die hard is the best christmas film",
    "the dam burst after three days of rain",
    "my cat knocked my tea over again",
    "we sang a song about the sea",
    "i cut my finger chopping onions",
    "got a paper cut from the printer",
    "just got my hair cut really short",
    "the bus was late again",
    "i don't want to wake up early tomorrow",
    "i hate mondays so much",
    "no way, she actually said that?",
    "ya know what i mean",
    "me and tu went to the library",
    "la la land is on tonight",
    "de facto the deadline is friday",
    "el nino is making the weather weird",
    "pro tip: start the essay early",
    "que sera sera, as they say",
    "my friend dan is coming over",
    "the die is cast, we submit tomorrow",
    "roll the die and move three spaces",
    "the tu delft team won the robotics contest",
    "vi is my favourite text editor",
    "ok so the song slaps",
    "the bar was packed, we left early",
    "my roommate keeps stealing my yoghurt, i'll kill him haha",
    "i'm so stressed about finals",
    "can't be bothered to revise today",
    "i'm starving, let's get food",
    "my back is killing me from this chair",
    "it's so hot i'm melting",
    "that joke killed me",
    "she slayed the presentation",
    "the rain is not stopping today",
    "i need to finish my lab report",
    "our group chat is so chaotic",
    "my laptop died right before the deadline",
    "the plant in my room finally died",
    "my grandma's dog died last week and i'm a bit sad",
    "i'm so bored i could scream",
    "nothing makes sense in this maths problem",
    "there's no point in revising chapter 9, it's not on the exam",
    "i give up on this crossword",
    "no future lectures this week, yay",
    "the battery is dead",
    "dead week is the worst week",
    "we watched a documentary on the titanic",
    "reading a novel where the hero wants to die",
    "writing a story where the villain kills the king",
    "the news said a man was arrested for murder",
    "the shooting in the news was horrible",
    "my little brother hit me with a pillow",
    "my sister punched me in the arm for eating her chips",
    "my dad beat me at chess again",
    "we beat the other team 3-1",
    "i smashed that exam",
    "i bombed the quiz",
    "i'm going to crash after this shift",
    "i'll shoot you a message later",
    "take a shot every time he says basically",
    "we did shots at the party",
    "i'm hanging out with friends tonight",
    "hang in there, only two weeks left",
    "the painting is hanging in the hall",
    "i need to cut down on caffeine",
    "cut the crap and tell me",
    "i burned the toast again",
    "i got sunburnt at the beach",
    "the pills for my hay fever make me sleepy",
    "i'm saving up for a new laptop",
    "giving away my old textbooks, anyone want them?",
    "goodbye everyone, see you after the holidays",
    "farewell party for our tutor on friday",
    "i wrote a goodbye card for my teacher",
    "i'm so tired of group projects",
    "i'm tired of this weather",
    "i can't go on like this with no wifi",
    "i'm done with this assignment",
    "my bf is taking me to dinner",
    "my stepdad drives me to school",
    "my uncle touches up old photos as a hobby",
    "my coach pushes me hard in training",
    "my parents force me to eat vegetables",
    "i feel safe at home",
    "he threatened to post the meme in the group chat",
    "i'm going to murder this pizza",
    "we're going to destroy them in the final",
    "bring a knife to cut the cake",
    "he's a knife collector and shows them at fairs",
    "my friend wants to die her hair pink",
    "my friend cut her hair",
    "my friend took some pills for her headache",
    "my friend sent me a goodbye message before moving abroad",
    "my roommate is really into horror films",
    "i feel like a failure at cooking lol",
    "i hate myself for eating all the cookies",
    "i'm useless at football",
    "i'm a burden on the group because i was sick lol",
    "i'm overwhelmed by how many emails i have",
    "i'm falling apart, my shoes are literally falling apart",
    "they tease me about my accent but it's funny",
    "i'm alone at home tonight, movie night",
    "we drank a lot at the party",
    "i skipped breakfast because i overslept",
    "i'm on a diet before summer",
    "i threw up after the rollercoaster",
    "the rollercoaster made me want to die lol",
    "i want to disappear under my duvet until spring",
    "send help, i have three exams tomorrow",
    "i can't deal with this queue",
    "i'll never finish this on time",
    "what's the point of this meeting",
    "my life is a mess but a funny one",
    "the plot has no meaning at all",
    "i'm dying to see the new film",
    "i'm literally dying of cringe",
    "i could kill for a pizza",
    "i'd rather die than sing karaoke",
    "over my dead body will i wear that",
    "my phone is on 1 percent, rip",
    "rest in peace my sleep schedule",
    "the game has a suicide mission level",
    "the suicide squad film was fun",
    "attempt to load the file failed",
    "my first attempt at the cake was a disaster",
    "i tried once and it didn't work, i'll try again",
    "she tried to kill the spider with a shoe",
    "i cut the wires for the project",
    "cutting class today, don't tell",
    "i'm going to hurt my legs at this rate of running",
    "i hurt my knee at football",
    "i hurt myself falling off my bike",
    "i'm hurt that she didn't invite me",
    "this song hurts so good",
    "marry me, said the pizza",
    "arranged marriage is a theme in the novel",
    "forced to wake up at 6 for the train",
    "our teacher forced us to do presentations",
    "the landlord threatened to raise the rent",
    "i'm scared of going home late because of the dark road",
    "he hit me with a snowball",
    "she kicked me under the table to shut me up",
    "we lost the match, the coach is going to kill us",
    "i'll fight you for the last slice",
    "let's kill some time before the lecture",
    "kill the lights please",
    "the weeds are killing the tomatoes",
    "my legs are dead after leg day",
    "the party is dead, let's go",
    "i'm dead serious, the cafe is closed",
    "dead or alive is a great band",
    "i'm a zombie before coffee",
    "we played assassin's creed all night",
    "headshot!! got him",
    "i died in the lava in minecraft",
    "respawn took forever",
    "the boss fight is brutal",
    "my character keeps dying in elden ring",
    "i threw myself into revision this week",
    "jumped off the diving board for the first time",
    "we jumped from the pier into the sea, so fun",
    "i'm on the bridge waiting for you",
    "the train is delayed again",
    "i took the train to the city",
    "i'm hanging my washing on the balcony",
    "i wrote a letter to my grandma",
    "the note said meet at 5",
    "goodbye forever, dry january",
    "i'm giving up chocolate for lent",
    "i'm done, done, done with exams!",
    "no reason to panic, the deadline moved",
    "there is no hope for my sourdough",
    "i have no future in professional singing lol",
    "life is good today",
    "living my best life",
    "i want to live in spain one day",
    "my friend lives in turkey",
    "we went to a vietnamese restaurant",
    "my german class is at nine",
    "the french exam was easy",
    "portuguese tarts are the best",
    "russian literature is so long",
    "turkish delight is too sweet",
    "ich bin a typo i meant i'm",
    "el profe said the test is easy",
    "la tarea is due tomorrow",
    "mi casa su casa",
    "ola everyone",
    "me muero de la risa, as my spanish friend says",
    "merci for the notes",
    "danke for the help",
    "obrigado, see you tomorrow",
    "spasibo my friend",
    "tesekkurler for the tea",
    "cam on for the pho recipe",
)


def test_packs_raise_nothing_at_crisis_on_benign_english() -> None:
    """Hundreds of benign English messages, which Latin packs also see, never reach crisis."""
    assert len(ENGLISH_BENIGN) >= 200
    mine = frozenset(CODES)
    fired = [t for t in ENGLISH_BENIGN if _level(t, mine) == "crisis"]
    assert fired == []


def test_packs_raise_nothing_at_crisis_on_the_english_dev_set() -> None:
    """These packs never read a benign English message as crisis.

    An English crisis message may fire a pack through a shared word ("overdose" is Spanish,
    Portuguese and German too): that only repeats what the English screen says.
    """
    path = DEV_FOLDER / "en.jsonl"
    if not path.exists():
        pytest.skip("no English development set yet")
    items = [DevItem(**json.loads(line)) for line in path.read_text("utf-8").splitlines() if line]
    mine = frozenset(CODES)
    fired = [i.text for i in items if i.label == "none" and _level(i.text, mine) == "crisis"]
    assert fired == []
