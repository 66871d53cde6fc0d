"""The progress report as a PDF, laid out for reading and printing (A4, portrait).

Drawn with matplotlib's PdfPages (already a dependency for charts): no new library. The
text flows top to bottom (title, sections, wrapped paragraphs and bullets), a section
heading is never left alone at the foot of a page, and the mood chart is drawn as vector
lines on the page with the Okabe-Ito colour and a marker (bot/charts.py's conventions).
Fonts are embedded as Type 3 with their character names, so readers can select, search and
read the text aloud (pdftotext extracts it); TrueType (`pdf.fonttype` 42) would do the same
at three times the cost (0.56 s against 1.4 s a report: `python -m bench casefile`).

The PDF is in the language being spoken; every word of it is drawn, so a caller whose
reader's script can't be drawn (`bot.charts.drawing_language`) renders it inside
`bot.charts.drawn_words()` and gets it in English, and says so in the message's own words.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # before anything draws: a server has no display

from matplotlib import rc_context
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

# The charts' lock on purpose: matplotlib's text caches are shared by every drawing thread.
from bot.charts import _DRAW_LOCK, MARKERS, PALETTE, chart_fonts
from bot.i18n import _
from bot.i18n.dates import DATE, local_format
from bot.services.casefile import (
    MoodTrend,
    ProgressReport,
    _when,
    meeting_counts,
    meeting_line,
)

# A4 in inches, margins, and the type sizes (points).
PAGE_W, PAGE_H = 8.27, 11.69
MARGIN = 0.8
TITLE_PT, HEADING_PT, BODY_PT, SMALL_PT = 18, 13, 10, 8
# About this many characters of 10 pt DejaVu Sans fit the text width (6.67 in).
WRAP = 92
CHART_H = 2.8  # inches
# Text stops this far above the page's foot; the footer sits below it, at half the margin.
BOTTOM = 0.75
SPACE_AFTER = {
    "title": 0.1,
    "meta": 0.15,
    "heading": 0.06,
    "text": 0.1,
    "bullet": 0.04,
    "step": 0.02,
}
INK = "#222222"
QUIET = "#555555"


@dataclass(frozen=True)
class Block:
    """One piece of the flow: a kind (title, meta, heading, text, bullet, step, chart)."""

    kind: str
    text: str = ""

    def lines(self) -> list[str]:
        """The block's text wrapped to the page width."""
        if self.kind in ("bullet", "step"):
            # Milestones (steps) sit under their goal's bullet, indented further.
            lead = "•  " if self.kind == "bullet" else "       "
            wrapped = textwrap.wrap(self.text, WRAP - len(lead)) or [""]
            return [lead + wrapped[0], *(" " * (len(lead) + 1) + rest for rest in wrapped[1:])]
        if self.kind == "title":
            return textwrap.wrap(self.text, 50) or [""]
        return textwrap.wrap(self.text, WRAP) or [""]

    def height(self) -> float:
        """Inches the block takes, its spacing after included."""
        if self.kind == "chart":
            return CHART_H + 0.25
        size = {"title": TITLE_PT, "heading": HEADING_PT}.get(self.kind, BODY_PT)
        after = SPACE_AFTER[self.kind]
        before = 0.18 if self.kind == "heading" else 0.0
        return before + len(self.lines()) * size * 1.45 / 72 + after


@dataclass(frozen=True)
class PdfReport:
    """The PDF's bytes, with what a test (or a log) may check without parsing it."""

    data: bytes
    pages: int
    headings: tuple[str, ...]


def report_blocks(report: ProgressReport, alt_text: str) -> list[Block]:
    """The report's content as a flow of blocks, in reading order."""
    tz = report.timezone
    blocks = [
        Block("title", _("Progress report: {name}").format(name=report.name)),
        Block(
            "meta",
            _("Period: {period}   ·   Time zone: {zone}").format(
                period=report.period.label(), zone=tz
            ),
        ),
        Block("heading", _("Check-ins")),
        Block("text", report.checkins.sentence()),
        Block("heading", _("Mood trend")),
        Block("chart"),
        Block("text", alt_text),
        Block("heading", _("Goals")),
    ]
    if not report.goals:
        blocks.append(Block("text", _("No goals in this period.")))
    for goal in report.goals:
        blocks.append(
            Block("bullet", _("{title}: {progress}").format(title=goal.title, progress=goal.line()))
        )
        blocks += [
            Block(
                "step",
                (_("☑  {milestone} (done)") if m.done else _("☐  {milestone}")).format(
                    milestone=m.title
                ),
            )
            for m in goal.milestones
        ]
    blocks += [Block("heading", _("Meetings")), Block("text", meeting_counts(report))]
    for meeting in report.meetings:
        blocks.append(Block("bullet", meeting_line(meeting, tz, meeting.mentor_name)))
    blocks.append(Block("heading", _("Agreed actions")))
    actions = report.agreed_actions
    if not actions:
        blocks.append(Block("text", _("No actions were agreed in meetings in this period.")))
    blocks += [Block("bullet", f"{local_format(day, DATE)}: {action}") for day, action in actions]
    return blocks


