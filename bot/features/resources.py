"""Resources: `/resources [words]` searches the library (suggestions elsewhere use it too)."""

from __future__ import annotations

from bot.auth import EVERYONE, allow
from bot.i18n import N_, _
from bot.model import Message, Reply
from bot.registry import Arg, ArgKind, Command, Context, Feature
from bot.services import resources as resource_service


@allow(*EVERYONE)
def cmd_resources(ctx: Context) -> Reply:
    """Search the resource library."""
    query = ctx.args.text("words")
    found = resource_service.search(ctx.session, query, limit=8)
    if not found:
        return Reply.say(
            _(
                "I found nothing for '{query}'. Try other words, or /resources for everything."
            ).format(query=query)
        )
    heading = (
        _("Resources for '{query}':").format(query=query) if query else _("The resource library:")
    )
    return Reply(messages=(Message(text=heading, links=resource_service.as_links(found)),))


FEATURE = Feature(
    name="resources",
    summary=N_("The resource library"),
    commands=(
        Command(
            "resources",
            N_("find help: study skills, stress, money, health"),
            cmd_resources,
            args=(
                Arg("words", ArgKind.TEXT, N_("What you're looking for (optional)"), optional=True),
            ),
            example="/resources exam stress",
        ),
    ),
)
