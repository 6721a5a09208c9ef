"""Which JT/T 808 terminal may speak for which bus (issue 12).

The town's vehicle register binds each bus to the SIM number of its terminal (the
`terminal` column of vehicles.csv, or a file the admin declares). A terminal registers
(0x0100) with its phone number in every frame header and a plate in the body; it is let in
only when the register binds that phone to that plate. Before, any TCP client registered
any plate and drove it.

Auth codes are issued per terminal and only their salted hash is kept: whoever reads the
store learns no code. Pure: no I/O; the gateway stores and compares.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Refusal reasons, counted as rejections.
UNKNOWN_TERMINAL = "jt808_unknown_terminal"  # the phone is in no register
PLATE_MISMATCH = "jt808_plate_mismatch"  # the phone belongs to another bus
UNKNOWN_VEHICLE = "jt808_unknown_vehicle"  # the phone is known, the plate is no bus of the town
ALREADY_REGISTERED = "jt808_terminal_registered"  # it holds a code: authenticate, or the admin
                                                  # lets it register again


def phone_key(phone: str) -> str:
    """A terminal phone as the frame header carries it: digits, no leading zeros."""
    return phone.strip().lstrip("0") or "0"


def plate_key(plate: str) -> str:
    """A plate for comparison: terminals send 川FD72692, 川F·D72692 or 川F D72692."""
    return "".join(ch for ch in plate.upper() if ch not in " ·.-_\u3000\x00")


@dataclass(frozen=True)
class TerminalRegister:
    """Terminal phone → plate, as the town declares it (empty: nobody may register)."""

    plates: Mapping[str, str]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> TerminalRegister:
        """From (plate, terminal phone) pairs; rows without a terminal are skipped.
        A phone given to two plates is an error (which bus would it drive?)."""
        plates: dict[str, str] = {}
        for plate, phone in pairs:
            plate, phone = plate.strip(), phone.strip()
            if not phone:
                continue
            if not phone.isdigit() or len(phone) > 20:
                raise ValueError(f"terminal {phone!r} of {plate}: digits only, at most 20")
            key = phone_key(phone)
            if key in plates and plate_key(plates[key]) != plate_key(plate):
                raise ValueError(f"terminal {phone} is given to {plates[key]} and {plate}")
            plates[key] = plate
        return cls(plates)

    def merged(self, other: TerminalRegister) -> TerminalRegister:
        """This register with `other`'s bindings over it (the admin's declaration wins);
        a plate rebound to another terminal leaves its old terminal."""
        rebound = {plate_key(p) for p in other.plates.values()}
        plates = {k: p for k, p in self.plates.items() if plate_key(p) not in rebound}
        plates.update(other.plates)
        return TerminalRegister(plates)

    def __len__(self) -> int:
        return len(self.plates)

    def phone_of(self, plate: str) -> str | None:
        """The terminal phone bound to a plate, if any."""
        want = plate_key(plate)
        return next((k for k, p in self.plates.items() if plate_key(p) == want), None)


@dataclass(frozen=True)
class Admission:
    """The verdict on a registration: the register's plate, or why not."""

    plate: str | None
    refusal: str | None = None

    @property
    def ok(self) -> bool:
        """Let in."""
        return self.refusal is None


def admit(register: TerminalRegister, phone: str, plate: str) -> Admission:
    """May the terminal of this phone register this plate? The plate it gets is the
    register's spelling, so its fixes join the bus the screens know."""
    bound = register.plates.get(phone_key(phone))
    if bound is None:
        return Admission(None, UNKNOWN_TERMINAL)
    if plate_key(plate) == plate_key(bound):
        return Admission(bound)
    if register.phone_of(plate) is None:
        return Admission(None, UNKNOWN_VEHICLE)
    return Admission(None, PLATE_MISMATCH)


def already_registered(stored: Mapping[str, object] | None, plate: str) -> bool:
    """Does the terminal already hold a code for this plate? Then it is refused a new one
    (result 3): the phone in a frame header is only what the sender claims, so re-issuing
    codes on demand would hand a bus to whoever knows its SIM number. A terminal that lost
    its code is let register again by the admin (`zhongnao gateway jt808-reset`); a record
    for another plate (the register changed) or without a hash (before issue 12) is no bar."""
    if not stored or not isinstance(stored.get("hash"), str):
        return False
    return plate_key(str(stored.get("plate", ""))) == plate_key(plate)


# ------------------------------------------------------------------ auth codes
def new_code() -> str:
    """A fresh auth code for one terminal (12 hex digits; terminals keep it as text)."""
    return secrets.token_hex(6)


def hash_code(code: str, salt: str) -> str:
    """The stored form of an auth code: HMAC-SHA256 keyed by the terminal's own salt."""
    return hmac.new(salt.encode(), code.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def sealed(code: str) -> dict[str, str]:
    """What is stored for an issued code: a new salt and the hash, never the code."""
    salt = secrets.token_hex(16)
    return {"salt": salt, "hash": hash_code(code, salt)}


def code_matches(code: str, stored: Mapping[str, object]) -> bool:
    """Is `code` the one sealed in `stored`? Constant time; a record without a hash
    (a code kept in clear before issue 12) never matches: the terminal registers again."""
    salt, digest = stored.get("salt"), stored.get("hash")
    if not isinstance(salt, str) or not isinstance(digest, str):
        return False
    return hmac.compare_digest(hash_code(code, salt), digest)