def paginate(blocks: list[Block]) -> list[list[Block]]:
    """Blocks split into pages; a heading moves to the next page with what follows it."""
    usable = PAGE_H - MARGIN - BOTTOM
    pages: list[list[Block]] = [[]]
    used = 0.0
    for index, block in enumerate(blocks):
        need = block.height()
        if block.kind == "heading" and index + 1 < len(blocks):
            need += blocks[index + 1].height()  # keep a heading with its first block
        if pages[-1] and used + need > usable:
            pages.append([])
            used = 0.0
        pages[-1].append(block)
        used += block.height()
    return pages


def _draw_chart(figure: Figure, top: float, mood: MoodTrend) -> None:
    """The mood line in a box `CHART_H` inches tall whose top is `top` inches from the top."""
    left = (MARGIN + 0.55) / PAGE_W
    width = (PAGE_W - 2 * MARGIN - 0.65) / PAGE_W
    height = (CHART_H - 0.75) / PAGE_H
    bottom = 1 - (top + CHART_H - 0.6) / PAGE_H
    axes = figure.add_axes((left, bottom, width, height))
    positions = list(range(len(mood.labels)))
    values = [math.nan if v is None else v for v in mood.values]
    axes.plot(positions, values, color=PALETTE[0], marker=MARKERS[0], linewidth=2)
    axes.set_ylim(0.8, 5.2)
    axes.set_yticks([1, 2, 3, 4, 5])
    axes.set_ylabel(_("Mood (1 awful – 5 great)"), fontsize=SMALL_PT)
    axes.set_xlabel(_("Day") if mood.per == "day" else _("Week starting"), fontsize=SMALL_PT)
    # At most about 16 labels fit the width: label every n-th point.
    every = max(1, math.ceil(len(positions) / 16))
    axes.set_xticks(positions[::every], list(mood.labels)[::every], rotation=30, ha="right")
    axes.tick_params(labelsize=SMALL_PT - 1)
    axes.grid(axis="y", alpha=0.3)
    if not any(v is not None for v in mood.values):
        axes.text(0.5, 0.5, _("No mood recorded"), transform=axes.transAxes, ha="center")


def _draw_page(
    figure: Figure, page: list[Block], number: int, total: int, report: ProgressReport
) -> None:
    y = MARGIN  # inches from the top
    for block in page:
        if block.kind == "chart":
            _draw_chart(figure, y, report.mood)
            y += block.height()
            continue
        size = {"title": TITLE_PT, "heading": HEADING_PT}.get(block.kind, BODY_PT)
        weight = "bold" if block.kind in ("title", "heading") else "normal"
        colour = QUIET if block.kind == "meta" else INK
        if block.kind == "heading":
            y += 0.18
        for line in block.lines():
            figure.text(
                MARGIN / PAGE_W,
                1 - y / PAGE_H,
                line,
                fontsize=size,
                fontweight=weight,
                color=colour,
                va="top",
                ha="left",
            )
            y += size * 1.45 / 72
        y += SPACE_AFTER[block.kind]
    figure.text(
        MARGIN / PAGE_W,
        MARGIN / 2 / PAGE_H,
        _("Confidential: {name}'s progress report, prepared {when}").format(
            name=report.name, when=_when(report.made_at, report.timezone)
        ),
        fontsize=SMALL_PT,
        color=QUIET,
    )
    figure.text(
        1 - MARGIN / PAGE_W,
        MARGIN / 2 / PAGE_H,
        _("Page {number} of {total}").format(number=number, total=total),
        fontsize=SMALL_PT,
        color=QUIET,
        ha="right",
    )


def render_pdf(report: ProgressReport, alt_text: str) -> PdfReport:
    """The report as PDF bytes: A4 pages of wrapped text and the mood chart."""
    blocks = report_blocks(report, alt_text)
    pages = paginate(blocks)
    out = io.BytesIO()
    # Type 3 fonts: matplotlib's default, and the fastest with extractable text (see above).
    with (
        _DRAW_LOCK,
        rc_context({"pdf.fonttype": 3, "font.family": list(chart_fonts())}),
        PdfPages(out, metadata=_metadata(report)) as pdf,
    ):
        for number, page in enumerate(pages, 1):
            figure = Figure(figsize=(PAGE_W, PAGE_H))
            _draw_page(figure, page, number, len(pages), report)
            pdf.savefig(figure)
    headings = tuple(b.text for b in blocks if b.kind in ("title", "heading"))
    return PdfReport(data=out.getvalue(), pages=len(pages), headings=headings)


def _metadata(report: ProgressReport) -> dict[str, str | datetime]:
    return {
        "Title": _("Progress report: {name}, {period}").format(
            name=report.name, period=report.period.label()
        ),
        "Subject": _("Mentoring progress report (confidential)"),
        "Creator": "mentorbot",
        # A fixed date keeps two runs of the same report byte-identical.
        "CreationDate": report.made_at,
    }
