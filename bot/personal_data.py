"""Declarations of the tables that hold personal data (features declare, services read).

A feature lists its tables in `Feature.personal_data`; export, erasure and retention
(`bot.services.export`, `bot.services.privacy`) take the assembled list from the registry.
This module sits below the services so that they can read the declarations without
importing the registry above them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import SQLModel


class Erase(StrEnum):
    """What erasing a person does to a table's rows."""

    DELETE = "delete"  # the rows go
    KEEP = "keep"  # kept, de-identified by the privacy service (alerts' audit trail)


@dataclass(frozen=True)
class PersonalData:
    """A table holding personal data: export, erasure and retention read these declarations.

    `owner` is the column with the person's id; `through` names a parent table and its
    column when the owner is reached through it (a goal's milestones through the goal).
    `label` names the rows in an erasure report ("goal updates"); `export_as` is the key
    of the rows in the JSON export ("" keeps them out of it). `self_export=False` keeps
    them out of the self-service export only (mentors' notes: the staff export has them).
    `also_erase` names other columns whose rows go when their person is erased too (a
    mentor's assignments). `free_text` columns are purged after the retention period,
    dated by `dated_by`, and like `quoted` columns (a goal's title) are looked for in
    copies elsewhere when the person is erased.
    """

    label: str
    table: type[SQLModel]
    owner: str
    through: tuple[type[SQLModel], str] | None = None
    self_export: bool = True
    erase: Erase = Erase.DELETE
    free_text: tuple[str, ...] = ()
    dated_by: str | None = None
    export_as: str = ""
    also_erase: tuple[str, ...] = ()
    quoted: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        columns = self.table.__table__.columns  # type: ignore[attr-defined]
        named = (self.owner, *self.free_text, *self.also_erase, *self.quoted)
        if self.through is None:
            missing = [name for name in named if name not in columns]
        else:
            parent, column = self.through
            parent_columns = parent.__table__.columns  # type: ignore[attr-defined]
            missing = [name for name in named[1:] if name not in columns]
            missing += [column] if column not in parent_columns else []
            missing += [self.owner] if self.owner not in columns else []
        if self.dated_by is not None and self.dated_by not in columns:
            missing.append(self.dated_by)
        if missing:
            raise ValueError(f"{self.label}: {self.table.__name__} has no column {missing}")
        if self.free_text and self.dated_by is None:
            raise ValueError(f"{self.label}: free text needs `dated_by` for retention")

    @property
    def table_name(self) -> str:
        """The SQL table's name."""
        return str(self.table.__table__.name)  # type: ignore[attr-defined]
