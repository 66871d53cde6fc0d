"""Benchmark: N students answer their check-in at once, through the adapter's real inbound path.

    python -m bench answers --platform slack|discord --students 1000 --concurrency 20

Set-up: N enrolled students with an open check-in each (one occurrence opened by the core,
its prompts marked delivered as if the fan-out had happened), the loopback fake of the
platform, and the bot: by default `mentorbot run` (the real runner: adapter, delivery loop,
scheduler) in its own process, configured through the environment exactly as in production
except that the platform URLs point at the fake. `--in-process` runs it in the bench's process.

Load: `--concurrency` workers each press one student's mood button after another.

* Slack (HTTP mode): a signed `block_actions` POST to the adapter's `/slack/events`;
  latency is the HTTP response time (bolt acknowledges before the core runs).
* Discord: an INTERACTION_CREATE dispatched by the fake over the gateway; latency is from the
  dispatch to the interaction callback reaching the fake (the core's answer edits the
  pressed message, so the core runs before the acknowledgement).

Prints one JSON object (the last line): answers_per_second (N / time to the last
acknowledgement), p50_ms / p99_ms / max_ms, stored_per_second (until every answer is a
mood entry), lost (answers not stored as mood entries), and the bot process's CPU per answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select as select_columns
from sqlalchemy import update
from sqlmodel import col

from bench.common import (
    BENCH_KEY,
    add_schedule,
    emit,
    floor_minute,
    percentile,
    raise_fd_limit,
    seed_students,
    table_count,
    temp_database,
    utc_now,
)
from bot.config import CoreSettings
from bot.services.checkins import mood_choices
from bot.services.tick import open_occurrences
from storage.db import Database
from storage.tables import Checkin, MoodEntry, Outbox

BENCHMARK = True

log = logging.getLogger(__name__)

SIGNING_SECRET = "bench-signing-secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")
REPO = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(prog="python -m bench answers", description=__doc__)
    parser.add_argument("--platform", choices=("slack", "discord"), default="slack")
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="delay the fake adds to each Web API call (s)"
    )
    parser.add_argument("--in-process", action="store_true", help="run the bot in this process")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Slack HTTP receiver processes (SLACK_HTTP_WORKERS) sharing the port",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="cap for the whole load (s)")
    parser.add_argument("--serve-bot", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--log-level", default="ERROR")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- the bot


def bot_environment(
    db: Database, platform: str, fake: Any, http_port: int, workers: int = 1
) -> dict[str, str]:
    """The production settings of a bot talking to the fake (see .env.example)."""
    env = {
        "DATABASE_URL": db.url,
        "ENCRYPTION_KEYS": BENCH_KEY,
        "DEMO_SEED": "false",
    }
    if platform == "slack":
        env.update(
            SLACK_BOT_TOKEN=fake.token,
            SLACK_MODE="http",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_HTTP_HOST="127.0.0.1",
            SLACK_HTTP_PORT=str(http_port),
            SLACK_API_URL=fake.base_url,
            SLACK_HTTP_WORKERS=str(workers),
        )
    else:
        env.update(
            DISCORD_BOT_TOKEN=fake.token,
            DISCORD_API_URL=fake.api_base,
            DISCORD_GATEWAY_URL=fake.gateway_url,
            DISCORD_APPLICATION_ID=fake.application_id,
        )
    return env


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for a block, restoring the old values afterwards."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def serve_bot() -> None:
    """`mentorbot run` from the environment until SIGINT (the subprocess side)."""
    from mentorbot.runner import run
    from mentorbot.settings import Settings

    logging.basicConfig(level=logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(Settings(env_file=None)))


class BotProcess:
    """The bot in a subprocess (or a task in this process), with its CPU time."""

    def __init__(self, env: dict[str, str], *, in_process: bool) -> None:
        self.env = env
        self.in_process = in_process
        self.process: subprocess.Popen[bytes] | None = None
        self.task: asyncio.Task[int] | None = None
        self._env_cm: contextlib.AbstractContextManager[None] | None = None

    async def start(self) -> None:
        """Start `mentorbot run`."""
        if self.in_process:
            from mentorbot.runner import run
            from mentorbot.settings import Settings

            self._env_cm = environment(self.env)
            self._env_cm.__enter__()
            self.task = asyncio.create_task(run(Settings(env_file=None)))
            return
        self.process = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", "bench.answers", "--serve-bot"],
            env={**os.environ, **self.env},
            cwd=REPO,
        )

    def check_alive(self) -> None:
        """Raise when the bot died during start-up."""
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the bot exited with {self.process.returncode}")
        if self.task is not None and self.task.done():
            self.task.result()
            raise RuntimeError("the bot stopped")

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the bot and its worker processes so far (None in-process)."""
        if self.process is None:
            return None
        return sum(process_cpu_seconds(pid) for pid in self.pids())

    def pids(self) -> list[int]:
        """The bot's process and its children (SLACK_HTTP_WORKERS)."""
        if self.process is None:
            return []
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        extra = [int(c) for c in children.read_text().split()] if children.exists() else []
        return [pid, *extra]

    async def stop(self) -> None:
        """Stop the bot as Ctrl-C would."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
            if self._env_cm is not None:
                self._env_cm.__exit__(None, None, None)
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(self.process.wait, 20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- load generator


def signed_post(port: int, body: bytes) -> bytes:
    """A whole HTTP/1.1 request for /slack/events, signed as Slack signs it."""
    from mentorbot_fakes.slack_signing import sign_request

    headers = {
        "Host": f"127.0.0.1:{port}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": str(len(body)),
        **sign_request(body, SIGNING_SECRET),
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST /slack/events HTTP/1.1\r\n{head}\r\n".encode() + body


class KeepAlivePool:
    """Keep-alive connections that send pre-built requests: the load generator's own CPU.

    Like wrk, the requests are built (and signed) before the run, so what the bench spends per
    answer is a write and a read, not a client library's request machinery; the CPU is left
    to the bot and the fake. One connection per worker, reopened if the bot closes it.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._all: list[asyncio.StreamWriter] = []

    async def send(self, request: bytes) -> int:
        """Send one request; return the response's status once its body has arrived."""
        if self._idle:
            reader, writer = self._idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self._all.append(writer)
        writer.write(request)
        status_line = await reader.readline()
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        keep_alive = True
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"connection" and b"close" in value.lower():
                keep_alive = False
        if length:
            await reader.readexactly(length)
        if keep_alive:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return int(status_line.split()[1])

    async def close(self) -> None:
        """Close every connection."""
        for writer in self._all:
            writer.close()
        self._idle.clear()


