"""Groups: channels, members, the group's mentors, the /group chat command, failed channel posts."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import select

from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.errors import NotAllowed, UserError
from bot.model import Message
from bot.outbox import Push, push_rows
from bot.people import person_by_email
from bot.services import groups as service
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes.recording import RecordingMessenger
from storage.tables import Group, GroupMember, Outbox, Person
from tests.conftest import Chat, text_of
from tests.dbdump import snapshot

EXTRA = (
    "email,name,role,timezone,groups\n"
    "olly@example.edu,Olly Other,mentor,Europe/London,Art club\n"
    "kim@example.edu,Kim Student,student,Asia/Tokyo,\n"
)


@pytest.fixture
def world(core: MentorBot) -> MentorBot:
    """The demo (Study skills: Maya, Sam, Alex) plus Olly running Art club and Kim in no group."""
    with core.db.session() as session:
        import_roster(session, parse_roster(EXTRA), core.clock.now())
    return core


def person(core: MentorBot, email: str) -> Person:
    with core.db.session() as session:
        found = person_by_email(session, email)
        assert found is not None
        session.expunge(found)
        return found


def group(core: MentorBot, name: str) -> Group:
    with core.db.session() as session:
        found = session.exec(select(Group).where(Group.name == name)).one()
        session.expunge(found)
        return found


def test_add_group_bound_to_a_channel(world: MentorBot) -> None:
    """A new group keeps its validated platform and channel id; its posts are addressed there."""
    with world.db.session() as session:
        created = service.add_group(
            session, "  Exam   prep ", world.clock.now(), platform="Slack", channel_id="#C0EXAM123"
        )
        assert (created.name, created.platform, created.channel_id) == (
            "Exam prep",
            "slack",
            "C0EXAM123",
        )
        address = service.channel_address(created)
    assert address is not None
    assert (address.platform, address.user_id, address.channel_id) == ("slack", "", "C0EXAM123")


@pytest.mark.parametrize(
    ("platform", "channel", "message"),
    [
        ("slack", "general", "isn't a Slack channel id"),
        ("slack", "U0STUDENT1", "isn't a Slack channel id"),
        ("discord", "C0123ABCD", "isn't a Discord channel id"),
        ("console", "anything", "the console has no channels"),
        ("teams", "19:abc", "has no channels I can post in"),
    ],
)
def test_bad_channels_are_refused_with_a_clear_message(
    world: MentorBot, platform: str, channel: str, message: str
) -> None:
    """Channel ids that can't be right (a name, a user id, the console) are a UserError."""
    with pytest.raises(UserError, match=message):
        service.parse_channel(platform, channel)


def test_group_names_must_be_new_and_sensible(world: MentorBot) -> None:
    """An existing name, an empty one, a '#' name or a half-given channel store nothing."""
    before = snapshot(world.db)
    now = world.clock.now()
    for name, kwargs, message in (
        ("Study skills", {}, "already a group"),
        ("   ", {}, "needs a name"),
        ("#7", {}, "can't start with '#'"),
        ("Art", {"platform": "slack"}, "needs both"),
    ):
        with pytest.raises(UserError, match=message), world.db.session() as session:
            service.add_group(session, name, now, **kwargs)  # type: ignore[arg-type]
    assert snapshot(world.db) == before


def test_one_channel_belongs_to_one_group(world: MentorBot) -> None:
    """Binding a channel that another group uses is refused: failures must name one group."""
    with world.db.session() as session:
        service.bind_channel(
            session, service.group_named(session, "Art club"), "slack", "C0ART0001"
        )
    with (
        pytest.raises(UserError, match="already the channel of the group 'Art club'"),
        world.db.session() as session,
    ):
        service.bind_channel(
            session, service.group_named(session, "Study skills"), "slack", "C0ART0001"
        )
    assert group(world, "Study skills").channel_id is None


def test_unbind_sends_posts_to_members_by_dm(world: MentorBot) -> None:
    """After unbinding, a group has no channel address."""
    with world.db.session() as session:
        study = service.group_named(session, "Study skills")
        service.bind_channel(session, study, "discord", "123456789012345678")
        service.unbind_channel(session, study)
        assert service.channel_address(study) is None


def test_group_named_accepts_an_id_and_names_a_missing_group(world: MentorBot) -> None:
    """`#id` finds a group by id; an unknown name is a UserError that repeats it."""
    study = group(world, "Study skills")
    with world.db.session() as session:
        assert service.group_named(session, f"#{study.id}").name == "Study skills"
        with pytest.raises(UserError, match="no group called 'Chess'"):
            service.group_named(session, "Chess")


