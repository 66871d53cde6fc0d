"""Text normalisation for the safety screen: undo the ways people (and keyboards) disguise words.

`normalise` gives the one canonical form of a message; `variants` adds more aggressive
decodings (letter spacing, leetspeak, stray punctuation, stretched letters). The screen runs
its rules over every variant and keeps the most severe result, so a decoding that garbles
ordinary text ("room 101" becomes "room ioi" in the leet variant) costs nothing: the canonical
form is always screened as well. Every function here is pure and total on `str`.

The canonical form is lower case, has no accents, apostrophes or invisible characters, maps
look-alike letters from other scripts to Latin, and has single spaces. Rule patterns are
written against that form: ``im`` matches "I'm", "Im" and "I’m"; ``dont`` matches "don't".
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Final

import numpy as np

# Letters from other scripts that look like Latin ones, after case folding (so only lower
# case is needed). Cyrillic and Greek cover almost all real-world spoofing; the small-capital
# and barred Latin letters are ones NFKC leaves alone.
_HOMOGLYPHS: Final[dict[str, str]] = {
    # Cyrillic
    "а": "a", "в": "b", "г": "r", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h",
    "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ш": "w",
    "ь": "b", "є": "e", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ӏ": "l", "һ": "h", "ҝ": "k", "ү": "y", "ѵ": "v",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u",
    "ν": "v", "ο": "o", "π": "n", "ρ": "p", "σ": "o", "ς": "s", "τ": "t", "υ": "u",
    "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # Latin
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ɪ": "i", "ʟ": "l", "ɴ": "n",
    "ʀ": "r", "ʏ": "y", "ᴀ": "a", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ᴋ": "k", "ᴍ": "m",
    "ᴏ": "o", "ᴘ": "p", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ø": "o",
    "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ƀ": "b", "ɨ": "i", "ʉ": "u", "æ": "ae",
    "œ": "oe",
}  # fmt: skip

# Punctuation with several Unicode spellings, reduced to one ASCII form. Apostrophes are
# deleted outright: students write "im"/"i'm" and "dont"/"don't" interchangeably, so rules
# need to match one spelling only.
_PUNCTUATION: Final[dict[str, str]] = {
    "'": "", "`": "", "’": "", "‘": "", "‛": "", "ʼ": "", "ʻ": "", "´": "", "′": "",
    "“": '"', "”": '"', "„": '"', "‟": '"', "«": '"', "»": '"', "″": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "⁃": "-",
    "…": "...", "・": ".", "·": ".", "•": ".", "∙": ".", "⋅": ".",
    # Characters that render as nothing or as a blank but are not in category Cf or Zs:
    # Hangul fillers, combining grapheme joiner, Mongolian vowel separator, Khmer inherent
    # vowels, braille blank.
    "\u115f": "", "\u1160": "", "\u3164": "", "\uffa0": "", "\u034f": "", "\u180e": "",
    "\u17b4": "", "\u17b5": "", "\u2800": " ",
}  # fmt: skip

# Whitespace other than a plain space, and control characters: all become a plain space.
_ODD_SPACE: Final = re.compile(
    "[\x00-\x1f\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)

# Leetspeak: digits and symbols standing in for letters. "1" is ambiguous (i or l), so
# `variants` decodes it both ways rather than guessing.
# "*" censors a letter ("k*ll", "d*e", "unal*ve"), most often a vowel and usually "i".
_LEET: Final[dict[str, str]] = {
    "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i",
    "|": "l", "€": "e", "*": "i",
}  # fmt: skip
_LEET_ONE_AS_I: Final = str.maketrans({**_LEET, "1": "i"})
_LEET_ONE_AS_L: Final = str.maketrans({**_LEET, "1": "l"})
# Runs of leet characters; decoded only when they touch a letter ("k1ll", "5uicide", "my$elf"),
# so ordinary numbers ("2024", "$50", "room 101") survive. A "!" counts only inside a word
# ("k!ll"), never at its end ("help!").
_LEET_RUN: Final = re.compile(r"[013457@$|€!*]+")
_LETTER: Final = re.compile(r"[^\W\d_]")


# Letter spacing: a run of single characters with separators, as in "k i l l", "k.i.l.l" or
# "k - i - l - l". Every character is consumed once, so the match is linear even on
# "a a a a ... ax"; `_join_run` decides what to glue.
_SEPARATOR = r"[ .\-_*|/,+~:]{1,3}"
_SPACED_RUN: Final = re.compile(
    rf"(?<![^\W_])[^\W_](?![^\W_])(?:{_SEPARATOR}[^\W_](?![^\W_])){{2,}}"
)
_SEPARATOR_RE: Final = re.compile(_SEPARATOR)
# Cheap test run first: two single characters in a row, each between separators. It starts
# with a character class, so the regex engine skips through text quickly.
_SPACED_HINT: Final = re.compile(
    rf"[ .\-_*|/,+~:][^\W_]{_SEPARATOR}[^\W_]{_SEPARATOR}[^\W_](?:[ .\-_*|/,+~:]|$)"
)

# Letters stretched for emphasis ("dieeee", "sooo"); three or more repeats only, so the
# doubled letters of ordinary words ("kill", "sleep") are never touched.
_STRETCHED: Final = re.compile(r"([^\W\d_])\1{2,}")

# Punctuation that only separates words, and ellipses (a pause, not a sentence end). Kept:
# single sentence ends (.!?;) for the rules' context windows; "*", which people use to censor
# letters ("k*ll") and which rules match where it matters; and emoji, which rules may read as
# context ("kill him 😂" is a joke) in every variant alike.
_NOISE_ASCII: Final = str.maketrans(dict.fromkeys('"#$%&()+,-/:<=>@[\\]^_`{|}~', " "))
_NOISE: Final = re.compile(r"[^\x00-\x7f\w\s\u2600-\u27bf\U0001f000-\U0001faff]+")
_ELLIPSIS: Final = re.compile(r"\.{2,}")


# Code point -> replacement, for every non-ASCII character met so far: `str.translate` then
# maps a whole message in C, and Python looks at each distinct character once, not at every
# occurrence (a 4,000-character message in Chinese or Arabic has a few hundred).
_char_table: dict[int, str] = {}
_MAX_TABLE: Final = 65_536  # bounded: a flood of rare characters can't grow it


def _replacement(ch: str) -> str:
    """Replacement for one non-ASCII character: dropped, mapped to Latin, or kept."""
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        # Combining marks (accents, strike-through "zalgo") and format characters
        # (zero-width space/joiners, bidi marks, soft hyphen, word joiner, BOM).
        return ""
    return _HOMOGLYPHS.get(ch) or _PUNCTUATION.get(ch, ch)


def _map_chars(text: str) -> str:
    """`text` with every non-ASCII character replaced by `_replacement`."""
    table: dict[int, str] = _char_table
    missing = [ch for ch in set(text) if ord(ch) > 0x7F and ord(ch) not in _char_table]
    if missing:
        if len(_char_table) + len(missing) <= _MAX_TABLE:
            _char_table.update((ord(ch), _replacement(ch)) for ch in missing)
        else:
            table = {**_char_table, **{ord(ch): _replacement(ch) for ch in missing}}
    return text.translate(table)


def _canonical(text: str) -> str:
    """The canonical form before whitespace is squeezed (letter spacing is still visible)."""
    # NFKC folds compatibility forms (fullwidth, mathematical bold, ligatures, circled
    # letters); case folding is stronger than lower() (German sharp s, Greek final sigma).
    folded = unicodedata.normalize("NFKC", text).casefold()
    if not folded.isascii():
        # Decompose so accents become separate marks, drop marks and invisible characters,
        # map look-alikes, then recompose what is left (Hangul, for one). Plain ASCII, the
        # common case, skips all of this.
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = unicodedata.normalize("NFC", _map_chars(decomposed))
        # Mapping can expose compatibility or upper-case forms again (rare); one more fold
        # keeps `normalise` idempotent.
        folded = unicodedata.normalize("NFKC", folded).casefold()
    # Apostrophes and backticks go (see _PUNCTUATION); str.replace is much faster than a
    # translation table on long text.
    folded = folded.replace("'", "").replace("`", "")
    return _ODD_SPACE.sub(" ", folded)


def squeeze(text: str) -> str:
    """Collapse runs of whitespace to one space and trim the ends."""
    return " ".join(text.split())


def normalise(text: str) -> str:
    """Canonical form of `text` for screening.

    NFKC, case folding, accents and invisible/format characters removed, homoglyphs from
    Cyrillic, Greek and small-capital Latin mapped to Latin letters, apostrophes removed,
    quotes and dashes unified, control characters and whitespace squeezed to single spaces.
    Digits and other punctuation are kept.
    """
    return squeeze(_canonical(text))


def _join_run(match: re.Match[str]) -> str:
    run = match.group(0)
    separators = _SEPARATOR_RE.findall(run)
    if len(separators) < 2:  # "a b": two single letters are ordinary text
        return run
    chars = _SEPARATOR_RE.split(run)
    # The commonest separator glues letters; any other ("k i l l  m e", double space) is a
    # word break.
    joiner = Counter(separators).most_common(1)[0][0]
    out = [chars[0]]
    for position, (separator, ch) in enumerate(zip(separators, chars[1:], strict=True)):
        glue = separator == joiner
        if glue and position == 0 and chars[0] == "i":
            # "i w a n t" is "i want", not "iwant": a leading "i" before a long word is
            # the pronoun. "i m" (two letters) stays "im".
            following = 1
            for later in separators[1:]:
                if later != joiner:
                    break
                following += 1
            glue = following < 3
        out.append("" if glue else " ")
        out.append(ch)
    return "".join(out)


def collapse_spacing(text: str) -> str:
    """Join letters written one at a time: "k i l l  m e" -> "kill me", "d.i.e" -> "die"."""
    if not _SPACED_HINT.search(" " + text):
        return text
    return _SPACED_RUN.sub(_join_run, text)


def decode_leet(text: str, one: str = "i") -> str:
    """Decode leetspeak inside words that also contain letters ("k1ll" -> "kill").

    `one` is the letter "1" stands for ("i" or "l"). Pure numbers are left alone.
    """
    table = _LEET_ONE_AS_L if one == "l" else _LEET_ONE_AS_I

    def decode(match: re.Match[str]) -> str:
        run = match.group(0)
        start, end = match.span()
        core, tail = run, ""
        if run.endswith("!") and _LETTER.match(text, end) is None:
            # A "!" stands for "i" only with a letter after it: "k!ll", never "help!".
            core = run.rstrip("!")
            tail = run[len(core) :]
            end -= len(tail)
        touches_letter = (start > 0 and _LETTER.match(text, start - 1) is not None) or (
            _LETTER.match(text, end) is not None
        )
        if core and touches_letter:
            core = core.translate(table)
        return core + tail

    return _LEET_RUN.sub(decode, text)


def collapse_repeats(text: str, keep: int = 1) -> str:
    """Shorten a letter repeated three or more times to `keep` copies ("dieeee" -> "die")."""
    if not _has_stretch(text):
        return text
    return _STRETCHED.sub(lambda m: m.group(1) * keep, text)


def _has_stretch(text: str) -> bool:
    """Whether some letter occurs three times in a row ("sooo").

    One vectorised comparison of the text with itself shifted by one and two characters
    finds every run of three alike; only their distinct characters are then asked whether
    they are letters. (One substring search per letter used was fast for English and slow
    for Chinese, which uses hundreds of letters.)
    """
    if len(text) < 3:
        return False
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    alike = (codes[:-2] == codes[1:-1]) & (codes[1:-1] == codes[2:])
    if not alike.any():
        return False
    return any(chr(code).isalpha() for code in set(codes[:-2][alike].tolist()))


def _one_inside_word(text: str) -> bool:
    """Whether a "1" touches a letter ("k1ll"), found without a regex pass."""
    at = text.find("1")
    while at >= 0:
        if (at > 0 and text[at - 1].isalpha()) or text[at + 1 : at + 2].isalpha():
            return True
        at = text.find("1", at + 1)
    return False


def strip_noise(text: str) -> str:
    """Replace punctuation between words with spaces: "kill-myself" -> "kill myself".

    Single sentence ends (. ! ? ;), "*" and emoji stay; brackets, quotes, dashes, commas,
    slashes and ellipses become spaces.
    """
    text = _ELLIPSIS.sub(" ", text).translate(_NOISE_ASCII)
    if not text.isascii():
        text = _NOISE.sub(" ", text)
    return squeeze(text)


def variants(text: str) -> tuple[str, ...]:
    """Every form of `text` the screen checks, canonical form first, without repeats.

    1. the canonical form (`normalise`);
    2. the decoded form: letter spacing collapsed, leetspeak decoded ("1" read as "i"),
       punctuation between words removed and stretched letters shortened to one
       ("dieeee" -> "die");
    3. the same with stretched letters shortened to two instead ("killllll" -> "kill");
    4. 2 and 3 again reading "1" as "l", only when a "1" sits inside a word.

    Most messages have two variants (canonical and decoded); ordinary text gains nothing
    from the others, which collapse into these as repeats.
    """
    canonical = _canonical(text)
    base = squeeze(canonical)
    spaced = squeeze(collapse_spacing(canonical))
    found = [base]
    for one in ("i", "l") if _one_inside_word(spaced) else ("i",):
        decoded = strip_noise(decode_leet(spaced, one))
        if _has_stretch(decoded):
            found.append(_STRETCHED.sub(lambda m: m.group(1), decoded))
            found.append(_STRETCHED.sub(lambda m: m.group(1) * 2, decoded))
        else:
            found.append(decoded)
    return tuple(dict.fromkeys(found))
