"""The photos' rows: who sent which, its size, the work order it shows (issue 15)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from datasources.sql import models as m
from datasources.sql.incidents import Store


@dataclass(frozen=True)
class PhotoRow:
    """What the record holds of one kept photo."""

    id: str
    incident_id: int | None
    user_id: int | None
    person_id: str | None
    storage: str
    width: int
    height: int
    size: int


class PhotoRows:
    """Rows of the photos table."""

    def __init__(self, store: Store):
        self.store = store

    def add(self, photo_id: str, *, user_id: int | None, person_id: str | None,
            storage: str, width: int, height: int, size: int, source_format: str,
            at: datetime) -> None:
        """Record a photo whose bytes are kept (not yet shown by any work order)."""
        with self.store.session() as s:
            s.add(m.Photo(id=photo_id, user_id=user_id, person_id=person_id, storage=storage,
                          width=width, height=height, size=size, source_format=source_format,
                          created_at=at))

    def get(self, photo_id: str) -> PhotoRow | None:
        """The row of a photo, None when there is none."""
        with self.store.session() as s:
            row = s.scalar(select(m.Photo).where(m.Photo.id == photo_id))
            return None if row is None else PhotoRow(
                row.id, row.incident_id, row.user_id, row.person_id, row.storage, row.width,
                row.height, row.size)
