"""End to end on Slack: peer pairing in multi-party DMs, the check-back, and group prompts.

The real bolt app and AsyncWebClient against the loopback Slack; rounds and prompts come from
`run_due_work` (the scheduler's tick) and go out through the outbox and the real
SlackMessenger.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.config import CoreSettings
from bot.model import Message
from bot.services.groups import group_named
from bot.services.prompts import posted_prompt
from bot.services.roster import import_roster, parse_roster
from storage.tables import Identity, Outbox, PairingMember
from tests.adapters.slack.conftest import MENTOR, Harness, all_text, buttons_of
from tests.tick import run_due_work

GROUP = "Peer group"
PEERS = {f"U0PEER000{i}": f"peer{i}@example.edu" for i in range(1, 8)}
CHANNEL = "C0PEERS001"


@pytest.fixture
def peers(slack: Harness, clock) -> Harness:
    """Seven students on Slack in 'Peer group', mentored by Maya; the group has a channel."""
    rows = "".join(
        f"{email},Peer {uid[-1]},student,Europe/London,maya@example.edu,,{GROUP},{uid}\n"
        for uid, email in PEERS.items()
    )
    rows += f"maya@example.edu,Maya Mentor,mentor,Europe/London,,,Study skills;{GROUP},{MENTOR}\n"
    with slack.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups,"
                "slack_user_id\n" + rows
            ),
            clock.now(),
        )
        # The workshop engineer's `/group bind slack C… GROUP` does this.
        group = group_named(session, GROUP)
        group.platform, group.channel_id = "slack", CHANNEL
    for uid, email in PEERS.items():
        slack.fake.add_user(uid, email=email, name=f"peer{uid[-1]}")
    slack.fake.add_channel(CHANNEL, name="peer-group", members=[MENTOR, *PEERS])
    return slack


async def mentor_says(harness: Harness, text: str) -> str:
    """Maya runs `/mentor TEXT`; returns the private answer's text."""
    _, name = await harness.command(text, user=MENTOR)
    await harness.settle()
    [answer] = harness.fake.response_posts_to(name)
    assert answer.body is not None
    return str(answer.body["text"])


def opened(harness: Harness) -> list[tuple[frozenset[str], str]]:
    """(members, channel id) of every multi-party DM the bot opened, in order."""
    return [
        (frozenset(c.params["users"].split(",")), str(c.response["channel"]["id"]))
        for c in harness.fake.calls_to("conversations.open")
        if "," in str(c.params.get("users", ""))
    ]


def opened_groups(harness: Harness) -> list[frozenset[str]]:
    """The member sets of every multi-party DM the bot opened, in order."""
    return [members for members, _ in opened(harness)]


