"""Rendering of every core message shape into Discord messages, within Discord's limits."""

from __future__ import annotations

import discord

from adapters.discord.custom_ids import decode_action
from adapters.discord.render import (
    MAX_CONTENT,
    MAX_DESCRIPTION,
    URGENT_COLOUR,
    DiscordMessage,
    mentions_for,
    render,
)
from bot.model import Attachment, Choice, Field, Link, Message


def buttons_of(part: DiscordMessage) -> list[dict]:
    """The button dicts of a part's view, in order."""
    view = part.view()
    if view is None:
        return []
    return [b for row in view.to_components() for b in row["components"]]


def test_text_only_is_plain_content() -> None:
    """A message with only text is plain content: no embed, no buttons, no file."""
    [part] = render(Message(text="Welcome back! Check-ins are on again."))
    assert part.content == "Welcome back! Check-ins are on again."
    assert part.embeds == [] and part.view() is None and part.discord_file() is None


def test_title_makes_an_embed() -> None:
    """A titled message is an embed with the title and the text as description."""
    [part] = render(Message(title="Your data", text="I store your check-ins."))
    [embed] = part.embeds
    assert part.content is None
    assert embed.title == "Your data" and embed.description == "I store your check-ins."


def test_fields_and_sparkline() -> None:
    """Fields become embed fields; a mood sparkline is shown monospaced in a code span."""
    message = Message(
        text="Logged your mood: 2/5.",
        fields=(Field("Last 14 days", "··▂▃▁▅"), Field("Why", "x" * 2000)),
    )
    [part] = render(message)
    spark, why = part.embeds[0].fields
    assert (spark.name, spark.value, spark.inline) == ("Last 14 days", "`··▂▃▁▅`", False)
    assert why.value is not None and len(why.value) == 1024 and why.value.endswith("…")


def test_links_are_fields_with_url_and_description() -> None:
    """Each link is a field named after it, holding the URL and its description."""
    message = Message(
        text="These might help:",
        links=(
            Link("Exam stress", "https://example.edu/exam", "Tips for calm revision."),
            Link("Sleep", "https://example.edu/sleep"),
        ),
    )
    fields = render(message)[0].embeds[0].fields
    assert [f.name for f in fields] == ["🔗 Exam stress", "🔗 Sleep"]
    assert fields[0].value == "https://example.edu/exam\nTips for calm revision."
    assert fields[1].value == "https://example.edu/sleep"


def test_choices_become_persistent_buttons_with_styles() -> None:
    """Choices are buttons in rows of five; styles map; custom ids decode to the action."""
    moods = [
        Choice(f"{n}", "checkin.mood", (("checkin", "42"), ("score", str(n)))) for n in range(1, 6)
    ]
    choices = (
        *moods,
        Choice("Acknowledge", "alert.ack", (("alert", "7"),), style="primary"),
        Choice("Delete", "x.delete", style="danger"),
    )
    [part] = render(Message(text="How are you?", choices=choices))
    view = part.view()
    assert view is not None and view.timeout is None and view.is_persistent()
    rows = view.to_components()
    assert [len(r["components"]) for r in rows] == [5, 2]
    buttons = [b for r in rows for b in r["components"]]
    assert [b["style"] for b in buttons[4:]] == [
        discord.ButtonStyle.secondary.value,
        discord.ButtonStyle.primary.value,
        discord.ButtonStyle.danger.value,
    ]
    assert decode_action(buttons[2]["custom_id"]) == (
        "checkin.mood",
        {"checkin": "42", "score": "3"},
    )
    assert all(len(b["custom_id"]) <= 100 for b in buttons)


def test_identical_choices_get_unique_custom_ids_and_long_labels_are_cut() -> None:
    """Discord refuses duplicate custom ids and labels over 80; both are handled."""
    twice = Choice("L" * 120, "help.request")
    buttons = buttons_of(render(Message(text="?", choices=(twice, twice)))[0])
    assert buttons[0]["custom_id"] != buttons[1]["custom_id"]
    assert decode_action(buttons[1]["custom_id"]) == ("help.request", {})
    assert len(buttons[0]["label"]) == 80 and buttons[0]["label"].endswith("…")


