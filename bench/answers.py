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

The fakes enforce the platforms' real limits (Slack's method tiers and response_url's 5 uses
in 30 minutes, Discord's buckets and global limit); `--limits off` turns them off only to show
their effect, and the output says `"limits": "off"`.

Prints one JSON object (the last line): answers_per_second (N / time to the last
acknowledgement), p50_ms / p99_ms / max_ms, stored_per_second (until every answer is a
mood entry), lost (answers not stored as mood entries), and the bot process's CPU per answer.
Slack also prints double_checkins (students whose DM shows two live check-ins with buttons),
unanswered (pressed messages that never showed their next step) and p99_update_seconds (from
the press to the replacement reaching Slack). Both print cpu_ratio_to_floor: the bot's CPU
per answer over that of a minimal app on the same framework that only acknowledges
(`bench/floor.py`: bolt for Slack, a discord.py client for Discord), measured in the same run
with the same presses after the bot stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from adapters.discord.custom_ids import encode_action
from adapters.slack.render import encode_choice, render_message
from bench.harness import (
    QUIET_RUN,
    REPO_ROOT,
    SIGNING_SECRET,
    BotProcess,
    bot_environment,
    emit,
    free_port,
    open_checkins,
    percentile,
    process_cpu_seconds,
    raise_fd_limit,
    start_fake_discord,
    start_fake_slack,
    table_count,
    temp_database,
    wait_for,
)
from bot.services.checkins import checkin_prompt, mood_choices
from mentorbot_fakes.discord_api import FakeDiscord
from mentorbot_fakes.slack_api import FakeSlack, StoredMessage
from mentorbot_fakes.slack_signing import block_actions_body, block_actions_payload, sign_request
from storage.db import Database
from storage.tables import MoodEntry

BENCHMARK = True

log = logging.getLogger(__name__)


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
    parser.add_argument(
        "--limits",
        choices=("on", "off"),
        default="on",
        help="the fake's platform limits (off only to show their effect)",
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the floor app's run")
    parser.add_argument("--log-level", default="ERROR")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- load generator


def signed_post(port: int, body: bytes) -> bytes:
    """A whole HTTP/1.1 request for /slack/events, signed as Slack signs it."""
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


@dataclass
class Load:
    """A started fake with the students on it, how to press a button, and when to start."""

    fake: FakeSlack | FakeDiscord
    press: Press
    ready: Callable[[], Awaitable[bool]]  # polled once the bot starts: may the load begin?
    settle_seconds: float = 0.0  # a pause after `ready`, before the first press
    # The floor app's press (same students, same payloads) once it listens on `port`.
    floor_press: Callable[[int], Press] | None = None
    # Monotonic time each student's press was sent (Slack: for p99_update_seconds).
    pressed_at: dict[int, float] | None = None


async def slack_load(
    args: argparse.Namespace,
    people: list[tuple[int, str]],
    checkin_of: dict[int, int],
    port: int,
    stack: contextlib.AsyncExitStack,
) -> Load:
    """FakeSlack with the students and their delivered check-ins; a signed-POST press."""
    fake = await start_fake_slack(stack, latency=args.latency)
    fake.rate_limits_enabled = args.limits == "on"
    receivers: set[int] = args.receivers
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
            # As on Slack: the interaction's URL replaces the message the button was on.
            response_url=fake.message_response_url(f"r{index}", channel, ts),
        )
        bodies.append(block_actions_body(payload).encode())
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    stack.push_async_callback(session.close)
    # Signed now, sent within minutes: bolt accepts timestamps up to five minutes old.
    requests = [signed_post(port, body) for body in bodies]
    pool = KeepAlivePool(port)
    stack.push_async_callback(pool.close)
    pressed_at: dict[int, float] = {}

    async def press(index: int) -> float:
        pressed_at.setdefault(index, time.monotonic())
        started = time.perf_counter()
        status = await pool.send(requests[index])
        elapsed = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"Slack adapter answered {status}")
        return elapsed

    def floor_press(floor_port: int) -> Press:
        floor_requests = [signed_post(floor_port, body) for body in bodies]
        floor_pool = KeepAlivePool(floor_port)
        stack.push_async_callback(floor_pool.close)

        async def press_floor(index: int) -> float:
            started = time.perf_counter()
            status = await floor_pool.send(floor_requests[index])
            if status != 200:
                raise RuntimeError(f"the floor app answered {status}")
            return time.perf_counter() - started

        return press_floor

    async def ready() -> bool:
        # Every receiver process must be listening before the load opens its connections
        # (the kernel spreads connections over the sockets there are at connect time).
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(
                f"http://127.0.0.1:{port}/healthz", headers={"Connection": "close"}
            ) as response:
                if response.status == 200:
                    receivers.add(int((await response.json()).get("pid", 0)))
        return len(receivers) >= int(args.workers)

    return Load(fake, press, ready, floor_press=floor_press, pressed_at=pressed_at)


