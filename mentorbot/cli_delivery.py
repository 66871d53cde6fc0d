"""`mentorbot alerts list`, `mentorbot delivery status` and `mentorbot check`.

`alerts list` shows stuck urgent alerts first, with why (bot.services.watchdog); `delivery
status` counts what waits or failed in the outbox by platform, kind and age; `check` exits 2
when an urgent alert is stuck, for cron and monitoring. None of them prints what anyone wrote:
ids, kinds, platforms, times and the people's emails only.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from bot.outbox import UNROUTED
from bot.safety import render_reason
from bot.services.unrostered import contact_line, is_unrostered
from bot.services.watchdog import StuckAlert, stuck_urgent_alerts
from mentorbot.app import App, build_app
from storage.enums import AlertSeverity, AlertStatus, OutboxStatus
from storage.tables import Alert, Outbox, Person

AddCommand = Callable[..., argparse.ArgumentParser]
# `mentorbot check` exits with this when an urgent alert is stuck (1 is a usage error).
STUCK_EXIT = 2


def _app() -> App:
    # Never seed here: a monitoring command must not invent people.
    return build_app(seed=False)


def age_text(age: timedelta) -> str:
    """A short age: 45s, 12m, 3h05m, 2d04h."""
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def _email(session: Session, person_id: int | None) -> str:
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None:
        return "-"
    if is_unrostered(person):
        # Someone not on the roster who wrote a crisis: say so, and how to find them.
        return f"{person.email} (not on the roster: {contact_line(person)})"
    return person.email


def _alert_line(session: Session, alert: Alert, now: datetime) -> str:
    return (
        f"#{alert.id} {alert.created_at:%Y-%m-%d %H:%M} {alert.severity:6} {alert.kind:9} "
        f"{alert.status:12} student={_email(session, alert.student_id)} "
        f"mentor={_email(session, alert.mentor_id)} "
        f"delivered={alert.delivered_at or '-'} ack={alert.acknowledged_at or '-'}: "
        f"{render_reason(alert.reason)}"
    )


def cmd_alerts_list(args: argparse.Namespace) -> int:
    """List alerts: stuck urgent ones first (with why), then the rest, newest first."""
    app = _app()
    now = app.clock.now()
    with app.db.session() as session:
        stuck = stuck_urgent_alerts(session, app.core_settings, now)
        stuck_ids = {s.alert_id for s in stuck}
        query = select(Alert).order_by(col(Alert.created_at).desc()).limit(args.limit)
        if not args.all:
            query = query.where(Alert.status == AlertStatus.OPEN)
        alerts = [a for a in session.exec(query).all() if a.id not in stuck_ids]
        if not alerts and not stuck:
            print("No open alerts." if not args.all else "No alerts.")
            return 0
        for item in stuck:
            alert = session.get(Alert, item.alert_id)
            assert alert is not None
            print(f"STUCK {_alert_line(session, alert, now)}")
            print(f"      why: {item.why}")
        unacknowledged = [
            a for a in alerts if a.severity == AlertSeverity.URGENT and a.acknowledged_at is None
        ]
        rest = [a for a in alerts if a not in unacknowledged]
        for alert in unacknowledged + rest:
            print(_alert_line(session, alert, now))
    return 0


@dataclass(frozen=True)
class OutboxGroup:
    """Outbox rows of one platform, kind and status: how many, and the oldest's age."""

    platform: str
    kind: str
    status: str
    urgent: int
    count: int
    oldest: timedelta
    last_error: str | None


def outbox_groups(session: Session, now: datetime) -> list[OutboxGroup]:
    """Pending, sending and failed outbox rows grouped by platform, kind and status."""
    # SQLAlchemy's select: SQLModel's is typed for at most four columns.
    rows = session.execute(
        select_columns(
            col(Outbox.platform),
            col(Outbox.kind),
            col(Outbox.status),
            func.count(),
            func.sum(case((col(Outbox.urgent), 1), else_=0)),
            func.min(Outbox.created_at),
            func.max(Outbox.last_error),
        )
        .where(
            col(Outbox.status).in_(
                (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED)
            )
        )
        .group_by(col(Outbox.platform), col(Outbox.kind), col(Outbox.status))
        .order_by(col(Outbox.platform), col(Outbox.kind), col(Outbox.status))
    ).all()
    groups: list[OutboxGroup] = []
    for platform, kind, status, count, urgent, oldest, error in rows:
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=now.tzinfo)
        groups.append(
            OutboxGroup(platform, kind, status, int(urgent or 0), int(count), now - oldest, error)
        )
    return groups


def cmd_delivery_status(args: argparse.Namespace) -> int:
    """Pending and failed outbox rows by platform, kind and age."""
    app = _app()
    now = app.clock.now()
    with app.db.session() as session:
        groups = outbox_groups(session, now)
        stuck = stuck_urgent_alerts(session, app.core_settings, now)
    if not groups:
        print("Nothing is waiting or failed in the outbox.")
    else:
        print(f"{'PLATFORM':10} {'KIND':16} {'STATUS':8} {'ROWS':>6} {'URGENT':>6} {'OLDEST':>7}")
        for g in groups:
            print(
                f"{g.platform:10} {g.kind:16} {g.status:8} {g.count:>6} {g.urgent:>6} "
                f"{age_text(g.oldest):>7}"
                + (f"  last error: {g.last_error[:120]}" if g.last_error else "")
            )
        if any(g.platform == UNROUTED for g in groups):
            print(
                f"'{UNROUTED}': people with no identity on a platform that runs; their "
                "messages go out when they first write to the bot there."
            )
    _print_stuck(stuck)
    return 0


def _print_stuck(stuck: list[StuckAlert]) -> None:
    for item in stuck:
        print(f"STUCK urgent alert #{item.alert_id} ({item.kind}): {item.why}")


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 2 when an urgent alert is stuck (printing why), else 0: for cron and monitoring."""
    app = _app()
    now = app.clock.now()
    with app.db.session() as session:
        stuck = stuck_urgent_alerts(session, app.core_settings, now)
        failed = session.exec(
            select(func.count())
            .select_from(Outbox)
            .where(col(Outbox.status) == OutboxStatus.FAILED)
        ).one()
    if stuck:
        print(f"CRITICAL: {len(stuck)} urgent alert(s) stuck")
        _print_stuck(stuck)
        print("Run `mentorbot alerts list` and `mentorbot delivery status` for details.")
        return STUCK_EXIT
    print(f"OK: no urgent alert is stuck ({failed} failed outbox row(s) on record).")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], add: AddCommand) -> None:
    """Add `delivery status` and `check` (`alerts list` is registered by mentorbot.cli)."""
    delivery = sub.add_parser("delivery", help="outbox delivery commands")
    delivery_sub = delivery.add_subparsers(dest="delivery_command", metavar="ACTION", required=True)
    add(
        "status",
        cmd_delivery_status,
        "pending and failed messages by platform, kind and age",
        delivery_sub,
    )
    add("check", cmd_check, "exit 2 when an urgent alert is stuck (for cron and monitoring)")
