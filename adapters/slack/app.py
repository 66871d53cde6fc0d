"""The bolt AsyncApp: Slack payloads in, `core.ahandle`, Block Kit out.

Every listener stores first and acknowledges after (`process_before_response=True`: bolt
answers Slack when the listener returns), then leaves what is only a follow-up to a tracked
background task. So a crash can't lose anything Slack showed as accepted: a check-in answer,
a command, a DM. The core takes milliseconds of Slack's three seconds. A modal submission
waits for the core with a deadline, because its acknowledgement carries validation errors; if
the core is slow the modal closes and the answer arrives as a DM.

Where replies go:
* slash commands answer through the command's response_url, ephemerally (private);
* a button on a posted message replaces that message through the interaction's
  response_url (`replace_original`: no Tier 3 chat.update, never a second copy) and posts
  follow-ups into the DM; calls answering a person wait out a 429's Retry-After; a button
  on an ephemeral message (from a slash command) replaces it through the response_url
  too; a button on the App Home republishes the home and DMs any follow-up;
* an alert acted on is edited in every copy that was delivered (`Reply.also_update`);
* attachments (the /mentor mydata export) are uploaded as a file into the person's DM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.http_guard import REPLAY_KEY
from adapters.slack.messenger import SlackMessenger, slack_error_code
from adapters.slack.render import (
    GOAL_FORM,
    BadButton,
    answer_modal,
    decode_action,
    form_errors,
    form_of,
    goal_modal,
    record_modal,
    render_home,
    render_message,
    resolve_modal,
)
from adapters.slack.users import UserDirectory
from bot.core import MentorBot
from bot.i18n import N_, _, speaking
from bot.model import Actor, Inbound, Message, Reply
from bot.services.alert_lifecycle import outcome_choices
from bot.services.alerts import RESOLVE_ACTION
from bot.services.meetings.records import RECORD_ACTION
from bot.services.prompt_answers import ANSWER_ACTION

log = logging.getLogger(__name__)

SLASH_COMMAND = "/mentor"
HOME_ACTION = "home.show"
# The adapter's own words, translated where they are sent (`_notice`).
NOT_YOURS = N_("That button was sent to someone else, so I left it alone.")
STALE_BUTTON = N_("That button doesn't do anything any more. Try `/mentor help`.")
TRY_AGAIN = N_("Sorry, Slack didn't let me do that just now. Please try again in a moment.")
ANSWER_FORM_FALLBACK = N_("I couldn't open the answer form just now. Please press Answer again.")
GOAL_FORM_FALLBACK = N_(
    "I couldn't open the goal form. You can also type `/mentor goal add TITLE by YYYY-MM-DD`."
)
# A modal must be answered within 3 s; leave headroom for the network and users.info.
FORM_DEADLINE_SECONDS = 2.0
SLACK_ERRORS = (SlackClientError, aiohttp.ClientError, TimeoutError, OSError)
# How often an interactive call is tried again after a 429 (each waits its Retry-After).
RATE_LIMIT_RETRIES = 3


def webhook_retry_handlers() -> list[AsyncRetryHandler]:
    """Retries for a response_url post: a dropped connection, a 429 (with Retry-After)."""
    return [
        AsyncConnectionErrorRetryHandler(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]


def interactive_client(client: AsyncWebClient) -> AsyncWebClient:
    """`client` with slack_sdk's AsyncRateLimitErrorRetryHandler added (a copy if needed).

    The copy shares the token, base URL, timeout and HTTP session; the handler sleeps the
    429's Retry-After and sends the call again.
    """
    if any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in client.retry_handlers):
        return client
    return AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        session=client.session,
        trust_env_in_session=client.trust_env_in_session,
        headers=dict(client.headers),
        user_agent_prefix=None,
        logger=logging.getLogger("adapters.slack.web"),
        retry_handlers=[
            *client.retry_handlers,
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


def _str(mapping: Mapping[str, Any] | None, *keys: str) -> str:
    """A nested string field of a payload, "" when absent or not a string."""
    value: Any = mapping
    for key in keys:
        if not isinstance(value, Mapping):
            return ""
        value = value.get(key)
    return value if isinstance(value, str) else ""


def _replay_key(context: Mapping[str, Any] | None) -> str | None:
    """The verified signature of an HTTP request, as the core's event id (None in Socket Mode).

    A slash command, button or form has no event id of its own; a signed request replayed
    inside Slack's five-minute window carries the same signature, so the core, which records
    event ids with the work they caused, answers the replay without doing the work again.
    """
    key = context.get(REPLAY_KEY) if context is not None else None
    return f"sig:{key.removeprefix('v0=')}" if isinstance(key, str) and key else None


def _notice(text: str, language: str | None) -> Message:
    """One of the adapter's own notices (a module constant) as a message in `language`."""
    with speaking(language):
        return Message(text=_(text))


