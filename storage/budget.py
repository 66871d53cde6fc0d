"""The platform budget shared by the instances of a cluster: a token bucket in PostgreSQL.

With PACING_BUDGET=postgres every instance delivers, and each takes its sends' tokens from
one row per (platform, bucket) in `pacing_budget` (bot/pacing.py's `SharedPacer` reserves a
few per round trip). Refill and take are ONE `UPDATE ... RETURNING`: PostgreSQL locks the
row for the statement, and a concurrent statement waits and then re-evaluates its SET
expressions on the row as committed, so no two instances ever read the same level (no
read-modify-write race, no explicit transaction). The server's clock is the only clock:
instances' clocks never meet.

The bucket may go into debt by `ahead` seconds of its rate: a grant then comes with future
slots (level < j), which spreads the instances' reservations one after the other instead of
making them poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, text


class RateLimit(Protocol):
    """A bucket's rate (tokens per second) and burst, as bot.pacing's RateLimit has them.

    A protocol, not an import: storage knows nothing of the layers above it.
    """

    @property
    def rate(self) -> float:
        """Tokens per second."""
        ...

    @property
    def burst(self) -> float:
        """Tokens the bucket holds at most."""
        ...


@dataclass(frozen=True)
class Grant:
    """Tokens a shared budget handed out in one round trip.

    `level`: the bucket's tokens just before the grant (after its refill); token j (1-based)
    of the grant may be used `max(0, (j - level) / rate)` seconds after the statement ran.
    `retry_in`: with nothing granted, the seconds until asking again is worth it.
    """

    count: int
    level: float
    retry_in: float = 0.0


# The refilled level: never above the burst, never refilled for a negative elapsed time.
_LEVEL = (
    "LEAST(:burst, tokens + :rate * GREATEST(0, "
    "EXTRACT(EPOCH FROM clock_timestamp() - refilled_at)))"
)

_ENSURE = text(
    "INSERT INTO pacing_budget (platform, bucket, tokens, granted, refilled_at) "
    "VALUES (:platform, :bucket, :burst, 0, clock_timestamp()) ON CONFLICT DO NOTHING"
)

# What the level plus `ahead` seconds of debt allow.
_ROOM = f"FLOOR({_LEVEL} + :rate * :ahead)"
# Grant: as many as wanted within the room, or none when the room is under `least`.
_GRANT = f"(CASE WHEN {_ROOM} >= :least THEN LEAST(:want, {_ROOM}) ELSE 0 END)"
_TAKE = text(
    f"""
    UPDATE pacing_budget SET
        granted = {_GRANT}::int,
        tokens = {_LEVEL} - {_GRANT},
        refilled_at = GREATEST(refilled_at, clock_timestamp())
    WHERE platform = :platform AND bucket = :bucket
    RETURNING tokens, granted
    """
)

# A platform-wide Retry-After: the bucket is empty until `seconds` from now.
_HOLD = text(
    f"""
    UPDATE pacing_budget SET
        tokens = LEAST({_LEVEL}, -:seconds * :rate),
        granted = 0,
        refilled_at = GREATEST(refilled_at, clock_timestamp())
    WHERE platform = :platform AND bucket = :bucket
    """
)


class PostgresBudget:
    """`bot.pacing.SharedBudget` on the `pacing_budget` table (autocommit, one statement)."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("a shared pacing budget needs PostgreSQL")
        self.engine = engine
        self._ensured: set[tuple[str, str]] = set()

    def _params(self, platform: str, bucket: str, limit: RateLimit) -> dict[str, object]:
        return {"platform": platform, "bucket": bucket, "rate": limit.rate, "burst": limit.burst}

    def _ensure(self, platform: str, bucket: str, limit: RateLimit) -> None:
        if (platform, bucket) in self._ensured:
            return
        with self.engine.begin() as conn:
            conn.execute(_ENSURE, self._params(platform, bucket, limit))
        self._ensured.add((platform, bucket))

    def take(
        self,
        platform: str,
        bucket: str,
        want: int,
        limit: RateLimit,
        ahead: float,
        least: int = 1,
    ) -> Grant:
        """Refill and take `least` to `want` tokens in one statement (or none).

        See the module's docstring.
        """
        self._ensure(platform, bucket, limit)
        least = max(1, min(least, want))
        params = {
            **self._params(platform, bucket, limit),
            "want": want,
            "least": least,
            "ahead": ahead,
        }
        with self.engine.begin() as conn:
            row = conn.execute(_TAKE, params).one()
        tokens, granted = float(row[0]), int(row[1])
        level = tokens + granted
        if granted > 0:
            return Grant(count=granted, level=level)
        # Not `least` within `ahead`: that many are there in this long.
        return Grant(count=0, level=level, retry_in=max(0.0, (least - level) / limit.rate - ahead))

    def hold(self, platform: str, bucket: str, seconds: float, limit: RateLimit) -> None:
        """Empty the shared bucket for `seconds` (every instance's next grant waits)."""
        self._ensure(platform, bucket, limit)
        with self.engine.begin() as conn:
            conn.execute(_HOLD, {**self._params(platform, bucket, limit), "seconds": seconds})
