"""Groups: staff list groups, their members and the channel their posts go to."""

from __future__ import annotations

from dataclasses import replace

from bot.args import split_words
from bot.auth import STAFF, allow
from bot.i18n import N_, speaking
from bot.model import Reply
from bot.personal_data import PersonalData
from bot.registry import DETAILS, Command, Context, Feature, Sub, typed_words, word_family
from bot.services import groups as group_service
from bot.services import language as language_service
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


@allow(*STAFF)
def cmd_group_language(ctx: Context) -> Reply:
    """`/group language GROUP CODE`: the language of a group's channel posts (issue 19)."""
    words = list(split_words(ctx.args.text("details")).items)
    group, chosen = language_service.set_group_language(ctx.session, ctx.person, words, ctx.now)
    with speaking(chosen or ctx.settings.default_language):  # confirmed in the new language
        return Reply.say(language_service.group_language_set(group, chosen))


# The language variant joins the family after the variants the groups service parses.
GROUP_LANGUAGE = Command(
    "group",
    language_service.GROUP_LANGUAGE_SUMMARY,
    cmd_group_language,
    sub="language",
    args=(DETAILS,),
    example="/group language Study skills es",
)
FEATURE = replace(FEATURE, commands=(*FEATURE.commands, GROUP_LANGUAGE))
