"""The harness of the crash and twin benchmarks: `mentorbot run` as a real subprocess.

A `BotProcess` starts the bot exactly as an operator would (`python -m mentorbot.cli run`) in
Slack HTTP mode, with its Web API pointed at a `FakeSlack` served by the benchmark's own event
loop; it waits until `GET /healthz` answers, kills the process with SIGKILL (no clean-up of any
kind runs, as in a power cut or an OOM kill) and starts it again on the same port.

Also here: preparing a programme of N students with Slack identities and a check-in schedule
that falls due at start (the start-up catch-up opens it, deterministically), reading which
check-in prompts reached the fake, and answering them with signed `block_actions` requests.

Only 127.0.0.1 is ever contacted: the fake, the bot's HTTP port and the database server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, func, insert, text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from adapters.slack.render import BadButton, decode_action
from bot.delivery import nonce_for
from bot.services.occurrences import checkin_dedupe_key
from mentorbot_fakes.slack_api import FakeSlack, RecordedCall
from mentorbot_fakes.slack_signing import (
    TEAM_ID,
    block_actions_body,
    block_actions_payload,
    sign_request,
)
from storage.db import Database
from storage.migrate import upgrade
from storage.tables import CheckinSchedule, Identity, MoodEntry, Outbox, Person

REPO_ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "bench-signing-secret-0001"
# The shared server of the machine; each benchmark uses a database of its own on it.
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
# Other engineers' test runs drop the schema of `test`: never touch it (nor the maintenance db).
PROTECTED_DATABASES = frozenset({"test", "postgres", "template0", "template1"})
# Settings the parent's environment might carry that must not leak into the bot under test.
_SCRUBBED_PREFIXES = ("SLACK_", "DISCORD_", "OUTBOX_", "CATCHUP_")
_SCRUBBED_NAMES = frozenset({"DATABASE_URL", "ENCRYPTION_KEYS", "ENCRYPTION_KEY_FILE", "DEMO_SEED"})
PROMPT_KIND = "checkin"
# scheduling/scheduler.py logs this (WARNING) when its catch-up opened anything.
CATCHUP_LINE = re.compile(r"scheduler catch-up since .*?: (\d+) check-in\(s\) sent")


# ---------------------------------------------------------------- databases


def is_postgres_url(url: str) -> bool:
    """True for a PostgreSQL URL."""
    return make_url(url).get_backend_name() == "postgresql"


def database_url_on(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url` (same user, host, driver)."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def postgres_problem(url: str) -> str | None:
    """Why the PostgreSQL server of `url` can't be used (None when it answers)."""
    admin = make_url(url).set(database="postgres")
    try:
        engine = create_engine(admin, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:
        return f"PostgreSQL unreachable at {admin.render_as_string()}: {exc}"
    return None


def database_problem(url: str) -> str | None:
    """Why a benchmark can't use `url` (a protected name, an unreachable server), or None."""
    if not is_postgres_url(url):
        return None
    name = make_url(url).database or ""
    if not name or name in PROTECTED_DATABASES:
        return f"refusing to drop or create the database {name!r}; name one of your own"
    return postgres_problem(url)


def _admin_engine(url: str) -> Any:
    name = make_url(url).database or ""
    if not name or name in PROTECTED_DATABASES:
        raise ValueError(f"refusing to drop or create the database {name!r}; name one of your own")
    admin = make_url(url).set(database="postgres")
    return create_engine(admin, isolation_level="AUTOCOMMIT")


def recreate_database(url: str) -> None:
    """Start from nothing: drop and create a PostgreSQL database, or delete a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            # WITH (FORCE): a bot left over from an aborted run must not keep the name busy.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        engine.dispose()


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database made by `recreate_database` (SQLite files go with their dir)."""
    if not is_postgres_url(url):
        return
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        engine.dispose()


# ---------------------------------------------------------------- the programme


@dataclass(frozen=True)
class Student:
    """One benchmark student: roster row, Slack user and the key of today's prompt."""

    index: int
    person_id: int
    user_id: str
    email: str
    dedupe_key: str


@dataclass(frozen=True)
class Programme:
    """What `prepare_programme` wrote, and how to recognise each student's prompt."""

    schedule_id: int
    local_date: date
    students: tuple[Student, ...]

    def by_nonce(self) -> dict[str, Student]:
        """Prompts carry `nonce_for(dedupe_key)` in their Slack metadata: nonce -> student."""
        return {nonce_for(s.dedupe_key): s for s in self.students}


def prepare_programme(
    database_url: str,
    students: int,
    fake: FakeSlack,
    *,
    now: datetime | None = None,
    known_dm_every: int = 2,
) -> Programme:
    """Migrate, enrol `students` Slack students and add a daily schedule due a minute ago.

    The schedule's time is the minute before `now` (UTC), so the bot's start-up catch-up (first
    run: it looks back one grace window) opens exactly this occurrence, whatever the clock says.
    No quiet hours (start == end), so nothing is deferred. Every `known_dm_every`-th student's
    DM channel is already on their identity; the others are reached by user id, so the fake
    opens the DM and the bot has to remember its channel.
    """
    now = now or datetime.now(UTC)
    due = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
    long_ago = now - timedelta(days=1)
    db = Database(database_url)
    try:
        upgrade(db.engine)
        with db.session() as session:
            session.execute(
                insert(Person),
                [
                    dict(
                        email=f"bench{i:06d}@example.edu",
                        name=f"Student {i}",
                        role="student",
                        timezone="UTC",
                        quiet_start="00:00",
                        quiet_end="00:00",
                        active=True,
                        created_at=long_ago,
                    )
                    for i in range(students)
                ],
            )
            ids = dict(session.execute(select(Person.email, Person.id)).all())
            rows: list[dict[str, object]] = []
            for i in range(students):
                user_id = f"UB{i:07d}"
                known = known_dm_every > 0 and i % known_dm_every == 0
                rows.append(
                    dict(
                        person_id=ids[f"bench{i:06d}@example.edu"],
                        platform="slack",
                        workspace=TEAM_ID,
                        user_id=user_id,
                        dm_channel_id=fake.dm_channel_id(user_id) if known else None,
                    )
                )
                fake.add_user(user_id, email=f"bench{i:06d}@example.edu", tz="UTC")
            if rows:
                session.execute(insert(Identity), rows)
            schedule = CheckinSchedule(
                name="Bench daily",
                days="*",
                local_time=f"{due:%H:%M}",
                timezone="UTC",
                created_at=long_ago,
            )
            session.add(schedule)
            session.flush()
            assert schedule.id is not None
            schedule_id = schedule.id
    finally:
        db.dispose()
    local_date = due.date()
    return Programme(
        schedule_id=schedule_id,
        local_date=local_date,
        students=tuple(
            Student(
                index=i,
                person_id=ids[f"bench{i:06d}@example.edu"],
                user_id=f"UB{i:07d}",
                email=f"bench{i:06d}@example.edu",
                dedupe_key=checkin_dedupe_key(
                    schedule_id, ids[f"bench{i:06d}@example.edu"], local_date
                ),
            )
            for i in range(students)
        ),
    )


def outbox_status(database_url: str, kind: str = PROMPT_KIND) -> dict[str, str]:
    """dedupe_key -> status of the outbox rows of one kind (payloads stay sealed, unread)."""
    db = Database(database_url)
    try:
        with db.session() as session:
            rows = session.execute(
                select(Outbox.dedupe_key, Outbox.status).where(Outbox.kind == kind)
            ).all()
    finally:
        db.dispose()
    return {key: status for key, status in rows}


def stored_answers(database_url: str) -> set[int]:
    """Check-in ids that have a mood entry: the answers the database kept."""
    db = Database(database_url)
    try:
        with db.session() as session:
            ids = session.exec(
                select(MoodEntry.checkin_id).where(col(MoodEntry.checkin_id).is_not(None))
            ).all()
    finally:
        db.dispose()
    return {int(i) for i in ids if i is not None}


def count_rows(database_url: str, table: type) -> int:
    """Rows of a table."""
    db = Database(database_url)
    try:
        with db.session() as session:
            return int(session.exec(select(func.count()).select_from(table)).one())
    finally:
        db.dispose()


# ---------------------------------------------------------------- the bot process


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_environment(
    *,
    database_url: str,
    api_url: str,
    encryption_key: str,
    workspace_rate: float = 50.0,
    lease_seconds: int = 5,
    bot_token: str = "xoxb-test",
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a benchmark bot: Slack HTTP mode against the fake, no demo seed.

    Inherited settings are scrubbed so a developer's shell can't point the bot elsewhere.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUBBED_PREFIXES) and k not in _SCRUBBED_NAMES
    }
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")])),
        PYTHONUNBUFFERED="1",
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_MODE="http",
        SLACK_HTTP_HOST="127.0.0.1",
        SLACK_API_URL=api_url,
        DEMO_SEED="false",
        ENCRYPTION_KEYS=encryption_key,
        # Short leases: a row claimed by a killed process is re-claimed seconds later.
        OUTBOX_LEASE_SECONDS=str(lease_seconds),
        SLACK_RATE_WORKSPACE=str(workspace_rate),
        # Bots run side by side here (twin): no shared default health port.
        HEALTH_PORT="0",
    )
    env.update(extra or {})
    return env


