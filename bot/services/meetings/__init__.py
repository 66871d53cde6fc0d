"""1:1 meetings between a mentor and a student (issue 17).

- `availability`: a mentor's weekly hours (in the mentor's zone), days off, video link, and
  the free slots computed from them;
- `booking`: booking a slot, proposing a time, accepting, moving and cancelling, each with
  its invites queued in the same transaction;
- `invites`: the ICS calendar invites (stable UID, SEQUENCE bumped on a move, CANCEL);
- `steps`: the tick's timed steps (reminders 24 h and 1 h before, "Did it happen?");
- `records`: the outcome, the confidential session record and its goals;
- `cadence`: "meet every N weeks" and the one nudge when a student is overdue;
- `views`: `meetings_for_student`, what the case file shows of a student's meetings.
"""
