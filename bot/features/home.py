"""Home: a person's overview (Slack's App Home; `/home` elsewhere), read-only."""

from __future__ import annotations

from bot.auth import EVERYONE, allow
from bot.i18n import N_
from bot.model import Reply
from bot.registry import Command, Context, Feature
from bot.services.home import home_sections


@allow(*EVERYONE)
def act_home_show(ctx: Context) -> Reply:
    """The actor's home page: one message per section."""
    return Reply(messages=home_sections(ctx.session, ctx.settings, ctx.now, ctx.person))


FEATURE = Feature(
    name="home",
    summary=N_("Your overview: mood, goals, alerts, students"),
    commands=(Command("home", N_("your overview: mood, goals, alerts, students"), act_home_show),),
    actions={"home.show": act_home_show},
)