class BotStartError(RuntimeError):
    """The bot did not come up (its log's tail is in the message)."""


class BotProcess:
    """One `mentorbot run` subprocess on a fixed HTTP port; start, SIGKILL, start again."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "SLACK_HTTP_PORT": str(self.port)}
        # Not the repo: a developer's .env there must not configure the bot under test.
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0
        self.start_seconds: list[float] = []
        self._log: Any = None

    @property
    def events_url(self) -> str:
        """Where Slack would POST events and interactivity."""
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def running(self) -> bool:
        """True while the current incarnation lives."""
        return self.process is not None and self.process.returncode is None

    @property
    def log_path(self) -> Path:
        """The log of the current (or last) incarnation."""
        return self.workdir / f"{self.name}-{self.starts}.log"

    async def start(self, timeout: float = 60.0) -> float:  # noqa: ASYNC109
        """Start an incarnation and wait until /healthz answers; returns the seconds it took."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.starts += 1
        self._close_log()
        self._log = self.log_path.open("wb")
        started = time.perf_counter()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mentorbot.cli",
            "run",
            cwd=self.workdir,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )
        deadline = started + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if not self.running:
                    raise BotStartError(f"{self.name} exited at start:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                    async with http.get(
                        f"http://127.0.0.1:{self.port}/healthz",
                        timeout=aiohttp.ClientTimeout(total=1),
                    ) as response:
                        if response.status == 200:
                            break
                if time.perf_counter() > deadline:
                    await self.kill()
                    raise BotStartError(
                        f"{self.name}: no /healthz in {timeout}s\n{self.log_tail()}"
                    )
                await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        self.start_seconds.append(seconds)
        return seconds

    async def kill(self) -> None:
        """SIGKILL the incarnation (by its own pid) and reap it; nothing runs on the way out."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        self.kills += 1
        self._close_log()

    async def restart(self, timeout: float = 60.0) -> float:  # noqa: ASYNC109
        """Kill (if running) and start again on the same port."""
        await self.kill()
        return await self.start(timeout)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the bot logged."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def catchup_opened(self) -> int:
        """Check-ins this bot's start-up catch-ups opened, from their warning lines."""
        opened = 0
        for path in self.workdir.glob(f"{self.name}-*.log"):
            for match in CATCHUP_LINE.finditer(path.read_text(errors="replace")):
                opened += int(match.group(1))
        return opened

    def error_lines(self) -> int:
        """How many ERROR or Traceback lines this bot logged over all its incarnations."""
        count = 0
        for path in self.workdir.glob(f"{self.name}-*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if " ERROR " in line or line.startswith("Traceback"):
                    count += 1
        return count

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


# ---------------------------------------------------------------- what reached the fake


class BenchSlack(FakeSlack):
    """The loopback Slack, also accepting `extra_tokens` as bot tokens.

    One workspace, one app, but each bot process may get a token of its own, so the recorded
    calls (`RecordedCall.token`) tell which process sent what.
    """

    def __init__(self, extra_tokens: Sequence[str] = ()) -> None:
        super().__init__()
        self.extra_tokens = frozenset(extra_tokens)

    def _check_auth(self, method: str, token: str | None) -> None:
        if token in self.extra_tokens and method != "apps.connections.open":
            return
        super()._check_auth(method, token)


@dataclass(frozen=True)
class Prompt:
    """One check-in prompt the fake accepted (chat.postMessage answered ok)."""

    student: Student
    channel: str
    ts: str
    blocks: list[Any]
    at: float
    token: str | None  # which bot process sent it (each gets a token of its own)


@dataclass
class PromptLedger:
    """Reads the fake's recorded calls incrementally and files prompts by student."""

    fake: FakeSlack
    programme: Programme
    posts: dict[int, list[Prompt]] = field(default_factory=dict)
    _nonces: dict[str, Student] = field(default_factory=dict)
    _seen: int = 0

    def __post_init__(self) -> None:
        self._nonces = self.programme.by_nonce()

    def scan(self) -> list[Prompt]:
        """File the calls recorded since the last scan; returns each student's *first* prompt."""
        calls = self.fake.calls
        new_firsts: list[Prompt] = []
        while self._seen < len(calls):
            call = calls[self._seen]
            self._seen += 1
            prompt = self._prompt_of(call)
            if prompt is None:
                continue
            mine = self.posts.setdefault(prompt.student.index, [])
            mine.append(prompt)
            if len(mine) == 1:
                new_firsts.append(prompt)
        return new_firsts

    def _prompt_of(self, call: RecordedCall) -> Prompt | None:
        if call.method != "chat.postMessage" or not call.ok:
            return None
        metadata = call.json_params.get("metadata")
        if not isinstance(metadata, dict):
            return None
        payload = metadata.get("event_payload")
        nonce = payload.get("nonce") if isinstance(payload, dict) else None
        student = self._nonces.get(str(nonce))
        if student is None:
            return None
        blocks = call.json_params.get("blocks")
        return Prompt(
            student=student,
            channel=str(call.response.get("channel") or ""),
            ts=str(call.response.get("ts") or ""),
            blocks=blocks if isinstance(blocks, list) else [],
            at=call.at,
            token=call.token,
        )

    @property
    def delivered(self) -> int:
        """Students with at least one prompt."""
        return sum(1 for p in self.posts.values() if p)

    def by_token(self) -> dict[str, int]:
        """Prompts per sending token (per bot process)."""
        return dict(Counter(p.token or "" for posts in self.posts.values() for p in posts))

    def counts(self) -> Counter[int]:
        """Prompts per student index."""
        return Counter({i: len(p) for i, p in self.posts.items()})

    def last_post_at(self, dedupe_key: str) -> float:
        """When the fake accepted the latest prompt of a key (its `time.monotonic()`)."""
        for student in self.programme.students:
            if student.dedupe_key == dedupe_key and self.posts.get(student.index):
                return self.posts[student.index][-1].at
        return time.monotonic()

    def posts_of_key(self) -> dict[str, int]:
        """Prompts so far per dedupe key."""
        return {self.programme.students[i].dedupe_key: len(p) for i, p in self.posts.items() if p}


def summarise_prompts(ledger: PromptLedger, students: int) -> dict[str, int]:
    """Figures: missing (no prompt), duplicates (extra prompts), delivered (all prompts)."""
    counts = ledger.counts()
    return {
        "missing": students - sum(1 for i in range(students) if counts.get(i, 0) > 0),
        "duplicates": sum(max(0, c - 1) for c in counts.values()),
        "delivered": sum(counts.values()),
    }


# ---------------------------------------------------------------- answering


def mood_button(blocks: Sequence[Any], score: int) -> tuple[str, str, int] | None:
    """(action_id, value, check-in id) of the prompt's button for `score`, if it has one."""
    for block in blocks:
        if not isinstance(block, dict):
            continue
        for element in block.get("elements") or ():
            if not isinstance(element, dict) or element.get("type") != "button":
                continue
            action_id, value = str(element.get("action_id", "")), str(element.get("value", ""))
            try:
                pressed = decode_action(action_id, value)
            except BadButton:
                continue
            if pressed.action == "checkin.mood" and pressed.args.get("score") == str(score):
                return action_id, value, int(pressed.args["checkin"])
    return None


@dataclass
class Answer:
    """One student's answer: what the bench pressed and what the bot said to it."""

    student: Student
    checkin_id: int
    attempts: int = 0
    acked_at: float | None = None  # perf_counter of the first HTTP 200
    ack_seconds: float | None = None  # how long the acknowledged request took
    statuses: Counter[str] = field(default_factory=Counter)


class AnswerBurst:
    """Presses one mood button per prompt, signed like Slack, a bounded number at a time.

    An answer counts as acknowledged only on HTTP 200. A refused connection (the bot is down)
    or a dropped one (killed mid-request) is pressed again, as a student would, until
    `deadline`; the press is idempotent in the core (it updates the same mood entry).
    """

    def __init__(
        self,
        fake: FakeSlack,
        bots: Sequence[BotProcess],
        *,
        concurrency: int = 8,
        deadline: float,
        rng: random.Random,
        retry_seconds: float = 0.1,
        max_retry_seconds: float = 1.0,
    ) -> None:
        self.fake = fake
        self.bots = list(bots)
        self.deadline = deadline
        self.rng = rng
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.answers: dict[int, Answer] = {}
        self._semaphore = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AnswerBurst:
        # force_close: a kept-alive connection to a killed incarnation would only fail later.
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    @property
    def acked(self) -> int:
        """Students whose answer was acknowledged with HTTP 200."""
        return sum(1 for a in self.answers.values() if a.acked_at is not None)

    def answer(self, prompt: Prompt) -> None:
        """Start answering a prompt in the background (scores 3-5: no alerts to fan out)."""
        score = self.rng.choice((3, 4, 5))
        button = mood_button(prompt.blocks, score)
        if button is None:
            return
        action_id, value, checkin_id = button
        answer = Answer(student=prompt.student, checkin_id=checkin_id)
        self.answers[prompt.student.index] = answer
        task = asyncio.create_task(self._press(answer, prompt, action_id, value))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _press(self, answer: Answer, prompt: Prompt, action_id: str, value: str) -> None:
        assert self._http is not None
        user = prompt.student.user_id
        pause = self.retry_seconds
        while time.perf_counter() < self.deadline:
            payload = block_actions_payload(
                action_id,
                value,
                user_id=user,
                channel_id=prompt.channel,
                message_ts=prompt.ts,
                # Loopback: nothing may try hooks.slack.com.
                response_url=self.fake.response_url(f"answer-{user}-{answer.attempts}"),
            )
            body = block_actions_body(payload)
            headers = {
                **sign_request(body, SIGNING_SECRET),
                "Content-Type": "application/x-www-form-urlencoded",
            }
            # Any living process will do (twin runs several); Slack has one URL per app.
            bot = self.rng.choice([b for b in self.bots if b.running] or self.bots)
            answer.attempts += 1
            async with self._semaphore:
                sent = time.perf_counter()
                try:
                    async with self._http.post(
                        bot.events_url,
                        data=body.encode(),
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=10),
                    ) as response:
                        await response.read()
                        status = str(response.status)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    status = type(exc).__name__
            answer.statuses[status] += 1
            if status == "200":
                answer.acked_at = time.perf_counter()
                answer.ack_seconds = answer.acked_at - sent
                return
            # Backing off: a bot that is down (between kill and restart) refuses at once.
            await asyncio.sleep(pause)
            pause = min(self.max_retry_seconds, pause * 2)

    async def wait(self) -> None:
        """Wait for every press in flight (each stops by itself at the deadline)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def wait_for(
    predicate: Any,
    *,
    timeout: float,  # noqa: ASYNC109
    interval: float = 0.02,
    tick: Any = None,
) -> bool:
    """Poll `predicate()` (sync or async) until true or `timeout`; `tick()` runs each round."""
    deadline = time.perf_counter() + timeout
    while True:
        if tick is not None:
            tick()
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return True
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(interval)