def _team_of(body: Mapping[str, Any]) -> str:
    return (
        _str(body, "team", "id")
        or _str(body, "team_id")
        or _str(body, "user", "team_id")
        or _str(body, "event", "team")
    )


class SlackAdapter:
    """Builds the bolt app and translates between Slack and the core."""

    def __init__(
        self,
        core: MentorBot,
        client: AsyncWebClient,
        *,
        signing_secret: str | None = None,
        users: UserDirectory | None = None,
        form_deadline: float = FORM_DEADLINE_SECONDS,
    ) -> None:
        self.core = core
        # Pushes from the outbox go through `client` as given: the delivery loop paces them
        # and treats a 429 itself. Everything answering a person (the bolt app, follow-ups,
        # edits, modals, users.info) goes through a client that waits out a 429's
        # Retry-After and tries again, so a burst of presses is slowed, never dropped.
        self.client = interactive_client(client)
        self.messenger = SlackMessenger(client)
        self._replies = SlackMessenger(self.client)
        self.users = users or UserDirectory(self.client)
        self.form_deadline = form_deadline
        self._inflight: set[asyncio.Task[Any]] = set()
        self.app = AsyncApp(
            client=self.client,
            # Socket Mode has no signatures to check; HTTP mode always does.
            signing_secret=signing_secret or "",
            request_verification_enabled=bool(signing_secret),
            # Listeners return as soon as what must be stored is stored; bolt then answers.
            # (False would make bolt poll every 10 ms for the ack, and cost a task per event.)
            process_before_response=True,
            logger=logging.getLogger("adapters.slack.bolt"),
        )
        self.app.command(SLASH_COMMAND)(self._on_command)
        self.app.action(re.compile(".*"))(self._on_action)
        self.app.view(re.compile(".*"))(self._on_view)
        self.app.event("message")(self._on_message)
        self.app.event("app_home_opened")(self._on_home_opened)
        self.app.error(self._on_error)

    # ------------------------------------------------------------------ bookkeeping

    @contextlib.contextmanager
    def _tracked(self) -> Iterator[None]:
        """Count the listener as in flight, so `drain` can wait for it (tests, shutdown)."""
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def drain(self) -> None:
        """Wait until every listener that has started has finished its work."""
        # bolt starts event listeners as tasks right after acknowledging; one turn of the
        # loop lets a task that was just scheduled register itself.
        await asyncio.sleep(0)
        while self._inflight:
            await asyncio.wait(set(self._inflight))

    def _spawn(self, what: str, work: Awaitable[object]) -> None:
        """Run a follow-up after the listener returns (and Slack has its acknowledgement)."""
        task = asyncio.ensure_future(self._guard(what, work))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _ask_core(self, inbound: Inbound) -> Reply:
        reply = await self.core.ahandle(inbound)
        if reply.needs_profile:
            # First contact (linked by email) or a missing time zone: now fetch the profile.
            actor = inbound.actor
            full = await self.users.actor(actor.workspace, actor.user_id)
            reply = await self.core.ahandle(replace(inbound, actor=full))
        return reply

    def _actor(self, body: Mapping[str, Any], user_id: str) -> Actor:
        return self.users.cheap_actor(_team_of(body), user_id)

    async def _on_error(self, error: Exception, body: Mapping[str, Any] | None = None) -> None:
        # bolt calls this for anything a listener raised; the adapter never crashes on it.
        log.error("Slack listener failed for %s: %r", _str(body, "type") or "request", error)

    async def _guard(self, what: str, work: Awaitable[object]) -> None:
        try:
            await work
        except SLACK_ERRORS as exc:
            code = slack_error_code(exc) if isinstance(exc, SlackApiError) else repr(exc)
            log.warning("Slack call failed while handling %s: %s", what, code)
        except Exception:
            log.exception("unexpected failure while handling %s", what)

    # ------------------------------------------------------------------ /mentor

    async def _on_command(
        self, ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        with self._tracked():
            text = _str(body, "text").strip()
            sub, _sep, rest = text.partition(" ")
            name = sub.lower().lstrip("/") or "help"
            rest = rest.strip()
            if name in ("goal", "goals") and rest.lower() == "add":
                await ack()
                self._spawn("the goal form", self._open_goal_form(body))
                return
            try:
                actor = self._actor(body, _str(body, "user_id"))
                inbound = Inbound(actor, "command", name, {}, rest, event_id=_replay_key(context))
                reply = await self._ask_core(inbound)
            finally:
                await ack()  # after the core stored what the command wrote
            self._spawn("a /mentor command", self._answer_command(body, reply))

    async def _answer_command(self, body: Mapping[str, Any], reply: Reply) -> None:
        user_id = _str(body, "user_id")
        response_url = _str(body, "response_url")
        for message in (*((reply.update,) if reply.update else ()), *reply.messages):
            if message.attachment is not None:
                await self._replies.post(user_id, message, recipient=user_id)
            await self._respond(response_url, message, recipient=user_id)
        # `/mentor alerts resolve 12 ...`: the alert's delivered copies show the new state.
        await self._update_copies(reply)

    async def _language_for(self, actor: Actor) -> str:
        """The language for words said before the core is asked (a stale button, the goal form).

        The person's own when they are known, else their Slack client's locale, else the
        programme's (`MentorBot.language_for`); looked up off the event loop.
        """
        return await asyncio.to_thread(self.core.language_for, actor)

    async def _open_goal_form(self, body: Mapping[str, Any]) -> None:
        # The form opens before the core is asked (Slack's 3 s trigger window), so its words
        # are in the language the Slack client is set to, when known.
        language = await self._language_for(self._actor(body, _str(body, "user_id")))
        with speaking(language):
            view = goal_modal()
        try:
            await self.client.views_open(trigger_id=_str(body, "trigger_id"), view=view)
        except SlackApiError as exc:
            # An expired trigger (the 3 s window) or a closed client: offer the typed way.
            log.warning("views.open failed: %s", slack_error_code(exc))
            await self._respond(
                _str(body, "response_url"),
                _notice(GOAL_FORM_FALLBACK, language),
                recipient=None,
            )

    async def _respond(
        self,
        response_url: str,
        message: Message,
        *,
        recipient: str | None,
        replace_original: bool = False,
        in_dm: bool = False,
    ) -> bool:
        """Answer through a response_url: ephemeral unless the core marked it public.

        With `replace_original` the message the interaction came from is replaced (in our DM,
        `in_dm`, it keeps the buttons that wait for the person's typed answer). Returns
        whether Slack took the post.
        """
        if not response_url:
            log.warning("no response_url to answer on")
            return False
        rendered = render_message(message, recipient=recipient, in_dm=in_dm)
        payload: dict[str, Any] = {"text": rendered.text, "blocks": rendered.blocks}
        if replace_original:
            payload["replace_original"] = True
        else:
            payload["response_type"] = "ephemeral" if message.private else "in_channel"
        response = await AsyncWebhookClient(
            response_url, session=self.client.session, retry_handlers=webhook_retry_handlers()
        ).send_dict(payload)
        if response.status_code != 200:
            # 404 used_url / expired_url: the URL's 5 uses or 30 minutes are spent. The words
            # are Slack's short code, never the person's.
            log.warning("response_url answered %s: %s", response.status_code, response.body)
            return False
        return True

    # ------------------------------------------------------------------ buttons

    async def _on_action(
        self, ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        with self._tracked():
            follow_up: Awaitable[object] | None = None
            try:
                follow_up = await self._run_action(body, ack, _replay_key(context))
            except Exception:
                log.exception("unexpected failure while handling a button")
            finally:
                if ack.response is None:  # nothing was stored, or the work failed
                    await ack()
            if follow_up is not None:
                self._spawn("a button", follow_up)

    async def _run_action(
        self, body: Mapping[str, Any], ack: AsyncAck, event_id: str | None = None
    ) -> Awaitable[object] | None:
        """Handle a press up to its `ack`, once the core has stored it; return the follow-up.

        Slack takes the ack as "handled": acking first and storing after would lose an answer
        the student saw accepted whenever the process dies in between (bench/crash.py measured
        it). The core takes milliseconds of Slack's three seconds; a press the core finishes
        later still counts, and pressing again is harmless.
        """
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions else {}
        user_id = _str(body, "user", "id")
        if not isinstance(action, Mapping) or not user_id:
            log.warning("block action without an action or a user")
            return None
        try:
            pressed = decode_action(_str(action, "action_id"), _str(action, "value"))
        except BadButton as exc:
            log.info("unknown button pressed: %s", exc)
            await ack()
            language = await self._language_for(self._actor(body, user_id))
            return self._respond(
                _str(body, "response_url"), _notice(STALE_BUTTON, language), recipient=user_id
            )
        actor = self._actor(body, user_id)
        if pressed.recipient and pressed.recipient != user_id:
            # The core also refuses other people's check-ins and alerts; this answers before
            # anything is looked up, through the response_url so only the clicker sees it.
            await ack()
            notice = _notice(NOT_YOURS, await self._language_for(actor))
            return self._respond(_str(body, "response_url"), notice, recipient=user_id)
        reply = await self._ask_core(
            Inbound(actor, "action", pressed.action, pressed.args, event_id=event_id)
        )
        await ack()
        if pressed.action == RESOLVE_ACTION and reply.error is None:
            # The core checked who may resolve it; the outcome and note come from a modal.
            return self._open_resolve_form(body, user_id, pressed.args.get("alert", ""), reply)
        if pressed.action == ANSWER_ACTION and reply.error is None:
            # The core checked the round is open and theirs to answer; the words come next.
            so_far = dict(reply.form_values).get("answer", "")
            return self._open_answer_form(
                body, user_id, pressed.args.get("round", ""), so_far, reply.language
            )
        if pressed.action == RECORD_ACTION and reply.error is None:
            # The core checked the meeting is theirs and held; the record comes from a modal.
            return self._open_record_form(body, user_id, pressed.args.get("meeting", ""), reply)
        return self._after_action(body, user_id, reply, own_dm=pressed.recipient == user_id)

    async def _open_resolve_form(
        self, body: Mapping[str, Any], user_id: str, alert_id: str, hint: Reply
    ) -> None:
        """Open the resolve modal; if Slack won't (an expired trigger), say how to type it."""
        with speaking(hint.language):
            view = resolve_modal(alert_id, outcome_choices())
        try:
            await self.client.views_open(trigger_id=_str(body, "trigger_id"), view=view)
        except SlackApiError as exc:
            log.warning("views.open (resolve) failed: %s", slack_error_code(exc))
            for message in hint.messages:
                await self._respond(_str(body, "response_url"), message, recipient=user_id)

    async def _open_answer_form(
        self, body: Mapping[str, Any], user_id: str, round_id: str, so_far: str, language: str
    ) -> None:
        """Open the answer modal with the press's trigger (valid for 3 s; the core took ms)."""
        with speaking(language):
            view = answer_modal(round_id, so_far)
        try:
            await self.client.views_open(trigger_id=_str(body, "trigger_id"), view=view)
        except SlackApiError as exc:
            log.warning("views.open (answer) failed: %s", slack_error_code(exc))
            await self._respond(
                _str(body, "response_url"),
                _notice(ANSWER_FORM_FALLBACK, language),
                recipient=user_id,
            )

    async def _open_record_form(
        self, body: Mapping[str, Any], user_id: str, meeting_id: str, hint: Reply
    ) -> None:
        """Open the session-record modal; if Slack won't, say how to type the record."""
        with speaking(hint.language):
            view = record_modal(meeting_id)
        try:
            await self.client.views_open(trigger_id=_str(body, "trigger_id"), view=view)
        except SlackApiError as exc:
            log.warning("views.open (record) failed: %s", slack_error_code(exc))
            for message in hint.messages:
                await self._respond(_str(body, "response_url"), message, recipient=user_id)

    async def _after_action(
        self, body: Mapping[str, Any], user_id: str, reply: Reply, *, own_dm: bool
    ) -> None:
        """Show the outcome of a press: the message edited in place, then any follow-ups."""
        # Each step on its own: a message deleted meanwhile must not swallow the follow-up.
        await self._guard("updating a pressed message", self._apply_update(body, user_id, reply))
        for message in reply.messages:
            await self._guard(
                "a follow-up", self._say_privately(body, user_id, message, own_dm=own_dm)
            )
        if _str(body, "container", "type") == "view":
            await self._guard("refreshing the App Home", self._publish_home(body, user_id))

    async def _apply_update(self, body: Mapping[str, Any], user_id: str, reply: Reply) -> None:
        """Replace the pressed message in place, then edit every other delivered copy of it.

        The pressed message is replaced through the interaction's response_url
        (`replace_original`), which costs no Web API call: chat.update is Tier 3 (about 50 a
        minute per workspace), and a 09:00 burst of answers would be throttled within
        seconds. It is never posted again: a second live copy would still show its buttons.
        """
        if reply.update is None:
            return
        container = body.get("container") or {}
        channel = _str(container, "channel_id")
        ts = _str(container, "message_ts")
        if _str(container, "type") == "message" and channel and ts:
            response_url = _str(body, "response_url")
            in_dm = not container.get("is_ephemeral") and channel.startswith("D")
            replaced = response_url and await self._respond(
                response_url,
                reply.update,
                recipient=user_id,
                replace_original=True,
                in_dm=in_dm,
            )
            if not replaced and not container.get("is_ephemeral"):
                # The URL is spent (5 uses, 30 minutes) or missing: edit the same message
                # by its ts instead (the interactive client waits out a 429). An edit, never
                # a new post: one live copy whatever happens.
                await self._replies.update(channel, ts, reply.update, recipient=user_id)
        await self._update_copies(reply, skip=(channel, ts))

    async def _say_privately(
        self, body: Mapping[str, Any], user_id: str, message: Message, *, own_dm: bool
    ) -> None:
        """Send a follow-up only the actor sees: into their DM with us, or ephemerally.

        `own_dm` says the pressed button was addressed to the actor, so a DM it sits in is
        theirs with us and a follow-up may be posted there.
        """
        container = body.get("container") or {}
        channel = _str(container, "channel_id")
        in_our_dm = (
            own_dm
            and _str(container, "type") == "message"
            and not container.get("is_ephemeral")
            and channel.startswith("D")
        )
        if in_our_dm:
            await self._replies.post(channel, message, recipient=user_id)
            return
        from_home = _str(container, "type") == "view"
        if from_home or message.attachment is not None:
            # Files only go to our DM; the App Home has nowhere else to answer.
            await self._replies.post(user_id, message, recipient=user_id)
            if from_home:
                return
        await self._respond(_str(body, "response_url"), message, recipient=user_id)

    # ------------------------------------------------------------------ modals

    async def _on_view(self, ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]) -> None:
        with self._tracked():
            view = body.get("view")
            user_id = _str(body, "user", "id")
            form = form_of(view) if isinstance(view, Mapping) else None
            if form is None or not user_id:
                await ack()
                return
            name, args = form

            async def submit() -> Reply:
                actor = self._actor(body, user_id)
                inbound = Inbound(actor, "form", name, args, event_id=_replay_key(context))
                return await self._ask_core(inbound)

            task = asyncio.ensure_future(submit())
            done, _pending = await asyncio.wait({task}, timeout=self.form_deadline)
            if done and task.exception() is None and task.result().error is not None:
                reply = task.result()
                with speaking(reply.language):
                    errors = form_errors(name, reply.error or "")
                await ack(response_action="errors", errors=errors)
                # Anything besides the refusal (crisis help, say) must still reach them.
                extra = tuple(m for m in reply.messages if m.text != reply.error)
                self._spawn("a form", self._dm_all(user_id, extra))
                return
            await ack()
            self._spawn("a form", self._finish_form(user_id, task))

    async def _finish_form(self, user_id: str, task: asyncio.Future[Reply]) -> None:
        reply = await task
        await self._update_copies(reply)
        await self._dm_all(user_id, reply.messages)

    async def _update_copies(self, reply: Reply, skip: tuple[str, str] = ("", "")) -> None:
        """Edit every delivered copy the reply names (an alert acted on by command or form)."""
        if reply.update is None:
            return
        for copy in reply.also_update:
            if copy.platform != "slack" or (copy.channel_id, copy.message_id) == skip:
                continue
            # One by one: a stale copy must not stop the others from being updated.
            await self._guard(
                f"updating copy {copy.channel_id}/{copy.message_id}",
                self._replies.update(copy.channel_id, copy.message_id, reply.update),
            )

    async def _dm_all(self, user_id: str, messages: tuple[Message, ...]) -> None:
        for message in messages:
            await self._replies.post(user_id, message, recipient=user_id)

    # ------------------------------------------------------------------ events

    async def _on_message(self, body: dict[str, Any]) -> None:
        with self._tracked():
            await self._guard("a direct message", self._run_message(body))

    async def _run_message(self, body: Mapping[str, Any]) -> None:
        """Store what the person wrote (bolt acknowledges when this returns), then answer."""
        event = body.get("event") or {}
        user_id = _str(event, "user")
        # Only people writing in our DM: no edits, deletions, bots or channel chatter. A file
        # shared with a caption still carries what the person wrote, so it counts as text.
        if (
            _str(event, "channel_type") != "im"
            or event.get("subtype") not in (None, "file_share")
            or event.get("bot_id")
            or not user_id
            or not _str(event, "text").strip()
        ):
            return
        actor = self._actor(body, user_id)
        inbound = Inbound(
            actor,
            "text",
            "message",
            {},
            _str(event, "text"),
            event_id=_str(body, "event_id") or None,
        )
        reply = await self._ask_core(inbound)
        self._spawn("a direct message", self._post_all(_str(event, "channel"), user_id, reply))

    async def _post_all(self, channel: str, user_id: str, reply: Reply) -> None:
        for message in (*((reply.update,) if reply.update else ()), *reply.messages):
            await self._replies.post(channel, message, recipient=user_id)

    async def _on_home_opened(self, body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        if _str(event, "tab") != "home" or not _str(event, "user"):
            return
        self._spawn(
            "the App Home",
            self._publish_home(body, _str(event, "user"), _str(body, "event_id") or None),
        )

    async def _publish_home(
        self, body: Mapping[str, Any], user_id: str, event_id: str | None = None
    ) -> None:
        actor = self._actor(body, user_id)
        reply = await self._ask_core(Inbound(actor, "action", HOME_ACTION, {}, event_id=event_id))
        if not reply.messages:
            return  # a retried event, already published
        with speaking(reply.language):
            view = render_home(reply.messages, recipient=user_id)
        await self.client.views_publish(user_id=user_id, view=view)


__all__ = ["GOAL_FORM", "SLASH_COMMAND", "SlackAdapter"]
