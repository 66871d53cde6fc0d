"""/settings: a student's zone, quiet hours, check-in time and preferred platform."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from bot.config import CoreSettings, SchedulingRules
from bot.core import MentorBot
from bot.i18n import _, speaking
from bot.model import Actor, Message
from bot.outbox import Push, push_rows
from bot.people import person_by_email, resolve_actor
from bot.services.roster import import_roster_text
from bot.services.settings import ZONE_FROM_STUDENT, checkin_window
from storage.db import Database
from storage.tables import CheckinSchedule, Group, Identity, Outbox, Person, StudentSettings
from tests.conftest import Chat, text_of
from tests.scheduling.world import add_person, checkins, schedule, set_watermark, tick, utc
from tests.tick import PERSONAL_DATA

SAM = "sam@example.edu"


def _person(db: Database, email: str = SAM) -> Person:
    with db.session() as session:
        person = person_by_email(session, email)
        assert person is not None
        session.expunge(person)
        return person


def _row(db: Database, person_id: int | None) -> StudentSettings | None:
    with db.session() as session:
        row = session.get(StudentSettings, person_id)
        if row is not None:
            session.expunge(row)
        return row


def _snapshot(db: Database) -> tuple[object, ...]:
    person = _person(db)
    row = _row(db, person.id)
    return (
        person.timezone,
        person.quiet_start,
        person.quiet_end,
        person.preferred_platform,
        None if row is None else (row.zone_source, row.checkin_time),
    )


# ---------------------------------------------------------------------- show


def test_settings_shows_every_setting_with_how_to_change_it(sam: Chat) -> None:
    """The bare command lists zone, quiet hours, check-in time and platform, each with usage."""
    text = text_of(sam.send("/settings"))
    assert "Time zone: Europe/London" in text
    assert "Quiet hours: 21:00-08:00" in text
    assert "Check-in time:" in text and "Preferred platform:" in text
    for usage in ("/settings zone", "/settings quiet", "/settings checkin", "/settings platform"):
        assert usage in text


def test_settings_is_for_students(maya: Chat) -> None:
    """A mentor is told it's not for them, and nothing is stored."""
    text = text_of(maya.send("/settings zone Europe/Berlin"))
    assert "Europe/Berlin" not in text
    assert _person(maya.core.db, "maya@example.edu").timezone != "Europe/Berlin"


# ---------------------------------------------------------------------- zone


def test_zone_is_set_and_marked_as_the_students(sam: Chat, demo: Database) -> None:
    """`/settings zone Europe/Berlin` stores the zone and where it came from."""
    text = text_of(sam.send("/settings zone Europe/Berlin"))
    assert "Europe/Berlin" in text
    person = _person(demo)
    row = _row(demo, person.id)
    assert person.timezone == "Europe/Berlin"
    assert row is not None and row.zone_source == ZONE_FROM_STUDENT
    assert "Europe/Berlin (you set it)" in text_of(sam.send("/settings"))


def test_zone_sticks_after_a_platform_profile_update(sam: Chat, demo: Database) -> None:
    """A platform profile with another zone doesn't replace the one the student set."""
    sam.send("/settings zone Europe/Berlin")
    with demo.session() as session:
        person = session.exec(select(Person).where(Person.email == SAM)).one()
        session.add(Identity(person_id=person.id, platform="discord", workspace="G", user_id="D1"))
    with demo.session() as session:
        found = resolve_actor(
            session, Actor("discord", "G", "D1", email=SAM, timezone="Asia/Tokyo")
        )
        assert found is not None and found.timezone == "Europe/Berlin"
    assert _person(demo).timezone == "Europe/Berlin"


def test_zone_sticks_after_a_roster_reimport(sam: Chat, demo: Database) -> None:
    """Staff re-importing the roster with the old zone doesn't undo the student's own choice."""
    sam.send("/settings zone Europe/Berlin")
    with demo.session() as session:
        result = import_roster_text(
            session,
            "email,name,role,timezone\n"
            "sam@example.edu,Sam,student,Europe/London\n"
            "new@example.edu,New,student,Asia/Tokyo\n",
            utc(2026, 12, 7, 9, 0),
        )
    assert result.updated == 1 and result.added == 1
    assert _person(demo).timezone == "Europe/Berlin"
    assert _person(demo, "new@example.edu").timezone == "Asia/Tokyo"


