"""End to end over HTTP mode.

Signed payloads are POSTed to the adapter's real aiohttp server, handled by the real bolt
AsyncApp and AsyncWebClient, and the assertions look at what reached the loopback Slack.
"""

from __future__ import annotations

import json
import os
import time
from urllib.parse import urlencode

from sqlmodel import col, func, select

from bot.model import Message
from bot.outbox import Push, push_rows
from bot.people import person_by_email
from bot.services.alerts import render_alert
from mentorbot_fakes.slack_api import FakeSlack
from storage.tables import (
    Alert,
    Goal,
    Identity,
    MoodEntry,
    Outbox,
    Person,
    ProcessedEvent,
    StudentMessage,
)
from tests.adapters.slack.conftest import (
    ADMIN,
    MENTOR,
    STUDENT,
    Harness,
    all_text,
    buttons_of,
    payload,
    push_checkin,
)


def _count(harness: Harness, table: type) -> int:
    with harness.db.session() as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


async def test_checkin_flow_push_button_update_and_note(slack: Harness, clock) -> None:
    """A check-in push reaches the DM, the mood button replaces it in place, the note is kept."""
    checkin_id = push_checkin(slack.db, clock)
    stats = await slack.delivery.deliver_once(["slack"])
    assert stats.sent == 1
    [post] = slack.fake.calls_to("chat.postMessage")
    assert post.json_params["channel"] == STUDENT  # first contact: the user id opens the DM
    dm = slack.fake.dm_channel_id(STUDENT)
    assert slack.identity(STUDENT).dm_channel_id == dm  # kept for the next fan-out
    [checkin_message] = slack.dm_messages(STUDENT)
    assert "how are you feeling today" in all_text(checkin_message.blocks)
    assert len(buttons_of(checkin_message.blocks)) == 6  # 1-5 with faces, plus Skip

    status, name = await slack.press(checkin_message, "🙂 4")
    assert status == 200
    await slack.settle()
    # Replaced through the interaction's response_url: no chat.update (Tier 3) spent.
    [replaced] = slack.fake.response_posts_to(name)
    assert replaced.body is not None and replaced.body["replace_original"] is True
    assert slack.fake.calls_to("chat.update") == []
    assert "You answered 🙂 4/5" in checkin_message.text
    # The same message moves on to the note step: the moods are gone, Skip is offered.
    assert "Anything on your mind?" in checkin_message.text
    assert [b["text"]["text"] for _, b in buttons_of(checkin_message.blocks)] == ["Skip"]
    assert len(slack.dm_messages(STUDENT)) == 1  # edited in place, nothing new posted
    assert slack.fake.calls_to("chat.postMessage") == [post]
    assert slack.fake.calls_to("users.info") == []  # known by the roster's Slack id
    assert slack.checkin(checkin_id).mood == 4

    status, _ = await slack.dm("Busy week, but the lab report went well", event_id="Ev0NOTE001")
    assert status == 200
    await slack.settle()
    assert slack.checkin(checkin_id).note == "Busy week, but the lab report went well"
    assert "added that to today's check-in" in slack.dm_messages(STUDENT)[1].text
    assert slack.fake.calls_to("conversations.open") == []


async def test_second_push_uses_the_kept_dm_channel(slack: Harness, clock) -> None:
    """Once the DM channel is known, a push is one chat.postMessage to it, no lookups."""
    push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    with slack.db.session() as session:
        sam = person_by_email(session, "sam@example.edu")
        push_rows(
            session,
            [Push(dedupe_key="test:again", message=Message(text="Workshop at 4pm"), person=sam)],
            clock.now(),
            "UTC",
        )
    await slack.delivery.deliver_once(["slack"])
    posts = slack.fake.calls_to("chat.postMessage")
    assert [p.json_params["channel"] for p in posts] == [STUDENT, slack.fake.dm_channel_id(STUDENT)]
    assert slack.fake.calls_to("conversations.open") == []


