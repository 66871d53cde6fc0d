"""`mentorbot erase`, `mentorbot privacy purge`, `mentorbot keys [where|generate|rotate]`.

Erasure and purges are audited (actor: the command line). A mistyped email or a missing
`--yes` is a UserError: `mentorbot.cli.main` prints it and exits 1 with nothing changed.
"""

from __future__ import annotations

import argparse
import stat
from collections.abc import Callable

from sqlmodel import SQLModel

from bot.errors import UserError
from bot.people import person_by_email
from bot.services import privacy
from mentorbot.app import App, build_app
from mentorbot.settings import PrivacySettings, Settings
from storage import crypto

AddCommand = Callable[..., argparse.ArgumentParser]


def _app() -> App:
    # Never seed here: an admin command must not invent people.
    return build_app(seed=False)


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase one person's personal data and free text (the right to erasure)."""
    app = _app()
    now = app.clock.now()
    with app.db.session() as session:
        person = person_by_email(session, args.email)
        if person is None or person.deleted_at is not None:
            raise UserError(f"Nobody with the email {args.email} is enrolled.")
        if not args.yes:
            raise UserError(
                f"This permanently erases {person.name} ({person.email}): everything they "
                "wrote and everything stored about them. Run again with --yes to do it."
            )
        students = privacy.students_of(session, person)
        reassigned_to = None
        if args.reassign_to:
            reassigned_to = person_by_email(session, args.reassign_to)
            if reassigned_to is None or reassigned_to.deleted_at is not None:
                raise UserError(f"Nobody with the email {args.reassign_to} is enrolled.")
        if students and reassigned_to is None:
            # Erasing them would leave these students with nobody to answer their alerts.
            raise UserError(
                f"{person.email} is the mentor of {len(students)} student(s): "
                + ", ".join(s.email for s in students)
                + ". Nothing was erased. Run again with --reassign-to EMAIL (an active mentor)."
            )
        if reassigned_to is not None:
            privacy.reassign_students(session, person, reassigned_to, now, actor_id=None)
        crisis = privacy.open_crisis_alert(session, person)
        report = privacy.erase_person(
            session, person, now, actor_id=None, via="cli", tables=app.core.registry.personal_data
        )
    if crisis is not None:
        print(
            "Note: an urgent alert about this person had not been acknowledged; it is kept "
            "de-identified. Make sure their mentor has been in touch."
        )
    if args.reassign_to and students:
        print(f"Reassigned {len(students)} student(s) to {args.reassign_to}.")
    print(f"Erased {args.email}: {report.summary()}.")
    for platform, count in sorted(report.copies.items()):
        print(
            f"{count} delivered {platform} message(s) to, about or quoting them are queued to "
            "be deleted or edited by the running bot; a refusal is reported to the admins."
        )
    for platform, count in sorted(report.copies_left.items()):
        print(f"{count} delivered {platform} message(s) can't be deleted by the bot.")
    return 0


def cmd_privacy_purge(args: argparse.Namespace) -> int:
    """Purge free text older than RETENTION_DAYS (the scheduler also does this daily)."""
    app = _app()
    with app.db.session() as session:
        count = privacy.purge_expired_text(
            session, app.core_settings, app.clock.now(), tables=app.core.registry.personal_data
        )
    days = app.core_settings.retention_days
    print(f"Purged free text from {count} row(s) older than {days} days.")
    return 0


def describe_keys(privacy: PrivacySettings) -> str:
    """Where the encryption keys come from, in words an operator can act on (never the keys)."""
    if privacy.keys:
        return (
            f"Encryption keys: {len(privacy.keys)} key(s) from ENCRYPTION_KEYS; the first "
            "encrypts new values, all of them open stored ones."
        )
    choice = crypto.choose_key_file(privacy.encryption_key_file or None)
    path = choice.path.absolute()
    if path.exists():
        state = f"mode {stat.S_IMODE(path.stat().st_mode):04o}"
    else:
        state = "not there yet: it is created at the next start"
    lines = [f"Encryption key file: {path} ({state}). ENCRYPTION_KEYS is not set."]
    lines += [f"Also opening older data with: {p.absolute()}" for p in choice.also_open]
    if choice.warning:
        lines.append(f"Warning: {choice.warning}")
    lines.append("Back the key up apart from the database: without it stored notes can't be read.")
    return "\n".join(lines)


def cmd_keys_where(args: argparse.Namespace) -> int:
    """Print where the encryption keys are."""
    print(describe_keys(Settings().privacy))
    return 0


def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Print a new encryption key (nothing is stored)."""
    print(crypto.generate_key())
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Re-seal every encrypted value with the primary (first) key of ENCRYPTION_KEYS."""
    app = _app()
    count = crypto.rotate_sealed(app.db.engine, crypto.sealed_columns(SQLModel.metadata))
    print(
        f"Re-encrypted {count} value(s) with the primary key. Keys after the first in "
        "ENCRYPTION_KEYS can now be removed."
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], add: AddCommand) -> None:
    """Add the privacy subcommands to the `mentorbot` parser."""
    p = add("erase", cmd_erase, "erase one person's data (right to erasure)")
    p.add_argument("--email", required=True)
    p.add_argument("--yes", action="store_true", help="really erase (it cannot be undone)")
    p.add_argument(
        "--reassign-to",
        metavar="EMAIL",
        help="a mentor's students (and their open alerts) go to this active mentor first",
    )

    priv = sub.add_parser("privacy", help="privacy commands")
    priv_sub = priv.add_subparsers(dest="privacy_command", metavar="ACTION", required=True)
    add("purge", cmd_privacy_purge, "delete free text older than RETENTION_DAYS", priv_sub)

    keys = sub.add_parser("keys", help="encryption key commands (alone: where the keys are)")
    keys.set_defaults(func=cmd_keys_where)
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    add("where", cmd_keys_where, "say where the encryption keys are", keys_sub)
    add("generate", cmd_keys_generate, "print a new encryption key", keys_sub)
    add("rotate", cmd_keys_rotate, "re-encrypt everything with the first key", keys_sub)