def test_members_are_added_all_or_nothing_with_roles_from_their_role(world: MentorBot) -> None:
    """A typo in one email adds nobody; students become members and staff the group's mentors."""
    before = snapshot(world.db)
    with pytest.raises(UserError, match=r"nobody@example\.edu"), world.db.session() as session:
        service.add_members(
            session,
            service.group_named(session, "Art club"),
            ["kim@example.edu", "nobody@example.edu"],
        )
    assert snapshot(world.db) == before
    with world.db.session() as session:
        art = service.group_named(session, "Art club")
        change = service.add_members(
            session, art, ["KIM@example.edu", "maya@example.edu", "olly@example.edu"]
        )
        assert [p.email for p in change.changed] == ["kim@example.edu", "maya@example.edu"]
        assert [p.email for p in change.unchanged] == ["olly@example.edu"]
        assert art.id is not None
        roles = {r.person.email: r.role for r in service.members_of(session, art.id)}
    assert roles == {
        "kim@example.edu": "member",
        "maya@example.edu": "mentor",
        "olly@example.edu": "mentor",
    }


def test_members_are_removed(world: MentorBot) -> None:
    """Removing a member deletes the membership; someone not in it is reported, not an error."""
    with world.db.session() as session:
        study = service.group_named(session, "Study skills")
        change = service.remove_members(session, study, ["sam@example.edu", "kim@example.edu"])
        assert [p.name for p in change.changed] == ["Sam Student"]
        assert [p.name for p in change.unchanged] == ["Kim Student"]
        assert study.id is not None
        assert "sam@example.edu" not in {
            r.person.email for r in service.members_of(session, study.id)
        }


def test_who_is_a_group_mentor(world: MentorBot) -> None:
    """Admins and the group's own mentors are; other mentors and students are not."""
    study = group(world, "Study skills")
    assert study.id is not None
    people = {
        email: person(world, email)
        for email in (
            "admin@example.edu",
            "maya@example.edu",
            "olly@example.edu",
            "sam@example.edu",
        )
    }
    with world.db.session() as session:
        verdicts = {
            email: service.is_group_mentor(session, people[email], study.id)
            for email in (
                "admin@example.edu",
                "maya@example.edu",
                "olly@example.edu",
                "sam@example.edu",
            )
        }
    assert verdicts == {
        "admin@example.edu": True,
        "maya@example.edu": True,
        "olly@example.edu": False,
        "sam@example.edu": False,
    }


def test_require_group_mentor_refuses_before_writing_and_audits_when_allowed(
    world: MentorBot,
) -> None:
    """A refusal writes nothing; an allowed (or CLI) action leaves an audit row."""
    olly = person(world, "olly@example.edu")
    before = snapshot(world.db)
    now = world.clock.now()
    with pytest.raises(NotAllowed), world.db.session() as session:
        service.require_group_mentor(
            session,
            olly,
            service.group_named(session, "Study skills"),
            now,
            "test.action",
        )
    assert snapshot(world.db) == before
    with world.db.session() as session:
        service.require_group_mentor(
            session, None, service.group_named(session, "Study skills"), now, "test.action"
        )
    assert len(snapshot(world.db)["audit_log"]) == len(before["audit_log"]) + 1


def test_member_zones_most_common_first(world: MentorBot) -> None:
    """A channel post shows the members' zones, the most common first (ties by name)."""
    with world.db.session() as session:
        study = service.group_named(session, "Study skills")
        service.add_members(session, study, ["kim@example.edu"])
        assert study.id is not None
        zones = service.member_zones(session, study.id, "UTC")
    assert zones == ["America/New_York", "Asia/Tokyo", "Europe/London"]


def test_channel_mentors_are_the_bound_groups_mentors(world: MentorBot) -> None:
    """Whoever mentors the group bound to a channel hears about its failed posts."""
    with world.db.session() as session:
        service.bind_channel(
            session, service.group_named(session, "Study skills"), "slack", "C0STUDY01"
        )
    with world.db.session() as session:
        assert [p.email for p in service.channel_mentors(session, "slack", "C0STUDY01")] == [
            "maya@example.edu"
        ]
        assert service.channel_mentors(session, "slack", "C0UNKNOWN") == []


def test_describe_and_list_groups(world: MentorBot) -> None:
    """A group line names its member count, mentors and channel; `only` narrows the list."""
    art = group(world, "Art club")
    with world.db.session() as session:
        assert [g.name for g in service.list_groups(session)] == ["Art club", "Study skills"]
        assert [g.name for g in service.list_groups(session, {art.id or 0})] == ["Art club"]
        assert service.list_groups(session, set()) == []
        line = service.describe_group(session, service.group_named(session, "Study skills"))
    assert "2 member(s), mentors Maya Mentor; no channel" in line


# ---------------------------------------------------------------- chat


def test_mentor_sees_only_their_groups_admin_all(world: MentorBot, maya: Chat, avery: Chat) -> None:
    """`/group list`: Maya sees Study skills; the admin sees every group."""
    assert "Study skills" in text_of(maya.send("/group list"))
    assert "Art club" not in text_of(maya.last)
    listing = text_of(avery.send("/group"))
    assert "Art club" in listing and "Study skills" in listing


def test_students_cannot_use_group(world: MentorBot, sam: Chat, caplog) -> None:
    """A student's `/group` is refused by the entry point's role rule, changing nothing."""
    sam.send("/help")  # linked on first contact, so the refusal itself is all that's compared
    before = snapshot(world.db)
    caplog.set_level(logging.INFO, logger="bot.core")
    reply = sam.send("/group list")
    assert reply.error is not None and "only for mentors" in text_of(reply)
    assert snapshot(world.db) == before


