"""The report's charts, each with the sentence a screen reader says instead of the picture.

The sentence is in the reader's language; the words drawn in the picture are too when the
machine can draw that script, else English (`bot.charts.drawn_words`).
"""

from __future__ import annotations

from dataclasses import replace

from bot.charts import BOTH, Chart, Series, bar_chart, describe_series, drawn_words, line_chart
from bot.i18n import _, ngettext
from bot.services.reporting.figures import Report


def _withheld_note(values: tuple[float | None, ...]) -> str:
    missing = sum(1 for v in values if v is None)
    if not missing:
        return ""
    return " " + ngettext(
        "{n} week(s) have no figure (no data, or too few students).",
        "{n} week(s) have no figure (no data, or too few students).",
        missing,
    ).format(n=missing)


def response_chart(report: Report, formats: tuple[str, ...] = BOTH) -> Chart:
    """Weekly check-in response rate, as a line."""
    text = describe_series(
        _("Check-in response rate %"), report.week_labels, report.response_weekly
    )
    title = _("Check-in response rate: {scope}").format(scope=report.scope.shown)
    with drawn_words():
        chart = line_chart(
            _("Check-in response rate: {scope}").format(scope=report.scope.shown),
            report.week_labels,
            [Series(_("Answered %"), report.response_weekly)],
            x_label=_("Week starting"),
            y_label=_("Check-ins answered (%)"),
            alt_text=text + _withheld_note(report.response_weekly),
            y_range=(0, 100),
            formats=formats,
        )
    # Messages and captions say the title in the reader's language, whatever was drawn.
    return replace(chart, title=title)


# Lines one chart can carry and a reader tell apart (the palette has 8 colours): the
# programme, then the groups with the lowest average mood; every group is in the table.
MAX_GROUP_LINES = 7


def _mean(values: tuple[float | None, ...]) -> float:
    shown = [v for v in values if v is not None]
    return sum(shown) / len(shown) if shown else 99.0


def mood_trend_chart(report: Report, formats: tuple[str, ...] = BOTH) -> Chart:
    """Weekly average mood of the report's students and of the lowest groups, as lines."""
    with_data = [t for t in report.group_moods if any(v is not None for v in t.values)]
    drawn = sorted(with_data, key=lambda t: _mean(t.values))[:MAX_GROUP_LINES]

    def series() -> list[Series]:
        return [Series(_("All in report"), report.mood_weekly)] + [
            Series(t.name, t.values) for t in drawn
        ]

    text = " ".join(
        describe_series(_("Average mood, {who}").format(who=s.name), report.week_labels, s.values)
        for s in series()
    )
    if len(with_data) > len(drawn):
        text += " " + _(
            "The {drawn} groups with the lowest average mood are drawn; all "
            "{groups} are in the mood table."
        ).format(drawn=len(drawn), groups=len(with_data))
    hidden = len(report.group_moods) - len(with_data)
    if hidden:
        text += " " + ngettext(
            "{n} group(s) have no figure: too few students to show.",
            "{n} group(s) have no figure: too few students to show.",
            hidden,
        ).format(n=hidden)
    title = _("Average mood (1-5): {scope}").format(scope=report.scope.shown)
    with drawn_words():
        chart = line_chart(
            _("Average mood (1-5): {scope}").format(scope=report.scope.shown),
            report.week_labels,
            series(),
            x_label=_("Week starting"),
            y_label=_("Average mood (1-5)"),
            alt_text=text,
            y_range=(1, 5),
            formats=formats,
        )
    # Messages and captions say the title in the reader's language, whatever was drawn.
    return replace(chart, title=title)


def mood_distribution_chart(report: Report, formats: tuple[str, ...] = BOTH) -> Chart:
    """How many moods of each score were logged over the released weeks, as bars."""
    dist = report.mood_distribution
    if dist is None:
        text = _("Mood distribution: not shown, too few students logged a mood.")
        values: tuple[float | None, ...] = (None,) * 5
    else:
        total = sum(dist) or 1
        parts = ", ".join(
            _("{score}: {n} ({percent}%)").format(
                score=score, n=n, percent=f"{100 * n / total:.0f}"
            )
            for score, n in enumerate(dist, 1)
        )
        text = _("Moods logged by score, 1 lowest to 5 highest: {parts}.").format(parts=parts)
        values = tuple(float(n) for n in dist)
    title = _("Moods logged: {scope}").format(scope=report.scope.shown)
    with drawn_words():
        chart = bar_chart(
            _("Moods logged: {scope}").format(scope=report.scope.shown),
            ["1", "2", "3", "4", "5"],
            [Series(_("Moods"), values)],
            x_label=_("Mood score (1 lowest, 5 highest)"),
            y_label=_("Moods logged"),
            alt_text=text,
            formats=formats,
        )
    # Messages and captions say the title in the reader's language, whatever was drawn.
    return replace(chart, title=title)


def alerts_chart(report: Report, formats: tuple[str, ...] = BOTH) -> Chart:
    """Alerts by kind, as bars."""
    counts: tuple[float | None, ...] = tuple(float(r.count) for r in report.alert_kinds) or (0.0,)
    if report.alert_kinds:
        text = _("Alerts by kind: {counts}.").format(
            counts=", ".join(f"{_(r.kind)} {r.count}" for r in report.alert_kinds)
        )
    else:
        text = _("Alerts by kind: none shown.")
    title = _("Alerts by kind: {scope}").format(scope=report.scope.shown)
    with drawn_words():
        chart = bar_chart(
            _("Alerts by kind: {scope}").format(scope=report.scope.shown),
            [_(row.kind) for row in report.alert_kinds] or [_("none")],
            [Series(_("Alerts"), counts)],
            x_label=_("Kind of alert"),
            y_label=_("Alerts"),
            alt_text=text,
            formats=formats,
        )
    # Messages and captions say the title in the reader's language, whatever was drawn.
    return replace(chart, title=title)


CHARTS = {
    "response-rate": response_chart,
    "mood-trend": mood_trend_chart,
    "mood-distribution": mood_distribution_chart,
    "alerts": alerts_chart,
}


def report_charts(
    report: Report, formats: tuple[str, ...] = BOTH, only: tuple[str, ...] | None = None
) -> list[tuple[str, Chart]]:
    """The report's charts (all, or those named in `only`) with a file name stem, in order."""
    return [
        (stem, draw(report, formats))
        for stem, draw in CHARTS.items()
        if only is None or stem in only
    ]
