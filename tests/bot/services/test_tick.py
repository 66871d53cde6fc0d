"""The scheduler's work up to `now`.

Opening check-ins in bulk, once, in every zone; catch-up; quiet hours, pauses and breaks.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import CoreSettings, SchedulingRules
from bot.model import Message
from bot.services.breaks import add_break
from bot.services.occurrences import OccurrencesOutcome
from storage.db import Database
from tests.scheduling.world import (
    add_person,
    add_students,
    checkins,
    outbox,
    schedule,
    set_watermark,
    tick,
    utc,
)

OPEN, Occ = "open_due_checkins", OccurrencesOutcome


def run_ticks(db: Database, start: datetime, end: datetime, step: timedelta) -> None:
    """Tick like the scheduler would, every `step`, from `start` to `end`."""
    at = start
    while at <= end:
        tick(db, at)
        at += step


def local_dates(db: Database, person_id: int) -> list[str]:
    """The occurrence dates of a person's check-ins."""
    return [c.occurrence_key.split(":")[1] for c in checkins(db, person_id)]


def test_occurrence_opens_checkins_and_queues_prompts_with_dedupe_keys(db) -> None:
    """At 09:00 each student due gets one open check-in and one outbox row keyed by its cause."""
    sid = schedule(db, days="*", local_time="09:00")
    a = add_person(db, "a@example.edu", "UTC", slack_id="UA")
    b = add_person(db, "b@example.edu", "UTC")
    set_watermark(db, utc(2026, 11, 23, 8, 59))
    report = tick(db, utc(2026, 11, 23, 9, 0))
    assert report.opened == 2
    rows = outbox(db, "checkin")
    assert {r.dedupe_key for r in rows} == {
        f"checkin:{sid}:{a}:2026-11-23",
        f"checkin:{sid}:{b}:2026-11-23",
    }
    slack_row = next(r for r in rows if r.person_id == a)
    assert (slack_row.platform, slack_row.user_id, slack_row.channel_id) == ("slack", "UA", "DUA")
    prompt = Message.from_json(slack_row.payload)
    assert "how are you feeling" in prompt.text and len(prompt.choices) == 6
    [checkin] = checkins(db, a)
    assert (checkin.status, checkin.occurrence_key) == ("open", f"{sid}:2026-11-23")
    assert checkin.remind_at == utc(2026, 11, 23, 11, 0)
    assert checkin.closes_at == utc(2026, 11, 24, 9, 0)


def test_the_same_occurrence_twice_changes_nothing(db) -> None:
    """A second tick at the same moment (retry, restart) adds no check-in and no outbox row."""
    schedule(db, days="*", local_time="09:00")
    add_students(db, 5)
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    first = tick(db, utc(2026, 11, 23, 9, 0))
    set_watermark(db, utc(2026, 11, 23, 8, 0))  # as if the first run never recorded it
    again = tick(db, utc(2026, 11, 23, 9, 0))
    assert (first.opened, again.opened) == (5, 0)
    assert sum(o.existing for o in again.outcome(OPEN, Occ).occurrences) == 5
    assert len(checkins(db)) == 5 and len(outbox(db)) == 5


def test_far_apart_zones_on_one_schedule_each_get_their_local_morning(db) -> None:
    """UTC+13 (Auckland, Tongatapu) and UTC-10 (Honolulu) students get Monday 09:00 local."""
    schedule(db, days="mon-fri", local_time="09:00")
    akl = add_person(db, "akl@example.edu", "Pacific/Auckland")
    tbu = add_person(db, "tbu@example.edu", "Pacific/Tongatapu")
    hnl = add_person(db, "hnl@example.edu", "Pacific/Honolulu")
    set_watermark(db, utc(2026, 11, 20, 0, 0))  # a Friday, UTC
    run_ticks(db, utc(2026, 11, 20, 0, 0), utc(2026, 11, 24, 0, 0), timedelta(minutes=30))
    # Auckland's Friday 09:00 was Thursday UTC, before the window; its weekend is skipped.
    assert local_dates(db, akl) == ["2026-11-23", "2026-11-24"]
    assert local_dates(db, tbu) == ["2026-11-23", "2026-11-24"]
    assert local_dates(db, hnl) == ["2026-11-20", "2026-11-23"]
    [akl_monday, _] = checkins(db, akl)
    [_, hnl_monday] = checkins(db, hnl)
    assert akl_monday.due_at == utc(2026, 11, 22, 20, 0)  # Sunday evening UTC
    assert hnl_monday.due_at == utc(2026, 11, 23, 19, 0)  # Monday evening UTC