def test_roster_zone_still_updates_a_student_who_never_chose(demo: Database) -> None:
    """Without `/settings zone`, the roster's zone is the student's zone, as before."""
    with demo.session() as session:
        import_roster_text(
            session,
            "email,name,role,timezone\nsam@example.edu,Sam,student,America/New_York\n",
            utc(2026, 12, 7, 9, 0),
        )
    assert _person(demo).timezone == "America/New_York"


def test_a_bad_zone_is_refused_and_changes_nothing(sam: Chat, demo: Database) -> None:
    """An unknown zone gets a friendly message; the stored zone and settings stay as they were."""
    before = _snapshot(demo)
    text = text_of(sam.send("/settings zone Mars/Olympus"))
    assert "don't know the time zone" in text
    assert _snapshot(demo) == before


# ---------------------------------------------------------------------- quiet hours


def test_quiet_hours_are_set_and_turned_off(sam: Chat, demo: Database) -> None:
    """`quiet 22:00-07:00` stores them; `quiet off` turns them off."""
    assert "22:00-07:00" in text_of(sam.send("/settings quiet 22:00-07:00"))
    person = _person(demo)
    assert (person.quiet_start, person.quiet_end) == ("22:00", "07:00")
    assert "off" in text_of(sam.send("/settings quiet off"))
    person = _person(demo)
    assert person.quiet_start == person.quiet_end
    assert "Quiet hours: off" in text_of(sam.send("/settings"))


def test_impossible_quiet_hours_are_refused_and_change_nothing(sam: Chat, demo: Database) -> None:
    """25:00, a missing end or an empty range: a clear message, nothing stored."""
    before = _snapshot(demo)
    for typed in ("25:00-07:00", "22:00", "22:00-22:00", "22:60-07:00", "soon"):
        text = text_of(sam.send(f"/settings quiet {typed}"))
        assert "Traceback" not in text and text
        assert _snapshot(demo) == before, typed


def test_own_quiet_hours_hold_a_reminder_but_not_a_crisis_alert(sam: Chat, demo: Database) -> None:
    """A student's own quiet hours defer a non-urgent push; an urgent one goes at once."""
    sam.send("/settings quiet 09:00-12:00")  # 10:00 in London is inside them
    now = utc(2026, 11, 23, 10, 0)
    with demo.session() as session:
        person = session.exec(select(Person).where(Person.email == SAM)).one()
        message = Message(text="hello")
        push_rows(
            session,
            [
                Push("r1", message, person=person, kind="reminder"),
                Push("c1", message, person=person, kind="alert", urgent=True),
            ],
            now,
            "UTC",
        )
    with demo.session() as session:
        rows = {r.dedupe_key: r for r in session.exec(select(Outbox)).all()}
    assert rows["r1"].next_attempt_at == utc(2026, 11, 23, 12, 0)
    assert rows["c1"].next_attempt_at == now


# ---------------------------------------------------------------------- check-in time


def test_checkin_time_within_the_window_is_set(sam: Chat, demo: Database) -> None:
    """`/settings checkin 10:30` (the demo's schedule at 09:00, window 3 h) is stored and shown."""
    assert "10:30" in text_of(sam.send("/settings checkin 10:30"))
    row = _row(demo, _person(demo).id)
    assert row is not None and row.checkin_time == "10:30"
    assert "10:30 (yours" in text_of(sam.send("/settings"))
    sam.send("/settings checkin off")
    row = _row(demo, _person(demo).id)
    assert row is not None and row.checkin_time is None


def test_checkin_time_refusals_change_nothing(sam: Chat, demo: Database) -> None:
    """Outside the window, impossible, or with no schedule: a clear message, nothing stored."""
    before = _snapshot(demo)
    assert "outside your check-in window" in text_of(sam.send("/settings checkin 18:30"))
    assert "isn't a time of day" in text_of(sam.send("/settings checkin 25:00"))
    assert "isn't a time of day" in text_of(sam.send("/settings checkin noon"))
    assert _snapshot(demo) == before
    with demo.session() as session:
        for stored in session.exec(select(CheckinSchedule)).all():
            stored.active = False
    assert "no check-in schedule" in text_of(sam.send("/settings checkin 10:30"))
    assert _snapshot(demo) == before