async def test_retried_event_is_processed_once(slack: Harness) -> None:
    """The Events API retrying an event_id (X-Slack-Retry-Num) gets 200 but no second answer."""
    first, _ = await slack.dm("Thinking about next term", event_id="Ev0RETRY01")
    await slack.settle()
    again, _ = await slack.dm("Thinking about next term", event_id="Ev0RETRY01", retry=1)
    await slack.settle()
    assert (first, again) == (200, 200)
    assert len(slack.dm_messages(STUDENT)) == 1
    assert _count(slack, StudentMessage) == 1
    assert _count(slack, ProcessedEvent) == 1


async def test_mood_logged_from_a_button_in_an_ephemeral_answer(slack: Harness) -> None:
    """`/mentor mood` answers ephemerally with mood buttons; pressing one logs the mood."""
    status, name = await slack.command("mood")
    assert status == 200
    await slack.settle()
    [answer] = slack.fake.response_posts_to(name)
    assert answer.body is not None and answer.body["response_type"] == "ephemeral"
    assert "Last 14 days" in all_text(answer.body["blocks"])

    status, reply_name = await slack.press_ephemeral(answer.body["blocks"], "🙂 4")
    await slack.settle()
    [logged] = slack.fake.response_posts_to(reply_name)
    assert logged.body is not None and "Logged your mood: 🙂 4/5" in logged.body["text"]
    with slack.db.session() as session:
        [entry] = session.exec(select(MoodEntry)).all()
        assert entry.score == 4
    assert slack.fake.calls_to("chat.postMessage") == []  # ephemeral stays ephemeral


async def test_slash_command_acks_empty_and_answers_on_the_response_url(slack: Harness) -> None:
    """`/mentor mood 3 tired` is acknowledged at once and answered privately with the trend."""
    status, name = await slack.command("mood 3 tired")
    assert status == 200
    await slack.settle()
    [answer] = slack.fake.response_posts_to(name)
    assert answer.body is not None
    assert answer.body["response_type"] == "ephemeral"
    assert "Logged your mood: 😐 3/5" in answer.body["text"]


async def test_help_speaks_of_the_slash_command(slack: Harness) -> None:
    """`/mentor` alone shows help, with the core's /commands written as /mentor subcommands."""
    _, name = await slack.command("")
    await slack.settle()
    [answer] = slack.fake.response_posts_to(name)
    assert answer.body is not None
    text = all_text(answer.body["blocks"])
    assert "/mentor mood [1-5]" in text and "/mentor checkin" in text


async def test_goal_added_through_the_modal(slack: Harness) -> None:
    """`/mentor goal add` opens the modal; submitting it adds the goal and confirms in the DM."""
    await slack.command("goal add")
    await slack.settle()
    [opened] = slack.fake.calls_to("views.open")
    assert opened.json_params["view"]["callback_id"] == "mentorbot-form:goal.add"

    status, body = await slack.submit_goal("Finish my essay draft", "2026-12-01")
    await slack.settle()
    assert (status, body) == (200, "")  # an empty ack closes the modal
    with slack.db.session() as session:
        [goal] = session.exec(select(Goal)).all()
        assert goal.title == "Finish my essay draft"
        assert goal.due_date is not None and goal.due_date.isoformat() == "2026-12-01"
    [confirmation] = slack.dm_messages(STUDENT)
    assert "New goal #" in confirmation.text


async def test_goal_modal_shows_validation_errors(slack: Harness) -> None:
    """A past due date or a blank title come back as response_action errors; nothing is stored."""
    status, body = await slack.submit_goal("Finish my essay draft", "2020-01-01")
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert "already passed" in answer["errors"]["goal_due"]

    _, body = await slack.submit_goal("   ", None)
    assert "goal_title" in json.loads(body)["errors"]
    await slack.settle()
    assert _count(slack, Goal) == 0
    assert slack.dm_messages(STUDENT) == []


