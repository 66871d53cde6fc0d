"""No student's words, names or tokens in any log line: the Slack flows at DEBUG.

The HTTP-mode harness drives a slash command with a note, crisis text in a DM, a check-in
press and note, the goal form, the mentor's alert and acknowledgement, and requests Slack
would never send (a bad signature, an old timestamp, a malformed body). Everything logged is
captured as production writes it, with the libraries capped and with every logger at DEBUG.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest

from tests.adapters.slack.conftest import MENTOR, SECRET, STUDENT, Harness, payload, push_checkin
from tests.log_capture import captured_logs, leaks

CRISIS = "i want to end it all tonight"
NOTE = "my landlord evicted me quietly"
CHECKIN_NOTE = "the zebra essay broke me"
GOAL = "finish the walrus dissertation"
STRANGER_WORDS = "unsigned secret confession"


@pytest.mark.parametrize("uncapped", [False, True], ids=["production", "every-logger-debug"])
async def test_slack_flows_at_debug_log_no_words_names_or_tokens(
    slack: Harness, clock, uncapped: bool
) -> None:
    """Everything the Slack flows log at DEBUG is free of what students wrote and who they are."""
    with captured_logs(uncapped=uncapped) as logs:
        status, _ = await slack.command(f"mood 1 {NOTE}")
        assert status == 200
        await slack.dm(CRISIS, event_id="Ev0LEAK001")
        push_checkin(slack.db, clock)
        await slack.delivery.deliver_once()
        await slack.settle()
        prompt = slack.dm_messages(STUDENT)[-1]
        await slack.press(prompt, "2")
        await slack.settle()
        await slack.dm(CHECKIN_NOTE, event_id="Ev0LEAK002")
        await slack.submit_goal(GOAL, None)
        await slack.settle()
        await slack.delivery.deliver_once()
        alerts = [m for m in slack.dm_messages(MENTOR) if "Acknowledge" in str(m.blocks)]
        assert alerts, "the mentor got no alert to acknowledge"
        await slack.press(alerts[0], "Acknowledge", user=MENTOR)
        await slack.settle()
        # Requests Slack would not send: a wrong secret, a stale timestamp, a broken body.
        body = urlencode({**payload("slash_command"), "text": f"mood 1 {STRANGER_WORDS}"})
        assert (await slack.post(body, "application/x-www-form-urlencoded", secret="nope"))[
            0
        ] == 401
        stale = int(time.time()) - 3600
        status, _ = await slack.post(body, "application/x-www-form-urlencoded", timestamp=stale)
        assert status == 401
        await slack.post(f'{{"event": {{"text": "{STRANGER_WORDS}"', "application/json")
        await slack.settle()
    text = logs.getvalue()
    assert "alert" in text  # the capture works: our own INFO lines are there
    secrets = [
        CRISIS,
        NOTE,
        CHECKIN_NOTE,
        GOAL,
        STRANGER_WORDS,
        "end it all",
        "landlord",
        "zebra",
        "walrus",
        "confession",
        "Sam Student",
        "Maya Mentor",
        "Avery Admin",
        "sam.student",
        "sam@example.edu",
        "maya@example.edu",
        slack.fake.token,
        SECRET,
    ]
    found = leaks(text, secrets)
    assert found == [], "\n".join(found)
