"""Mentoring groups: members, the group's mentors, and the platform channel a group is bound to.

A group is bound to at most one channel on one platform (Slack `C…`/`G…`, a Discord channel
snowflake); its workshop announcements and start posts go there as outbox pushes addressed to
the channel. A group without a channel (and the console, which has no channels) gets the same
posts as DMs to its members instead.

Members come from the roster's `groups` column or are added by command. A member's role in the
group follows their programme role: students are `member`s, mentors and admins are the group's
`mentor`s. The group's mentors and admins manage it; everyone else only reads their own groups.
Whether the bot may post in a bound channel is only known when it tries: a refused post
(Slack `not_in_channel`, Discord 403/404) fails its outbox row and the delivery loop tells the
group's mentors (`channel_mentors`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.args import record_id, split_words
from bot.audit import audit
from bot.errors import NotAllowed, UserError
from bot.i18n import N_, _, ngettext
from bot.localtime import is_valid_zone
from bot.model import Recipient
from bot.people import ADMIN, MENTOR, STUDENT, person_by_email
from storage.tables import Group, GroupMember, Person

MEMBER, GROUP_MENTOR = "member", "mentor"
CHANNEL_PLATFORMS = ("slack", "discord")
SLACK_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,20}$")
DISCORD_CHANNEL = re.compile(r"^\d{15,21}$")
MAX_NAME = 100

# Marked for translation: shown as `_(NOT_GROUP_MENTOR)`, `_(GROUP_USAGE)`.
NOT_GROUP_MENTOR = N_("Only this group's mentors and programme staff can do that.")
GROUP_USAGE = N_(
    "Use /group list, /group members GROUP, /group bind slack|discord CHANNEL_ID GROUP, "
    "/group unbind GROUP, /group add GROUP EMAIL..., /group remove GROUP EMAIL... "
    "(admins: /group create GROUP)."
)


def group_named(session: Session, name: str) -> Group:
    """The group with this name (or `#id`); a UserError naming it when there is none."""
    # A name typed in quotes, straight or curly ("Study skills", “Study skills”), is the
    # name without them; unbalanced quotes stay part of it.
    words = split_words(name.strip())
    unquoted = words.items[0] if len(words.items) == 1 and words.quoted[0] else name
    ref = " ".join(unquoted.split())
    if not ref:
        raise UserError(_("Which group? Give its name, e.g. Study skills."))
    group: Group | None = None
    group_id = record_id(ref) if ref.startswith("#") else None
    if group_id is not None:
        group = session.get(Group, group_id)
    if group is None:
        group = session.exec(select(Group).where(Group.name == ref)).first()
    if group is None:
        raise UserError(_("There is no group called '{name}'.").format(name=ref))
    return group


def membership(session: Session, group_id: int, person_id: int | None) -> GroupMember | None:
    """The person's membership row in the group, if any."""
    if person_id is None:
        return None
    return session.exec(
        select(GroupMember).where(
            GroupMember.group_id == group_id, GroupMember.person_id == person_id
        )
    ).first()


def is_group_mentor(session: Session, actor: Person, group_id: int) -> bool:
    """True for admins and for mentors who are this group's mentors."""
    if actor.role == ADMIN:
        return True
    if actor.role != MENTOR:
        return False
    member = membership(session, group_id, actor.id)
    return member is not None and member.role == GROUP_MENTOR


def require_group_mentor(
    session: Session, actor: Person | None, group: Group, now: datetime, action: str
) -> None:
    """Allow the group's mentors and admins (and the CLI, `actor=None`); audited.

    Raises NotAllowed before anything is written, so a refusal changes nothing.
    """
    assert group.id is not None
    if actor is not None and not is_group_mentor(session, actor, group.id):
        raise NotAllowed(_(NOT_GROUP_MENTOR))
    audit(session, now, actor.id if actor else None, action, None, detail=f"group {group.id}")


