"""Charts as images with words beside them: PNG for chat, SVG for HTML reports.

Every chart is drawn by matplotlib on the Agg backend (no display on a server), with
labelled axes and the Okabe-Ito palette, which colour-blind readers can tell apart. A chart
never travels without `alt_text`: a one-paragraph summary in words that screen readers, the
console and notifications show instead of the picture. Callers write that summary from the
figures (they know what matters); `describe_series` gives the usual one.

Drawing is CPU work (tens of milliseconds): call it from a job or a command handler, not
from the answer path of a check-in.

Languages. The alt text is always in the reader's language. The words drawn *in* the picture
(title, axes, legend, tick labels) are too when the machine can draw them: matplotlib lays
text out glyph by glyph, so it needs a font with the script's glyphs (DejaVu Sans covers
Latin, Vietnamese and Cyrillic; Chinese and Korean need Noto Sans CJK installed) and it cannot
join or reorder letters, so Arabic and Devanagari (Hindi) are never drawn right whatever the
font. `drawing_language()` is the reader's language when it can be drawn, else English;
callers build the drawn words inside `drawn_words()` and the alt text outside it, so a
reader whose script can't be drawn gets an English picture and the same figures in words
in their own language (which is what a screen reader reads anyway).
"""

from __future__ import annotations

import io
import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: a server has no display

from babel.numbers import format_decimal
from matplotlib import font_manager, rc_context, rcParams
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.transforms import Bbox

from bot.i18n import DEFAULT_LANGUAGE, PSEUDO_LANGUAGE, _, babel_locale, current_language, speaking
from bot.i18n.dates import DAY_MONTH, LONG_DATE, local_format
from bot.model import Attachment

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common kinds of
# colour blindness. Lines also differ by marker, so colour never carries meaning alone.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")

# matplotlib's state (fonts, text layout caches) is not safe to share between threads that
# draw at once; charts are rare, so one lock is simpler than a process pool.
_DRAW_LOCK = threading.Lock()

# Fonts tried after DejaVu Sans (matplotlib's own) for glyphs it lacks, when installed.
FALLBACK_FONTS: tuple[str, ...] = (
    "Noto Sans",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Noto Sans CJK KR",
    "Noto Sans KR",
)
# Scripts matplotlib can't lay out (joined or reordered letters), whatever the font.
NEEDS_SHAPING = frozenset({"ar", "hi"})
# A few everyday words of each language whose script DejaVu Sans may lack.
SCRIPT_SAMPLES: dict[str, str] = {
    "zh_Hans": "心情平均周",
    "ko": "기분평균주",
    "vi": "Tâm trạng trung bình tuần",
}


@lru_cache(maxsize=1)
def chart_fonts() -> tuple[str, ...]:
    """The font families charts draw with: DejaVu Sans, then the installed fallbacks."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return ("DejaVu Sans", *(name for name in FALLBACK_FONTS if name in installed))


@lru_cache(maxsize=1)
def _glyphs() -> frozenset[int]:
    """Every character the chart fonts have a glyph for."""
    found: set[int] = set()
    for name in chart_fonts():
        path = font_manager.findfont(
            font_manager.FontProperties(family=name), fallback_to_default=False
        )
        found |= set(FT2Font(path).get_charmap())
    return frozenset(found)


def can_draw(language: str) -> bool:
    """True when charts can draw `language`'s words readably on this machine."""
    if language in NEEDS_SHAPING:
        return False
    sample = SCRIPT_SAMPLES.get(language, "")
    return all(ord(c) in _glyphs() for c in sample if not c.isspace())


def drawing_language() -> str:
    """The language a chart's drawn words are in: the reader's, else English (see above)."""
    language = current_language()
    return language if can_draw(language) else DEFAULT_LANGUAGE


@contextmanager
def drawn_words() -> Iterator[str]:
    """Build the words drawn in a chart (title, axes, legend, ticks) inside this block."""
    with speaking(drawing_language()) as language:
        yield language


def _fonts() -> AbstractContextManager[object]:
    return rc_context({"font.family": list(chart_fonts())})


def day_month(value: date) -> str:
    """A short day and month for ticks and tables: `07 Dec`, `7 dic`, `12月7日`."""
    return local_format(value, DAY_MONTH)