# --------------------------------------------------------------------------- platforms

Press = Callable[[int], Awaitable[float]]  # student index -> seconds to acknowledgement


async def slack_platform(
    args: argparse.Namespace,
    people: list[tuple[int, str]],
    checkin_of: dict[int, int],
    stack: contextlib.AsyncExitStack,
) -> tuple[Any, Press, Callable[[], Coroutine[Any, Any, None]], int]:
    """FakeSlack with the students and their delivered check-ins; a signed-POST press."""
    from adapters.slack.render import encode_choice, render_message
    from bot.services.checkins import checkin_prompt
    from mentorbot_fakes.slack_api import FakeSlack, StoredMessage
    from mentorbot_fakes.slack_signing import block_actions_body, block_actions_payload

    fake = FakeSlack(latency=args.latency)
    receivers: set[int] = args.receivers
    await fake.start()
    stack.push_async_callback(fake.stop)
    port = free_port()
    bodies: list[bytes] = []
    for index, (pid, uid) in enumerate(people):
        fake.add_user(uid, email=f"student{index}@example.edu", tz="Europe/London")
        channel = fake.dm_channel_id(uid)
        checkin_id = checkin_of[pid]
        ts = f"1800000000.{index:06d}"
        # The prompt as the fan-out left it in the DM, so chat.update finds it.
        rendered = render_message(checkin_prompt(checkin_id, f"Student {index}"), recipient=uid)
        fake.messages.setdefault(channel, {})[ts] = StoredMessage(
            channel=channel, ts=ts, text=rendered.text, blocks=rendered.blocks
        )
        score = 3 + index % 3  # 3..5: answers that raise no alert
        choice_index = score - 1
        action_id, value = encode_choice(mood_choices(checkin_id)[choice_index], choice_index, uid)
        payload = block_actions_payload(
            action_id,
            value,
            user_id=uid,
            channel_id=channel,
            message_ts=ts,
            response_url=fake.response_url(f"r{index}"),
        )
        bodies.append(block_actions_body(payload).encode())
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    stack.push_async_callback(session.close)
    # Signed now, sent within minutes: bolt accepts timestamps up to five minutes old.
    requests = [signed_post(port, body) for body in bodies]
    pool = KeepAlivePool(port)
    stack.push_async_callback(pool.close)

    async def press(index: int) -> float:
        started = time.perf_counter()
        status = await pool.send(requests[index])
        elapsed = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"Slack adapter answered {status}")
        return elapsed

    async def ready() -> None:
        # Every receiver process must be listening before the load opens its connections
        # (the kernel spreads connections over the sockets there are at connect time).
        seen = receivers
        while len(seen) < args.workers:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(
                    f"http://127.0.0.1:{port}/healthz", headers={"Connection": "close"}
                ) as response:
                    if response.status == 200:
                        seen.add(int((await response.json()).get("pid", 0)))
                        continue
            await asyncio.sleep(0.1)

    return fake, press, ready, port


