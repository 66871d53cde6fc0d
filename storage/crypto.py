"""Free text at rest, sealed with Fernet (AES-128-CBC + HMAC-SHA256), with key rotation.

Every column that may hold what a person wrote (mood and check-in notes, messages, alert
excerpts, mentor notes, outbox payloads that quote them) uses `SealedText`: the value is
encrypted on the way into the database and decrypted on the way out, so the ORM and the
services above see plain strings and the database (its files, backups, dumps, replicas)
only ever sees tokens.

Keys: a comma-separated list of Fernet keys, the first is the primary. New values are
sealed with the primary; every key in the list still opens values. To rotate: put a new key
first, keep the old ones after it, run `mentorbot keys rotate` (re-seals every value with
the primary), then drop the old keys.

The composition root calls `configure(keys)` once at start; storage knows nothing about
where keys come from. Nothing is ever written unsealed: with no keys configured, writing or
reading a sealed column raises `EncryptionNotConfigured`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# How many rows `rotate_sealed` re-seals per transaction: bounded locks on a busy database.
ROTATE_BATCH = 500


class EncryptionNotConfigured(RuntimeError):
    """A sealed column was used before `configure` was called with at least one key."""


class UnreadableSealedValue(RuntimeError):
    """A stored token opens with none of the configured keys (a key was removed too early)."""


class BadKey(ValueError):
    """A configured key is not a Fernet key (32 url-safe base64-encoded bytes)."""


class _KeyRing:
    """The configured keys: a MultiFernet for sealing and per-key signing secrets."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise BadKey("at least one encryption key is needed")
        fernets: list[Fernet] = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError) as exc:
                # Never echo the key itself: it may end up in logs.
                raise BadKey(
                    f"encryption key #{position} is not a Fernet key "
                    "(generate one with `mentorbot keys generate`)"
                ) from exc
        self.multi = MultiFernet(fernets)
        # Signing keys are derived, never the encryption keys themselves, so a signature
        # can never help with an attack on the ciphertexts (and vice versa).
        self.signing_keys = [
            hmac.new(base64.urlsafe_b64decode(k.strip()), b"mentorbot-sign-v1", "sha256").digest()
            for k in keys
        ]


_ring: _KeyRing | None = None


def configure(keys: Sequence[str]) -> None:
    """Use these keys from now on (the first seals, all open); raises BadKey."""
    global _ring
    _ring = _KeyRing([k for k in keys if k.strip()])


def check_keys(keys: Sequence[str]) -> None:
    """Raise BadKey unless every key is a Fernet key (an empty list passes)."""
    if keys:
        _KeyRing(keys)


def is_configured() -> bool:
    """True once `configure` was called with a key."""
    return _ring is not None


def _keys() -> _KeyRing:
    if _ring is None:
        raise EncryptionNotConfigured(
            "free text is encrypted at rest but no key is configured: set ENCRYPTION_KEYS "
            "(or let the app create its key file) before using the database"
        )
    return _ring


def generate_key() -> str:
    """A new random Fernet key, as text."""
    return Fernet.generate_key().decode("ascii")


def split_keys(raw: str) -> list[str]:
    """The keys of a comma-separated setting, in order, blanks dropped."""
    return [part.strip() for part in raw.split(",") if part.strip()]


def seal(plaintext: str) -> str:
    """Encrypt with the primary key."""
    return _keys().multi.encrypt(plaintext.encode("utf-8")).decode("ascii")


def unseal(token: str) -> str:
    """Decrypt with whichever configured key sealed the value."""
    try:
        return _keys().multi.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise UnreadableSealedValue(
            "a stored value opens with none of the configured encryption keys: was a key "
            "removed from ENCRYPTION_KEYS before `mentorbot keys rotate` ran?"
        ) from exc


def sign(message: str) -> str:
    """A short url-safe MAC of `message` under the primary key (for confirm buttons)."""
    digest = hmac.new(_keys().signing_keys[0], message.encode("utf-8"), hashlib.sha256).digest()
    # 128 bits are plenty for a MAC that also expires in minutes, and keep button ids short.
    return base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")


def verify(message: str, signature: str) -> bool:
    """True when `signature` is `sign(message)` under any configured key."""
    for key in _keys().signing_keys:
        digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
        expected = base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")
        if hmac.compare_digest(expected, signature):
            return True
    return False


class SealedText(TypeDecorator[str]):
    """A text column whose values are stored Fernet-encrypted (see the module docstring).

    The database column is plain TEXT. Values cannot be compared or searched in SQL (the
    same text seals differently each time); only IS NULL / IS NOT NULL work.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Seal on the way in."""
        return None if value is None else seal(value)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> str | None:
        """Open on the way out."""
        return None if value is None else unseal(str(value))


def sealed_columns(metadata: MetaData) -> list[tuple[str, str]]:
    """(table, column) of every SealedText column in the metadata."""
    return [
        (table.name, column.name)
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, SealedText)
    ]


def raw_view(table: str, column: str) -> Table:
    """A plain-TEXT view of one column: reads and writes tokens as stored, unopened."""
    return Table(
        table,
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column(column, Text),
    )