def test_dst_weekends_fire_once_per_day_in_london_and_new_york(db) -> None:
    """Ticking through both 2026 spring-forward and fall-back weekends: one check-in a day."""
    schedule(db, days="*", local_time="02:30")
    lon = add_person(db, "lon@example.edu", "Europe/London", quiet=("00:00", "00:00"))
    nyc = add_person(db, "nyc@example.edu", "America/New_York", quiet=("00:00", "00:00"))
    for first, last in (
        (utc(2026, 3, 7, 0), utc(2026, 3, 10, 0)),  # New York springs forward on 8 March
        (utc(2026, 3, 28, 0), utc(2026, 3, 31, 0)),  # London on 29 March
        (utc(2026, 10, 24, 0), utc(2026, 10, 27, 0)),  # London falls back on 25 October
        (utc(2026, 10, 31, 0), utc(2026, 11, 3, 0)),  # New York on 1 November
    ):
        set_watermark(db, first)
        run_ticks(db, first, last, timedelta(minutes=15))
    lon_dates = local_dates(db, lon)
    nyc_dates = local_dates(db, nyc)
    assert len(lon_dates) == len(set(lon_dates)) and len(nyc_dates) == len(set(nyc_dates))
    assert {"2026-03-29", "2026-10-25"} <= set(lon_dates)
    assert {"2026-03-08", "2026-11-01"} <= set(nyc_dates)
    nyc_spring = next(c for c in checkins(db, nyc) if c.occurrence_key.endswith("2026-03-08"))
    assert nyc_spring.due_at is not None
    assert nyc_spring.due_at.astimezone(ZoneInfo("America/New_York")).hour == 3  # 03:30 EDT


def test_catch_up_inside_the_grace_window_sends(db) -> None:
    """Down from 08:00 to 10:30: the 09:00 check-in (90 min late) is still sent."""
    schedule(db, days="*", local_time="09:00")
    student = add_person(db, "kim@example.edu", "UTC")
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    report = tick(db, utc(2026, 11, 23, 10, 30))
    assert (report.opened, report.not_sent) == (1, 0)
    assert [c.status for c in checkins(db, student)] == ["open"]
    assert len(outbox(db, "checkin")) == 1


def test_catch_up_outside_the_grace_window_records_not_sent(db) -> None:
    """Down from 08:00 to 11:30: the 09:00 check-in is recorded as not sent, with the reason."""
    schedule(db, days="*", local_time="09:00")
    student = add_person(db, "kim@example.edu", "UTC")
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    report = tick(db, utc(2026, 11, 23, 11, 30))
    assert (report.opened, report.not_sent) == (0, 1)
    [checkin] = checkins(db, student)
    assert checkin.status == "not_sent" and checkin.closed_reason is not None
    assert "150 min late" in checkin.closed_reason and "120-minute grace" in checkin.closed_reason
    assert outbox(db) == []
    assert any("recorded as not sent" in line for line in report.lines())


def test_grace_window_is_a_setting(db) -> None:
    """With a 3-hour grace window, 150 minutes late is still sent."""
    schedule(db, days="*", local_time="09:00")
    add_person(db, "kim@example.edu", "UTC")
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    settings = CoreSettings(scheduling=SchedulingRules(catchup_grace_minutes=180))
    assert tick(db, utc(2026, 11, 23, 11, 30), settings).opened == 1


def test_long_outage_sends_only_recent_and_records_the_rest(db) -> None:
    """Down for three days: older occurrences are not sent, today's within grace is sent."""
    schedule(db, days="*", local_time="09:00")
    student = add_person(db, "kim@example.edu", "UTC")
    set_watermark(db, utc(2026, 11, 20, 12, 0))
    tick(db, utc(2026, 11, 23, 9, 30))
    assert [(c.occurrence_key.split(":")[1], c.status) for c in checkins(db, student)] == [
        ("2026-11-21", "not_sent"),
        ("2026-11-22", "not_sent"),
        ("2026-11-23", "open"),
    ]


def test_a_schedule_added_during_downtime_catches_up_nothing_before_it_existed(db) -> None:
    """A schedule created at 10:00 for 09:00 does not fire for 09:00 today on restart."""
    schedule(db, days="*", local_time="09:00", created_at=utc(2026, 11, 23, 10, 0))
    add_person(db, "kim@example.edu", "UTC")
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    assert (
        tick(db, utc(2026, 11, 23, 10, 30))
        .outcome("open_due_checkins", OccurrencesOutcome)
        .occurrences
        == []
    )


