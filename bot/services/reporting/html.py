"""The report as one self-contained HTML page: inline SVG charts, printable, offline.

No script, no external stylesheet, font or image: the page opens from a USB stick in any
browser and prints on A4 (each chart and table avoids a page break). Every chart is a
<figure> whose <figcaption> carries the chart's words, and whose <svg> has role="img" and an
aria-label with the same words, so a screen reader reads the figures, not the drawing.
"""

from __future__ import annotations

from html import escape

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
th, td { border: 1px solid #888; padding: .25rem .6rem; text-align: left; }
th { background: #eee; }
p.note { font-size: .9rem; color: #333; }
@media print { body { margin: 1cm; } h2 { break-after: avoid; } }
"""


def _svg_with_label(svg: str, label: str) -> str:
    """The chart's <svg> with role="img" and its words as the accessible name."""
    return svg.replace("<svg", f'<svg role="img" aria-label="{escape(label)}"', 1)


def render_html(report: Report) -> str:
    """The whole report as an HTML document (UTF-8 text)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Programme report: {escape(report.scope.label)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Programme report: {escape(report.scope.label)}</h1>",
        f'<p class="meta">{report.start:%d %B %Y} to {report.end:%d %B %Y} (whole weeks, '
        f"UTC) · {report.students} students · generated {report.generated_at:%d %B %Y %H:%M} "
        f"UTC. Figures about fewer than {report.minimum} students are withheld.</p>",
        "<h2>Charts</h2>",
    ]
    for stem, chart in report_charts(report, ("svg",)):
        parts.append(
            f'<figure id="chart-{stem}">{_svg_with_label(chart.svg, chart.alt_text)}'
            f"<figcaption><strong>{escape(chart.title)}.</strong> "
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