async def discord_platform(
    args: argparse.Namespace,
    people: list[tuple[int, str]],
    checkin_of: dict[int, int],
    stack: contextlib.AsyncExitStack,
) -> tuple[Any, Press, Callable[[], Coroutine[Any, Any, None]], int]:
    """FakeDiscord with the students' DMs; a gateway button press timed to its callback."""
    from adapters.discord.custom_ids import encode_action
    from mentorbot_fakes.discord_api import FakeDiscord

    fake = FakeDiscord(heartbeat_interval_ms=5000)
    await fake.start()
    stack.push_async_callback(fake.stop)
    fake.latency = args.latency
    presses: list[tuple[str, str, str]] = []
    for index, (pid, uid) in enumerate(people):
        fake.add_user(f"student{index}", uid)
        score = 3 + index % 3
        choice = mood_choices(checkin_of[pid])[score - 1]
        presses.append(
            (encode_action(choice.action, choice.args), uid, fake.dm_channel_id_for(uid))
        )
    callbacks: dict[str, float] = {}
    seen_calls = 0

    def callback_arrival(inter_id: str) -> float | None:
        # The callback's arrival at the fake, before its simulated latency.
        nonlocal seen_calls
        calls = fake.calls
        for call in calls[seen_calls:]:
            if call.path.startswith("/interactions/") and call.path.endswith("/callback"):
                callbacks.setdefault(call.path.split("/")[2], call.at)
        seen_calls = len(calls)
        return callbacks.get(inter_id)

    async def press(index: int) -> float:
        custom_id, uid, channel = presses[index]
        inter = await fake.dispatch_button(custom_id, user_id=uid, channel_id=channel)
        await fake.wait_for(lambda: inter.response_type is not None, timeout=30)
        arrived = callback_arrival(inter.id)
        assert arrived is not None
        return arrived - inter.dispatched_at

    async def ready() -> None:
        await fake.wait_for(lambda: fake.identify_count >= 1, timeout=60)
        # MentorDiscordClient waits up to 2 s for guilds before it is ready.
        await asyncio.sleep(2.5)

    return fake, press, ready, 0


# --------------------------------------------------------------------------- the run


