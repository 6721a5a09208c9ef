"""What a guardian sees of their own children (issue 13, the seeds' 微信群), pure.

A guardian is named by id (`guardian_recipient`: the pupil id and their place in the
register). Which children are theirs is the register's answer, matched by phone: a mother
listed for two children sees both, through either child's link. Nothing here reads other
pupils: the page gets the children this module picked and, of each trip, only the bus's
position and ETAs (no other child's name, stop or count).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dashboard.buses.boarding import ALIGHTED, EXPECTED, Boarding
from dashboard.buses.notify import guardian_notice
from dashboard.buses.pupils import ABSENT, PupilRecord
from dashboard.buses.timetable import trip_window
from dashboard.timeutil import LOCAL_TZ, as_utc

OVER = "over"  # a trip whose window closed with nothing recorded for the child

RECIPIENT = re.compile(r"^guardian:([A-Za-z0-9_-]{1,24})/([1-9][0-9]?)$")
# The timeline's word for each thing that happened: what guardians are told by SMS
# (notify.guardian_notice), and 未到 (absent), which is not a message but is shown.
EVENT_WORDS: dict[str, str] = {"boarded": "par_boarded", "at_school": "par_at_school",
                               "alighted": "par_alighted", ABSENT: "par_absent"}


def parse_recipient(recipient: str | None) -> tuple[str, int] | None:
    """(pupil id, place in the register) of a guardian's recipient id, None if it is not one
    (the inverse of notify.guardian_recipient)."""
    found = RECIPIENT.match(recipient or "")
    return (found.group(1), int(found.group(2))) if found else None


def phone_key(phone: str) -> str:
    """A phone number as digits only, without China's +86: how two register rows are known
    to name the same guardian (138-1234-5678 is +8613812345678)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def guardians_children(phone: str, guardians: Iterable[tuple[str, int, str]]
                       ) -> dict[str, int]:
    """The children of the guardian with `phone`, from (pupil id, seq, phone) rows of the
    register: pupil id → the guardian's place in that child's register (for muting)."""
    key = phone_key(phone)
    out: dict[str, int] = {}
    if not key:
        return out
    for pupil, seq, other in guardians:
        if phone_key(other) == key and pupil not in out:
            out[pupil] = seq
    return out


@dataclass(frozen=True)
class Moment:
    """One line of a child's day: 上车 07:12 白鹤村站."""

    word: str  # an i18n key (EVENT_WORDS)
    clock: str  # HH:MM, Asia/Shanghai
    stop: str  # the stop's display name, '' when not known


def timeline(events: Sequence[Boarding], direction: str,
             stop_names: Mapping[str, str]) -> list[Moment]:
    """What happened to a child on one trip, in the order it happened (by `at`, as the tally
    orders taps that came late from a phone's queue)."""
    out = []
    for b in sorted(events, key=lambda e: (as_utc(e.at), e.seq)):
        kind = ABSENT if b.event == ABSENT else guardian_notice(b.event, direction)
        if kind is None:
            continue
        out.append(Moment(EVENT_WORDS[kind], as_utc(b.at).astimezone(LOCAL_TZ).strftime("%H:%M"),
                          stop_names.get(b.stop or "", "")))
    return out


def follows_bus(state: str) -> bool:
    """The bus is shown until the child is off it (alighted) or not riding (absent)."""
    return state not in (ALIGHTED, ABSENT)


def shown_state(state: str, times: Sequence[datetime], now: datetime) -> str:
    """The child's state on a trip as the page says it: the tally's, except that a trip
    whose window closed with nothing recorded is over (not "waiting for the bus")."""
    if state == EXPECTED and times and as_utc(now) > trip_window(times)[1]:
        return OVER
    return state


def home_eta(detail: Mapping[str, Any] | None, home_stop: str) -> datetime | None:
    """The tracker's ETA of the bus at the child's home stop (None when passed or unknown);
    `detail` is BusTracker.detail's answer for the bus on the child's trip."""
    if not detail:
        return None
    for stop in detail.get("stops") or ():
        if stop.get("code") == home_stop:
            eta = stop.get("eta")
            return as_utc(datetime.fromisoformat(eta)) if eta else None
    return None


def todays_trips(pupil: PupilRecord, times: Mapping[str, Sequence[datetime]]
                 ) -> list[str]:
    """The child's trips running today (`times`: trip → today's stop times, empty when it
    does not run), in the order they run."""
    riding = [code for code in pupil.trips if times.get(code)]
    return sorted(riding, key=lambda code: times[code][0])
