"""The `mentorbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.args import small_number
from bot.errors import UserError
from bot.people import person_by_email
from bot.safety import RuleFileError
from bot.services.export import export_json
from bot.services.resources import import_resources, parse_resources
from bot.services.roster import import_roster_text
from mentorbot.app import App, build_app
from mentorbot.cli_delivery import cmd_alerts_list
from mentorbot.health import HealthPortError
from mentorbot.logs import configure_logging, parse_level
from mentorbot.settings import ClusterError, ObservabilitySettings, Settings
from mentorbot.slack_workers import WORKER_COMMAND
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger("mentorbot")


class CliError(Exception):
    """A friendly error for the command line (printed without a traceback)."""


def _app(args: argparse.Namespace, *, seed: bool = False) -> App:
    return build_app(seed=seed)


def cmd_run(args: argparse.Namespace) -> int:
    """Start the configured adapters; the console on the demo when no tokens are set."""
    from mentorbot.runner import run

    return asyncio.run(run(Settings()))


def cmd_slack_worker(args: argparse.Namespace) -> int:
    """One extra Slack HTTP receiver (started by `run` with SLACK_HTTP_WORKERS > 1)."""
    from mentorbot.slack_workers import run_slack_worker

    return asyncio.run(run_slack_worker(Settings()))


def cmd_console(args: argparse.Namespace) -> int:
    """Chat in the terminal as an enrolled person."""
    from mentorbot.runner import platforms_configured, run_console

    settings = Settings()
    # Without platform tokens the console is the demo and seeds an empty database, as
    # `mentorbot run` does then; beside a real programme it only chats as its people.
    app = build_app(settings, seed=not platforms_configured(settings))
    return asyncio.run(run_console(app, args.as_email))


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Upgrade the database schema."""
    db = Database(Settings().database.database_url)
    upgrade(db.engine)
    print("Database is up to date.")
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    """An online backup of the live SQLite database (PostgreSQL: pg_dump)."""
    from mentorbot.backup import BackupError, backup_sqlite

    try:
        result = backup_sqlite(
            Settings().database.database_url, Path(args.file), overwrite=args.force
        )
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    print(f"Backed up {result.tables} tables ({result.bytes} bytes) to {result.path}.")
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """Ask the running bot's health endpoint: exit 0 when healthy (a container HEALTHCHECK)."""
    import urllib.error
    import urllib.request

    obs = ObservabilitySettings()
    if not obs.health_port:
        raise CliError("HEALTH_PORT is 0: the health endpoint is turned off.")
    # A server listening on every interface is asked on loopback.
    host = "127.0.0.1" if obs.health_host in ("0.0.0.0", "::", "") else obs.health_host
    url = f"http://{host}:{obs.health_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            print(response.read().decode("utf-8", "replace"))
            return 0
    except urllib.error.HTTPError as exc:
        print(exc.read().decode("utf-8", "replace"))
        return 1
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(
            f"No health endpoint answered at {url} ({exc}). Is the bot running?"
        ) from exc


def cmd_demo_seed(args: argparse.Namespace) -> int:
    """Enrol the demo people, resources and weekday check-in into an empty database."""
    from bot.demo import seed_demo

    app = _app(args)
    try:
        with app.db.session() as session:
            seeded = seed_demo(session, app.clock.now())
    finally:
        app.db.dispose()
    if not seeded:
        raise CliError(
            "The database already has people in it: the demo is only seeded into an empty one."
        )
    print(
        "Seeded the demo programme: sam@example.edu, alex@example.edu (students), "
        "maya@example.edu (mentor), admin@example.edu (admin)."
    )
    return 0


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise CliError(f"No such file: {path}") from exc
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} isn't UTF-8 text.") from exc


def cmd_roster_import(args: argparse.Namespace) -> int:
    """Import the roster CSV, all or nothing."""
    raw = _read(args.file)
    app = _app(args)
    # One pass: every line and every database check, all problems reported together.
    with app.db.session() as session:
        result = import_roster_text(session, raw, app.clock.now())
    total = result.added + result.updated
    print(f"Imported {total} people: {result.added} added, {result.updated} updated.")
    return 0


