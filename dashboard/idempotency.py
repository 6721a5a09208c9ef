"""The idempotency key every door accepts: one rule for the report, photo, boarding,
Open311, hotline and video doors (a retried request with the same key is stored once)."""
from __future__ import annotations

import re

from dashboard.incidents.errors import BadInput

IDEM_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
IDEM_KEY_RULE = "Idempotency-Key: 8-128 of A-Z a-z 0-9 _ . : -"


def check_key(key: object) -> str:
    """The idempotency key (8-128 of A-Z a-z 0-9 _ . : -), or BadInput `bad_key`."""
    if not isinstance(key, str) or not IDEM_KEY.match(key):
        raise BadInput("bad_key")
    return key