async def test_alert_delivered_to_mentors_and_acknowledged_everywhere(
    slack: Harness, clock
) -> None:
    """A low mood alerts Maya by DM; her Acknowledge edits every delivered copy and is recorded."""
    await slack.command("mood 1 rough day")
    await slack.settle()
    with slack.db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        student = session.get(Person, alert.student_id)
        admin = person_by_email(session, "admin@example.edu")
        # The escalation step would send the same alert to the backup mentor: a second copy.
        push_rows(
            session,
            [
                Push(
                    dedupe_key=f"alert:{alert.id}:{admin.id}:1",
                    message=render_alert(alert, student, admin),
                    person=admin,
                    kind="alert",
                    alert_id=alert.id,
                )
            ],
            clock.now(),
            "UTC",
        )
        alert_id = alert.id
    stats = await slack.delivery.deliver_once(["slack"])
    assert stats.sent == 2
    [to_maya] = slack.dm_messages(MENTOR)
    [to_admin] = slack.dm_messages(ADMIN)
    assert "Low mood: Sam Student" in to_maya.text
    assert {"Acknowledge", "I'll follow up"} <= {
        b["text"]["text"] for _, b in buttons_of(to_maya.blocks)
    }

    status, _ = await slack.press(to_maya, "Acknowledge", user=MENTOR)
    assert status == 200
    await slack.settle()
    updated = {
        (c.json_params["channel"], c.json_params["ts"]) for c in slack.fake.calls_to("chat.update")
    }
    # The pressed copy is replaced through the response_url; the other one is edited.
    assert updated == {(to_admin.channel, to_admin.ts)}
    for message in (to_maya, to_admin):
        assert "Maya Mentor acknowledged this" in message.text
        # Acknowledged, not resolved: what is left to do stays on every copy (issue 13).
        assert {b["text"]["text"] for _, b in buttons_of(message.blocks)} == {
            "I'll follow up",
            "Resolve",
        }
    with slack.db.session() as session:
        alert = session.get(Alert, alert_id)
        maya = person_by_email(session, "maya@example.edu")
        assert alert.status == "acknowledged" and alert.acknowledged_by == maya.id


async def test_button_pressed_by_someone_else_is_refused_privately(slack: Harness, clock) -> None:
    """Sam pressing a button sent to Maya changes nothing and only Sam hears about it."""
    await slack.command("mood 1")
    await slack.settle()
    await slack.delivery.deliver_once(["slack"])
    [to_maya] = slack.dm_messages(MENTOR)
    slack.fake.clear()

    _, name = await slack.press(to_maya, "Acknowledge", user=STUDENT)
    await slack.settle()
    [answer] = slack.fake.response_posts_to(name)
    assert answer.body is not None and "sent to someone else" in answer.body["text"]
    assert answer.body["response_type"] == "ephemeral"
    assert (
        slack.fake.calls_to("chat.update") == [] and slack.fake.calls_to("chat.postMessage") == []
    )
    with slack.db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        assert alert.status == "open"


async def test_unknown_and_malformed_buttons_get_a_clear_answer(slack: Harness) -> None:
    """A button the bot never rendered, or a tampered value, is answered, never a crash."""
    data = payload("block_actions")
    data["actions"][0]["action_id"] = "someone_elses_button"
    data["response_url"] = slack.fake.response_url("unknown")
    tampered = payload("block_actions")
    tampered["actions"][0]["value"] = "{not json"
    tampered["response_url"] = slack.fake.response_url("tampered")
    assert (await slack.interact(data))[0] == 200
    assert (await slack.interact(tampered))[0] == 200
    await slack.settle()
    for name in ("unknown", "tampered"):
        [answer] = slack.fake.response_posts_to(name)
        assert answer.body is not None and "doesn't do anything any more" in answer.body["text"]


async def test_unknown_action_name_is_answered_by_the_core(slack: Harness) -> None:
    """A well-formed button naming an action the core doesn't have gets the core's answer."""
    data = payload("block_actions")
    data["container"]["is_ephemeral"] = True
    data["actions"][0]["value"] = json.dumps({"a": "no.such.action", "g": {}, "to": STUDENT})
    data["response_url"] = slack.fake.response_url("gone")
    await slack.interact(data)
    await slack.settle()
    [answer] = slack.fake.response_posts_to("gone")
    assert answer.body is not None and "doesn't do anything any more" in answer.body["text"]


