"""The report as one self-contained HTML page: inline SVG charts, printable, offline.

No script, no external stylesheet, font or image: the page opens from a USB stick in any
browser and prints on A4 (each chart and table avoids a page break). Every chart is a
<figure> whose <figcaption> carries the chart's words, and whose <svg> has role="img" and an
aria-label with the same words, so a screen reader reads the figures, not the drawing.

The page is in the language being spoken: `<html lang>` names it (so a screen reader picks
the right voice) and Arabic pages are `dir="rtl"`, with the tables and text aligned to the
start of the line, whichever side that is.
"""

from __future__ import annotations

from html import escape

from bot.charts import long_date
from bot.i18n import DEFAULT_LANGUAGE, _, current_language, is_right_to_left, ngettext
from bot.services.reporting.charts import report_charts
from bot.services.reporting.figures import Report

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem;
       color: #111; max-width: 60rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; }
p.meta { color: #333; }
figure { margin: 1.5rem 0; break-inside: avoid; }
figure svg { width: 100%; height: auto; max-width: 44rem; display: block; }
figcaption { font-size: .95rem; color: #222; margin-top: .4rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; break-inside: avoid; }
th, td { border: 1px solid #888; padding: .25rem .6rem; text-align: start; }
th { background: #eee; }
p.note { font-size: .9rem; color: #333; }
@media print { body { margin: 1cm; } h2 { break-after: avoid; } }
"""


def _svg_with_label(svg: str, label: str) -> str:
    """The chart's <svg> with role="img" and its words as the accessible name."""
    return svg.replace("<svg", f'<svg role="img" aria-label="{escape(label)}"', 1)


def render_html(report: Report) -> str:
    """The whole report as an HTML document (UTF-8 text), in the language being spoken."""
    language = current_language()
    # BCP 47 spells our codes with a hyphen: pt-BR, zh-Hans.
    lang = language.replace("_", "-")
    direction = ' dir="rtl"' if is_right_to_left(language) else ""
    title = escape(_("Programme report: {scope}").format(scope=report.scope.shown))
    generated = (
        report.generated_at.strftime("%d %B %Y %H:%M")
        if language == DEFAULT_LANGUAGE
        else f"{long_date(report.generated_at)} {report.generated_at:%H:%M}"
    )
    meta = ngettext(
        "{start} to {end} (whole weeks, UTC) · {students} students · generated {generated} "
        "UTC. Figures about fewer than {minimum} students are withheld.",
        "{start} to {end} (whole weeks, UTC) · {students} students · generated {generated} "
        "UTC. Figures about fewer than {minimum} students are withheld.",
        report.students,
    ).format(
        start=long_date(report.start),
        end=long_date(report.end),
        students=report.students,
        generated=generated,
        minimum=report.minimum,
    )
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}"{direction}><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{title}</h1>",
        f'<p class="meta">{escape(meta)}</p>',
        "<h2>" + escape(_("Charts")) + "</h2>",
    ]
    for stem, chart in report_charts(report, ("svg",)):
        caption = _("{title}.").format(title=chart.title)
        parts.append(
            f'<figure id="chart-{stem}">{_svg_with_label(chart.svg, chart.alt_text)}'
            f"<figcaption><strong>{escape(caption)}</strong> "
            f"{escape(chart.alt_text)}</figcaption></figure>"
        )
    for table in report.tables():
        parts.append(f'<h2 id="{table.name}">{escape(table.title)}</h2>')
        if table.rows:
            head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.headers)
            body = "".join(
                "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
                for row in table.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        if table.note:
            parts.append(f'<p class="note">{escape(table.note)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)