def test_choice_too_long_for_a_custom_id_is_left_out_with_a_note() -> None:
    """An action whose id can't fit 100 characters is not shown, and the text says so."""
    huge = Choice("Huge", "x.y", (("blob", "z" * 200),))
    [part] = render(Message(text="Pick one", choices=(huge, Choice("Fine", "help.request"))))
    assert [b["label"] for b in buttons_of(part)] == ["Fine"]
    assert part.content is not None and "can't be shown on Discord" in part.content


def test_attachment_is_a_fresh_file_each_time() -> None:
    """The /mydata export is uploaded as a file; every send gets its own discord.File."""
    export = Attachment(filename="mentorbot-my-data.json", content='{"name": "Dana"}')
    [part] = render(Message(text="Here is everything.", attachment=export))
    first, second = part.discord_file(), part.discord_file()
    assert first is not None and second is not None and first is not second
    assert first.filename == "mentorbot-my-data.json"
    assert first.fp.read() == b'{"name": "Dana"}'
    assert part.send_kwargs(mentions_for(None))["file"].filename == "mentorbot-my-data.json"


def test_urgent_is_red_with_an_urgent_line() -> None:
    """Urgent messages are red embeds with a visible urgent line (shown in notifications)."""
    [part] = render(Message(text="🚨 URGENT CRISIS: Dana", urgent=True))
    assert part.content == "🚨 **Urgent**"
    assert part.embeds[0].colour == URGENT_COLOUR


def test_more_than_25_choices_continue_on_more_options_messages() -> None:
    """Past 25 buttons (5 rows of 5) the rest go on 'More options' messages; none is lost."""
    choices = tuple(Choice(f"Option {n}", "pick", (("n", str(n)),)) for n in range(60))
    parts = render(Message(title="Pick", text="Many options", choices=choices))
    assert len(parts) == 3
    assert [len(buttons_of(p)) for p in parts] == [25, 25, 10]
    assert parts[1].content == "More options (2/3):" and parts[2].content == "More options (3/3):"
    rows = parts[0].view().to_components()  # type: ignore[union-attr]
    assert len(rows) == 5 and all(len(r["components"]) == 5 for r in rows)
    labels = [b["label"] for p in parts for b in buttons_of(p)]
    assert labels == [f"Option {n}" for n in range(60)]


def test_long_text_is_split_without_losing_any() -> None:
    """Long text continues over several messages within Discord's limits, all of it kept."""
    words = " ".join(f"word{n}" for n in range(2000))  # ~ 17,000 characters
    plain = render(Message(text=words))
    assert len(plain) > 1 and all(len(p.content or "") <= MAX_CONTENT for p in plain)
    assert " ".join(p.content or "" for p in plain).split() == words.split()

    titled = render(Message(title="Long", text=words, choices=(Choice("OK", "ok"),)))
    assert all(len(p.embeds[0].description or "") <= MAX_DESCRIPTION for p in titled)
    assert titled[0].embeds[0].title == "Long" and titled[1].embeds[0].title is None
    assert " ".join(p.embeds[0].description or "" for p in titled).split() == words.split()
    # The buttons come after the text, on the last part.
    assert [bool(p.buttons) for p in titled] == [False] * (len(titled) - 1) + [True]


def test_many_fields_spread_over_embeds_within_limits() -> None:
    """More than 25 fields (a big caseload) continue in further embeds; 6000 chars per embed."""
    fields = tuple(Field(f"Student {n}", "y" * 900) for n in range(40))
    parts = render(Message(title="Your mentees", text="40 student(s):", fields=fields))
    embeds = [p.embeds[0] for p in parts]
    assert sum(len(e.fields) for e in embeds) == 40
    assert all(len(e.fields) <= 25 and len(e) <= 6000 for e in embeds)


def test_mentions_only_ever_reach_the_recipient() -> None:
    """Allowed mentions never parse @everyone, roles or users; only the recipient may be pinged."""
    assert mentions_for("301000000000000002").to_dict() == {
        "parse": [],
        "users": [301000000000000002],
    }
    assert mentions_for(None).to_dict() == {"parse": []}


def test_edit_clears_what_the_new_message_lacks() -> None:
    """Editing in place sets content, embeds, buttons and files explicitly (removing old ones)."""
    [part] = render(Message(text="No note this time."))
    kwargs = part.edit_kwargs(mentions_for(None))
    assert kwargs["content"] == "No note this time."
    assert kwargs["embeds"] == [] and kwargs["view"] is None and kwargs["attachments"] == []
