"""The core wakes delivery itself: `on_queued` runs once an event committed pushes for others."""

from __future__ import annotations

from bot.core import MentorBot
from bot.model import Actor, Inbound
from tests.conftest import Chat
from tests.tick import REGISTRY


def _counting(core: MentorBot) -> list[int]:
    """Install a counting `on_queued` hook; returns the list it appends to."""
    calls: list[int] = []
    core.on_queued = lambda: calls.append(1)
    return calls


def test_an_event_that_queues_an_alert_calls_the_hook(sam: Chat, core: MentorBot) -> None:
    """A low mood queues Maya's alert: the hook is called once, after the reply is ready."""
    calls = _counting(core)
    reply = sam.send("/mood 1")
    assert reply.pushed and calls == [1]


def test_an_event_that_queues_nothing_does_not_call_it(sam: Chat, core: MentorBot) -> None:
    """A good mood queues nothing for anyone: no wake-up."""
    calls = _counting(core)
    reply = sam.send("/mood 4")
    assert not reply.pushed and calls == []


async def test_ahandle_calls_the_hook_on_the_event_loop(core: MentorBot) -> None:
    """The async entry point calls the hook too (on the loop: a wake-up needs no thread hop)."""
    calls = _counting(core)
    actor = Actor("console", "local", "sam@example.edu", email="sam@example.edu")
    reply = await core.ahandle(Inbound(actor, "command", "mood", {}, "1"))
    assert reply.pushed and calls == [1]


def test_a_failing_hook_changes_nothing_for_the_person(sam: Chat, core: MentorBot) -> None:
    """A broken hook is logged; the reply and the stored alert are unaffected."""

    def broken() -> None:
        raise RuntimeError("no loop")

    core.on_queued = broken
    reply = sam.send("/mood 1")
    assert reply.pushed and "Logged" in " ".join(m.text for m in reply.messages)


def test_the_hook_can_be_given_to_the_constructor(demo, core_settings, clock) -> None:
    """`MentorBot(on_queued=...)` is the same hook."""
    calls: list[int] = []
    core = MentorBot(
        demo, core_settings, clock, registry=REGISTRY, on_queued=lambda: calls.append(1)
    )
    Chat(core, "sam@example.edu").send("/mood 1")
    assert calls == [1]
