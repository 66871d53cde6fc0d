"""Groups: staff list groups, their members and the channel their posts go to."""

from __future__ import annotations

from bot.args import split_words
from bot.auth import STAFF, allow
from bot.i18n import N_
from bot.model import Reply
from bot.personal_data import PersonalData
from bot.registry import Context, Feature, Sub, typed_words, word_family
from bot.services import groups as group_service
from storage.tables import GroupMember


@allow(*STAFF)
def cmd_group(ctx: Context) -> Reply:
    """`/group`: groups, members and the channel a group's workshop posts go to."""
    words = list(split_words(typed_words(ctx)).items)
    return Reply.say(group_service.run_chat_command(ctx.session, ctx.person, words, ctx.now))


FEATURE = Feature(
    name="groups",
    summary=N_("Groups, their members and channels"),
    commands=word_family(
        "group",
        cmd_group,
        (
            Sub("list", N_("your groups"), default=True),
            Sub("members", N_("a group's members"), '/group members "Study skills"'),
            Sub("create", N_("a new group (programme staff)"), "/group create Study skills"),
            Sub("add", N_("add people to a group"), "/group add Study skills sam@example.edu"),
            Sub(
                "remove",
                N_("take people out of a group"),
                "/group remove Study skills sam@example.edu",
            ),
            Sub(
                "bind",
                N_("the channel a group's posts go to"),
                "/group bind slack C0123ABCD Study skills",
            ),
            Sub("unbind", N_("posts go to members by DM again"), "/group unbind Study skills"),
        ),
    ),
    personal_data=(
        PersonalData("group memberships", GroupMember, "person_id", export_as="groups"),
    ),
)
