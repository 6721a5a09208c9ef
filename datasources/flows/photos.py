"""随手拍's photos: keep one (checked, re-encoded without EXIF, a thumbnail beside, a row
naming who sent it) and read one back for whoever may see it."""

from __future__ import annotations

import secrets

from dashboard.incidents.rules import may_see_photo
from dashboard.roles import UNIT_ROLES, Principal
from dashboard.timeutil import utcnow
from datasources.photos.images import CONTENT_TYPE, PhotoLimits, Prepared, prepare
from datasources.photos.storage import PHOTO_ID, PhotoStorage, photo_key
from datasources.sql.photos import PhotoRows


class Photos:
    """The one path of the photos: the field report door keeps them, the photo door and
    every screen read them through here."""

    def __init__(self, storage: PhotoStorage, rows: PhotoRows, limits: PhotoLimits):
        self.storage = storage
        self.rows = rows
        self.limits = limits

    def keep(self, data: bytes, who: Principal) -> tuple[str, Prepared]:
        """Check and keep a photo sent by `who`; its new random id (never guessable) and
        what was kept. BadInput (photo_*) for anything the checks refuse."""
        prepared = prepare(data, self.limits)
        photo_id = secrets.token_hex(16)
        # Bytes first, the row last: a row never names bytes that are not there.
        self.storage.put(photo_key(photo_id, "thumb"), prepared.thumb, CONTENT_TYPE)
        self.storage.put(photo_key(photo_id, "full"), prepared.full, CONTENT_TYPE)
        self.rows.add(photo_id, user_id=who.user_id, person_id=who.person_id,
                      storage=self.storage.kind, width=prepared.width, height=prepared.height,
                      size=len(prepared.full), source_format=prepared.source_format,
                      at=utcnow())
        return photo_id, prepared

    def read(self, who: Principal, photo_id: str, size: str) -> bytes | None:
        """The JPEG bytes of one size (full | thumb) of a photo `who` may see; None when
        there is no such photo or `who` may not see it (the door says 404 for both)."""
        if not PHOTO_ID.match(photo_id) or size not in ("full", "thumb"):
            return None
        row = self.rows.get(photo_id)
        if row is None:
            return None
        order = None
        if row.incident_id is not None and who.role in UNIT_ROLES:  # only they need it
            order = self.rows.store.incident(row.incident_id)
        if not may_see_photo(who, row.user_id, order):
            return None
        return self.storage.get(photo_key(photo_id, size))
