"""What the i18n adapter tests share: a message with every part, and stripping its symbols.

A screen reader, a notification or a terminal without emoji fonts drops the pictures; what is
left must still say everything (issue 19 item 6).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from bot.model import Attachment, Choice, Field, Message

# Every sparkline character the brief names (bot.sparkline uses the first five and a dot).
SPARK = "▁▂▃▄▅▆▇█"
_JOINERS = "\u200d\ufe0e\ufe0f\u20e3"


def strip_symbols(text: str) -> str:
    """`text` without emoji, pictographs, sparkline bars or emoji joiners, spaces squeezed."""
    kept = "".join(
        char
        for char in text
        if char not in SPARK
        and char not in _JOINERS
        and unicodedata.category(char) not in ("So", "Sk", "Cs")
    )
    return re.sub(r"[ \t]+", " ", kept)


def rich_message(language: str | None = None) -> Message:
    """A message with a title, text, fields (one a sparkline), buttons and a chart."""
    fields = (Field("Mood", "🙂 4"), Field("Last 14 days", "▁▂▃▄▅·▄"), Field("Goals", "2 open"))
    choices = (
        Choice("😀 5", "mood.log", (("score", "5"),)),
        Choice("😟 2", "mood.log", (("score", "2"),)),
        Choice("Pause check-ins", "checkins.pause"),
    )
    chart = Attachment(
        "mood.png", b"\x89PNG", mime_type="image/png", alt_text="Mood over 14 days, mostly 4"
    )
    message = Message(
        title="📈 Your week",
        text="Here is how your week went.",
        fields=fields,
        choices=choices,
        attachment=chart,
    )
    if language is not None:
        return replace(message, language=language)
    return message


# What must survive in the plain text once the symbols are gone.
RICH_WORDS = (
    "Your week",
    "Here is how your week went.",
    "Mood",
    "4",
    "Last 14 days",
    "Goals",
    "2 open",
    "5",
    "2",
    "Pause check-ins",
    "Mood over 14 days, mostly 4",
)
