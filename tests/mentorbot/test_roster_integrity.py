"""Roster integrity on the command line (issue 13, part 6).

`mentorbot roster import` refuses, with line numbers and in one pass, any file that would leave
an active student pointing at someone who is not an active mentor; `mentorbot erase` of a
mentor with students needs `--reassign-to`. Bad input changes nothing (database dumps).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.model import Actor, Inbound
from bot.people import mentors_of, person_by_email
from mentorbot.app import App, build_app
from mentorbot.cli import main
from storage.tables import Alert, MentorAssignment, Person
from tests.conftest import text_of
from tests.dbdump import snapshot

HEADER = "email,name,role,timezone,mentor_email,backup_mentor_email,groups\n"
BASE = HEADER + (
    "admin@uni.edu,Ada Admin,admin,,,,\n"
    "maya@uni.edu,Maya Mentor,mentor,,,,\n"
    "nia@uni.edu,Nia Mentor,mentor,,,,\n"
    + "".join(f"s{i}@uni.edu,Student {i},student,,maya@uni.edu,admin@uni.edu,\n" for i in range(6))
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Path]:
    """The CLI in an empty folder against the test database, no platform tokens, no demo."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEMO_SEED", "false")
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path


def roster(env: Path, text: str, name: str = "roster.csv") -> str:
    path = env / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def programme(env: Path, capsys: pytest.CaptureFixture[str]) -> App:
    """Six students whose mentor is Maya (backup: the admin), and a second mentor, Nia."""
    assert main(["roster", "import", roster(env, BASE, "base.csv")]) == 0
    capsys.readouterr()
    return build_app(seed=False)


