"""The audit log: every read of another person's data, every admin change."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from storage.tables import AuditLog


def audit(
    session: Session,
    now: datetime,
    actor_id: int | None,
    action: str,
    subject_id: int | None = None,
    detail: str = "",
) -> None:
    """Record that `actor_id` did `action` to `subject_id`'s data, in the current transaction."""
    session.add(
        AuditLog(
            at=now, actor_id=actor_id, action=action, subject_id=subject_id, detail=detail[:500]
        )
    )
