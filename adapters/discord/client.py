"""The Discord client: slash commands, buttons, the goal form and DMs in; core replies out.

Thin on purpose: every event becomes one ``Inbound`` for ``core.ahandle`` and the ``Reply``
is rendered back. Discord-specific duties live here:

* answer every interaction inside Discord's 3-second window: wait for the core up to
  ``ack_after`` seconds, else defer first and edit/follow up when the core is done;
* ``Reply.update`` edits the pressed message in place; other messages are ephemeral in a
  server (only the actor sees them) and normal in a DM, where an ephemeral message would
  vanish from the conversation on the next app reload;
* nobody is ever pinged except the person a message is for.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol

import discord
from discord import app_commands

from adapters.discord.commands import (
    AnswerModal,
    CatalogTranslator,
    RecordModal,
    ResolveModal,
    build_commands,
    interaction_language,
)
from adapters.discord.components import ActionButton
from adapters.discord.custom_ids import decode_action, decode_form, split_form_ref
from adapters.discord.limits import InvalidRequestGuard
from adapters.discord.messenger import PLATFORM, part_nonce
from adapters.discord.render import DiscordMessage, mentions_for, render
from bot.i18n import N_, _, speaking
from bot.i18n.translations import LOCALE_DIR
from bot.model import Actor, Inbound, Message, Reply
from bot.registry import Registry
from bot.services.alerts import RESOLVE_ACTION, RESOLVE_FORM
from bot.services.meetings.records import RECORD_ACTION, RECORD_FORM
from bot.services.prompt_answers import ANSWER_ACTION, ANSWER_FORM

log = logging.getLogger(__name__)

#: Seconds to wait for the core before deferring; Discord drops answers after 3 s.
ACK_AFTER = 2.0
#: Shown when something unexpected broke while answering (the core itself never raises).
SORRY = N_("Sorry, something went wrong on my side. Please try again in a moment.")
UNKNOWN_INTERACTION = 10062


class SyncGate(Protocol):
    """Whether a start should sync the command tree (bot.services.platform_state)."""

    async def claim(self, digest: str) -> bool:
        """True (and recorded) when the tree with this hash was not synced yet."""
        ...

    async def forget(self, digest: str) -> None:
        """The sync failed: let the next start try again."""
        ...


class Core(Protocol):
    """The part of the core the adapter uses (MentorBot)."""

    async def ahandle(self, inbound: Inbound) -> Reply:
        """Handle one inbound event; never raises."""
        ...

    @property
    def registry(self) -> Registry:
        """The features' registry the slash commands are generated from."""
        ...


def intents() -> discord.Intents:
    """The minimal gateway intents: no privileged ones.

    ``guilds`` lets discord.py know the servers and channels it works in (interactions and
    command sync rely on it); ``dm_messages`` delivers DMs, whose content Discord sends without
    the privileged message-content intent. No members, presences or server messages.
    """
    return discord.Intents(guilds=True, dm_messages=True)


def actor_of(
    user: discord.abc.User, guild_id: int | None, locale: discord.Locale | str | None = None
) -> Actor:
    """The core's actor for a Discord user (identity is looked up by user id).

    `locale` is the interaction's (the language the user's client is set to, "es-ES");
    a DM message carries none.
    """
    tag = locale.value if isinstance(locale, discord.Locale) else locale
    return Actor(
        platform=PLATFORM,
        workspace=str(guild_id) if guild_id else "dm",
        user_id=str(user.id),
        display_name=user.display_name,
        locale=str(tag) if tag else None,
    )


def modal_values(data: Mapping[str, Any] | None) -> dict[str, str]:
    """``custom_id -> value`` of every text input in a MODAL_SUBMIT payload.

    Inputs arrive inside action rows or (newer layouts) labels, so the tree is walked.
    """
    values: dict[str, str] = {}

    def walk(components: Iterable[Any]) -> None:
        for component in components:
            if not isinstance(component, Mapping):
                continue
            if "custom_id" in component and "value" in component:
                values[str(component["custom_id"])] = str(component["value"] or "")
            walk(component.get("components") or ())
            inner = component.get("component")
            if inner is not None:
                walk((inner,))

    walk((data or {}).get("components") or ())
    return values