def refused(app: App, env: Path, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Import `text`, expecting a refusal that changes nothing; returns the error output."""
    before = snapshot(app.db)
    assert main(["roster", "import", roster(env, text)]) == 1
    assert snapshot(app.db) == before
    return capsys.readouterr().err


def test_mentor_changed_to_student_is_refused_with_the_line_and_students(
    programme: App, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Maya made a student while six students name her: refused on her line, students named."""
    err = refused(programme, env, HEADER + "maya@uni.edu,Maya Mentor,student,,,,\n", capsys)
    assert "Nothing was imported" in err
    assert "line 2: maya@uni.edu would become a student, but 6 student(s)" in err
    assert "s0@uni.edu" in err and "s5@uni.edu" in err


def test_deactivating_a_mentor_with_students_is_refused(
    programme: App, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """active=no for Maya while students name her: refused; moving them in the same file works."""
    text = "email,name,role,active\nmaya@uni.edu,Maya Mentor,mentor,no\n"
    err = refused(programme, env, text, capsys)
    assert "line 2: maya@uni.edu would no longer be an active mentor" in err
    moved = HEADER.replace("groups\n", "groups,active\n") + (
        "maya@uni.edu,Maya Mentor,mentor,,,,,no\n"
        + "".join(
            f"s{i}@uni.edu,Student {i},student,,nia@uni.edu,admin@uni.edu,,\n" for i in range(6)
        )
    )
    assert main(["roster", "import", roster(env, moved, "moved.csv")]) == 0
    with programme.db.session() as session:
        maya = person_by_email(session, "maya@uni.edu")
        s0 = person_by_email(session, "s0@uni.edu")
        assert maya is not None and not maya.active
        assert s0 is not None and s0.id is not None
        assert mentors_of(session, s0.id)["primary"].email == "nia@uni.edu"


def test_mentor_email_of_a_student_is_refused(
    programme: App, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A student whose mentor_email is another student (in the file or the database)."""
    text = HEADER + (
        "new@uni.edu,New Student,student,,s1@uni.edu,,\n"
        "pal@uni.edu,Pal Student,student,,,,\n"
        "kid@uni.edu,Kid Student,student,,pal@uni.edu,,\n"
    )
    err = refused(programme, env, text, capsys)
    assert "line 2: mentor s1@uni.edu is a student, not a mentor" in err
    assert "line 4: mentor pal@uni.edu is a student, not a mentor" in err


def test_all_problems_are_found_in_one_pass(
    programme: App, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Line errors and database errors come together; fixing them all never reveals new ones."""
    text = HEADER + (
        "maya@uni.edu,Maya Mentor,student,,,,\n"  # strands six students
        "x@uni.edu,X Student,student,Mars/Olympus,ghost@uni.edu,,\n"  # bad zone AND bad mentor
        "y@uni.edu,,student,,s2@uni.edu,,\n"  # no name AND a student as mentor
    )
    err = refused(programme, env, text, capsys)
    assert "line 2: maya@uni.edu would become a student" in err
    assert (
        "line 3: unknown time zone 'Mars/Olympus'; mentor ghost@uni.edu is not on the roster" in err
    )
    assert "line 4: name is empty; mentor s2@uni.edu is a student, not a mentor" in err
    fixed = HEADER + (
        "maya@uni.edu,Maya Mentor,mentor,,,,\n"
        "x@uni.edu,X Student,student,Europe/London,nia@uni.edu,,\n"
        "y@uni.edu,Y Student,student,,maya@uni.edu,,\n"
    )
    assert main(["roster", "import", roster(env, fixed, "fixed.csv")]) == 0


def test_erase_of_a_mentor_with_students_names_them_and_changes_nothing(
    programme: App, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --reassign-to the erasure is refused, naming the students; nothing changes."""
    before = snapshot(programme.db)
    assert main(["erase", "--email", "maya@uni.edu", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "mentor of 6 student(s)" in err and "s3@uni.edu" in err and "--reassign-to" in err
    assert snapshot(programme.db) == before
    for bad in ("s1@uni.edu", "maya@uni.edu", "nobody@uni.edu"):
        assert main(["erase", "--email", "maya@uni.edu", "--yes", "--reassign-to", bad]) == 1
        capsys.readouterr()
        assert snapshot(programme.db) == before


def test_erase_with_reassign_moves_students_and_their_open_alerts(
    programme: App, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--reassign-to gives Maya's students and unresolved alerts to Nia, then erases Maya."""
    core = programme.core
    core.handle(Inbound(Actor("console", "local", "s0@uni.edu"), "command", "mood", {}, "1"))
    assert main(["erase", "--email", "maya@uni.edu", "--yes", "--reassign-to", "nia@uni.edu"]) == 0
    assert "Reassigned 6 student(s) to nia@uni.edu" in capsys.readouterr().out
    with programme.db.session() as session:
        nia = person_by_email(session, "nia@uni.edu")
        assert nia is not None
        mentors = {a.mentor_id for a in session.exec(select(MentorAssignment)).all()}
        assert nia.id in mentors and len(mentors) == 2  # Nia (primary) and the admin (backup)
        [alert] = session.exec(select(Alert)).all()
        assert alert.mentor_id == nia.id
    # The next alert of a reassigned student goes to Nia.
    reply = core.handle(
        Inbound(Actor("console", "local", "s1@uni.edu"), "command", "mood", {}, "1")
    )
    assert "Your mentor will see this" in text_of(reply)


def test_student_with_no_mentor_is_told_staff_will_see_it_and_admins_get_it(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No mentor assigned: never "your mentor will see this"; the admin gets the alert."""
    text = HEADER + "admin@uni.edu,Ada Admin,admin,,,,\nlone@uni.edu,Lone Student,student,,,,\n"
    assert main(["roster", "import", roster(env, text)]) == 0
    app = build_app(seed=False)
    lone = Actor("console", "local", "lone@uni.edu")
    replies = [
        app.core.handle(Inbound(lone, "command", "mood", {}, "1")),
        app.core.handle(Inbound(lone, "command", "help", {}, "please call me")),
        app.core.handle(Inbound(lone, "text", "message", {}, "I feel so hopeless and alone")),
        app.core.handle(Inbound(lone, "text", "message", {}, "I want to kill myself tonight")),
    ]
    for reply in replies:
        shown = text_of(reply).lower()
        assert "your mentor" not in shown, shown
        assert "programme staff" in shown
    with app.db.session() as session:
        admin = person_by_email(session, "admin@uni.edu")
        assert admin is not None
        from storage.tables import Outbox

        rows = session.exec(select(Outbox).where(Outbox.kind == "alert")).all()
        assert rows and {r.person_id for r in rows} == {admin.id}
        assert session.exec(select(Person).where(Person.email == "lone@uni.edu")).one()
