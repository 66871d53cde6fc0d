"""Group prompts that listen, end to end on Slack: Answer opens a modal, one summary in thread.

The real bolt app and AsyncWebClient against the loopback Slack; the prompt and the summary
come from `run_due_work` (the scheduler's tick) through the outbox and the real
SlackMessenger. No `channels:history`: answers come through the modal, never the thread.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.config import CoreSettings
from bot.services.groups import group_named
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes.slack_api import StoredMessage
from storage.tables import Alert, PromptAnswer, PromptRound
from tests.adapters.slack.conftest import ADMIN, MENTOR, Harness, all_text, buttons_of, payload
from tests.dbdump import snapshot
from tests.tick import run_due_work

GROUP = "Study skills"
CHANNEL = "C0STUDY001"
STUDENTS = {f"U0STUD000{i}": f"s{i}@example.edu" for i in range(1, 6)}
IDS = list(STUDENTS)
POSTED_AT = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
CRISIS_TEXT = "i want to end it all tonight"


@pytest.fixture
def group(slack: Harness, clock) -> Harness:
    """Study skills bound to a Slack channel, with five more students on Slack."""
    rows = "".join(
        f"{email},Student {email[1]},student,Europe/London,maya@example.edu,,{GROUP},{uid}\n"
        for uid, email in STUDENTS.items()
    )
    with slack.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups,"
                "slack_user_id\n" + rows
            ),
            clock.now(),
        )
        found = group_named(session, GROUP)
        found.platform, found.channel_id = "slack", CHANNEL
        session.add(found)
    for uid, email in STUDENTS.items():
        slack.fake.add_user(uid, email=email, tz="Europe/London", name=email.split("@")[0])
    slack.fake.add_channel(CHANNEL, name="study-skills", members=[MENTOR, *STUDENTS])
    return slack


async def posted(h: Harness, clock, settings: CoreSettings, options: str = "") -> StoredMessage:
    """Maya adds a daily prompt; at 10:30 the tick posts it in the channel."""
    name = f"prompt add {GROUP} * 10:30 UTC {options} Share one win".replace("  ", " ")
    _, reply = await h.command(name, user=MENTOR)
    await h.settle()
    [answer] = h.fake.response_posts_to(reply)
    assert "Added prompt" in str(answer.body)
    clock.set(POSTED_AT)
    run_due_work(h.db, settings, clock.now())
    assert (await h.delivery.deliver_once(["slack"])).sent == 1
    [post] = h.fake.messages_in(CHANNEL)
    return post


def submission(view: dict[str, Any], user: str, text: str) -> dict[str, Any]:
    """A view_submission of the answer modal the bot opened."""
    data = payload("view_submission")
    data["user"]["id"] = user
    data["view"].update(
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],
        state={"values": {"prompt_answer": {"value": {"type": "plain_text_input", "value": text}}}},
    )
    return data


def last_view(h: Harness) -> dict[str, Any]:
    call = h.fake.calls_to("views.open")[-1]
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


async def answer(h: Harness, post: StoredMessage, user: str, text: str) -> tuple[int, str]:
    """`user` presses Answer on the channel post and submits the modal."""
    opened = len(h.fake.calls_to("views.open"))
    status, _ = await h.press(post, "Answer", user=user)
    assert status == 200
    await h.settle()
    assert len(h.fake.calls_to("views.open")) == opened + 1
    view = last_view(h)
    assert view["callback_id"] == "mentorbot-form:prompt.answer"
    status, body = await h.interact(submission(view, user, text))
    await h.settle()
    return status, body


def close(h: Harness, clock, settings: CoreSettings) -> None:
    clock.set(POSTED_AT + timedelta(hours=24, minutes=1))
    run_due_work(h.db, settings, clock.now())


async def test_answers_a_crisis_answer_and_one_summary_in_the_thread(
    group: Harness, clock, core_settings: CoreSettings
) -> None:
    """Three answer by modal; the crisis one gets the card and alerts Maya; one summary."""
    post = await posted(group, clock, core_settings)
    assert [b["text"]["text"] for _, b in buttons_of(post.blocks)] == ["Answer"]
    assert "reply in this message's thread" in all_text(post.blocks)
    await answer(group, post, IDS[0], "Finished my essay plan")
    await answer(group, post, IDS[1], "Went running <!channel>")
    status, _ = await answer(group, post, IDS[2], CRISIS_TEXT)
    assert status == 200
    [thanks] = group.dm_messages(IDS[0])
    assert "Thanks, your answer is saved" in thanks.text
    # Edit (on the private thanks) opens the modal holding the answer so far.
    await group.press(thanks, "Edit", user=IDS[0])
    await group.settle()
    element = last_view(group)["blocks"][0]["element"]
    assert element["initial_value"] == "Finished my essay plan"
    crisis_dm = all_text(group.dm_messages(IDS[2])[-1].blocks)
    assert "You don't have to face this alone" in crisis_dm and "saved" not in crisis_dm
    with group.db.session() as session:
        assert session.exec(select(Alert)).one().kind == "crisis"
    await group.delivery.deliver_once(["slack"])  # the alert reaches Maya
    assert any(CRISIS_TEXT in all_text(m.blocks) for m in group.dm_messages(MENTOR))

    # Maya exports the answers: a CSV file in her DM, the crisis answer left out.
    with group.db.session() as session:
        prompt_id = session.exec(select(PromptRound.prompt_id)).one()
    await group.command(f"prompt export {prompt_id}", user=MENTOR)
    await group.settle()
    [csv_file] = [f for f in group.fake.files.values() if f.filename.endswith(".csv")]
    assert csv_file.completed and csv_file.channel_id == group.fake.dm_channel_id(MENTOR)
    content = (csv_file.content or b"").decode()
    assert "Finished my essay plan" in content and CRISIS_TEXT not in content

    close(group, clock, core_settings)
    run_due_work(group.db, core_settings, clock.now())  # a repeated tick adds nothing
    await group.delivery.deliver_once(["slack"])
    summaries = [m for m in group.fake.messages_in(CHANNEL) if m.thread_ts == post.ts]
    assert len(summaries) == 1
    text = all_text(summaries[0].blocks)
    assert "Student 1: Finished my essay plan" in text
    assert "Student 2: Went running &lt;!channel&gt;" in text  # no channel-wide ping
    assert CRISIS_TEXT not in text and "Student 3" not in text
    # Nothing the students wrote was posted outside the thread.
    for message in group.fake.messages_in(CHANNEL):
        if message.ts != summaries[0].ts:
            assert "essay" not in all_text(message.blocks)


async def test_anonymous_with_four_answers_is_withheld_and_maya_gets_the_count(
    group: Harness, clock, core_settings: CoreSettings
) -> None:
    """Four anonymous answers: nothing in the channel, a count in Maya's DM."""
    post = await posted(group, clock, core_settings, "anonymous")
    for index, uid in enumerate(IDS[:4]):
        await answer(group, post, uid, f"quiet win {index}")
    close(group, clock, core_settings)
    await group.delivery.deliver_once(["slack"])
    assert [m for m in group.fake.messages_in(CHANNEL) if m.thread_ts] == []
    told = all_text(group.dm_messages(MENTOR)[-1].blocks)
    assert "closed with 4 answers" in told and "quiet win" not in told