def long_date(value: date) -> str:
    """A date with the month in full: `07 December 2026`, `7 de diciembre de 2026`."""
    return local_format(value, LONG_DATE)


def number(value: float) -> str:
    """A figure as the reader writes it: `3.5`, `3,5`; whole numbers without decimals."""
    language = current_language()
    if language in (DEFAULT_LANGUAGE, PSEUDO_LANGUAGE):
        return _num(value)
    return format_decimal(round(value, 1), format="#,##0.#", locale=babel_locale(language))


@dataclass(frozen=True)
class Series:
    """One named line or bar group; `None` marks a missing point (no data, or suppressed)."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    """A drawn chart: the picture in two formats and its description in words."""

    title: str
    alt_text: str
    png: bytes
    svg: str

    def as_attachment(self, filename: str) -> Attachment:
        """The PNG as a message attachment carrying the alt text."""
        return Attachment(
            filename=filename, content=self.png, mime_type="image/png", alt_text=self.alt_text
        )


# Which pictures to draw: chat needs only the PNG and an HTML page only the SVG, and each
# format costs as much as drawing the chart (a digest for every mentor draws hundreds).
BOTH: tuple[str, ...] = ("png", "svg")


# The padded tight bounding box of charts whose layout is known not to depend on their values
# (see `_layout_key`), by (layout, format). `bbox_inches="tight"` costs a whole extra layout
# pass (~40 % of drawing a chart); a digest draws the same one-line chart for every mentor,
# with the same title, weeks, axes and fixed y range, so the box is measured once.
_TIGHT_BOXES: dict[tuple[object, ...], Bbox] = {}
MAX_TIGHT_BOXES = 256


def _tight_box(figure: Figure, key: tuple[object, ...] | None, fmt: str) -> Bbox | str:
    """The cached box for `key` in `fmt`, else "tight" (and the box is cached as it's measured)."""
    if key is None:
        return "tight"
    found = _TIGHT_BOXES.get((*key, fmt))
    if found is not None:
        return found
    measure = figure.get_tightbbox

    def remember(*args: Any, **kwargs: Any) -> Bbox:
        # savefig measures the box exactly once, at the format's own dpi and renderer;
        # keep what it measured, padded as it pads it, so a cached save is the same picture.
        box = measure(*args, **kwargs)
        if len(_TIGHT_BOXES) >= MAX_TIGHT_BOXES:
            _TIGHT_BOXES.clear()
        pad = rcParams["savefig.pad_inches"]
        _TIGHT_BOXES[(*key, fmt)] = box.padded(pad, pad)
        return box

    figure.get_tightbbox = remember  # type: ignore[method-assign]
    return "tight"


def _render(
    figure: Figure, formats: tuple[str, ...] = BOTH, key: tuple[object, ...] | None = None
) -> tuple[bytes, str]:
    png = io.BytesIO()
    if "png" in formats:
        figure.savefig(png, format="png", dpi=110, bbox_inches=_tight_box(figure, key, "png"))
        figure.__dict__.pop("get_tightbbox", None)
    if "svg" not in formats:
        return png.getvalue(), ""
    svg = io.StringIO()
    figure.savefig(svg, format="svg", bbox_inches=_tight_box(figure, key, "svg"))
    figure.__dict__.pop("get_tightbbox", None)
    text = svg.getvalue()
    # Inline SVG in an HTML page: drop the XML prolog and DOCTYPE before the <svg> element.
    start = text.find("<svg")
    return png.getvalue(), text[start:] if start >= 0 else text


def _figure(title: str, x_label: str, y_label: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(7.0, 3.6))
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(axis="y", alpha=0.3)
    return figure, axes


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    alt_text: str,
    y_range: tuple[float, float] | None = None,
    formats: tuple[str, ...] = BOTH,
) -> Chart:
    """Lines over shared x labels (weeks, days); gaps where a value is `None`."""
    with _DRAW_LOCK, _fonts():
        figure, axes = _figure(title, x_label, y_label)
        positions = list(range(len(x_labels)))
        for index, one in enumerate(series):
            values = [float("nan") if v is None else v for v in one.values]
            axes.plot(
                positions[: len(values)],
                values,
                label=one.name,
                color=PALETTE[index % len(PALETTE)],
                marker=MARKERS[index % len(MARKERS)],
                linewidth=2,
            )
        axes.set_xticks(positions, list(x_labels), rotation=30, ha="right")
        if y_range is not None:
            axes.set_ylim(*y_range)
        if len(series) > 1:
            axes.legend(loc="best", fontsize="small")
        png, svg = _render(
            figure, formats, _layout_key(title, x_labels, series, x_label, y_label, y_range)
        )
    return Chart(title=title, alt_text=alt_text, png=png, svg=svg)


