"""More Slack HTTP receivers: worker processes on the same port, for a burst across cores.

One CPython process answers Slack's signed requests on one core (bolt, the core, the
follow-up Web API call: about a millisecond of CPU per check-in answer). With
SLACK_HTTP_WORKERS=N, `mentorbot run` keeps its own receiver and starts N-1 worker processes
that listen on the same address with SO_REUSEPORT, so the kernel spreads Slack's connections
over them. A worker is only a receiver: it answers the person who acted and stores what they
did, while the outbox delivery loop and the scheduler stay in the main process, paced as one.
When a worker's event queues messages for others (a mentor's alert), it wakes the main
process's delivery loop with SIGUSR1. Workers are restarted if they die, stopped with the
main process, and on Linux die with it even if it is killed outright.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable

from mentorbot.settings import Settings

log = logging.getLogger(__name__)

WAKE_SIGNAL = signal.SIGUSR1
WORKER_COMMAND = "slack-worker"
RESTART_DELAY_SECONDS = 1.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux; elsewhere nothing)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class SlackWorkers:
    """Start, watch and stop the extra receiver processes."""

    def __init__(self, count: int, *, command: list[str] | None = None) -> None:
        self.count = count
        self.command = command or [sys.executable, "-m", "mentorbot", WORKER_COMMAND]
        self.processes: list[asyncio.subprocess.Process] = []

    async def _spawn(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *self.command, preexec_fn=_die_with_parent if sys.platform == "linux" else None
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Keep `count` workers running until `stop` is set, then stop them."""
        self.processes = [await self._spawn() for _ in range(self.count)]
        try:
            while not stop.is_set():
                for index, process in enumerate(self.processes):
                    if process.returncode is not None:
                        log.warning(
                            "Slack worker %s exited with %s; starting another",
                            process.pid,
                            process.returncode,
                        )
                        self.processes[index] = await self._spawn()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RESTART_DELAY_SECONDS)
        finally:
            await self.stop()

    async def stop(self) -> None:
        """SIGTERM every worker, and SIGKILL those still there after ten seconds."""
        for process in self.processes:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()


def wake_parent(parent: int) -> Callable[[], None]:
    """The worker's `wake`: signal the main process, whose delivery loop sends the pushes."""

    def wake() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(parent, WAKE_SIGNAL)

    return wake


async def run_slack_worker(settings: Settings) -> int:
    """A receiver only: the Slack HTTP adapter over the core, until SIGTERM or SIGINT."""
    from adapters.slack import SlackService
    from mentorbot.app import build_app
    from mentorbot.logs import REJECTED, rejected_request
    from mentorbot.runner import slack_config

    # The main process migrated the database and seeded what it seeds before starting us.
    app = build_app(settings, seed=False, migrate=False)
    # No delivery here: the core is told what the main process runs, so an urgent alert
    # raised in this process also gets its email and webhook, and its copies their platform.
    app.declare_configured_platforms()
    # An event that queued pushes wakes the main process's delivery loop instead.
    app.core.on_queued = wake_parent(os.getppid())
    service = SlackService(
        slack_config(settings, reuse_port=True),
        app.core,
        # Counted and logged once a minute by this worker (mentorbot/logs.py).
        on_reject=rejected_request,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    gc.freeze()  # as the main process does once started (see mentorbot/runner.py)
    try:
        await service.run_until(stop)
    finally:
        REJECTED.flush(force=True)
        app.db.dispose()
    return 0
