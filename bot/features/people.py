"""People: the person's platform accounts, their mentors and the log of who saw their data.

No commands of its own (the roster is loaded by `mentorbot roster`): it declares the
records every other feature builds on, so export and erasure read them from the one list.
"""

from __future__ import annotations

from bot.i18n import N_
from bot.personal_data import Erase, PersonalData
from bot.registry import Feature
from storage.tables import AuditLog, Identity, MentorAssignment

FEATURE = Feature(
    name="people",
    summary=N_("Who is on the programme: platform accounts, mentor assignments, the access log"),
    personal_data=(
        PersonalData("platform accounts", Identity, "person_id", export_as="identities"),
        # A student's mentors; erasing a mentor drops their assignments too (reassign first).
        PersonalData(
            "mentor assignments",
            MentorAssignment,
            "student_id",
            also_erase=("mentor_id",),
            export_as="mentors",
        ),
        # Who looked at or acted on the person's data. Kept on erasure (it records what staff
        # did, and points at the anonymised person); names in its details are scrubbed.
        PersonalData(
            "access log", AuditLog, "subject_id", erase=Erase.KEEP, export_as="access_log"
        ),
    ),
)