async def test_forged_and_stale_requests_get_401_and_change_nothing(slack: Harness) -> None:
    """A wrong signature or a timestamp over five minutes old is rejected before any work."""
    data = payload("slash_command")
    data["response_url"] = slack.fake.response_url("forged")
    body = urlencode(data)
    before = {t: _count(slack, t) for t in (MoodEntry, Identity, ProcessedEvent, Alert)}
    forged, _ = await slack.post(body, "application/x-www-form-urlencoded", secret="not-the-secret")
    stale, _ = await slack.post(
        body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 6 * 60
    )
    event = payload("message_im")
    forged_event, _ = await slack.post(json.dumps(event), "application/json", secret="nope")
    unsigned_status = 0
    async with slack.http.post(slack.url, data=body, headers={}) as response:
        unsigned_status = response.status
    await slack.settle()
    assert (forged, stale, forged_event, unsigned_status) == (401, 401, 401, 401)
    assert {t: _count(slack, t) for t in before} == before
    assert slack.fake.response_posts == []
    assert [c.method for c in slack.fake.calls if c.method != "auth.test"] == []


async def test_malformed_payload_is_refused_and_server_keeps_serving(slack: Harness) -> None:
    """A signed but malformed body gets a 4xx and the server still answers /healthz."""
    status, _ = await slack.post("payload=%7Bnot-json", "application/x-www-form-urlencoded")
    assert 400 <= status < 500
    status, _ = await slack.post('{"type": "event_callback"', "application/json")
    assert 400 <= status < 500
    health = f"http://127.0.0.1:{slack.service.port}/healthz"
    async with slack.http.get(health) as response:
        assert response.status == 200
        assert await response.json() == {"ok": True, "mode": "http", "pid": os.getpid()}


async def test_unknown_user_is_told_politely_and_nothing_is_stored(slack: Harness) -> None:
    """Someone not on the roster hears "you're not enrolled"; no identity or person is stored."""
    slack.fake.add_user("U0STRANGER", email="stranger@example.com", name="stranger")
    people = _count(slack, Person)
    _, name = await slack.command("mood 3", user="U0STRANGER")
    await slack.settle()
    [answer] = slack.fake.response_posts_to(name)
    assert answer.body is not None and "not enrolled" in answer.body["text"]
    assert slack.identity("U0STRANGER") is None
    assert _count(slack, Person) == people and _count(slack, MoodEntry) == 0


async def test_linked_by_email_on_first_contact_with_time_zone(slack: Harness, clock) -> None:
    """A Slack user without a roster id is linked by profile email; their Slack zone fills a gap."""
    with slack.db.session() as session:
        alex = person_by_email(session, "alex@example.edu")
        alex.timezone = None
        session.add(alex)
    slack.fake.add_user("U0ALEX0001", email="Alex@Example.edu", tz="Asia/Tokyo", name="alex")
    await slack.command("mood 4", user="U0ALEX0001")
    await slack.command("mood 5", user="U0ALEX0001")
    await slack.settle()
    identity = slack.identity("U0ALEX0001")
    assert identity is not None and identity.person_id == slack.person("alex@example.edu").id
    assert slack.person("alex@example.edu").timezone == "Asia/Tokyo"
    # Two commands, one profile lookup: users.info answers are cached.
    assert len(slack.fake.calls_to("users.info")) == 1


async def test_student_home_shows_trend_goals_and_resources(slack: Harness) -> None:
    """Opening the Home tab publishes the student's mood trend, goals and suggested resources."""
    await slack.command("goal add Read two papers by 2026-12-10")
    await slack.settle()
    status, _ = await slack.open_home(STUDENT, event_id="Ev0HOME001")
    assert status == 200
    await slack.settle()
    [publish] = slack.fake.calls_to("views.publish")
    assert publish.json_params["user_id"] == STUDENT
    text = all_text(publish.json_params["view"]["blocks"])
    for expected in ("Your mood", "Last 14 days", "Read two papers", "Suggested for you"):
        assert expected in text