def parse_channel(platform: str, channel_id: str) -> tuple[str, str]:
    """Validate a (platform, channel id) pair; a UserError says what a channel id looks like."""
    name = platform.strip().lower()
    channel = channel_id.strip().lstrip("#")
    if name not in CHANNEL_PLATFORMS:
        raise UserError(
            _(
                "'{platform}' has no channels I can post in. Use slack or discord "
                "(the console has no channels: members get workshop posts as direct messages)."
            ).format(platform=platform)
        )
    if name == "slack" and not SLACK_CHANNEL.match(channel):
        raise UserError(
            _(
                "'{channel}' isn't a Slack channel id. It looks like C0123ABCD: open the "
                "channel's details in Slack and copy the id at the bottom."
            ).format(channel=channel_id)
        )
    if name == "discord" and not DISCORD_CHANNEL.match(channel):
        raise UserError(
            _(
                "'{channel}' isn't a Discord channel id. It is a long number: turn on "
                "Developer Mode, right-click the channel and choose Copy Channel ID."
            ).format(channel=channel_id)
        )
    return name, channel


def _check_channel_free(session: Session, platform: str, channel: str, group: Group) -> None:
    owner = session.exec(
        select(Group).where(
            Group.platform == platform, Group.channel_id == channel, col(Group.id) != group.id
        )
    ).first()
    if owner is not None:
        # One channel, one group: otherwise a failed post could not say whose channel it is.
        raise UserError(
            _("That channel is already the channel of the group '{name}'.").format(name=owner.name)
        )


def add_group(
    session: Session,
    name: str,
    now: datetime,
    *,
    platform: str | None = None,
    channel_id: str | None = None,
) -> Group:
    """Create a group, optionally bound to a channel; a UserError stores nothing."""
    clean = " ".join(name.split())
    if not clean:
        raise UserError(_("A group needs a name, e.g. Study skills."))
    if len(clean) > MAX_NAME:
        raise UserError(
            _("Please keep a group name under {limit} characters.").format(limit=MAX_NAME)
        )
    if clean.startswith("#"):
        raise UserError(_("A group name can't start with '#' (that's how ids are written)."))
    if session.exec(select(Group).where(Group.name == clean)).first() is not None:
        raise UserError(_("There is already a group called '{name}'.").format(name=clean))
    group = Group(name=clean, created_at=now)
    if platform is not None or channel_id is not None:
        if platform is None or channel_id is None:
            raise UserError(_("A channel needs both the platform and the channel id."))
        group.platform, group.channel_id = parse_channel(platform, channel_id)
        _check_channel_free(session, group.platform, group.channel_id, group)
    session.add(group)
    session.flush()
    return group


def bind_channel(session: Session, group: Group, platform: str, channel_id: str) -> Group:
    """Bind the group to a channel (replacing any earlier one)."""
    name, channel = parse_channel(platform, channel_id)
    _check_channel_free(session, name, channel, group)
    group.platform, group.channel_id = name, channel
    session.add(group)
    return group


def unbind_channel(session: Session, group: Group) -> Group:
    """Forget the group's channel: its posts go to members by DM from now on."""
    group.platform, group.channel_id = None, None
    session.add(group)
    return group


def channel_address(group: Group) -> Recipient | None:
    """Where the group's channel posts go, or None when it has no channel."""
    if not group.platform or not group.channel_id:
        return None
    # A channel push has no user: the delivery loop hands the messenger a channel-only
    # Recipient, which every adapter posts into the channel.
    return Recipient(platform=group.platform, user_id="", channel_id=group.channel_id)


@dataclass(frozen=True)
class MemberRow:
    """A member of a group, as a list shows them."""

    person: Person
    role: str


def members_of(session: Session, group_id: int, *, role: str | None = None) -> list[MemberRow]:
    """The group's active members (optionally only one role), by name."""
    query = (
        select(GroupMember, Person)
        .join(Person, col(Person.id) == GroupMember.person_id)
        .where(
            GroupMember.group_id == group_id,
            col(Person.active).is_(True),
            col(Person.deleted_at).is_(None),
        )
        .order_by(col(Person.name), col(Person.id))
    )
    if role is not None:
        query = query.where(GroupMember.role == role)
    return [MemberRow(person, member.role) for member, person in session.exec(query).all()]