async def discord_load(
    args: argparse.Namespace,
    people: list[tuple[int, str]],
    checkin_of: dict[int, int],
    port: int,
    stack: contextlib.AsyncExitStack,
) -> Load:
    """FakeDiscord with the students' DMs; a gateway button press timed to its callback."""
    fake = await start_fake_discord(stack, latency=args.latency)
    fake.limits_enabled(args.limits == "on")
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

    async def ready() -> bool:
        return fake.identify_count >= 1

    async def press_floor(index: int) -> float:
        custom_id, uid, channel = presses[index]
        inter = await fake.dispatch_button(custom_id, user_id=uid, channel_id=channel)
        await fake.wait_for(lambda: inter.response_type is not None, timeout=30)
        return time.monotonic() - inter.dispatched_at

    # MentorDiscordClient waits up to 2 s for guilds before it is ready.
    return Load(fake, press, ready, settle_seconds=2.5, floor_press=lambda _port: press_floor)


# --------------------------------------------------------------------------- the run


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
        "limits": args.limits,
    }
    args.receivers = set()  # pids of the processes that answered /healthz (Slack)
    with temp_database() as db:
        # N students plus a spare for warming up, their prompts already delivered.
        people, checkin_of = open_checkins(db, n + 1, args.platform)
        async with contextlib.AsyncExitStack() as stack:
            port = free_port()
            make = slack_load if args.platform == "slack" else discord_load
            load = await make(args, people, checkin_of, port, stack)
            bot = BotProcess(
                "answers",
                bot_environment(
                    database_url=db.url,
                    fake=load.fake,
                    settings={"SLACK_HTTP_WORKERS": str(args.workers)},
                ),
                REPO_ROOT,
                command=QUIET_RUN,
                log_output=False,
                port=port,
                in_process=args.in_process,
            )
            stack.push_async_callback(bot.stop)
            await bot.start(60.0, ready=load.ready, interval=0.1)
            await asyncio.sleep(load.settle_seconds)
            press = load.press
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
            if isinstance(load.fake, FakeSlack):
                # Every pressed message replaced (or the wait runs out: counted unanswered).
                await settle_updates(load.fake, n, within=max(10.0, args.timeout / 4))
            cpu_after = bot.cpu_seconds()
            load_cpu = time.process_time() - load_cpu_before
            if isinstance(load.fake, FakeSlack) and load.pressed_at is not None:
                result.update(slack_update_figures(load.fake, people, load.pressed_at, n))
            bot_cpu = (
                cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
            )
            if not args.no_floor and load.floor_press is not None and bot_cpu is not None and n:
                await bot.stop()
                floor_cpu = await run_floor(args, load, stack)
                result["floor_cpu_ms_per_answer"] = round(floor_cpu * 1000, 3)
                result["cpu_ratio_to_floor"] = (
                    round(bot_cpu / n / floor_cpu, 2) if floor_cpu else None
                )
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


async def settle_updates(fake: FakeSlack, n: int, *, within: float) -> None:
    """Wait until every student's response_url got its replacement (or `within` passes)."""

    def replaced() -> bool:
        names = {p.name for p in fake.response_posts if p.body and p.body.get("replace_original")}
        return sum(1 for i in range(n) if f"r{i}" in names) >= n

    with contextlib.suppress(TimeoutError):
        await fake.wait_until(replaced, within, "every replacement")


