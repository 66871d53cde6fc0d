"""The slash commands: each turns its options into the core's command Inbound, nothing more.

The core reads a command's ``text`` like typed words (``/goal progress 3 50``) and screens it
for safety, so free-text options such as a mood note always travel in ``text`` too.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import discord
from discord import app_commands

from adapters.discord.custom_ids import form_custom_id, form_with_ref

GOAL_FORM = "goal.add"
RESOLVE_FORM = "alert.resolve"


class Answerer(Protocol):
    """The client side of a command: build the actor and answer with the core's reply."""

    async def answer_command(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        text: str = "",
        args: dict[str, str] | None = None,
        *,
        kind: Literal["command", "action"] = "command",
    ) -> None:
        """Send a command (or action) to the core and answer the interaction with its reply."""
        ...


def _answerer(interaction: discord.Interaction[Any]) -> Answerer:
    # The tree only ever runs on MentorDiscordClient, which implements Answerer.
    client: Answerer = interaction.client
    return client


class GoalModal(discord.ui.Modal, title="New goal"):
    """The add-goal form. Its submit is decoded in the client by custom id (see ``open``)."""

    goal_title: discord.ui.TextInput[GoalModal] = discord.ui.TextInput(
        label="What's your goal?",
        custom_id="title",
        placeholder="e.g. Finish the essay draft",
        max_length=200,
    )
    due: discord.ui.TextInput[GoalModal] = discord.ui.TextInput(
        label="Due date (optional)",
        custom_id="due",
        placeholder="YYYY-MM-DD",
        required=False,
        max_length=10,
    )

    @classmethod
    async def open(cls, interaction: discord.Interaction[Any]) -> None:
        """Show the form.

        The modal is stopped before sending, so discord.py doesn't keep it waiting in memory:
        every submit, also one made after a restart, reaches the client's on_interaction and is
        decoded from the custom id like the buttons are.
        """
        modal = cls(custom_id=form_custom_id(GOAL_FORM), timeout=None)
        modal.stop()
        await interaction.response.send_modal(modal)


class ResolveModal(discord.ui.Modal, title="Resolve alert"):
    """Resolve an alert: the outcome and a note. The alert id rides in the custom id."""

    outcome: discord.ui.TextInput[ResolveModal] = discord.ui.TextInput(
        label="How did it end?",
        custom_id="outcome",
        placeholder="spoke, counselling, emergency or none",
        max_length=20,
    )
    note: discord.ui.TextInput[ResolveModal] = discord.ui.TextInput(
        label="Note (kept encrypted)",
        custom_id="note",
        style=discord.TextStyle.paragraph,
        placeholder="What happened, and what's next",
        # Not required here: the core answers a missing note with a clear message.
        required=False,
        max_length=2000,
    )

    @classmethod
    async def open(cls, interaction: discord.Interaction[Any], alert_id: str) -> None:
        """Show the form (stopped at once, like GoalModal: the client decodes the submit)."""
        modal = cls(custom_id=form_with_ref(RESOLVE_FORM, alert_id), timeout=None)
        modal.stop()
        await interaction.response.send_modal(modal)