def catalogs_digest() -> str:
    """A hash of every translation catalog (the command descriptions' translations)."""
    digest = hashlib.sha256()
    for path in sorted(LOCALE_DIR.glob("*/*.po")):
        digest.update(str(path.relative_to(LOCALE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def messages_of(reply: Reply) -> list[Message]:
    """The update (if any) and then the messages of a reply."""
    return ([reply.update] if reply.update is not None else []) + list(reply.messages)


class MentorDiscordClient(discord.Client):
    """A discord.py client wired to the mentorbot core."""

    def __init__(
        self,
        core: Core,
        *,
        guild_ids: Sequence[int] = (),
        ack_after: float = ACK_AFTER,
        guild_ready_timeout: float = 2.0,
        guard: InvalidRequestGuard | None = None,
        sync_gate: SyncGate | None = None,
    ) -> None:
        # Every answer discord.py's session receives is counted (401/403/429: Discord's ban).
        self.guard = guard or InvalidRequestGuard()
        super().__init__(
            http_trace=self.guard.trace_config(),
            intents=intents(),
            # The default for every send; each send narrows it to its one recipient.
            allowed_mentions=discord.AllowedMentions.none(),
            # No message cache, no member cache, no member chunking: a bot in a large server
            # stays small, and nothing here reads history or member lists.
            max_messages=None,
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            guild_ready_timeout=guild_ready_timeout,
            # A rate limit longer than this raises RateLimited instead of sleeping inside a
            # delivery; the outbox retries the row after Discord's retry_after.
            max_ratelimit_timeout=30.0,
        )
        self.core = core
        self.guild_ids = list(guild_ids)
        self.ack_after = ack_after
        self.sync_gate = sync_gate
        #: Told the user id of everyone who writes to or presses something of the bot.
        self.user_seen: list[Callable[[str], None]] = []
        self.tree = app_commands.CommandTree(self)
        for command in build_commands(core.registry):
            self.tree.add_command(command)
        # The tree's documented way to set its handler (it checks the signature too).
        self.tree.error(self.on_app_command_error)

    # ------------------------------------------------------------------ start-up

    async def on_ready(self) -> None:
        """Log each (re)connection of the gateway session: an operator's first question."""
        log.info("Discord connected to the gateway (%d server(s))", len(self.guilds))

    async def on_resumed(self) -> None:
        """Log a resumed gateway session."""
        log.info("Discord gateway session resumed")

    async def on_disconnect(self) -> None:
        """Log a lost gateway connection (discord.py reconnects by itself)."""
        log.info("Discord gateway disconnected; reconnecting")

    async def setup_hook(self) -> None:
        """One-time setup after login, before the gateway (on_ready may fire many times)."""
        # One DynamicItem class decodes every "mb:" button, from this run or any earlier one.
        self.add_dynamic_items(ActionButton)
        # Descriptions in the people's languages (names stay English), from the catalogs.
        await self.tree.set_translator(CatalogTranslator())
        await self.sync_commands()

    def commands_hash(self) -> str:
        """A hash of what a sync would publish: every command's payload and the guilds.

        The catalogs are part of it: a changed translation changes the descriptions Discord
        shows in that language, so it syncs once more.
        """
        payload = {
            "commands": sorted(
                (c.to_dict(self.tree) for c in self.tree.get_commands()),
                key=lambda c: str(c.get("name")),
            ),
            "guilds": sorted(self.guild_ids),
            "catalogs": catalogs_digest(),
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    async def sync_commands(self) -> None:
        """Publish the slash commands to the configured guilds, or globally when there are none.

        Only when the command tree changed since the last sync (`sync_gate`, kept in the
        database): a restart, or several instances starting together, sync once. Guild
        commands appear at once; global ones can take a while to reach every client. A
        failure (bot not in a guild, say) is logged and the bot runs on.
        """
        digest = self.commands_hash()
        if self.sync_gate is not None:
            try:
                if not await self.sync_gate.claim(digest):
                    log.info("slash commands unchanged since the last sync; not syncing")
                    return
            except Exception:
                log.exception("could not check the last command sync; syncing anyway")
        try:
            if not self.guild_ids:
                await self.tree.sync()
                return
            for guild_id in self.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        except discord.HTTPException:
            log.exception("could not sync the slash commands (is the bot in the guild?)")
            if self.sync_gate is not None:
                try:
                    await self.sync_gate.forget(digest)
                except Exception:
                    log.exception("could not forget the failed command sync")

    # ------------------------------------------------------------------ inbound events

    async def answer_command(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        text: str = "",
        args: dict[str, str] | None = None,
        *,
        kind: Literal["command", "action"] = "command",
    ) -> None:
        """A slash command: send it to the core and answer with the reply."""
        inbound = Inbound(
            actor=actor_of(interaction.user, interaction.guild_id, interaction.locale),
            kind=kind,
            name=name,
            args=args or {},
            text=text,
            event_id=str(interaction.id),
        )
        await self.answer(interaction, inbound)

    async def on_action_button(self, interaction: discord.Interaction[Any], custom_id: str) -> None:
        """A press of one of our buttons (from ActionButton)."""
        decoded = decode_action(custom_id)
        if decoded is None:
            return
        action, args = decoded
        inbound = Inbound(
            actor=actor_of(interaction.user, interaction.guild_id, interaction.locale),
            kind="action",
            name=action,
            args=args,
            event_id=str(interaction.id),
        )
        if action == RESOLVE_ACTION:
            alert_id = args.get("alert", "")
            await self._open_form(
                interaction,
                inbound,
                lambda reply: ResolveModal.open(interaction, alert_id, reply.language),
            )
            return
        if action == RECORD_ACTION:
            meeting_id = args.get("meeting", "")
            await self._open_form(
                interaction,
                inbound,
                lambda reply: RecordModal.open(interaction, meeting_id, reply.language),
            )
            return
        if action == ANSWER_ACTION:
            round_id = args.get("round", "")
            await self._open_form(
                interaction,
                inbound,
                lambda reply: AnswerModal.open(
                    interaction,
                    round_id,
                    dict(reply.form_values).get("answer", ""),
                    reply.language,
                ),
            )
            return
        await self.answer(interaction, inbound, component=True)

    async def _open_form(
        self,
        interaction: discord.Interaction[Any],
        inbound: Inbound,
        opener: Callable[[Reply], Awaitable[None]],
    ) -> None:
        """A button that opens a form: the core checks the press first, then the modal opens.

        Resolve (an alert), the session record (a meeting) and Answer (a group prompt). A
        refusal (someone else's alert, a closed prompt, not in the group) or a slow core is
        answered as a normal reply instead: a modal must be the interaction's first answer,
        within Discord's 3 seconds.
        """
        self._seen(inbound.actor.user_id)
        task = asyncio.ensure_future(self.core.ahandle(inbound))
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), self.ack_after)
        except TimeoutError:
            reply = None
        try:
            if reply is not None and reply.error is None:
                await opener(reply)
                return
            answer = reply if reply is not None else await task
            await self._respond(interaction, answer, deferred=False, component=False)
        except discord.HTTPException as exc:
            log.warning("opening a form on %s failed: %s", interaction.id, exc)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Form submits; commands and buttons are routed by the tree and ActionButton."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Mapping[str, Any] = interaction.data or {}
        form = decode_form(str(data.get("custom_id", "")))
        if form is None:
            return
        form, ref = split_form_ref(form)
        args = modal_values(data)
        if form == RESOLVE_FORM:
            args["alert"] = ref  # the alert the modal was opened for
        if form == RECORD_FORM:
            args["meeting"] = ref  # the meeting the record is about
        if form == ANSWER_FORM:
            args["round"] = ref  # the prompt round the modal was opened for
        inbound = Inbound(
            actor=actor_of(interaction.user, interaction.guild_id, interaction.locale),
            kind="form",
            name=form,
            args=args,
            event_id=str(interaction.id),
        )
        await self.answer(interaction, inbound)

    async def on_message(self, message: discord.Message) -> None:
        """A DM to the bot is free text for the core (a check-in note, a worry, a command)."""
        # The bot receives its own messages too; server messages never arrive (no intent).
        if message.author.bot or message.guild is not None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        inbound = Inbound(
            actor=actor_of(message.author, None),
            kind="text",
            name="message",
            text=message.content,
            event_id=str(message.id),
        )
        self._seen(inbound.actor.user_id)
        reply = await self.core.ahandle(inbound)
        mentions = mentions_for(message.author.id)
        parts = [part for m in messages_of(reply) for part in render(m)]
        try:
            for index, part in enumerate(parts):
                # A stable nonce: if this handler ran twice for one DM, Discord posts once.
                nonce = part_nonce(f"r{message.id}", index)
                await message.channel.send(**part.send_kwargs(mentions), nonce=nonce)
        except discord.HTTPException:
            log.exception("could not answer the DM %s", message.id)

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """A command that failed before reaching the core (a bad option value, say)."""
        log.warning("slash command failed: %s", error, exc_info=error)
        await self._say_sorry(interaction)

    # ------------------------------------------------------------------ answering

    def _seen(self, user_id: str) -> None:
        for hook in self.user_seen:
            hook(user_id)

    async def answer(
        self, interaction: discord.Interaction[Any], inbound: Inbound, *, component: bool = False
    ) -> None:
        """Answer an interaction with the core's reply, in time, and never raise."""
        self._seen(inbound.actor.user_id)
        try:
            reply, deferred = await self._reply_in_time(interaction, inbound, component)
            if deferred is None:
                await self._answer_late(interaction, reply)
            else:
                await self._respond(interaction, reply, deferred=deferred, component=component)
            # A button edited its own message above; a form or a command edits every copy.
            await self._update_copies(reply, interaction.message if component else None)
        except discord.NotFound as exc:
            if exc.code != UNKNOWN_INTERACTION:
                log.warning("answering interaction %s: %s", interaction.id, exc)
            else:
                log.warning("interaction %s expired before it was answered", interaction.id)
        except discord.HTTPException as exc:
            log.warning("answering interaction %s failed: %s", interaction.id, exc)
            await self._say_sorry(interaction)
        except Exception:
            log.exception("answering interaction %s failed", interaction.id)
            await self._say_sorry(interaction)

    async def _reply_in_time(
        self, interaction: discord.Interaction[Any], inbound: Inbound, component: bool
    ) -> tuple[Reply, bool | None]:
        """The core's reply and whether the interaction was deferred (None: it expired)."""
        task = asyncio.ensure_future(self.core.ahandle(inbound))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.ack_after), False
        except TimeoutError:
            pass
        try:
            if component:
                # A deferred update: the core may still want the pressed message edited.
                await interaction.response.defer()
            else:
                await interaction.response.defer(
                    thinking=True, ephemeral=self._ephemeral(interaction, private=True)
                )
        except discord.NotFound:
            return await task, None
        return await task, True

    def _ephemeral(self, interaction: discord.Interaction[Any], *, private: bool) -> bool:
        # In a DM only the person sees the bot anyway, and ephemeral messages disappear there.
        return private and interaction.guild_id is not None

    async def _respond(
        self,
        interaction: discord.Interaction[Any],
        reply: Reply,
        *,
        deferred: bool,
        component: bool,
    ) -> None:
        mentions = mentions_for(interaction.user.id)
        responded = deferred
        parts: list[DiscordMessage] = []
        messages = list(reply.messages)
        if reply.update is not None and component:
            update = render(reply.update)
            edit = update[0].edit_kwargs(mentions)
            if deferred:
                await interaction.edit_original_response(**edit)
            else:
                await interaction.response.edit_message(**edit)
            responded = True
            parts.extend(update[1:])
        elif reply.update is not None:
            messages.insert(0, reply.update)  # nothing to edit: a command has no message yet
        for message in messages:
            parts.extend(render(message))
        for part in parts:
            kwargs = part.send_kwargs(mentions)
            ephemeral = self._ephemeral(interaction, private=part.private)
            if not responded:
                await interaction.response.send_message(**kwargs, ephemeral=ephemeral)
                responded = True
            else:
                await interaction.followup.send(**kwargs, ephemeral=ephemeral)
        if not responded:
            # Nothing to say (a repeated event): acknowledge so Discord shows no error.
            if component:
                await interaction.response.defer()
            else:
                with speaking(reply.language):
                    done = _("Done.")
                await interaction.response.send_message(
                    done, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
                )

    async def _update_copies(self, reply: Reply, pressed: discord.Message | None) -> None:
        """Edit the other delivered copies of what was acted on (each mentor's alert DM)."""
        if reply.update is None or not reply.also_update:
            return  # the common case (a check-in answer): nothing to render for copies
        edit = render(reply.update)[0]
        for copy in reply.also_update:
            if copy.platform != PLATFORM or (pressed and str(pressed.id) == copy.message_id):
                continue
            try:
                channel = self.get_partial_messageable(int(copy.channel_id))
                message = channel.get_partial_message(int(copy.message_id))
                await message.edit(**edit.edit_kwargs(discord.AllowedMentions.none()))
            except (discord.HTTPException, ValueError) as exc:
                # A deleted copy or a closed DM must not spoil the answer to the actor.
                log.warning(
                    "could not update copy %s/%s: %s", copy.channel_id, copy.message_id, exc
                )

    async def _answer_late(self, interaction: discord.Interaction[Any], reply: Reply) -> None:
        """The interaction expired while the core worked: in a DM, post the reply instead."""
        log.warning("interaction %s expired; the core's reply is posted to the DM", interaction.id)
        if interaction.guild_id is not None or interaction.channel_id is None:
            return  # in a server the reply may be private: never post it in the channel
        channel = self.get_partial_messageable(interaction.channel_id)
        mentions = mentions_for(interaction.user.id)
        parts = [part for m in messages_of(reply) for part in render(m)]
        if reply.update is not None and interaction.message is not None:
            await interaction.message.edit(**parts.pop(0).edit_kwargs(mentions))
        for index, part in enumerate(parts):
            nonce = part_nonce(f"i{interaction.id}", index)
            await channel.send(**part.send_kwargs(mentions), nonce=nonce)

    async def _say_sorry(self, interaction: discord.Interaction[Any]) -> None:
        quiet = discord.AllowedMentions.none()
        # Nothing came back from the core: the language of the person's Discord client.
        with speaking(interaction_language(interaction)):
            sorry = _(SORRY)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(sorry, ephemeral=True, allowed_mentions=quiet)
            else:
                await interaction.response.send_message(
                    sorry, ephemeral=True, allowed_mentions=quiet
                )
        except discord.HTTPException:
            log.warning("could not tell the user about a failure on %s", interaction.id)