async def test_a_pulse_question_posts_a_distribution(
    group: Harness, clock, core_settings: CoreSettings
) -> None:
    """Five presses of 1-5 on the channel post; the thread gets the distribution."""
    post = await posted(group, clock, core_settings, "pulse")
    assert [b["text"]["text"] for _, b in buttons_of(post.blocks)] == ["1", "2", "3", "4", "5"]
    for uid, score in zip(IDS, ("4", "4", "3", "5", "4"), strict=True):
        status, name = await group.press(post, score, user=uid)
        assert status == 200
        await group.settle()
        [said] = group.fake.response_posts_to(name)
        assert f"you chose {score}" in str(said.body)  # ephemeral: only the presser
    assert group.fake.calls_to("views.open") == []
    close(group, clock, core_settings)
    await group.delivery.deliver_once(["slack"])
    [summary] = [m for m in group.fake.messages_in(CHANNEL) if m.thread_ts == post.ts]
    text = all_text(summary.blocks)
    assert "4  ███  3" in text and "Average 4.0 of 5." in text


async def test_refusals_change_nothing(group: Harness, clock, core_settings: CoreSettings) -> None:
    """Not a student of the group, an empty answer, a closed prompt: refused, nothing stored."""
    post = await posted(group, clock, core_settings)
    await group.command("help", user=ADMIN)  # linked first: first contact isn't what's tested
    await group.settle()
    before = snapshot(group.db)
    status, name = await group.press(post, "Answer", user=ADMIN)
    await group.settle()
    assert status == 200 and group.fake.calls_to("views.open") == []
    [said] = group.fake.response_posts_to(name)
    assert "only for students" in str(said.body)
    after = snapshot(group.db)
    # The signed request's replay key is recorded before the refusal, as for any event.
    assert {k: v for k, v in after.items() if k != "processed_event"} == {
        k: v for k, v in before.items() if k != "processed_event"
    }

    status, _ = await group.press(post, "Answer", user=IDS[0])
    await group.settle()
    view = last_view(group)
    status, body = await group.interact(submission(view, IDS[0], "   "))
    assert status == 200
    errors = json.loads(body)
    assert errors["response_action"] == "errors" and "empty" in errors["errors"]["prompt_answer"]
    with group.db.session() as session:
        assert session.exec(select(PromptAnswer)).all() == []

    clock.set(POSTED_AT + timedelta(hours=24))
    status, body = await group.interact(submission(view, IDS[0], "Too late now"))
    assert status == 200 and "closed" in json.loads(body)["errors"]["prompt_answer"]
    with group.db.session() as session:
        assert session.exec(select(PromptAnswer)).all() == []
