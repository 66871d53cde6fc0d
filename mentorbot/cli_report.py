"""`mentorbot report`: the programme report as CSV, HTML or PNG files.

```
mentorbot report --from 2026-09-07 --to 2026-11-29 [--group NAME] [--mentor EMAIL]
                 [--as EMAIL] --format csv|html|png --output PATH
```

* csv: one file per table into the folder PATH, or into a zip when PATH ends in .zip;
* html: one self-contained page (inline SVG charts, printable, readable offline);
* png: one PNG per chart into the folder PATH, with `charts.txt` giving each chart in words.

The operator at the command line may ask for any scope; `--as EMAIL` asks as that mentor or
admin (a mentor sees only their own students). Every run is audited. Bad input (reversed
dates, an unknown group, a scope too small, another mentor's students) is refused with a
message and nothing is written: the report is built before any file is opened.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from bot.args import parse_day
from bot.audit import audit
from bot.errors import UserError
from bot.people import MENTOR, person_by_email
from bot.services.reporting.charts import report_charts
from bot.services.reporting.csv_export import write_csv
from bot.services.reporting.figures import Report, ReportBuilder
from bot.services.reporting.html import render_html
from bot.services.reporting.suppression import resolve_scope
from mentorbot.app import build_app
from mentorbot.cli_student_report import add_student_report

AddCommand = Callable[..., argparse.ArgumentParser]
FORMATS = ("csv", "html", "png")


def cmd_report(args: argparse.Namespace) -> int:
    """Build the report (or refuse), then write it in the asked format."""
    missing = [
        flag
        for flag, value in (
            ("--from", args.start),
            ("--to", args.end),
            ("--format", args.format),
            ("--output", args.output),
        )
        if not value
    ]
    if missing:
        raise UserError(
            "mentorbot report needs " + ", ".join(missing) + " (see mentorbot report --help)."
        )
    start, end = parse_day(args.start), parse_day(args.end)
    output = Path(args.output)
    if args.format == "html" and not output.parent.is_dir():
        raise UserError(f"The folder {output.parent} does not exist.")
    if output.exists() and not output.is_dir() and args.format != "html":
        raise UserError(f"{output} is a file; csv and png reports are written into a folder.")
    app = build_app(seed=False)
    now = app.clock.now()
    with app.db.session() as session:
        actor = None
        if args.as_email:
            actor = person_by_email(session, args.as_email)
            if actor is None:
                raise UserError(f"I can't find '{args.as_email}'.")
        scope = resolve_scope(session, actor, args.group, args.mentor)
        report = ReportBuilder(session, app.core_settings, now).build(
            scope,
            start,
            end,
            names=actor is not None and actor.role == MENTOR,
            per_group=scope.label == "All students",
        )
        # Built and allowed: only now is anything written.
        written = _write(report_format=args.format, report=report, output=output)
        audit(
            session,
            now,
            actor.id if actor is not None else None,
            "report.read",
            detail=f"cli {args.format}: {scope.label}: {report.start} to {report.end}",
        )
        for student_id in report.attention_ids:
            audit(session, now, actor.id if actor else None, "report.attention", student_id)
    print(f"Report for {scope.label}, {report.start} to {report.end}: " + ", ".join(written))
    return 0


def _write(report_format: str, report: Report, output: Path) -> list[str]:
    if report_format == "csv":
        return [str(p) for p in write_csv(report, output)]
    if report_format == "html":
        output.write_text(render_html(report), encoding="utf-8")
        return [str(output)]
    output.mkdir(parents=True, exist_ok=True)
    written = []
    words = []
    for stem, chart in report_charts(report, ("png",)):
        path = output / f"{stem}.png"
        path.write_bytes(chart.png)
        written.append(str(path))
        words.append(f"{stem}.png: {chart.title}. {chart.alt_text}")
    (output / "charts.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    return written


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], add: AddCommand) -> None:
    """Add `mentorbot report` (programme) with `mentorbot report student` (issue 17) under it."""
    report = add("report", cmd_report, "programme report as csv, html or png files")
    # Checked in cmd_report rather than by argparse: `report student ...` has options of its own.
    report.add_argument("--from", dest="start", metavar="YYYY-MM-DD")
    report.add_argument("--to", dest="end", metavar="YYYY-MM-DD")
    report.add_argument("--group", default=None, help="one group's students")
    report.add_argument("--mentor", default=None, metavar="EMAIL", help="one mentor's students")
    report.add_argument(
        "--as", dest="as_email", default=None, metavar="EMAIL", help="ask as this mentor or admin"
    )
    report.add_argument("--format", choices=FORMATS)
    report.add_argument("--output", metavar="PATH")
    kinds = report.add_subparsers(dest="report_command", metavar="KIND", required=False)
    add_student_report(kinds, add)
