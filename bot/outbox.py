"""Writing to the outbox: every push is a row, keyed by its cause, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import insert, update
from sqlmodel import Session, select

from bot.localtime import quiet_hours_end
from bot.model import Message, Recipient, SerialisedMessage
from storage.bulk import insert_ignoring_conflicts
from storage.enums import OutboxKind, OutboxStatus
from storage.tables import Identity, Outbox


class PushPerson(Protocol):
    """What a push needs to know about its person: a `Person`, or a lighter row in bulk."""

    @property
    def id(self) -> int | None: ...  # noqa: D102
    @property
    def email(self) -> str: ...  # noqa: D102
    @property
    def timezone(self) -> str | None: ...  # noqa: D102
    @property
    def quiet_start(self) -> str: ...  # noqa: D102
    @property
    def quiet_end(self) -> str: ...  # noqa: D102
    @property
    def preferred_platform(self) -> str | None: ...  # noqa: D102


class PushIdentity(Protocol):
    """What choosing an address needs of an identity: an `Identity`, or a lighter row."""

    @property
    def platform(self) -> str: ...  # noqa: D102
    @property
    def user_id(self) -> str: ...  # noqa: D102
    @property
    def dm_channel_id(self) -> str | None: ...  # noqa: D102


# A row for someone with no identity on a platform that runs here waits on this pseudo
# platform (no Messenger claims it) until they link one; `delivery status` lists it, and an
# alert never waits here: it goes sideways at once (bot.services.routing).
UNROUTED = "unrouted"
# Every platform the core addresses; a pending row on one that does not run is re-routed.
KNOWN_PLATFORMS: tuple[str, ...] = ("slack", "discord", "console", "email", "webhook", UNROUTED)
# Platforms that reach a person in a chat (email and webhooks are side channels).
CHAT_PLATFORMS: tuple[str, ...] = ("slack", "discord", "console")
_RUNNING_KEY = "mentorbot.running_platforms"


def set_running_platforms(session_info: dict[str, object], platforms: Iterable[str]) -> None:
    """Tell the core which platforms run in this process (those with a registered Messenger).

    `session_info` is the database's `session_info`: every later unit of work sees the set,
    so pushes are addressed to a platform that runs. Unset (tests, the CLI), every platform
    counts as running.
    """
    session_info[_RUNNING_KEY] = frozenset(platforms)


def running_platforms(session: Session) -> frozenset[str] | None:
    """The platforms that run here, or None when the composition root did not say."""
    running = session.info.get(_RUNNING_KEY)
    return running if isinstance(running, frozenset) else None


def address_of(session: Session, person: PushPerson) -> Recipient:
    """The platform a person's pushes go to (see `choose_address`), among those that run."""
    identities = session.exec(select(Identity).where(Identity.person_id == person.id)).all()
    return choose_address(person, identities, running_platforms(session))


def choose_address(
    person: PushPerson,
    identities: Sequence[PushIdentity],
    running: AbstractSet[str] | None = None,
    *,
    avoid: AbstractSet[str] = frozenset(),
) -> Recipient:
    """Pick the push address among a person's identities (no database access).

    Only identities on a running platform count (all when `running` is None), minus the
    platforms in `avoid` (a route that just failed). Among them: the preferred platform,
    else the one the person last wrote from, else Slack before Discord. With none, the
    console by email when the console runs, else `UNROUTED`.
    """
    if running is not None or avoid:
        identities = [
            i
            for i in identities
            if (running is None or i.platform in running) and i.platform not in avoid
        ]
    chosen: PushIdentity | None = None
    for identity in identities:
        if identity.platform == person.preferred_platform:
            chosen = identity
            break
    if chosen is None and len(identities) == 1:
        chosen = identities[0]  # what the ranking below picks of one; a fan-out's usual case
    if chosen is None and len(identities) > 1:
        # Light bulk rows may not carry it: then the ranking decides.
        last = getattr(person, "last_platform", None)
        for identity in identities:
            if identity.platform == last:
                chosen = identity
                break
    if chosen is None:
        ranked = sorted(
            identities,
            key=lambda i: (
                ("slack", "discord", "console").index(i.platform)
                if i.platform in ("slack", "discord", "console")
                else 9
            ),
        )
        chosen = ranked[0] if ranked else None
    if chosen is None:
        if (running is None or "console" in running) and "console" not in avoid:
            return Recipient(platform="console", user_id=person.email, channel_id=None)
        return Recipient(platform=UNROUTED, user_id="", channel_id=None)
    return Recipient(
        platform=chosen.platform, user_id=chosen.user_id, channel_id=chosen.dm_channel_id
    )


# Outbox kinds that act on a message delivered earlier instead of sending a new one (erasure):
# the row's `channel_id` and `platform_message_id` name the delivered copy; for an edit, the
# payload is the message that replaces it.
COPY_KINDS = frozenset({OutboxKind.COPY_DELETE, OutboxKind.COPY_EDIT})