def pairs(groups: list[frozenset[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for g in groups for p in itertools.combinations(sorted(g), 2)}


async def test_pairing_rounds_open_group_dms_and_never_repeat_a_pair(
    peers: Harness, clock, core_settings: CoreSettings
) -> None:
    """Seven students: two pairs and a trio, each in its own group DM; round two repeats none."""
    answer = await mentor_says(peers, f"pairing on {GROUP} every 2 weeks")
    assert "every 2 weeks" in answer

    run_due_work(peers.db, core_settings, clock.now())
    run_due_work(peers.db, core_settings, clock.now())  # a repeated tick opens nothing
    stats = await peers.delivery.deliver_once(["slack"])
    assert stats.sent == 3 and stats.failed == 0
    first = opened_groups(peers)
    assert sorted(len(g) for g in first) == [2, 2, 3]
    assert frozenset().union(*first) == set(PEERS)  # everyone once; Maya isn't paired
    for group, channel_id in opened(peers):
        mpim = peers.fake.channels[channel_id]
        assert mpim.is_mpim and set(mpim.members) >= group
        [intro] = peers.fake.messages_in(mpim.channel_id)
        text = all_text(intro.blocks)
        assert "Peer pairing: Peer group" in text and "conversation starter" in text
    assert await peers.delivery.deliver_once(["slack"]) == type(stats)()  # nothing left

    clock.advance(days=14)
    run_due_work(peers.db, core_settings, clock.now())
    await peers.delivery.deliver_once(["slack"])
    second = opened_groups(peers)[3:]
    assert sorted(len(g) for g in second) == [2, 2, 3]
    assert not pairs(second) & pairs(first)


async def test_halfway_check_back_and_a_yes_press_are_recorded(
    peers: Harness, clock, core_settings: CoreSettings
) -> None:
    """A week in, each member is asked "Did you meet?" by DM; pressing Yes records it."""
    await mentor_says(peers, f"pairing run {GROUP}")
    await peers.delivery.deliver_once(["slack"])
    clock.advance(days=7)
    run_due_work(peers.db, core_settings, clock.now())
    run_due_work(peers.db, core_settings, clock.now())
    await peers.delivery.deliver_once(["slack"])
    with peers.db.session() as session:
        sent = session.exec(select(Outbox.status).where(Outbox.kind == "pairing_checkin")).all()
    assert sent == ["sent"] * 7  # (the day's scheduled check-ins went out too)
    student = "U0PEER0003"
    [question] = [m for m in peers.dm_messages(student) if "Did you meet?" in m.text]
    assert {b["text"]["text"] for _, b in buttons_of(question.blocks)} == {"Yes, we met", "Not yet"}

    status, _ = await peers.press(question, "Yes, we met", user=student)
    assert status == 200
    await peers.settle()
    assert "You met!" in question.text and buttons_of(question.blocks) == []  # edited in place
    with peers.db.session() as session:
        person_id = session.exec(
            select(Identity.person_id).where(Identity.user_id == student)
        ).one()
        member = session.exec(
            select(PairingMember).where(PairingMember.person_id == person_id)
        ).one()
        assert member.met is True
    assert "1 met" in await mentor_says(peers, f"pairing report {GROUP}")


async def test_a_group_prompt_is_posted_once_per_occurrence(
    peers: Harness, clock, core_settings: CoreSettings
) -> None:
    """`/mentor prompt add`; two ticks and deliveries post it once, asking for thread replies."""
    answer = await mentor_says(peers, f"prompt add {GROUP} mon 10:30 Share one win from this week")
    assert "Added prompt" in answer
    clock.set(datetime(2026, 11, 23, 10, 30, tzinfo=UTC))
    for _ in range(2):
        run_due_work(peers.db, core_settings, clock.now())
        await peers.delivery.deliver_once(["slack"])
    posts = [c for c in peers.fake.calls_to("chat.postMessage") if c.params["channel"] == CHANNEL]
    assert len(posts) == 1
    [post] = peers.fake.messages_in(CHANNEL)
    assert "Share one win from this week" in post.text
    assert "reply in this message's thread" in all_text(post.blocks)
    with peers.db.session() as session:
        [row] = session.exec(select(Outbox).where(Outbox.kind == "prompt")).all()
        prompt_id = int(row.dedupe_key.split(":")[1])
        copy = posted_prompt(session, prompt_id, date(2026, 11, 23))
    # The post's ts is kept, so a later reminder could reply in its thread.
    assert copy is not None and (copy.channel_id, copy.message_id) == (CHANNEL, post.ts)

    clock.advance(timedelta(days=7))
    run_due_work(peers.db, core_settings, clock.now())
    await peers.delivery.deliver_once(["slack"])
    assert len(peers.fake.messages_in(CHANNEL)) == 2  # next Monday's occurrence


async def test_a_group_dm_slack_refuses_fails_for_good_and_tells_staff(
    peers: Harness, clock, core_settings: CoreSettings
) -> None:
    """conversations.open refused (a member left the workspace): the row fails, admins hear."""
    peers.fake.fail_next("conversations.open", "user_not_found", times=3)
    await mentor_says(peers, f"pairing run {GROUP}")
    stats = await peers.delivery.deliver_once(["slack"])
    assert stats.failed == 3
    with peers.db.session() as session:
        notices = session.exec(select(Outbox).where(Outbox.kind == "delivery_notice")).all()
        assert notices and all(n.user_id == "U0ADMIN001" for n in notices)
        text = Message.from_json(notices[0].payload).text
    assert "a group conversation of" in text and "user_not_found" in text