def slack_update_figures(
    fake: FakeSlack, people: list[tuple[int, str]], pressed_at: dict[int, float], n: int
) -> dict[str, Any]:
    """double_checkins, unanswered and p99_update_seconds from what the fake shows."""
    first_replace: dict[str, float] = {}
    for post in fake.response_posts:
        if post.body and post.body.get("replace_original"):
            first_replace.setdefault(post.name, post.at)
    updates: list[float] = []
    double = unanswered = 0
    for index in range(n):
        _pid, uid = people[index]
        channel = fake.dm_channel_id(uid)
        if len(fake.live_with_buttons(channel)) > 1:
            double += 1
        live = fake.messages_in(channel)
        # The next step: the check-in now says what was answered (and asks for a note).
        if not any("You answered" in m.text for m in live):
            unanswered += 1
        at = first_replace.get(f"r{index}")
        if at is not None and index in pressed_at:
            updates.append(at - pressed_at[index])
    return {
        "double_checkins": double,
        "unanswered": unanswered,
        "p99_update_seconds": round(percentile(updates, 99), 3) if updates else None,
        "max_update_seconds": round(max(updates), 3) if updates else None,
        "chat_update_calls": len(fake.calls_to("chat.update")),
        "http_429": fake.http_429,
    }


# The floor's CPU is read once it has used this much (ten of /proc's ticks), or after this
# many rounds of the N presses.
FLOOR_MIN_CPU_SECONDS = 0.1
FLOOR_MAX_ROUNDS = 50


async def run_floor(
    args: argparse.Namespace, load: Load, stack: contextlib.AsyncExitStack
) -> float:
    """Run the floor app in its own process through the same presses; its CPU (s) per press."""
    assert load.floor_press is not None
    port = free_port()
    if isinstance(load.fake, FakeSlack):
        options = ["slack", "--port", str(port), "--secret", SIGNING_SECRET]
        options += ["--api", load.fake.base_url, "--token", load.fake.token]
    else:
        load.fake.reset_rate_limits()
        identified = load.fake.identify_count
        options = [
            "discord",
            "--api",
            load.fake.api_base,
            "--gateway",
            load.fake.gateway_url,
            "--token",
            load.fake.token,
        ]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.floor",
        *options,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )

    async def stop() -> None:
        if process.returncode is None:
            process.kill()
            await process.wait()

    stack.push_async_callback(stop)
    press = load.floor_press(port)
    if isinstance(load.fake, FakeSlack):

        async def listening() -> bool:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return False
            writer.close()
            return True

        await wait_for(listening, timeout=30, interval=0.1)
    else:
        fake = load.fake

        async def connected() -> bool:
            return fake.identify_count > identified

        await wait_for(connected, timeout=30, interval=0.1)
        await asyncio.sleep(1.0)
    await press(args.students)  # the warm-up press, as for the bot
    before = process_cpu_seconds(process.pid)
    presses = 0
    used = 0.0
    # /proc counts CPU in 10 ms ticks, and at a small N the floor's presses can all fit in
    # one (the ratio then read None): the same presses repeat until the floor has used
    # enough ticks to measure, and its CPU is returned per press.
    while used < FLOOR_MIN_CPU_SECONDS and presses < FLOOR_MAX_ROUNDS * args.students:
        queue = iter(range(args.students))
        await asyncio.wait_for(
            asyncio.gather(*(_press_all(press, queue) for _ in range(args.concurrency))),
            args.timeout,
        )
        presses += args.students
        used = process_cpu_seconds(process.pid) - before
    return used / presses


async def _press_all(press: Callable[[int], Awaitable[object]], queue: Iterator[int]) -> None:
    """One of the floor's workers: press every index left in the shared queue."""
    for index in queue:
        with contextlib.suppress(Exception):
            await press(index)


async def wait_for_stored(db: Database, count: int, *, within: float) -> bool:
    """Wait until `count` mood entries exist; returns whether they did in time."""

    async def stored() -> bool:
        return await asyncio.to_thread(table_count, db, MoodEntry) >= count

    return await wait_for(stored, timeout=within, interval=0.05)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; prints its JSON as the last line and returns it."""
    args = parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.ERROR))
    return emit(asyncio.run(run_bench(args)))


if __name__ == "__main__":
    main()
