"""Group commit: events that arrive together share one transaction, and nothing else."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from sqlmodel import func, select

from bot.group_commit import GroupCommit
from bot.model import Actor, Inbound
from storage.tables import Alert, MoodEntry, Outbox, ProcessedEvent, StudentMessage
from tests.conftest import Chat, find_choice, text_of

CRISIS_TEXT = "I want to kill myself tonight"


def count(core, table, *where) -> int:
    with core.db.session() as session:
        return int(session.exec(select(func.count()).select_from(table).where(*where)).one())


def actor(email: str) -> Actor:
    return Actor("console", "local", email, email=email)


def command(email: str, name: str, text: str = "", event_id: str | None = None) -> Inbound:
    return Inbound(actor(email), "command", name, {}, text, event_id=event_id)


async def test_submissions_that_arrive_together_run_as_one_batch() -> None:
    """Items queued while a batch runs go in the next batch together, results in order."""
    started, release = threading.Event(), threading.Event()
    batches: list[list[int]] = []

    def batch(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            started.set()
            release.wait(5)
        return [item * 10 for item in items]

    group = GroupCommit(batch, max_batch=3)
    first = asyncio.ensure_future(group.submit(1))
    await asyncio.to_thread(started.wait, 5)
    rest = [asyncio.ensure_future(group.submit(n)) for n in (2, 3, 4, 5)]
    await asyncio.sleep(0)
    release.set()
    assert await first == 10
    assert await asyncio.gather(*rest) == [20, 30, 40, 50]
    assert batches == [[1], [2, 3, 4], [5]]


async def test_a_failed_batch_fails_its_own_callers_only() -> None:
    """A batch that raises gives its callers the error; the next batch still runs."""

    def batch(items: Sequence[int]) -> list[int]:
        if 0 in items:
            raise RuntimeError("boom")
        return list(items)

    group = GroupCommit(batch)
    with pytest.raises(RuntimeError):
        await group.submit(0)
    assert await group.submit(7) == 7


async def test_a_caller_that_gives_up_does_not_cancel_the_work() -> None:
    """A timed-out caller leaves its item to finish: it may be an answer being stored."""
    done = threading.Event()

    def batch(items: Sequence[int]) -> list[int]:
        done.wait(5)
        return list(items)

    group = GroupCommit(batch)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(group.submit(1), 0.05)
    ran = asyncio.ensure_future(group.submit(2))
    done.set()
    assert await ran == 2
    assert group.batch_sizes == {1: 2}


def test_max_batch_must_be_positive() -> None:
    """A batch of zero items is a configuration mistake, refused at once."""
    with pytest.raises(ValueError):
        GroupCommit(lambda items: list(items), max_batch=0)


def test_a_batch_answers_every_event_in_order(core) -> None:
    """Several students' moods in one batch: each gets their own reply, all are stored."""
    replies = core.handle_batch(
        [command("sam@example.edu", "mood", "4"), command("alex@example.edu", "mood", "5")]
    )
    assert "4/5" in text_of(replies[0]) and "5/5" in text_of(replies[1])
    assert count(core, MoodEntry) == 2


def test_a_refusal_in_a_batch_undoes_only_its_own_event(core) -> None:
    """A bad command between two good ones changes nothing, and the others are kept."""
    replies = core.handle_batch(
        [
            command("sam@example.edu", "mood", "4"),
            command("alex@example.edu", "mood", "9"),
            command("alex@example.edu", "mood", "2"),
        ]
    )
    assert replies[1].error is not None
    assert count(core, MoodEntry) == 2
    assert sorted(e for e in scores(core)) == [2, 4]


def scores(core) -> list[int]:
    with core.db.session() as session:
        return list(session.exec(select(MoodEntry.score)).all())


