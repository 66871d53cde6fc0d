"""The report as CSV: one file per table of figures, in a folder or a zip."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from bot.i18n import _
from bot.services.reporting.figures import Report, Table

# A cell starting with one of these is a formula to a spreadsheet (CSV injection): prefix it.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA) else cell


def table_csv(table: Table) -> str:
    """One table as CSV text (header row first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_safe(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([_safe(cell) for cell in row])
    return out.getvalue()


def csv_files(report: Report) -> dict[str, str]:
    """File name -> CSV text, one per table, plus `about.csv` saying what the report covers.

    Headers, labels and decimal signs are in the language being spoken; file names and dates
    (ISO) stay the same in every language.
    """
    about = Table(
        "about",
        _("About this report"),
        (_("Field"), _("Value")),
        (
            (_("Scope"), report.scope.shown),
            (_("From"), report.start.isoformat()),
            (_("To"), report.end.isoformat()),
            (_("Students"), str(report.students)),
            (_("Minimum group size"), str(report.minimum)),
            (_("Generated (UTC)"), report.generated_at.strftime("%Y-%m-%d %H:%M")),
        ),
    )
    return {f"{t.name}.csv": table_csv(t) for t in (about, *report.tables())}


def write_csv(report: Report, output: Path) -> list[Path]:
    """Write the CSV files into the folder `output`, or into a zip when it ends in .zip."""
    files = csv_files(report)
    if output.suffix.lower() == ".zip":
        with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, text in files.items():
                archive.writestr(name, text)
        return [output]
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = output / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