def test_the_window_stays_within_the_local_day() -> None:
    """The window is the schedule's time +- the hours, clamped to 00:00-23:59."""
    window = checkin_window(datetime(2000, 1, 1, 22, 0).time(), 3)
    assert (window.earliest, window.latest) == ("19:00", "23:59")
    assert checkin_window(datetime(2000, 1, 1, 1, 30).time(), 3).earliest == "00:00"


def test_own_checkin_time_moves_the_scheduled_checkin(db: Database) -> None:
    """A student who chose 10:30 is opened at 10:30; the others still at 09:00; once a day."""
    moved = add_person(db, "moved@example.edu", tz="UTC", slack_id="U1", quiet=("00:00", "00:00"))
    stays = add_person(db, "stays@example.edu", tz="UTC", slack_id="U2", quiet=("00:00", "00:00"))
    schedule(db, days="*", local_time="09:00")
    with db.session() as session:
        session.add(
            StudentSettings(person_id=moved, checkin_time="10:30", updated_at=utc(2026, 1, 1))
        )
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    tick(db, utc(2026, 11, 23, 9, 1))
    assert [c.due_at for c in checkins(db, stays)] == [utc(2026, 11, 23, 9, 0)]
    assert checkins(db, moved) == []
    tick(db, utc(2026, 11, 23, 10, 31))
    assert [c.due_at for c in checkins(db, moved)] == [utc(2026, 11, 23, 10, 30)]
    assert len(checkins(db, stays)) == 1
    # Moving back to the schedule's time the same day opens nothing twice (same occurrence).
    with db.session() as session:
        row = session.get(StudentSettings, moved)
        assert row is not None
        row.checkin_time = None
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    tick(db, utc(2026, 11, 23, 10, 40))
    assert len(checkins(db, moved)) == 1


def test_a_time_outside_a_schedules_window_leaves_that_schedule_on_time(db: Database) -> None:
    """An own time that only fits another schedule's window doesn't move this one."""
    student = add_person(db, "s@example.edu", tz="UTC", slack_id="U1", quiet=("00:00", "00:00"))
    schedule(db, days="*", local_time="09:00")
    with db.session() as session:
        session.add(
            StudentSettings(person_id=student, checkin_time="20:00", updated_at=utc(2026, 1, 1))
        )
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    tick(db, utc(2026, 11, 23, 9, 1), CoreSettings(scheduling=SchedulingRules()))
    assert [c.due_at for c in checkins(db, student)] == [utc(2026, 11, 23, 9, 0)]
    tick(db, utc(2026, 11, 23, 20, 1))
    assert len(checkins(db, student)) == 1


# ---------------------------------------------------------------------- platform


def test_platform_needs_an_account_there(sam: Chat, demo: Database) -> None:
    """No Discord account: refused, nothing stored; once linked, Discord is preferred."""
    before = _snapshot(demo)
    assert "don't have a Discord account" in text_of(sam.send("/settings platform discord"))
    assert "Pick slack or discord" in text_of(sam.send("/settings platform carrier-pigeon"))
    assert _snapshot(demo) == before
    with demo.session() as session:
        person = session.exec(select(Person).where(Person.email == SAM)).one()
        session.add(Identity(person_id=person.id, platform="discord", workspace="G", user_id="D9"))
    assert "Discord" in text_of(sam.send("/settings platform discord"))
    assert _person(demo).preferred_platform == "discord"


def test_settings_is_in_the_registry(core: MentorBot) -> None:
    """Every subcommand is registered, with the table declared as personal data.

    A student's own settings are for students; language and country for everyone.
    """
    registry = core.registry
    subs = {c.sub: c.roles for c in registry.families["settings"]}
    assert set(subs) == {"show", "zone", "quiet", "checkin", "platform", "language", "country"}
    for sub in ("show", "zone", "quiet", "checkin", "platform"):
        assert subs[sub] == ("student",)
    assert subs["language"] == subs["country"] == ("student", "mentor", "admin")
    assert StudentSettings in {p.table for p in registry.personal_data}


