"""`mentorbot report student EMAIL --from DATE --to DATE --format pdf|md --output PATH`.

A student's progress report for programme staff at the server: the same report as the case
file's button (bot/services/casefile.py), as a PDF or as Markdown (with the mood chart as a
PNG beside it). The read is audited with no actor: whoever runs the command line runs the
programme.

Everything is checked before anything is written: the email (an enrolled, active student),
the dates (YYYY-MM-DD, not reversed), the format and the output path. A refusal is a
`UserError` that `mentorbot.cli.main` prints, exiting 1, with no file written and no audit
row kept. The file is written to a temporary name and renamed, so a failure never leaves
half a report behind.

The `report` command is shared with the programme reports (mentorbot/cli_report.py):
`add_student_report` adds the `student` subcommand to whichever `report` parser owns it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bot.args import parse_day
from bot.errors import UserError
from bot.features.casefile import meetings_source
from bot.services.casefile import (
    build_report,
    mood_chart,
    mood_words,
    render_markdown,
    student_for_reader,
)
from bot.services.casefile_pdf import render_pdf
from mentorbot.app import build_app

AddCommand = Callable[..., argparse.ArgumentParser]
FORMATS = ("pdf", "md")


def _checked_output(raw: str | None, fmt: str) -> Path | None:
    """The output path, refused when it can't be written (before any work is done)."""
    if raw is None:
        if fmt == "pdf":
            raise UserError("A PDF needs a file to go to: add --output PATH (for example r.pdf).")
        return None
    path = Path(raw).expanduser()
    if path.is_dir():
        raise UserError(f"{raw} is a folder: give a file name, for example {raw}/report.{fmt}.")
    if not path.parent.is_dir():
        raise UserError(f"The folder {path.parent} doesn't exist.")
    return path


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder, then rename."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def cmd_report_student(args: argparse.Namespace) -> int:
    """Write one student's progress report over `--from`..`--to` as PDF or Markdown."""
    fmt = str(args.format).strip().lower()
    if fmt not in FORMATS:
        raise UserError(f"'{args.format}' isn't a report format: use --format pdf or --format md.")
    first, last = parse_day(args.first), parse_day(args.last)
    output = _checked_output(args.output, fmt)
    app = build_app(seed=False)
    try:
        with app.db.session() as session:
            # Files are written inside the unit of work: a failed write keeps no audit row.
            student = student_for_reader(session, None, args.email)
            report = build_report(
                session,
                None,
                student,
                first,
                last,
                app.clock.now(),
                app.core_settings.default_timezone,
                # No reader: meetings and outcomes, without the mentors' confidential words.
                meetings_source(None, app.clock.now()),
            )
            if fmt == "pdf":
                assert output is not None
                words = mood_words(report.name, report.mood, report.checkins, report.period)
                pdf = render_pdf(report, words)
                _write_atomically(output, pdf.data)
                print(f"Wrote {output} ({pdf.pages} page(s)).")
                return 0
            chart = mood_chart(report.name, report.mood, report.checkins, report.period)
            chart_path = output.with_name(f"{output.stem}-mood.png") if output else None
            text = render_markdown(report, chart, chart_path.name if chart_path else None)
            if output is None or chart_path is None:
                sys.stdout.write(text)
                return 0
            _write_atomically(chart_path, chart.png)
            _write_atomically(output, text.encode("utf-8"))
            print(f"Wrote {output} and its chart {chart_path.name}.")
            return 0
    finally:
        app.db.dispose()


def add_student_report(
    report_sub: argparse._SubParsersAction[argparse.ArgumentParser], add: AddCommand
) -> None:
    """Add `student` under an existing `report` command's subcommands."""
    p = add(
        "student",
        cmd_report_student,
        "one student's progress report: check-ins, mood trend, goals, meetings, actions",
        report_sub,
    )
    p.add_argument("email", metavar="EMAIL", help="the student's email")
    p.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD")
    p.add_argument(
        "--format", default="pdf", metavar="pdf|md", help="pdf (the default) or md (Markdown)"
    )
    p.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        help="the file to write (required for pdf; md prints to the terminal without it)",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], add: AddCommand) -> None:
    """`mentorbot report student ...` (the lead merges this with the programme reports)."""
    report = sub.add_parser("report", help="reports")
    report_sub = report.add_subparsers(dest="report_command", metavar="KIND", required=True)
    add_student_report(report_sub, add)