def test_a_crashing_handler_in_a_batch_keeps_the_text_and_the_others(core, monkeypatch) -> None:
    """A handler that throws rolls back its own work; its text is kept; neighbours commit."""
    from bot.auth import allow
    from bot.registry import Arg, ArgKind, Command

    def broken(ctx):
        raise RuntimeError("bug")

    command_ = Command("broken", "x", allow("student")(broken), args=(Arg("t", ArgKind.TEXT, "t"),))
    monkeypatch.setitem(core.registry.families, "broken", [command_])
    monkeypatch.setitem(core.registry._names, "broken", "broken")
    replies = core.handle_batch(
        [
            command("sam@example.edu", "mood", "3"),
            command("alex@example.edu", "broken", "please keep this"),
            command("sam@example.edu", "mood", "5"),
        ]
    )
    assert "went wrong" in text_of(replies[1])
    assert sorted(scores(core)) == [3, 5]
    assert count(core, StudentMessage) == 1


def test_a_crisis_alert_in_a_batch_survives_a_refused_command(core) -> None:
    """Crisis text with a refused command: help in the reply, the alert stored, others kept."""
    replies = core.handle_batch(
        [
            command("alex@example.edu", "mood", "4"),
            command("sam@example.edu", "mood", f"9 {CRISIS_TEXT}"),
        ]
    )
    assert replies[1].error is not None
    assert "mentor" in text_of(replies[1]).lower()
    assert count(core, Alert, Alert.kind == "crisis") == 1
    assert count(core, Outbox) >= 1
    assert scores(core) == [4]


def test_a_batch_whose_commit_fails_is_handled_again_one_by_one(core, monkeypatch) -> None:
    """If the shared commit fails, every event is retried alone: nothing lost or doubled."""
    calls = {"n": 0}
    original = core.db.session

    from contextlib import contextmanager

    @contextmanager
    def failing_first_session():
        calls["n"] += 1
        with original() as session:
            yield session
            if calls["n"] == 1:
                raise RuntimeError("disk full")

    monkeypatch.setattr(core.db, "session", failing_first_session)
    replies = core.handle_batch(
        [
            command("sam@example.edu", "mood", "4"),
            command("alex@example.edu", "mood", f"3 {CRISIS_TEXT}"),
        ]
    )
    monkeypatch.undo()
    assert all(r.error is None for r in replies)
    assert sorted(scores(core)) == [3, 4]
    assert count(core, Alert, Alert.kind == "crisis") == 1


def test_a_retried_event_in_the_same_batch_is_handled_once(core) -> None:
    """The same platform event id twice in one batch: the second is recognised as a retry."""
    replies = core.handle_batch(
        [
            command("sam@example.edu", "mood", "4", event_id="Ev9"),
            command("sam@example.edu", "mood", "4", event_id="Ev9"),
        ]
    )
    assert replies[1].messages == ()
    assert count(core, MoodEntry) == 1


async def test_ahandle_batches_concurrent_events(core) -> None:
    """Concurrent events through ahandle are all answered and stored, in fewer batches."""
    people = ["sam@example.edu", "alex@example.edu"] * 10
    replies = await asyncio.gather(*(core.ahandle(command(email, "mood", "4")) for email in people))
    assert all("4/5" in text_of(r) for r in replies)
    assert count(core, MoodEntry) == 20
    assert sum(core._group_commit.batch_sizes.values()) < 20


def test_sam_chat_still_works_one_event_at_a_time(sam: Chat) -> None:
    """The one-event path (console, tests) is the same code with a batch of one."""
    assert "4/5" in text_of(sam.send("/mood 4"))


def test_mood_presses_in_a_batch_are_stored_once_even_when_retried(core, sam, alex) -> None:
    """Two students' presses in one batch are stored; the platform's retry changes nothing."""
    presses = []
    for chat, event_id in ((sam, "Ev-sam"), (alex, "Ev-alex")):
        choice = find_choice(chat.send("/checkin"), "4")
        presses.append(
            Inbound(chat.actor, "action", choice.action, choice.args_dict(), event_id=event_id)
        )
    first = core.handle_batch(presses)
    assert all("Anything on your mind?" in text_of(r) for r in first)
    again = core.handle_batch(presses)
    assert [r.messages for r in again] == [(), ()] and all(r.update is None for r in again)
    assert count(core, MoodEntry) == 2
    assert count(core, ProcessedEvent) == 2
