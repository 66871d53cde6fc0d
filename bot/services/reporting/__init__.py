"""Programme reporting: figures in SQL, privacy rules, digests, HTML, CSV and PNG exports.

* `suppression`: who is in a report (`Scope`), who may ask for it, and the rules that hold
  back any figure about fewer than `min_group_size` students, including by differencing.
* `figures`: the figures as aggregates computed in the database (GROUP BY per week), never
  by loading every row; `Report` holds them as plain tables.
* `charts`: the report's charts (PNG for chat, SVG for HTML) with their text twins.
* `digest`: the weekly digest for the staff channel and each mentor, through the outbox.
* `html`, `csv_export`: the files of `mentorbot report`.
"""