def test_erasure_deletes_the_settings_row(sam: Chat, demo: Database) -> None:
    """Erasing a student removes what /settings stored about them."""
    from bot.services.privacy import erase_person

    sam.send("/settings zone Europe/Berlin")
    person_id = _person(demo).id
    assert _row(demo, person_id) is not None
    with demo.session() as session:
        person = session.get(Person, person_id)
        assert person is not None
        erase_person(
            session,
            person,
            utc(2026, 11, 23, 11, 0),
            actor_id=None,
            via="cli",
            tables=PERSONAL_DATA,
        )
    assert _row(demo, person_id) is None


# ---------------------------------------------------------------------- language and country


def test_language_with_no_value_lists_every_language_in_its_own_name(sam: Chat) -> None:
    """`/settings language` alone: the current one and every choice, nothing changed."""
    text = text_of(sam.send("/settings language"))
    for own_name in ("Español", "العربية", "简体中文", "한국어", "हिन्दी"):
        assert own_name in text
    assert _person(sam.core.db).language is None


@pytest.mark.parametrize("typed", ["es", "ES", "es-MX", "Spanish", "español"])
def test_language_by_code_or_name_is_confirmed_in_the_new_language(sam: Chat, typed: str) -> None:
    """Codes, regional tags and names all work; the answer is the first thing said in it."""
    reply = sam.send(f"/settings language {typed}")
    assert reply.error is None and reply.messages[0].language == "es"
    with speaking("es"):
        assert text_of(reply) == _("From now on I'll write to you in {language}.").format(
            language="Español"
        )
    assert _person(sam.core.db).language == "es"


def test_a_language_we_dont_speak_is_refused_and_changes_nothing(sam: Chat) -> None:
    """Klingon: a friendly refusal listing the languages, and no row written."""
    reply = sam.send("/settings language klingon")
    assert reply.error is not None and "Español" in reply.error
    assert _person(sam.core.db).language is None
    assert _row(sam.core.db, _person(sam.core.db).id) is None


def test_mentors_choose_their_language_and_country_too(maya: Chat) -> None:
    """Mentors and staff read alerts in their own language: the command is theirs too."""
    assert maya.send("/settings language de").error is None
    assert maya.send("/settings country DE").error is None
    person = _person(maya.core.db, "maya@example.edu")
    assert (person.language, person.country) == ("de", "DE")


def test_country_by_code_or_name_and_bad_input(sam: Chat) -> None:
    """`/settings country in` or `India`; a made-up code is refused and changes nothing."""
    assert "(IN)" in text_of(sam.send("/settings country in"))
    assert _person(sam.core.db).country == "IN"
    assert sam.send("/settings country Spain").error is None
    assert _person(sam.core.db).country == "ES"
    reply = sam.send("/settings country XQ")
    assert reply.error is not None and _person(sam.core.db).country == "ES"


def test_settings_show_their_language_and_country_with_their_source(sam: Chat) -> None:
    """The settings list says where the language and country come from."""
    text = text_of(sam.send("/settings"))
    assert "Language: English (the programme's language)" in text
    assert "Country: United Kingdom (GB) (from your time zone)" in text
    sam.send("/settings country IE")
    assert "Country: Ireland (IE) (you chose it)" in text_of(sam.send("/settings"))


def test_group_language_is_set_by_staff_and_confirmed_in_it(maya: Chat) -> None:
    """`/group language Study skills es`: the group's posts are now in Spanish."""
    reply = maya.send("/group language Study skills es")
    assert reply.error is None and reply.messages[0].language == "es"
    with maya.core.db.session() as session:
        group = session.exec(select(Group).where(Group.name == "Study skills")).one()
        assert group.language == "es"
    assert maya.send("/group language Study skills klingon").error is not None
    assert maya.send("/group language Study skills default").error is None
    with maya.core.db.session() as session:
        group = session.exec(select(Group).where(Group.name == "Study skills")).one()
        assert group.language is None
