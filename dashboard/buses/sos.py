"""An SOS is never dropped (issue 12): what becomes of one whose fix cannot be used.

A fix carrying the SOS bit may be refused as a position (a terminal that did not
authenticate, a time the time rule refuses, a value out of range) or lie outside the town.
The position is refused; the SOS is not: it becomes an urgent work order of source `bus`,
flagged, and placed at the town's centre when its own point is unusable or outside.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime

from dashboard.buses.alerts import SOS_BIT
from dashboard.buses.operators import REF_PREFIX as JT809_REF
from dashboard.i18n.text import t
from dashboard.messages import MAX_TEXT, IncidentReport
from dashboard.timeutil import hhmm

RESCUE_BUCKET_S = 300  # one work order per vehicle per 5 minutes while the button is held
WHY = ("unauthenticated", "bad_time", "invalid")


def has_sos(alarm: int | None) -> bool:
    """True when JT/T 808 alarm flags carry the SOS bit."""
    return bool((alarm or 0) & SOS_BIT)


def _usable(lon: float | None, lat: float | None) -> bool:
    return (lon is not None and lat is not None and math.isfinite(lon) and math.isfinite(lat)
            and -180 <= lon <= 180 and -90 <= lat <= 90)


def rescued_sos(label: str, lon: float | None, lat: float | None, received: datetime,
                why: str, reported: str = "", lang: str = "zh") -> IncidentReport:
    """The urgent work order for an SOS whose fix was refused (`why` one of WHY), named by
    the plate or the terminal's phone. An unusable point is sent as (0, 0): intake places
    it at the town's centre. Repeats within RESCUE_BUCKET_S share one msg_id (handled once)."""
    kind, reason = t("ba_sos", lang), t(f"sos_why_{why}", lang)
    bucket = int(received.timestamp()) // RESCUE_BUCKET_S
    ref = f"sos:{label}:{why}:{bucket}"[:64]
    x, y = (lon, lat) if _usable(lon, lat) else (0.0, 0.0)
    assert x is not None and y is not None
    return IncidentReport(
        msg_id="sos-" + hashlib.sha1(ref.encode()).hexdigest()[:32],
        source="bus", source_ref=ref, category="traffic", priority="urgent",
        title=t("sos_title", lang).format(kind=kind, label=label, why=reason)[:100],
        description=t("sos_desc", lang).format(kind=kind, why=reason, at=hhmm(received),
                                               reported=reported or "?"),
        lon=round(x, 6), lat=round(y, 6), reported_at=received)


def must_place(report: IncidentReport) -> bool:
    """An urgent bus report (an SOS), or an alarm an operator's platform sent over JT/T 809
    (which carries no point of its own), is placed even when its point is outside the town."""
    return report.source == "bus" and (
        report.priority == "urgent" or (report.source_ref or "").startswith(JT809_REF))


def placed_at_centre(report: IncidentReport, centre: tuple[float, float],
                     lang: str = "zh") -> IncidentReport:
    """The report moved to the town's centre, flagged in its title and saying where it
    was reported."""
    flag = t("sos_flag_centre", lang)
    note = t("sos_note_centre", lang).format(lon=f"{report.lon:.6f}", lat=f"{report.lat:.6f}")
    return report.model_copy(update={
        "lon": centre[0], "lat": centre[1],
        "title": (flag + report.title)[:100],
        "description": f"{note}\n{report.description}".strip()[:MAX_TEXT]})