def test_quiet_hours_defer_the_prompt_and_the_reminder(db) -> None:
    """A 07:00 check-in for someone quiet until 08:00 is queued for 08:00; reminder after."""
    schedule(db, days="*", local_time="07:00", reminder_minutes=60)
    student = add_person(db, "kim@example.edu", "Europe/London")
    set_watermark(db, utc(2026, 11, 23, 6, 59))
    tick(db, utc(2026, 11, 23, 7, 0))
    [row] = outbox(db, "checkin")
    assert row.next_attempt_at == utc(2026, 11, 23, 8, 0)  # deferred, not dropped
    [checkin] = checkins(db, student)
    assert checkin.remind_at == utc(2026, 11, 23, 9, 0)


def test_paused_students_get_no_checkin_until_the_date(db) -> None:
    """/pause until Wednesday: no check-in Monday or Tuesday, one on Wednesday."""
    schedule(db, days="*", local_time="09:00")
    student = add_person(db, "kim@example.edu", "UTC", paused_until=date(2026, 11, 25))
    set_watermark(db, utc(2026, 11, 23, 0, 0))
    run_ticks(db, utc(2026, 11, 23, 0, 0), utc(2026, 11, 25, 12, 0), timedelta(hours=1))
    assert local_dates(db, student) == ["2026-11-25"]


def test_programme_break_skips_checkins_and_says_so(db) -> None:
    """During a break no check-ins open; the report names the break."""
    schedule(db, days="*", local_time="09:00")
    student = add_person(db, "kim@example.edu", "UTC")
    with db.session() as session:
        add_break(session, date(2026, 12, 21), date(2027, 1, 4), "Winter break", date(2026, 12, 1))
    set_watermark(db, utc(2026, 12, 20, 12, 0))
    report = tick(db, utc(2026, 12, 21, 9, 0))
    assert checkins(db, student) == []
    assert any("programme break: Winter break" in line for line in report.lines())
    set_watermark(db, utc(2027, 1, 5, 8, 0))
    tick(db, utc(2027, 1, 5, 9, 0))
    assert local_dates(db, student) == ["2027-01-05"]


def test_group_and_person_schedules_reach_only_their_targets(db) -> None:
    """A group schedule reaches members only; a person schedule reaches that student only."""
    from tests.scheduling.world import add_group

    member = add_person(db, "m@example.edu", "UTC")
    other = add_person(db, "o@example.edu", "UTC")
    add_group(db, "Year 1", [member])
    schedule(db, days="*", local_time="09:00", group="Year 1")
    schedule(db, days="*", local_time="10:00", person="o@example.edu")
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    tick(db, utc(2026, 11, 23, 10, 0))
    assert [c.due_at for c in checkins(db, member)] == [utc(2026, 11, 23, 9, 0)]
    assert [c.due_at for c in checkins(db, other)] == [utc(2026, 11, 23, 10, 0)]


def test_schedule_pinned_to_a_zone_fires_at_that_zones_time_for_everyone(db) -> None:
    """--timezone Europe/London: a Honolulu student is asked at 09:00 London time."""
    schedule(db, days="*", local_time="09:00", timezone="Europe/London")
    student = add_person(db, "hnl@example.edu", "Pacific/Honolulu", quiet=("00:00", "00:00"))
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    tick(db, utc(2026, 11, 23, 9, 0))
    assert [c.due_at for c in checkins(db, student)] == [utc(2026, 11, 23, 9, 0)]


def test_removed_schedules_stop_at_the_next_tick(db) -> None:
    """A removed schedule opens nothing more (no jobs to rebuild: the tick reads the table)."""
    from bot.services.schedules import remove_schedule

    sid = schedule(db, days="*", local_time="09:00")
    add_person(db, "kim@example.edu", "UTC")
    with db.session() as session:
        remove_schedule(session, sid)
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    assert (
        tick(db, utc(2026, 11, 23, 9, 0))
        .outcome("open_due_checkins", OccurrencesOutcome)
        .occurrences
        == []
    )


def test_ten_thousand_checkins_open_in_one_occurrence(db) -> None:
    """One occurrence for 10,000 students opens 10,000 check-ins and 10,000 outbox rows."""
    schedule(db, days="*", local_time="09:00")
    add_students(db, 10_000, "UTC")
    set_watermark(db, utc(2026, 11, 23, 8, 59))
    report = tick(db, utc(2026, 11, 23, 9, 0))
    assert report.opened == 10_000
    assert len(checkins(db)) == 10_000
    rows = outbox(db, "checkin")
    assert len(rows) == 10_000 and len({r.dedupe_key for r in rows}) == 10_000