def test_group_mentor_binds_and_another_mentor_cannot(world: MentorBot, maya: Chat) -> None:
    """Maya binds her group's channel; Olly, who doesn't run it, is refused and nothing changes."""
    olly = Chat(world, "olly@example.edu")
    olly.send("/help")
    before = snapshot(world.db)
    refused = olly.send("/group bind slack C0STUDY01 Study skills")
    assert refused.error == service.NOT_GROUP_MENTOR
    assert snapshot(world.db) == before
    reply = maya.send("/group bind slack C0STUDY01 Study skills")
    assert reply.error is None and "bound to the slack channel C0STUDY01" in text_of(reply)
    assert group(world, "Study skills").channel_id == "C0STUDY01"
    assert "no channel" in text_of(maya.send("/group unbind Study skills"))
    assert group(world, "Study skills").channel_id is None


def test_chat_bind_needs_all_its_words(world: MentorBot, maya: Chat) -> None:
    """`/group bind slack` alone explains the syntax."""
    assert "Use /group bind slack|discord CHANNEL_ID GROUP" in text_of(
        maya.send("/group bind slack")
    )


def test_chat_members_add_remove_and_list(world: MentorBot, maya: Chat) -> None:
    """Maya adds Kim to her group, sees the member list, and removes Kim again."""
    assert "Added to Study skills: Kim Student." in text_of(
        maya.send("/group add Study skills kim@example.edu")
    )
    listing = text_of(maya.send("/group members Study skills"))
    assert "Kim Student (kim@example.edu)" in listing and "Maya Mentor" in listing
    assert "Removed from Study skills: Kim Student." in text_of(
        maya.send("/group remove Study skills kim@example.edu")
    )


def test_mentor_cannot_list_another_groups_members(world: MentorBot, maya: Chat) -> None:
    """Maya may not read Art club's member list."""
    reply = maya.send("/group members Art club")
    assert reply.error is not None and "groups you belong to" in text_of(reply)


def test_only_admins_create_groups_in_chat(world: MentorBot, maya: Chat, avery: Chat) -> None:
    """`/group create` is for programme staff."""
    assert maya.send("/group create Chess").error is not None
    assert "Created group" in text_of(avery.send("/group create Chess"))


def test_unknown_subcommand_shows_usage(world: MentorBot, maya: Chat) -> None:
    """An unknown `/group` word explains every subcommand."""
    assert "Try /group list, members" in (maya.send("/group frobnicate").error or "")


# ---------------------------------------------------------------- failed channel posts


async def test_refused_channel_post_is_failed_and_the_group_mentor_told(
    world: MentorBot, clock, core_settings
) -> None:
    """A channel post the platform refuses (not_in_channel) fails; Maya gets the notice."""
    with world.db.session() as session:
        study = service.group_named(session, "Study skills")
        service.bind_channel(session, study, "slack", "C0STUDY01")
        address = service.channel_address(study)
        push_rows(
            session,
            [Push("workshop:99:announce", Message(text="hello"), address=address, kind="workshop")],
            clock.now(),
            "UTC",
        )
    slack = RecordingMessenger(platform="slack", permanent_failures={"C0STUDY01"})
    console = RecordingMessenger()
    delivery = OutboxDelivery(
        world.db,
        {"slack": slack, "console": console},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
    )
    first, second = await delivery.deliver_once(), await delivery.deliver_once()
    # The notice is queued by the failure: the first pass or the next one sends it.
    assert (first.failed, first.sent + second.sent) == (1, 1)
    maya_id = person(world, "maya@example.edu").id
    with world.db.session() as session:
        rows = {r.kind: r for r in session.exec(select(Outbox)).all()}
    assert rows["workshop"].status == "failed"
    assert rows["delivery_notice"].person_id == maya_id
    [notice] = console.to("maya@example.edu")
    assert "the slack channel C0STUDY01" in notice.text and "/group bind" in notice.text


async def test_failed_post_to_an_unbound_channel_goes_to_admins(
    world: MentorBot, clock, core_settings
) -> None:
    """A channel no group is bound to (the staff channel) still gets a notice, to the admins."""
    with world.db.session() as session:
        from bot.model import Recipient

        push_rows(
            session,
            [Push("test:staff", Message(text="x"), address=Recipient("slack", "", "C0STAFF01"))],
            clock.now(),
            "UTC",
        )
    console = RecordingMessenger()
    slack = RecordingMessenger(platform="slack", permanent_failures={"C0STAFF01"})
    delivery = OutboxDelivery(
        world.db,
        {"slack": slack, "console": console},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
    )
    await delivery.deliver_once()
    await delivery.deliver_once()
    [notice] = console.to("admin@example.edu")
    assert "Please add the bot to that channel." in notice.text
    assert "/group bind" not in notice.text
    with world.db.session() as session:
        assert session.exec(select(GroupMember)).all()  # memberships untouched
