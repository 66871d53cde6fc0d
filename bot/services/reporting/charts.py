"""The report's charts, each with the sentence a screen reader says instead of the picture."""

from __future__ import annotations

from bot.charts import BOTH, Chart, Series, bar_chart, describe_series, line_chart
from bot.services.reporting.figures import Report


def _withheld_note(values: tuple[float | None, ...]) -> str:
    missing = sum(1 for v in values if v is None)
    return f" {missing} week(s) have no figure (no data, or too few students)." if missing else ""


def response_chart(report: Report, formats: tuple[str, ...] = BOTH) -> Chart:
    """Weekly check-in response rate, as a line."""
    labels = report.week_labels
    text = describe_series("Check-in response rate %", labels, report.response_weekly)
    return line_chart(
        f"Check-in response rate: {report.scope.label}",
        labels,
        [Series("Answered %", report.response_weekly)],
        x_label="Week starting",
        y_label="Check-ins answered (%)",
        alt_text=text + _withheld_note(report.response_weekly),
        y_range=(0, 100),
        formats=formats,
    )


# Lines one chart can carry and a reader tell apart (the palette has 8 colours): the
# programme, then the groups with the lowest average mood; every group is in the table.
MAX_GROUP_LINES = 7


def _mean(values: tuple[float | None, ...]) -> float:
    shown = [v for v in values if v is not None]
    return sum(shown) / len(shown) if shown else 99.0


def mood_trend_chart(report: Report, formats: tuple[str, ...] = BOTH) -> Chart:
    """Weekly average mood of the report's students and of the lowest groups, as lines."""
    labels = report.week_labels
    with_data = [t for t in report.group_moods if any(v is not None for v in t.values)]
    drawn = sorted(with_data, key=lambda t: _mean(t.values))[:MAX_GROUP_LINES]
    series = [Series("All in report", report.mood_weekly)] + [
        Series(t.name, t.values) for t in drawn
    ]
    text = " ".join(describe_series(f"Average mood, {s.name}", labels, s.values) for s in series)
    if len(with_data) > len(drawn):
        text += (
            f" The {len(drawn)} groups with the lowest average mood are drawn; all "
            f"{len(with_data)} are in the mood table."
        )
    hidden = len(report.group_moods) - len(with_data)
    if hidden:
        text += f" {hidden} group(s) have no figure: too few students to show."
    return line_chart(
        f"Average mood (1-5): {report.scope.label}",
        labels,
        series,
        x_label="Week starting",
        y_label="Average mood (1-5)",
        alt_text=text,
        y_range=(1, 5),
        formats=formats,
    )


def mood_distribution_chart(report: Report, formats: tuple[str, ...] = BOTH) -> Chart:
    """How many moods of each score were logged over the released weeks, as bars."""
    dist = report.mood_distribution
    if dist is None:
        text = "Mood distribution: not shown, too few students logged a mood."
        values: tuple[float | None, ...] = (None,) * 5
    else:
        total = sum(dist) or 1
        parts = ", ".join(
            f"{score}: {n} ({100 * n / total:.0f}%)" for score, n in enumerate(dist, 1)
        )
        text = f"Moods logged by score, 1 lowest to 5 highest: {parts}."
        values = tuple(float(n) for n in dist)
    return bar_chart(
        f"Moods logged: {report.scope.label}",
        ["1", "2", "3", "4", "5"],
        [Series("Moods", values)],
        x_label="Mood score (1 lowest, 5 highest)",
        y_label="Moods logged",
        alt_text=text,
        formats=formats,
    )


def alerts_chart(report: Report, formats: tuple[str, ...] = BOTH) -> Chart:
    """Alerts by kind, as bars."""
    kinds = [row.kind for row in report.alert_kinds] or ["none"]
    counts: tuple[float | None, ...] = tuple(float(r.count) for r in report.alert_kinds) or (0.0,)
    if report.alert_kinds:
        text = (
            "Alerts by kind: " + ", ".join(f"{r.kind} {r.count}" for r in report.alert_kinds) + "."
        )
    else:
        text = "Alerts by kind: none shown."
    return bar_chart(
        f"Alerts by kind: {report.scope.label}",
        kinds,
        [Series("Alerts", counts)],
        x_label="Kind of alert",
        y_label="Alerts",
        alt_text=text,
        formats=formats,
    )


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
