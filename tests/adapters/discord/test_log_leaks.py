"""No student's words, names or tokens in any log line: the Discord flows at DEBUG.

The real discord.py client against the loopback fake: a /mood command with a note, crisis
text in a DM, a check-in press and its note, the mentor's alert and acknowledgement. All log
output is captured as production writes it, with libraries capped and with every logger at
DEBUG (the gateway then logs every event payload, the HTTP client every request body).
"""

from __future__ import annotations

import pytest

from adapters.discord.messenger import DiscordMessenger
from mentorbot_fakes.discord_api import FakeDiscord
from tests.adapters.discord.conftest import DANA, MORGAN, StartBot, World
from tests.adapters.discord.test_discord_e2e import button_ending, buttons, slash
from tests.log_capture import captured_logs, leaks

CRISIS = "i want to end it all tonight"
NOTE = "my landlord evicted me quietly"
CHECKIN_NOTE = "the zebra essay broke me"


@pytest.mark.parametrize("uncapped", [False, True], ids=["production", "every-logger-debug"])
async def test_discord_flows_at_debug_log_no_words_names_or_tokens(
    fake: FakeDiscord, world: World, start_bot: StartBot, uncapped: bool
) -> None:
    """Everything the Discord flows log at DEBUG is free of what students wrote and who they are."""
    with captured_logs(uncapped=uncapped) as logs:
        client = await start_bot()
        delivery = world.delivery(DiscordMessenger(client))
        inter = await slash(fake, "mood", {"score": 1, "note": NOTE})
        await fake.wait_for_interaction_response(inter)
        await fake.dispatch_message_create(None, DANA, CRISIS)
        await fake.wait_for_call("POST", rf"^/channels/{fake.dm_channels[DANA]}/messages$")
        world.queue_checkin("dana@example.edu")
        await delivery.deliver_once()
        prompt = next(
            m for m in reversed(fake.messages_sent) if m["embeds"][0]["title"] == "Check-in"
        )
        inter = await fake.dispatch_button(
            button_ending(prompt, " 2"), user_id=DANA, message_id=prompt["id"]
        )
        await fake.wait_for_interaction_response(inter)
        await fake.dispatch_message_create(None, DANA, CHECKIN_NOTE)
        await fake.wait_for_call("POST", rf"^/channels/{fake.dm_channels[DANA]}/messages$", count=3)
        await delivery.deliver_once()
        to_morgan = [
            m
            for m in fake.messages_sent
            if m["channel_id"] == fake.dm_channels.get(MORGAN) and "Acknowledge" in buttons(m)
        ]
        assert to_morgan, "the mentor got no alert to acknowledge"
        inter = await fake.dispatch_button(
            buttons(to_morgan[0])["Acknowledge"], user_id=MORGAN, message_id=to_morgan[0]["id"]
        )
        await fake.wait_for_interaction_response(inter)
    text = logs.getvalue()
    assert "alert" in text  # the capture works: our own INFO lines are there
    secrets = [
        CRISIS,
        NOTE,
        CHECKIN_NOTE,
        "end it all",
        "landlord",
        "zebra",
        "Dana Student",
        "Morgan Mentor",
        "dana@example.edu",
        "morgan@example.edu",
        fake.token,
        fake.token.split(".")[-1],
    ]
    found = leaks(text, secrets)
    assert found == [], "\n".join(found)