OUTBOX_ROWS_WRITTEN = "outbox_rows_written"


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert outbox rows; a row whose dedupe key exists already is silently skipped.

    Executed on the Core table with a list of rows, so SQLAlchemy batches them into a few
    multi-row INSERTs with one cached compilation (a 10,000-row fan-out stays fast and under
    the databases' bind-parameter limits), with the bind values processed up front on SQLite
    (storage.bulk); RETURNING counts exactly the rows inserted.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    table = Outbox.__table__  # type: ignore[attr-defined]
    if dialect in ("sqlite", "postgresql"):
        inserted = len(
            insert_ignoring_conflicts(
                session, table, rows, conflict=["dedupe_key"], returning=["id"]
            )
        )
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported: a plain insert
        inserted = len(session.execute(insert(table).returning(table.c.id), rows).all())
    # The core tells adapters whether an event queued work for the delivery loop (see
    # `outbox_rows_written`), so a burst of answers does not wake it for nothing.
    session.info[OUTBOX_ROWS_WRITTEN] = session.info.get(OUTBOX_ROWS_WRITTEN, 0) + inserted
    return inserted


def outbox_rows_written(session: Session) -> int:
    """How many outbox rows this session has inserted so far."""
    return int(session.info.get(OUTBOX_ROWS_WRITTEN, 0))


@dataclass(frozen=True)
class Push:
    """One message for one person (or channel), with the cause that names it."""

    dedupe_key: str
    # A message, or one already serialised (bulk callers fill a template serialised once).
    message: Message | SerialisedMessage
    person: PushPerson | None = None
    address: Recipient | None = None
    kind: str = OutboxKind.MESSAGE
    urgent: bool = False
    alert_id: int | None = None
    checkin_id: int | None = None
    not_before: datetime | None = None


def push_rows(
    session: Session,
    pushes: Sequence[Push],
    now: datetime,
    default_timezone: str,
    identities: Mapping[int, Sequence[PushIdentity]] | None = None,
) -> int:
    """Write pushes to the outbox in the current transaction; returns how many were new.

    Quiet hours defer a push to their end (never drop it); urgent pushes ignore them.
    `identities` may be preloaded by bulk callers to avoid one query per person; bulk
    callers may also pass light rows (see `PushPerson`, `PushIdentity`) instead of ORM objects.
    """
    rows: list[dict[str, object]] = []
    running = running_platforms(session)
    # A plain string, looked up once (see storage.bulk on binding enum members).
    pending = OutboxStatus.PENDING.value
    # A fan-out asks the same question for thousands of people sharing zone and quiet hours.
    quiet_ends: dict[tuple[datetime, str, str, str], datetime | None] = {}
    for push in pushes:
        address = push.address
        if address is None:
            if push.person is None:
                raise ValueError("a push needs a person or an address")
            if identities is not None and push.person.id is not None:
                address = choose_address(push.person, identities.get(push.person.id, ()), running)
            else:
                address = address_of(session, push.person)
        due = push.not_before or now
        if push.person is not None and not push.urgent:
            key = (
                due,
                push.person.timezone or default_timezone,
                push.person.quiet_start,
                push.person.quiet_end,
            )
            if key not in quiet_ends:
                quiet_ends[key] = quiet_hours_end(*key)
            quiet_end = quiet_ends[key]
            if quiet_end is not None:
                due = quiet_end
        rows.append(
            {
                "dedupe_key": push.dedupe_key,
                "platform": address.platform,
                "person_id": push.person.id if push.person is not None else None,
                "user_id": address.user_id,
                "channel_id": address.channel_id,
                "member_ids": ",".join(address.member_ids) or None,
                "kind": push.kind,
                "payload": (
                    push.message
                    if isinstance(push.message, SerialisedMessage)
                    else push.message.to_json()
                ),
                "urgent": push.urgent,
                "alert_id": push.alert_id,
                "checkin_id": push.checkin_id,
                "status": pending,
                "attempts": 0,
                "next_attempt_at": due,
                "created_at": now,
            }
        )
    return _insert_ignoring_duplicates(session, rows)


def move_waiting_rows(session: Session, person_id: int, address: Recipient) -> int:
    """Readdress a person's rows still waiting for a platform to `address` (first contact).

    Rows on `UNROUTED`, or on a platform that does not run here, go to the newly linked one;
    returns how many moved.
    """
    running = running_platforms(session)
    if running is not None and address.platform not in running:
        return 0
    stranded = [UNROUTED] + [
        p for p in KNOWN_PLATFORMS if running is not None and p not in running and p != UNROUTED
    ]
    table = Outbox.__table__  # type: ignore[attr-defined]
    moved = session.execute(  # type: ignore[attr-defined]  # a CursorResult
        update(table)
        .where(
            table.c.person_id == person_id,
            table.c.status == OutboxStatus.PENDING,
            table.c.platform.in_(stranded),
            table.c.member_ids.is_(None),
        )
        .values(platform=address.platform, user_id=address.user_id, channel_id=address.channel_id)
    ).rowcount
    if moved:
        session.info[OUTBOX_ROWS_WRITTEN] = session.info.get(OUTBOX_ROWS_WRITTEN, 0) + moved
    return int(moved or 0)
