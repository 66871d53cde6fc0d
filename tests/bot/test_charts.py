"""The shared chart drawing: PNG and SVG with words beside them."""

from __future__ import annotations

from bot.charts import PALETTE, Series, bar_chart, describe_series, line_chart
from bot.model import Attachment, Message

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_line_chart_draws_png_and_inline_svg_with_alt_text() -> None:
    """A line chart is a real PNG, an <svg> element for HTML, and carries its alt text."""
    chart = line_chart(
        "Average mood",
        ["wk 1", "wk 2", "wk 3"],
        [Series("Group A", (3.0, None, 4.0))],
        x_label="Week",
        y_label="Mood (1-5)",
        alt_text="Average mood: latest 4.",
        y_range=(1, 5),
    )
    assert chart.png.startswith(PNG_MAGIC)
    assert chart.svg.startswith("<svg")
    assert "Week" in chart.svg and "Mood (1-5)" in chart.svg  # axes are labelled
    assert chart.alt_text == "Average mood: latest 4."


def test_bar_chart_uses_the_colour_blind_safe_palette() -> None:
    """Bars are filled with Okabe-Ito colours, never matplotlib's default cycle."""
    chart = bar_chart(
        "Moods",
        ["1", "2", "3", "4", "5"],
        [Series("This week", (1, 2, 3, None, 5)), Series("Last week", (0, 1, 1, 2, 2))],
        x_label="Mood",
        y_label="Check-ins",
        alt_text="Most moods were 5.",
    )
    svg = chart.svg.lower()
    assert PALETTE[0].lower() in svg and PALETTE[1].lower() in svg
    assert "#1f77b4" not in svg  # matplotlib's default blue


def test_describe_series_names_latest_lowest_and_highest() -> None:
    """The text twin of a series says its latest, lowest and highest points and when."""
    text = describe_series("Response rate %", ["a", "b", "c"], [80, None, 60])
    assert text == "Response rate %: latest 60 (c); lowest 60 (c); highest 80 (a)."
    assert describe_series("Empty", ["a"], [None]) == "Empty: no data."


def test_binary_attachment_survives_the_outbox_round_trip() -> None:
    """A PNG attachment serialises as base64 and comes back byte for byte with its alt text."""
    png = PNG_MAGIC + bytes(range(256))
    message = Message(
        text="Chart", attachment=Attachment("mood.png", png, "image/png", alt_text="Mostly 3.")
    )
    back = Message.from_json(message.to_json())
    assert back.attachment == message.attachment
    assert back.attachment is not None and back.attachment.data == png


def test_text_attachment_round_trip_is_unchanged() -> None:
    """A text attachment (an export, an invite) stays text through the outbox."""
    message = Message(text="x", attachment=Attachment("a.ics", "BEGIN:VCALENDAR", "text/calendar"))
    back = Message.from_json(message.to_json())
    assert back.attachment is not None and back.attachment.content == "BEGIN:VCALENDAR"


def test_drawn_words_fall_back_to_english_where_the_script_cannot_be_drawn() -> None:
    """Drawn words fall back to English where the script can't be drawn; alt text never does.

    Arabic and Hindi are never drawn (matplotlib can't shape them); Chinese needs a CJK font.
    """
    from bot.charts import can_draw, drawing_language, drawn_words
    from bot.i18n import _, speaking

    with speaking("es"):
        assert drawing_language() == "es"
    with speaking("ar"):
        assert drawing_language() == "en"
    with speaking("hi"):
        assert drawing_language() == "en"
    with speaking("zh_Hans"):
        assert drawing_language() == ("zh_Hans" if can_draw("zh_Hans") else "en")
        words = describe_series(_("Average mood"), ["a"], [3.5])
        with drawn_words():
            title = _("Average mood")
        chart = line_chart(
            title, ["a"], [Series(title, (3.5,))], x_label="x", y_label="y", alt_text=words
        )
    assert chart.alt_text == "平均心情：最新 3.5（a）；最低 3.5（a）；最高 3.5（a）。"
    if not can_draw("zh_Hans"):
        assert "Average mood" in chart.svg


def test_a_cached_tight_box_draws_the_same_picture() -> None:
    """A one-line chart drawn again with its measured tight box is byte-for-byte the same PNG."""
    from bot import charts

    def draw(values: tuple[float | None, ...]) -> bytes:
        return line_chart(
            "Average mood: Your students",
            ["wk 1", "wk 2", "wk 3", "wk 4"],
            [Series("All in report", values)],
            x_label="Week",
            y_label="Mood (1-5)",
            alt_text="words",
            y_range=(1, 5),
            formats=("png",),
        ).png

    charts._TIGHT_BOXES.clear()
    first = draw((3.0, None, 4.0, 2.5))
    assert charts._TIGHT_BOXES  # measured once ...
    assert draw((3.0, None, 4.0, 2.5)) == first  # ... and reused for the same picture
    other = draw((1.0, None, 5.0, 4.5))  # same layout, other values: the box is reused
    charts._TIGHT_BOXES.clear()
    assert draw((1.0, None, 5.0, 4.5)) == other  # as measured afresh