@dataclass(frozen=True)
class MemberChange:
    """What adding or removing members did."""

    changed: list[Person]
    unchanged: list[Person]


def _people(session: Session, emails: Iterable[str]) -> list[Person]:
    wanted = [e.strip().lower().strip(",;") for e in emails if e.strip().strip(",;")]
    if not wanted:
        raise UserError(_("Give the email addresses of the people, e.g. sam@example.edu."))
    found: list[Person] = []
    missing: list[str] = []
    for email in dict.fromkeys(wanted):
        person = person_by_email(session, email)
        if person is None or not person.active or person.deleted_at is not None:
            missing.append(email)
        else:
            found.append(person)
    if missing:
        # All or nothing: a typo must not leave half the list added.
        raise UserError(
            _("Nobody was changed. These people aren't enrolled: {emails}.").format(
                emails=", ".join(missing)
            )
        )
    return found


def add_members(session: Session, group: Group, emails: Iterable[str]) -> MemberChange:
    """Add enrolled people to a group (students as members, staff as its mentors)."""
    assert group.id is not None
    people = _people(session, emails)
    added: list[Person] = []
    already: list[Person] = []
    for person in people:
        if membership(session, group.id, person.id) is not None:
            already.append(person)
            continue
        assert person.id is not None
        role = MEMBER if person.role == STUDENT else GROUP_MENTOR
        session.add(GroupMember(group_id=group.id, person_id=person.id, role=role))
        added.append(person)
    session.flush()
    return MemberChange(added, already)


def remove_members(session: Session, group: Group, emails: Iterable[str]) -> MemberChange:
    """Take people out of a group (their past RSVPs stay)."""
    assert group.id is not None
    people = _people(session, emails)
    removed: list[Person] = []
    absent: list[Person] = []
    for person in people:
        member = membership(session, group.id, person.id)
        if member is None:
            absent.append(person)
        else:
            session.delete(member)
            removed.append(person)
    session.flush()
    return MemberChange(removed, absent)


def list_groups(session: Session, only: set[int] | None = None) -> Sequence[Group]:
    """Groups by name: all of them, or only those with ids in `only`."""
    query = select(Group).order_by(col(Group.name))
    if only is not None:
        if not only:
            return []
        query = query.where(col(Group.id).in_(only))
    return session.exec(query).all()


def groups_of(session: Session, person: Person) -> set[int]:
    """Ids of the groups a person belongs to (in any role)."""
    return set(
        session.exec(select(GroupMember.group_id).where(GroupMember.person_id == person.id)).all()
    )


def channel_text(group: Group) -> str:
    """The group's channel in words."""
    if not group.platform or not group.channel_id:
        return _("no channel (posts go to members by DM)")
    return _("{platform} channel {channel}").format(
        platform=group.platform, channel=group.channel_id
    )


def describe_group(session: Session, group: Group) -> str:
    """One line about a group: name, channel and head counts."""
    assert group.id is not None
    rows = members_of(session, group.id)
    students = sum(1 for r in rows if r.role == MEMBER)
    mentors = [r.person.name for r in rows if r.role == GROUP_MENTOR]
    mentor_text = ", ".join(mentors) if mentors else _("none")
    return ngettext(
        "#{id} {name}: {n} member(s), mentors {mentors}; {channel}",
        "#{id} {name}: {n} member(s), mentors {mentors}; {channel}",
        students,
    ).format(
        id=group.id, name=group.name, n=students, mentors=mentor_text, channel=channel_text(group)
    )


def channel_mentors(session: Session, platform: str, channel_id: str) -> list[Person]:
    """The mentors of the group(s) bound to this channel: they hear about refused posts."""
    groups = session.exec(
        select(Group.id).where(Group.platform == platform, Group.channel_id == channel_id)
    ).all()
    mentors: dict[int, Person] = {}
    for group_id in groups:
        if group_id is None:
            continue
        for row in members_of(session, group_id, role=GROUP_MENTOR):
            if row.person.id is not None:
                mentors[row.person.id] = row.person
    return list(mentors.values())