def _layout_key(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] | None,
) -> tuple[object, ...] | None:
    """What a line chart's tight box depends on, when that is not its values; else None.

    Lines are clipped to the axes, so with a fixed y range the box is set by the words (title,
    axes, ticks) and by which weeks have a point (they set the x limits). A legend ("best"
    place) moves with the values, so charts with one are always measured.
    """
    if y_range is None or len(series) > 1:
        return None
    present = tuple(tuple(v is not None for v in one.values) for one in series)
    return ("line", title, tuple(x_labels), x_label, y_label, y_range, present, chart_fonts())


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    alt_text: str,
    formats: tuple[str, ...] = BOTH,
) -> Chart:
    """Grouped bars per category (mood 1-5, alert kinds); `None` draws no bar."""
    with _DRAW_LOCK, _fonts():
        figure, axes = _figure(title, x_label, y_label)
        count = max(len(series), 1)
        width = 0.8 / count
        for index, one in enumerate(series):
            offsets = [i + (index - (count - 1) / 2) * width for i in range(len(categories))]
            values = [0.0 if v is None else v for v in one.values]
            axes.bar(
                offsets[: len(values)],
                values,
                width=width,
                label=one.name,
                color=PALETTE[index % len(PALETTE)],
                # Hatching tells the groups apart without colour.
                hatch=("", "//", "..", "xx", "\\\\", "++")[index % 6],
                edgecolor="#333333",
            )
        # Long names (alert kinds) wrap onto lines: side by side they ran into each other.
        axes.set_xticks(range(len(categories)), [_wrap_label(c) for c in categories])
        if len(series) > 1:
            axes.legend(loc="best", fontsize="small")
        png, svg = _render(figure, formats)
    return Chart(title=title, alt_text=alt_text, png=png, svg=svg)


BAR_LABEL_WIDTH = 12  # characters per line of a bar's name under its bar


def _wrap_label(label: str) -> str:
    """A bar's name broken onto lines of at most BAR_LABEL_WIDTH characters, at spaces."""
    return textwrap.fill(label, width=BAR_LABEL_WIDTH, break_long_words=False) or label


def describe_series(name: str, x_labels: Sequence[str], values: Sequence[float | None]) -> str:
    """A plain sentence about one series: latest value, lowest and highest with when.

    >>> describe_series("Average mood", ["wk 1", "wk 2", "wk 3"], [3.0, 2.0, 3.5])
    'Average mood: latest 3.5 (wk 3); lowest 2 (wk 2); highest 3.5 (wk 3).'
    """
    points = [(x, v) for x, v in zip(x_labels, values, strict=False) if v is not None]
    if not points:
        return _("{name}: no data.").format(name=name)
    latest = points[-1]
    low = min(points, key=lambda p: p[1])
    high = max(points, key=lambda p: p[1])
    return _(
        "{name}: latest {latest} ({latest_when}); lowest {lowest} ({lowest_when}); "
        "highest {highest} ({highest_when})."
    ).format(
        name=name,
        latest=number(latest[1]),
        latest_when=latest[0],
        lowest=number(low[1]),
        lowest_when=low[0],
        highest=number(high[1]),
        highest_when=high[0],
    )


def decimal(value: float) -> str:
    """A stored figure (`3.25`, `3.0`) as it is in English, with the reader's decimal sign else."""
    language = current_language()
    if language in (DEFAULT_LANGUAGE, PSEUDO_LANGUAGE):
        return str(value)
    return format_decimal(value, format="#,##0.0##", locale=babel_locale(language))


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
