"""Extra Slack HTTP receivers: started, kept alive, stopped, and able to wake delivery."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

from mentorbot.slack_workers import WAKE_SIGNAL, SlackWorkers, wake_parent


async def until(condition: Callable[[], bool]) -> None:
    """Poll a condition on the pool, which offers nothing to await, for up to ten seconds."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.02)


async def test_a_worker_wakes_the_main_process_delivery_loop() -> None:
    """A worker's pushed event signals the main process, whose handler wakes delivery."""
    woken = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(WAKE_SIGNAL, woken.set)
    try:
        wake_parent(os.getpid())()
        await asyncio.wait_for(woken.wait(), 5)
    finally:
        loop.remove_signal_handler(WAKE_SIGNAL)


async def test_workers_are_restarted_when_they_die_and_stopped_at_the_end() -> None:
    """A worker that exits is replaced; setting stop terminates every worker."""
    pool = SlackWorkers(2, command=[sys.executable, "-c", "import time; time.sleep(60)"])
    stop = asyncio.Event()
    running = asyncio.create_task(pool.run(stop))
    await until(lambda: len(pool.processes) == 2)
    first = pool.processes[0]
    first.kill()
    await first.wait()
    await until(lambda: pool.processes[0] is not first)
    assert pool.processes[0].returncode is None
    stop.set()
    await asyncio.wait_for(running, 15)
    assert all(p.returncode is not None for p in pool.processes)


def test_a_gone_parent_is_not_an_error() -> None:
    """Waking a main process that has exited does nothing instead of raising."""
    wake_parent(2**22 + 12345)()  # beyond the default pid range: no such process