def rotate_sealed(engine: Engine, columns: Iterable[tuple[str, str]]) -> int:
    """Re-seal every stored value with the primary key; returns how many were rewritten.

    Idempotent and safe to interrupt: each batch commits on its own, and a value already
    sealed with the primary key is simply sealed again. Fails (before writing that batch)
    if a value opens with none of the keys.
    """
    multi = _keys().multi
    rewritten = 0
    for table_name, column_name in columns:
        view = raw_view(table_name, column_name)
        id_col, value_col = view.c.id, view.c[column_name]
        last_id = 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(
                    select(id_col, value_col)
                    .where(id_col > last_id, value_col.is_not(None))
                    .order_by(id_col)
                    .limit(ROTATE_BATCH)
                ).all()
                if not rows:
                    break
                for row_id, token in rows:
                    try:
                        fresh = multi.rotate(str(token).encode("ascii")).decode("ascii")
                    except (InvalidToken, UnicodeEncodeError) as exc:
                        raise UnreadableSealedValue(
                            f"{table_name}.{column_name} row {row_id} opens with none of the "
                            "configured keys; nothing in that batch was changed"
                        ) from exc
                    conn.execute(update(view).where(id_col == row_id).values({column_name: fresh}))
                last_id = int(rows[-1][0])
                rewritten += len(rows)
    return rewritten


def check_keys_open_stored_values(engine: Engine, columns: Iterable[tuple[str, str]]) -> None:
    """Fail fast at start when the newest stored value of any sealed column does not open.

    A canary, not a proof: it catches a lost key file or a mistyped ENCRYPTION_KEYS before a
    student's message fails on it, not an old key removed before rotation finished.
    """
    multi = _keys().multi
    with engine.connect() as conn:
        for table_name, column_name in columns:
            view = raw_view(table_name, column_name)
            token = conn.execute(
                select(view.c[column_name])
                .where(view.c[column_name].is_not(None))
                .order_by(view.c.id.desc())
                .limit(1)
            ).scalar()
            if token is None:
                continue
            try:
                multi.decrypt(str(token).encode("ascii"))
            except (InvalidToken, UnicodeEncodeError) as exc:
                raise UnreadableSealedValue(
                    f"the configured encryption keys cannot open data already stored (in "
                    f"{table_name}.{column_name}): set ENCRYPTION_KEYS to the key(s) this "
                    "database was written with (or restore the key file)"
                ) from exc


# Where the key file used to be by default: inside the data folder, beside the database, so
# that one copy of the folder (a backup, a stolen disk image) held both the data and its key.
LEGACY_KEY_FILE = Path("data") / "secret.key"
KEY_FILE_NAME = "secret.key"


def default_key_file(environ: Mapping[str, str] | None = None) -> Path:
    """The default key file: $XDG_CONFIG_HOME/mentorbot/secret.key (~/.config when unset).

    Outside the data folder, so a backup or copy of the database doesn't carry its key.
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "")
    # The XDG spec ignores a relative value; so do we.
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "mentorbot" / KEY_FILE_NAME


@dataclass(frozen=True)
class KeyFileChoice:
    """Which key file seals, which others still open, and what the operator should know."""

    path: Path
    also_open: tuple[Path, ...] = ()
    warning: str | None = None


def choose_key_file(
    configured: str | None,
    *,
    legacy: Path = LEGACY_KEY_FILE,
    environ: Mapping[str, str] | None = None,
) -> KeyFileChoice:
    """The key file to use when ENCRYPTION_KEYS is not set.

    ENCRYPTION_KEY_FILE wins. Otherwise the default outside the data folder, except that a key
    file left at the old default (data/secret.key) keeps being used, with a warning, until
    the operator moves it: creating a new key there would make stored data unreadable. If
    both exist, the new one seals and the old one still opens what it sealed.
    """
    if configured:
        return KeyFileChoice(Path(configured).expanduser())
    new = default_key_file(environ)
    if not legacy.exists():
        return KeyFileChoice(new)
    if not new.exists():
        return KeyFileChoice(
            legacy,
            warning=f"the encryption key file is {legacy}, inside the data folder: a copy of "
            f"the folder holds both the data and its key. Move it to {new} (mode 0600) or set "
            "ENCRYPTION_KEY_FILE; until then it is used where it is.",
        )
    return KeyFileChoice(
        new,
        also_open=(legacy,),
        warning=f"an old key file is still in the data folder ({legacy}) besides {new}: "
        "both keys open stored data. Run `mentorbot keys rotate`, then delete the old file.",
    )


def load_or_create_key_file(path: Path) -> tuple[str, bool]:
    """The key kept in `path`, created (mode 0600) when missing; returns (key, created).

    For the console demo and development only: production sets ENCRYPTION_KEYS from a
    secret store, because losing this file makes every sealed value unreadable.
    """
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            # Tighten rather than refuse: the file is ours, and a readable key is worse.
            path.chmod(0o600)
        keys = split_keys(path.read_text(encoding="ascii"))
        if not keys:
            raise BadKey(f"{path} holds no key")
        return keys[0], False
    # A folder of its own, readable by this user only (umask can't widen 0700).
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = generate_key()
    # O_EXCL: two processes starting at once cannot both create (and use) different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_key_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key, True