def cmd_resources_import(args: argparse.Namespace) -> int:
    """Import resources from YAML or CSV."""
    raw = _read(args.file)
    app = _app(args)
    rows = parse_resources(raw, args.file)
    with app.db.session() as session:
        added, updated = import_resources(session, rows)
    print(f"Imported {len(rows)} resources: {added} added, {updated} updated.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Print all of one person's data as JSON."""
    app = _app(args)
    with app.db.session() as session:
        person = person_by_email(session, args.email)
        if person is None:
            raise CliError(f"Nobody with the email {args.email} is enrolled.")
        # The staff export includes mentors' notes (the self-service one does not): whoever
        # releases it to the person reviews them first (see bot/services/export.py).
        text = export_json(
            session, person, tables=app.core.registry.personal_data, include_mentor_notes=True
        )
        from bot.audit import audit

        audit(session, app.clock.now(), None, "export.cli", person.id)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Wrote {args.output}")
    else:
        print(text)
    return 0


def _limit(value: str) -> int:
    """A row limit: a whole number the database can take (argparse reports anything else)."""
    number = small_number(value)
    if number is None:
        raise argparse.ArgumentTypeError(f"'{value}' isn't a whole number")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="mentorbot",
        description="A mentoring programme bot for Slack, Discord and the console.",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log at DEBUG (client libraries stay capped: no message bodies in any log)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(
        name: str,
        func: Callable[[argparse.Namespace], int],
        help_: str,
        parent: argparse._SubParsersAction[argparse.ArgumentParser] | None = None,
    ) -> argparse.ArgumentParser:
        p = (parent or sub).add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    add("run", cmd_run, "start the bot (Slack/Discord when configured, else the console demo)")
    # Started by `run` itself when SLACK_HTTP_WORKERS > 1; not meant to be typed.
    worker = sub.add_parser(WORKER_COMMAND, help=argparse.SUPPRESS)
    worker.set_defaults(func=cmd_slack_worker)
    console = add("console", cmd_console, "chat with the bot in this terminal")
    console.add_argument(
        "--as",
        dest="as_email",
        default="sam@example.edu",
        metavar="EMAIL",
        help="the enrolled person to chat as (default: the demo student)",
    )

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    add("upgrade", cmd_db_upgrade, "upgrade the database schema to the newest version", db_sub)
    p = add(
        "backup",
        cmd_db_backup,
        "copy the live SQLite database to FILE, safely while the bot runs (PostgreSQL: pg_dump)",
        db_sub,
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")

    p = add("health", cmd_health, "ask the running bot's health endpoint (exit 0 when healthy)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait (default 5)")

    demo = sub.add_parser("demo", help="the demo programme")
    demo_sub = demo.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    add(
        "seed",
        cmd_demo_seed,
        "enrol the demo people, resources and a weekday check-in (empty database only)",
        demo_sub,
    )

    roster = sub.add_parser("roster", help="roster commands")
    roster_sub = roster.add_subparsers(dest="roster_command", metavar="ACTION", required=True)
    p = add("import", cmd_roster_import, "import people from a CSV file", roster_sub)
    p.add_argument(
        "file",
        help="CSV with columns email,name,role,timezone,mentor_email,"
        "backup_mentor_email,groups,slack_user_id,discord_user_id[,active]",
    )

    res = sub.add_parser("resources", help="resource library commands")
    res_sub = res.add_subparsers(dest="resources_command", metavar="ACTION", required=True)
    p = add("import", cmd_resources_import, "import resources from YAML or CSV", res_sub)
    p.add_argument("file")

    alerts = sub.add_parser("alerts", help="alert commands")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    p = add(
        "list", cmd_alerts_list, "list open alerts, stuck urgent ones first with why", alerts_sub
    )
    p.add_argument("--all", action="store_true", help="include acknowledged alerts")
    p.add_argument("--limit", type=_limit, default=50, help="at most this many (default 50)")

    p = add("export", cmd_export, "print all of one person's data as JSON")
    p.add_argument("--email", required=True)
    p.add_argument("--output", "-o", help="write to this file instead of printing")
    for extend in EXTENSIONS:
        extend(sub, add)
    return parser


# Feature modules (scheduling, workshops, ...) register their subcommands here.
EXTENSIONS: list[
    Callable[
        [
            argparse._SubParsersAction[argparse.ArgumentParser],
            Callable[..., argparse.ArgumentParser],
        ],
        None,
    ]
] = []

from mentorbot.cli_schedule import register as _register_schedule_commands  # noqa: E402

EXTENSIONS.append(_register_schedule_commands)


def _register_discord_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    add: Callable[..., argparse.ArgumentParser],
) -> None:
    """`mentorbot discord invite-url` (the adapter reads settings handed in here)."""
    from adapters.discord.cli import add_discord_commands

    add_discord_commands(sub, add, lambda: Settings().discord)


EXTENSIONS.append(_register_discord_commands)

from mentorbot.cli_privacy import register as _register_privacy_commands  # noqa: E402

EXTENSIONS.append(_register_privacy_commands)

from mentorbot.cli_workshops import register as _register_workshop_commands  # noqa: E402

EXTENSIONS.append(_register_workshop_commands)

from mentorbot.cli_delivery import register as _register_delivery_commands  # noqa: E402

EXTENSIONS.append(_register_delivery_commands)

# `mentorbot report` (programme reports) owns the command; `report student` (issue 17) is
# added under it by mentorbot/cli_report.py.
from mentorbot.cli_report import register as _register_report_commands  # noqa: E402

EXTENSIONS.append(_register_report_commands)


# Long-running commands log at LOG_LEVEL; one-shot commands keep the terminal quiet (WARNING)
# unless -v or a stricter LOG_LEVEL asks otherwise.
SERVICE_COMMANDS = frozenset({"run", WORKER_COMMAND})


def _configure_logging(args: argparse.Namespace) -> None:
    """Logging from LOG_LEVEL and LOG_FORMAT (defaults if they are invalid: reported later)."""
    try:
        settings = ObservabilitySettings()
        level, fmt = parse_level(settings.log_level), settings.log_format
    except ValidationError:
        level, fmt = logging.INFO, "text"
    if args.verbose:
        level = logging.DEBUG
    elif args.command not in SERVICE_COMMANDS:
        level = max(level, logging.WARNING)
    configure_logging(level, fmt)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: friendly messages for every expected error, never a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except UserError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except RuleFileError as exc:
        print(f"Safety rules problem (SAFETY_EXTRA_RULES): {exc}", file=sys.stderr)
        return 2
    except (CliError, HealthPortError, ClusterError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        print(f"Configuration problem: {problems}. See .env.example.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        print(f"Something went wrong: {exc}. Run with -v for details.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
