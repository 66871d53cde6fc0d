"""The one button class behind every core choice: a DynamicItem that decodes any ``mb:`` id.

discord.py matches the custom id of every pressed button against the template, rebuilds the
item from the id and calls its callback, so a check-in sent yesterday, by a process that has
since restarted, still reaches the core. Nothing is stored per message.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

import discord

from adapters.discord.custom_ids import BUTTON_TEMPLATE


@runtime_checkable
class ButtonHandler(Protocol):
    """What a client must offer for ActionButton to hand a press on (MentorDiscordClient)."""

    async def on_action_button(self, interaction: discord.Interaction[Any], custom_id: str) -> None:
        """Handle a press of one of our buttons."""
        ...


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=BUTTON_TEMPLATE
):
    """A button whose custom id carries a core action and its arguments."""

    def __init__(
        self,
        custom_id: str,
        *,
        label: str = "…",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id), row=row)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ActionButton:
        """Rebuild the button from a pressed message's component."""
        label = getattr(item, "label", None) or "…"
        style = getattr(item, "style", discord.ButtonStyle.secondary)
        return cls(match.string, label=label, style=style)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the client, which asks the core."""
        client = interaction.client
        if isinstance(client, ButtonHandler):
            await client.on_action_button(interaction, self.custom_id)
