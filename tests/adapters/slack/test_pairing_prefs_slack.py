"""End to end on Slack: a pairing round honouring skip, pause, avoid, zones, never met.

Students set their preferences with `/mentor pairing ...` through the real bolt app; rounds
come from `run_due_work` and go out through the outbox and the real SlackMessenger as
multi-party DMs; "Not yet" is pressed on the real check-back.
"""

from __future__ import annotations

import pytest

from bot.config import CoreSettings
from bot.services.roster import import_roster, parse_roster
from tests.adapters.slack.conftest import MENTOR, Harness, all_text
from tests.dbdump import snapshot
from tests.tick import run_due_work

GROUP = "Peer group"
# Short name -> (Slack id, zone). "skip" and "pause" sit out round one.
STUDENTS = {
    "l1": ("U0PREF0001", "Europe/London"),
    "l2": ("U0PREF0002", "Europe/London"),
    "l3": ("U0PREF0003", "Europe/London"),
    "l4": ("U0PREF0004", "Europe/London"),
    "skip": ("U0PREF0005", "Europe/London"),
    "pause": ("U0PREF0006", "Europe/London"),
    "a1": ("U0PREF0007", "Pacific/Auckland"),
    "a2": ("U0PREF0008", "Pacific/Auckland"),
}
UID = {name: uid for name, (uid, _) in STUDENTS.items()}


@pytest.fixture
def group(slack: Harness, clock) -> Harness:
    """Eight students on Slack in 'Peer group' (six in London, two in Auckland); Maya mentors."""
    rows = "".join(
        f"{n}@example.edu,Student {n.upper()},student,{tz},maya@example.edu,,{GROUP},{uid}\n"
        for n, (uid, tz) in STUDENTS.items()
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
    for name, uid in UID.items():
        slack.fake.add_user(uid, email=f"{name}@example.edu", name=name)
    return slack


async def says(harness: Harness, text: str, user: str) -> str:
    """`user` runs `/mentor TEXT`; returns the private answer's text."""
    _, name = await harness.command(text, user=user)
    await harness.settle()
    [answer] = harness.fake.response_posts_to(name)
    assert answer.body is not None
    return str(answer.body["text"]) + all_text(answer.body.get("blocks"))


def rounds(harness: Harness) -> list[tuple[frozenset[str], str]]:
    """(members, intro text) of every multi-party DM the bot opened and posted in, in order."""
    found = []
    for call in harness.fake.calls_to("conversations.open"):
        users = str(call.params.get("users", ""))
        if "," in users:
            channel = str(call.response["channel"]["id"])
            text = " ".join(m.text + all_text(m.blocks) for m in harness.fake.messages_in(channel))
            found.append((frozenset(users.split(",")), text))
    return found


def pairing_tables(harness: Harness) -> dict[str, object]:
    """Every row of the pairing tables (a command also records its event and first contact)."""
    return {k: v for k, v in snapshot(harness.db).items() if k.startswith("pairing")}


def together(groups: list[frozenset[str]], a: str, b: str) -> bool:
    return any(UID[a] in g and UID[b] in g for g in groups)


async def test_a_round_honours_skip_pause_avoid_time_zones_and_never_met(
    group: Harness, clock, core_settings: CoreSettings
) -> None:
    """Skip, pause, avoid and zones shape round one; a pair that didn't meet is split next."""
    await says(group, f"pairing on {GROUP} every 2 weeks", MENTOR)
    assert "next round" in await says(group, "pairing skip", UID["skip"])
    assert "until 2026-12-05" in await says(group, "pairing pause until 2026-12-05", UID["pause"])
    assert "won't be paired with Student L2" in await says(
        group, "pairing avoid l2@example.edu", UID["l1"]
    )
    # Refusals answer clearly and change nothing.
    before = pairing_tables(group)
    assert "can't find anyone" in await says(group, "pairing avoid x@example.edu", UID["l1"])
    assert "your own email" in await says(group, "pairing avoid l1@example.edu", UID["l1"])
    assert "isn't after today" in await says(group, "pairing pause until 2026-11-01", UID["l3"])
    assert pairing_tables(group) == before
    status = await says(group, "pairing", UID["l1"])
    assert "Student L2 (l2@example.edu)" in status and "only you can see it" in status

    run_due_work(group.db, core_settings, clock.now())
    await group.delivery.deliver_once(["slack"])
    first = rounds(group)
    groups = [g for g, _ in first]
    assert len(groups) == 3
    assert frozenset().union(*groups) == {UID[n] for n in ("l1", "l2", "l3", "l4", "a1", "a2")}
    assert together(groups, "a1", "a2") and not together(groups, "l1", "l2")
    assert all("conversation starter" in t and "hours apart" not in t for _, t in first)

    clock.advance(days=7)
    run_due_work(group.db, core_settings, clock.now())
    clock.advance(hours=12)  # 23:00 in Auckland when it was queued: it waits for the morning
    await group.delivery.deliver_once(["slack"])
    [question] = [m for m in group.dm_messages(UID["a1"]) if "Did you meet?" in m.text]
    status_code, _ = await group.press(question, "Not yet", user=UID["a1"])
    assert status_code == 200
    await group.settle()
    assert "1 didn't meet" in await says(group, f"pairing report {GROUP}", MENTOR)

    clock.advance(days=7, hours=-12)
    run_due_work(group.db, core_settings, clock.now())
    await group.delivery.deliver_once(["slack"])
    second = rounds(group)[3:]
    groups = [g for g, _ in second]
    assert len(groups) == 4 and frozenset().union(*groups) == set(UID.values())
    assert not together(groups, "a1", "a2") and not together(groups, "l1", "l2")
    for members, text in second:
        far = UID["a1"] in members or UID["a2"] in members
        assert ("13 hours apart" in text) == far

    # L2 is never told: nothing the bot posted where L2 is mentions the list.
    seen_by_l2 = [t for g, t in rounds(group) if UID["l2"] in g]
    seen_by_l2 += [m.text + all_text(m.blocks) for m in group.dm_messages(UID["l2"])]
    assert seen_by_l2 and not any("list" in t or "Student L1 (" in t for t in seen_by_l2)