async def test_mood_logged_from_the_home_tab(slack: Harness) -> None:
    """A mood button on the Home tab logs the mood, confirms by DM and refreshes the home."""
    await slack.open_home(STUDENT, event_id="Ev0HOME002")
    await slack.settle()
    status, _ = await slack.press_home(STUDENT, "😄 5")
    assert status == 200
    await slack.settle()
    with slack.db.session() as session:
        [entry] = session.exec(select(MoodEntry)).all()
        assert entry.score == 5
    [confirmation] = slack.dm_messages(STUDENT)
    assert "Logged your mood: 😄 5/5" in confirmation.text
    assert len(slack.fake.calls_to("views.publish")) == 2


async def test_mentor_home_lists_open_alerts_first_and_acts_on_them(slack: Harness) -> None:
    """Mentor Home: open alerts with buttons before the caseload; acting there updates the DM."""
    await slack.command("mood 1")
    await slack.settle()
    await slack.delivery.deliver_once(["slack"])
    await slack.open_home(MENTOR, event_id="Ev0HOME003")
    await slack.settle()
    view = slack.fake.home_views[MENTOR].view
    text = all_text(view["blocks"])
    assert text.index("Open alerts (1)") < text.index("Low mood") < text.index("Your mentees")
    assert {"Acknowledge", "I'll follow up"} <= {
        b["text"]["text"] for _, b in buttons_of(view["blocks"])
    }

    await slack.press_home(MENTOR, "I'll follow up")
    await slack.settle()
    [dm_copy] = slack.dm_messages(MENTOR)
    assert "Maya Mentor will follow up" in dm_copy.text
    # Followed up, not yet resolved: still listed, with its state (issue 13).
    home = all_text(slack.fake.home_views[MENTOR].view["blocks"])
    assert "Open alerts (1)" in home and "(being followed up)" in home
    with slack.db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        assert alert.status == "following"


async def test_url_verification_challenge_is_answered(slack: Harness) -> None:
    """Slack's signed url_verification request (HTTP mode setup) gets its challenge back."""
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"}
    )
    status, text = await slack.post(body, "application/json")
    assert status == 200 and "3eZbrw1aBm2rZgRNFdxV" in text


async def test_mydata_export_is_uploaded_as_a_file_in_the_dm(slack: Harness) -> None:
    """`/mentor mydata export` uploads the JSON export into the DM and says so privately."""
    _, name = await slack.command("mydata export")
    await slack.settle()
    [upload] = slack.fake.calls_to("files.completeUploadExternal")
    assert upload.json_params["channel_id"] == slack.fake.dm_channel_id(STUDENT)
    [stored] = [f for f in slack.fake.files.values() if f.completed]
    assert stored.filename == "mentorbot-my-data.json"
    assert json.loads(stored.content or b"{}")["person"]["email"] == "sam@example.edu"
    [answer] = slack.fake.response_posts_to(name)
    assert answer.body is not None and "sent as a file" in all_text(answer.body["blocks"])


async def test_slack_errors_while_answering_are_logged_not_raised(
    slack: Harness, clock, caplog
) -> None:
    """A spent response_url (404 used_url) is logged; the message is edited, never reposted."""
    fake: FakeSlack = slack.fake
    push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    [checkin_message] = slack.dm_messages(STUDENT)
    fake.response_url_uses = 0  # every response_url is already spent
    await slack.press(checkin_message, "😐 3")
    await slack.settle()
    assert "used_url" in caplog.text
    with slack.db.session() as session:
        assert session.exec(select(MoodEntry.score)).all() == [3]
    # Never posted again (a second live check-in would still show its mood buttons): the
    # same message is edited by its ts instead.
    assert slack.dm_messages(STUDENT) == [checkin_message]
    assert "You answered 😐 3/5" in checkin_message.text
    assert len(fake.calls_to("chat.update")) == 1
    assert fake.calls_to("chat.postMessage")[-1].json_params["channel"] == STUDENT


async def test_outbox_rows_record_platform_ids(slack: Harness, clock) -> None:
    """A delivered push stores Slack's ts and channel on its outbox row (for later updates)."""
    push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    [message] = slack.dm_messages(STUDENT)
    with slack.db.session() as session:
        [row] = session.exec(select(Outbox).where(col(Outbox.kind) == "checkin")).all()
        assert (row.platform_message_id, row.platform_channel_id) == (message.ts, message.channel)
        assert row.status == "sent"
