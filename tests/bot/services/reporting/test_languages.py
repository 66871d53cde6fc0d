"""Reports and digests in the reader's language: a Spanish mentor's digest, an Arabic page."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.config import CoreSettings
from bot.i18n import speaking
from bot.model import Message
from bot.services.reporting.digest import send_weekly_digests
from bot.services.reporting.figures import ReportBuilder
from bot.services.reporting.html import render_html
from bot.services.reporting.suppression import Scope
from storage.db import Database
from storage.tables import Outbox
from tests.bot.services.reporting.test_digest import MONDAY, SETTINGS
from tests.bot.services.reporting.test_figures import END, NOW, START, WEEK1, WEEK2
from tests.bot.services.reporting.world import add_person, assign, log_week, students


def first_messages(db: Database, prefix: str) -> list[Message]:
    """The queued messages whose dedupe key starts with `prefix`, in order."""
    with db.session() as session:
        rows = session.exec(
            select(Outbox)
            .where(col(Outbox.dedupe_key).startswith(prefix))
            .order_by(col(Outbox.dedupe_key))
        ).all()
        return [Message.from_json(row.payload) for row in rows]


def test_a_spanish_mentor_gets_the_digest_in_spanish_and_staff_in_the_default(
    db: Database,
) -> None:
    """A Spanish mentor's digest is in Spanish; the staff channel's in DEFAULT_LANGUAGE.

    Title, figures and the chart's words are Spanish; the staff channel belongs to no group,
    so it speaks the programme's language (English here).
    """
    with db.session() as session:
        people = students(session, "es", 6, MONDAY)
        mentor = add_person(session, "lucia@example.edu", "mentor", MONDAY)
        mentor.language = "es"
        assign(session, mentor, people)
        log_week(session, people, MONDAY - timedelta(weeks=1), 3)
        mentor_id = mentor.id
    with db.session() as session:
        outcome = send_weekly_digests(session, SETTINGS, MONDAY + timedelta(hours=8, minutes=1))
    assert (outcome.staff, outcome.mentors) == (1, 1)
    mentor_digest = first_messages(db, f"digest:2026-W49:mentor:{mentor_id}:")
    assert mentor_digest[0].title == "Resumen semanal: Tus estudiantes"
    assert mentor_digest[0].language == "es"
    assert "6 estudiantes" in mentor_digest[0].text
    labels = [field.label for field in mentor_digest[0].fields]
    assert "Tasa de respuesta a check-ins" in labels
    chart = mentor_digest[1]
    assert chart.text.startswith("📊 Estado de ánimo medio (1-5): Tus estudiantes.")
    assert chart.attachment is not None and "Estado de ánimo medio" in chart.attachment.alt_text
    staff = first_messages(db, "digest:2026-W49:staff:")
    assert staff[0].title == "Weekly digest: All students"
    assert staff[0].language == "en"


def test_a_mentors_withheld_digest_explains_itself_in_the_mentors_language(
    db: Database,
) -> None:
    """Too few students: the refusal itself is in the mentor's language."""
    with db.session() as session:
        people = students(session, "few", 3, MONDAY)
        others = students(session, "rest", 6, MONDAY)
        mentor = add_person(session, "amir@example.edu", "mentor", MONDAY)
        mentor.language = "ar"
        assign(session, mentor, people)
        log_week(session, people + others, MONDAY - timedelta(weeks=1), 3)
        mentor_id = mentor.id
    with db.session() as session:
        send_weekly_digests(session, SETTINGS, MONDAY + timedelta(hours=8, minutes=1))
    (digest,) = first_messages(db, f"digest:2026-W49:mentor:{mentor_id}:")
    assert digest.title == "الملخص الأسبوعي: طلابك"
    assert "أقل من 5 طلاب" in digest.text and "/student" in digest.text


def test_the_html_report_in_arabic_is_right_to_left(db: Database) -> None:
    """`<html lang="ar" dir="rtl">`, the title and headings in Arabic; English stays ltr."""
    with db.session() as session:
        people = students(session, "h", 6, NOW)
        log_week(session, people, WEEK1, 3)
        log_week(session, people, WEEK2, 4)
    with db.session() as session:
        builder = ReportBuilder(session, CoreSettings(), NOW)
        report = builder.build(Scope("All students"), START, END)
        with speaking("ar"):
            arabic = render_html(report)
        english = render_html(report)
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "<title>تقرير البرنامج: كل الطلاب</title>" in arabic
    assert "<h2>المخططات</h2>" in arabic and "نسبة الرد على تسجيل الحال" in arabic
    assert '<html lang="en">' in english and 'dir="rtl"' not in english
    assert "<title>Programme report: All students</title>" in english