def build_commands() -> list[app_commands.Command[Any, ..., Any] | app_commands.Group]:
    """Fresh command objects for one client's tree."""

    @app_commands.command(name="checkin", description="Start a check-in now")
    async def checkin(interaction: discord.Interaction[Any]) -> None:
        await _answerer(interaction).answer_command(interaction, "checkin")

    @app_commands.command(
        name="mood", description="Log how you feel (1 awful to 5 great); alone it shows your trend"
    )
    @app_commands.describe(score="1 is awful, 5 is great", note="Anything to add (optional)")
    async def mood(
        interaction: discord.Interaction[Any],
        score: app_commands.Range[int, 1, 5] | None = None,
        note: str | None = None,
    ) -> None:
        args: dict[str, str] = {}
        if score is not None:
            args["score"] = str(score)
        if note:
            args["note"] = note
        text = " ".join(v for v in (args.get("score"), note) if v)
        await _answerer(interaction).answer_command(interaction, "mood", text, args)

    goals = app_commands.Group(name="goal", description="Your goals: add, list, progress, done")

    @goals.command(name="add", description="Set a new goal")
    async def goal_add(interaction: discord.Interaction[Any]) -> None:
        await GoalModal.open(interaction)

    @goals.command(name="list", description="Your goals and their progress")
    async def goal_list(interaction: discord.Interaction[Any]) -> None:
        await _answerer(interaction).answer_command(interaction, "goal", "list")

    @goals.command(name="progress", description="Record progress on a goal")
    @app_commands.describe(goal="The goal's number (see /goal list)", percent="0 to 100")
    async def goal_progress(
        interaction: discord.Interaction[Any],
        goal: int,
        percent: app_commands.Range[int, 0, 100],
    ) -> None:
        text = f"progress {goal} {percent}"
        await _answerer(interaction).answer_command(interaction, "goal", text)

    @goals.command(name="done", description="Mark a goal as done")
    @app_commands.describe(goal="The goal's number (see /goal list)")
    async def goal_done(interaction: discord.Interaction[Any], goal: int) -> None:
        await _answerer(interaction).answer_command(interaction, "goal", f"done {goal}")

    @app_commands.command(name="resources", description="Find help: study, stress, money, health")
    @app_commands.describe(words="What you're looking for (optional)")
    async def resources(interaction: discord.Interaction[Any], words: str | None = None) -> None:
        args = {"words": words} if words else {}
        await _answerer(interaction).answer_command(interaction, "resources", words or "", args)

    @app_commands.command(
        name="help", description="What I can do; with a message, asks your mentor to get in touch"
    )
    @app_commands.describe(message="For your mentor (optional)")
    async def help_(interaction: discord.Interaction[Any], message: str | None = None) -> None:
        await _answerer(interaction).answer_command(interaction, "help", message or "")

    @app_commands.command(name="pause", description="Pause check-ins until a date, or resume")
    @app_commands.describe(until="YYYY-MM-DD, or 'off' to resume now")
    async def pause(interaction: discord.Interaction[Any], until: str | None = None) -> None:
        args = {"until": until} if until else {}
        await _answerer(interaction).answer_command(interaction, "pause", until or "", args)

    @app_commands.command(name="mentees", description="Mentors: your students at a glance")
    async def mentees(interaction: discord.Interaction[Any]) -> None:
        await _answerer(interaction).answer_command(interaction, "mentees")

    @app_commands.command(
        name="alerts", description="Mentors: open alerts; acknowledge, follow up or resolve"
    )
    @app_commands.describe(command="e.g. resolve 12 spoke Called them, ack 12, followup 12")
    async def alerts(interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _answerer(interaction).answer_command(interaction, "alerts", command or "")

    @app_commands.command(name="mydata", description="See what the bot stores about you")
    @app_commands.describe(export="Send me a JSON file of all my data")
    async def mydata(interaction: discord.Interaction[Any], export: bool = False) -> None:
        text = "export" if export else ""
        await _answerer(interaction).answer_command(interaction, "mydata", text)

    @app_commands.command(name="home", description="Your overview: mood, goals, alerts, students")
    async def home(interaction: discord.Interaction[Any]) -> None:
        # The core's home page is an action (Slack shows it in App Home); same content here.
        await _answerer(interaction).answer_command(interaction, "home.show", kind="action")

    @app_commands.command(
        name="workshop", description="Workshops: upcoming ones, or add, cancel, move, report"
    )
    @app_commands.describe(
        command='e.g. add "Exam stress" 2026-12-01 16:00 Europe/London 60 cap 12 LINK, or report 3'
    )
    async def workshop(interaction: discord.Interaction[Any], command: str | None = None) -> None:
        # The words go to the core as typed, like `/workshop ...` in a DM.
        await _answerer(interaction).answer_command(interaction, "workshop", command or "")

    @app_commands.command(name="group", description="Mentors: your groups, members and channel")
    @app_commands.describe(command="e.g. list, members Study skills, bind discord CHANNEL_ID NAME")
    async def group(interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _answerer(interaction).answer_command(interaction, "group", command or "")

    @app_commands.command(name="prompt", description="Mentors: recurring prompts in a group")
    @app_commands.describe(
        command="e.g. add Study skills fri 15:00 Share one win from this week, list, remove 2"
    )
    async def prompt(interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _answerer(interaction).answer_command(interaction, "prompt", command or "")

    @app_commands.command(name="pairing", description="Mentors: peer pairing rounds in a group")
    @app_commands.describe(command="e.g. on Study skills every 2 weeks, run, off or report GROUP")
    async def pairing(interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _answerer(interaction).answer_command(interaction, "pairing", command or "")

    return [
        checkin,
        mood,
        goals,
        resources,
        help_,
        pause,
        mentees,
        alerts,
        mydata,
        home,
        workshop,
        group,
        prompt,
        pairing,
    ]