def prepare(db: Database, args: argparse.Namespace) -> tuple[list[tuple[int, str]], dict[int, int]]:
    """N students (plus one for warming up) with an open check-in whose prompt was delivered."""
    settings = CoreSettings()
    now = utc_now()
    due = floor_minute(now)
    people = seed_students(
        db,
        args.students + 1,
        platform=args.platform,
        now=now,
        dm_channel_of=None,
    )
    add_schedule(db, local_time=f"{due:%H:%M}", timezone="UTC", created_at=now - timedelta(days=1))
    open_occurrences(db, settings, now - timedelta(minutes=5), now)
    with db.session() as session:
        checkin_of = {
            int(pid): int(cid)
            for cid, pid in session.execute(select_columns(col(Checkin.id), col(Checkin.person_id)))
        }
        # The fan-out happened earlier: the bot's delivery loop has nothing left to send.
        session.execute(update(Outbox).values(status="sent", sent_at=now))
    return people, checkin_of


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Set up, start the bot, press N buttons with C workers, count what was stored."""
    raise_fd_limit()
    n = args.students
    result: dict[str, Any] = {
        "benchmark": "answers",
        "platform": args.platform,
        "students": n,
        "concurrency": args.concurrency,
        "bot": "in-process" if args.in_process else "own process",
        "backend": "sqlite",
        "workers": args.workers,
    }
    args.receivers = set()  # pids of the processes that answered /healthz (Slack)
    with temp_database() as db:
        people, checkin_of = prepare(db, args)
        # Identities get DM channels the way the fakes name them (a second-day programme).
        async with contextlib.AsyncExitStack() as stack:
            make = slack_platform if args.platform == "slack" else discord_platform
            fake, press, ready, port = await make(args, people, checkin_of, stack)
            bot = BotProcess(
                bot_environment(db, args.platform, fake, port, args.workers),
                in_process=args.in_process,
            )
            await bot.start()
            stack.push_async_callback(bot.stop)
            ready_task = asyncio.create_task(ready())
            deadline = time.monotonic() + 60
            while not ready_task.done():
                bot.check_alive()
                if time.monotonic() > deadline:
                    ready_task.cancel()
                    raise TimeoutError("the bot did not come up within 60 s")
                await asyncio.sleep(0.1)
            ready_task.result()
            # One warm-up answer (the spare student): first-request costs are not the load.
            await press(n)
            await wait_for_stored(db, 1, within=30)
            # The load generator and the fake share this process: its set-up (N prepared
            # requests or interactions) kept out of full collections, which would otherwise
            # stall the fake and count as the bot's latency. (The bot freezes its own.)
            gc.collect()
            gc.freeze()

            latencies: list[float] = []
            failures: list[str] = []
            cpu_before = bot.cpu_seconds()
            load_cpu_before = time.process_time()
            started = time.perf_counter()
            queue = iter(range(n))

            async def worker() -> None:
                for index in queue:
                    try:
                        latencies.append(await press(index))
                    except Exception as exc:  # counted, and the answer shows up as lost
                        failures.append(repr(exc)[:120])

            try:
                await asyncio.wait_for(
                    asyncio.gather(*(worker() for _ in range(args.concurrency))), args.timeout
                )
            except TimeoutError:
                failures.append("timeout")
            acked = time.perf_counter() - started
            stored = await wait_for_stored(db, n + 1, within=max(10.0, args.timeout / 4))
            stored_seconds = time.perf_counter() - started
            cpu_after = bot.cpu_seconds()
            load_cpu = time.process_time() - load_cpu_before
        entries = table_count(db, MoodEntry) - 1  # minus the warm-up answer
    result.update(
        answers_per_second=round(len(latencies) / acked, 1) if acked else 0.0,
        p50_ms=round(percentile(latencies, 50) * 1000, 2),
        p99_ms=round(percentile(latencies, 99) * 1000, 2),
        max_ms=round(max(latencies, default=0.0) * 1000, 2),
        acknowledged=len(latencies),
        seconds_to_last_ack=round(acked, 3),
        stored_per_second=round(n / stored_seconds, 1) if stored and stored_seconds else None,
        stored=entries,
        lost=n - entries,
        failures=len(failures),
        first_failures=failures[:3],
        bot_cpu_ms_per_answer=(
            round((cpu_after - cpu_before) / n * 1000, 3)
            if cpu_before is not None and cpu_after is not None and n
            else None
        ),
        receivers=len(args.receivers) or None,
        load_generator_cpu_ms_per_answer=round(load_cpu / n * 1000, 3) if n else None,
    )
    return result


async def wait_for_stored(db: Database, count: int, *, within: float) -> bool:
    """Wait until `count` mood entries exist; returns whether they did in time."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await asyncio.to_thread(table_count, db, MoodEntry) >= count:
            return True
        await asyncio.sleep(0.05)
    return False


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; prints its JSON as the last line and returns it."""
    args = parse_args(argv)
    if args.serve_bot:
        serve_bot()
        return {}
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.ERROR))
    return emit(asyncio.run(run_bench(args)))


if __name__ == "__main__":
    main()