def member_zones(session: Session, group_id: int, default_tz: str) -> list[str]:
    """The time zones of a group's members, most common first (for channel posts)."""
    counts: Counter[str] = Counter()
    for row in members_of(session, group_id, role=MEMBER):
        tz = row.person.timezone or default_tz
        counts[tz if is_valid_zone(tz) else default_tz] += 1
    return [tz for tz, _count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


# ---------------------------------------------------------------- chat command


def _split_emails(words: Sequence[str]) -> tuple[str, list[str]]:
    """`GROUP NAME email@a email@b` as (group name, emails): emails are the words with an @."""
    emails = [w for w in words if "@" in w]
    name_words = [w for w in words if "@" not in w]
    return " ".join(name_words), emails


def _names(people: Iterable[Person]) -> str:
    return ", ".join(p.name for p in people) or _("nobody")


def run_chat_command(session: Session, actor: Person, words: Sequence[str], now: datetime) -> str:
    """The staff chat command `/group ...`; returns the answer text (changes are audited)."""
    sub = words[0].lower() if words else "list"
    rest = list(words[1:])
    if sub == "list":
        visible = None if actor.role == ADMIN else groups_of(session, actor)
        groups = list_groups(session, visible)
        audit(session, now, actor.id, "group.list", None, detail=f"{len(groups)} group(s)")
        if not groups:
            return _("You aren't in any group yet. An admin can add you: /group add GROUP EMAIL")
        return _("Groups:") + "\n" + "\n".join(describe_group(session, g) for g in groups)
    if sub == "create":
        if actor.role != ADMIN:
            raise NotAllowed(_("Only programme staff create groups."))
        group = add_group(session, " ".join(rest), now)
        audit(session, now, actor.id, "group.create", None, detail=f"group {group.id}")
        return _("Created group #{id} {name}. Add people with /group add.").format(
            id=group.id, name=group.name
        )
    if sub == "members":
        group = group_named(session, " ".join(rest))
        assert group.id is not None
        if actor.role != ADMIN and group.id not in groups_of(session, actor):
            raise NotAllowed(_("You can only see the groups you belong to."))
        audit(session, now, actor.id, "group.members", None, detail=f"group {group.id}")
        rows = members_of(session, group.id)
        lines = [
            _("{name} ({email}) - mentor").format(name=r.person.name, email=r.person.email)
            if r.role == GROUP_MENTOR
            else f"{r.person.name} ({r.person.email})"
            for r in rows
        ]
        return f"{group.name}, {channel_text(group)}:\n" + ("\n".join(lines) or _("no members yet"))
    if sub == "bind":
        if len(rest) < 3:
            raise UserError(
                _(
                    "Use /group bind slack|discord CHANNEL_ID GROUP, e.g. "
                    "/group bind slack C0123ABCD Study skills"
                )
            )
        group = group_named(session, " ".join(rest[2:]))
        require_group_mentor(session, actor, group, now, "group.bind")
        bind_channel(session, group, rest[0], rest[1])
        return _(
            "{name} is now bound to the {channel}. Make sure the bot is in "
            "that channel: if it isn't, its first post fails and I'll tell you."
        ).format(name=group.name, channel=channel_text(group))
    if sub == "unbind":
        group = group_named(session, " ".join(rest))
        require_group_mentor(session, actor, group, now, "group.unbind")
        unbind_channel(session, group)
        return _("{name} has no channel now: its workshop posts go to members by DM.").format(
            name=group.name
        )
    if sub in ("add", "remove"):
        name, emails = _split_emails(rest)
        group = group_named(session, name)
        require_group_mentor(session, actor, group, now, f"group.{sub}")
        if sub == "add":
            change = add_members(session, group, emails)
            text = _("Added to {group}: {names}.").format(
                group=group.name, names=_names(change.changed)
            )
            if change.unchanged:
                text += " " + _("Already in it: {names}.").format(names=_names(change.unchanged))
            return text
        change = remove_members(session, group, emails)
        text = _("Removed from {group}: {names}.").format(
            group=group.name, names=_names(change.changed)
        )
        if change.unchanged:
            text += " " + _("Not in it: {names}.").format(names=_names(change.unchanged))
        return text
    raise UserError(_(GROUP_USAGE))
