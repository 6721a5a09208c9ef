"""The vehicle record (一车一档): a bus's papers and equipment, its drivers, their dates, and
whether the bus is fit to drive (不宜出车 when not). One rule, read by /buses, the wall, the
alerts (datasources/flows/fleet_watch.py) and the API.

Dates are ISO days (YYYY-MM-DD), local (Asia/Shanghai). Each dated item is due on a day: the
licence (行驶证), inspection (年检) and insurance on their own date; a driver's licence on its
expiry; training and the health check one year after they were done (校车驾驶人 are checked
every year). The window is the project's one expiry window (timeutil.EXPIRY_DAYS).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dashboard.timeutil import days_left, expiring, iso_date

# The state of a dated item: fine, due within the window, past, or not on record.
OK, WARNING, EXPIRED, MISSING = "ok", "warning", "expired", "missing"
# Dated items of a bus and of a driver, in the order the record shows them.
VEHICLE_ITEMS = ("licence", "inspection", "insurance")
DRIVER_ITEMS = ("driver_licence", "training", "health")
# Driving-licence classes a school-bus driver may hold (校车驾驶资格 is the endorsement).
LICENCE_CLASSES = ("校车驾驶资格", "A1", "A3", "B1")
# Training and the health check are valid this many years after they were done.
RENEWAL_YEARS = 1
# Why a bus is not fit (不宜出车), as reason codes (i18n: fleet.reason.<code>).
NOT_FIT_REASONS = ("licence_expired", "inspection_expired", "no_speed_limiter")
# The daily checks recorded from /escort: 出车前检查 and 消毒.
CHECK_KINDS = ("pretrip", "disinfect")

_YES = {"1", "y", "yes", "true", "是", "有"}
_NO = {"0", "n", "no", "false", "否", "无"}


@dataclass(frozen=True)
class DriverRecord:
    """A driver of a bus, by id, with their licence and dates."""

    id: str
    name: str
    phone: str
    plate: str
    licence_class: str
    licence_expiry: str = ""
    trained_on: str = ""
    health_checked_on: str = ""

    def due(self, item: str) -> str:
        """The ISO day `item` (driver_licence, training, health) falls due ("" unknown)."""
        if item == "driver_licence":
            return self.licence_expiry
        done = self.trained_on if item == "training" else self.health_checked_on
        return renew(done)


@dataclass(frozen=True)
class VehicleRecord:
    """A bus's papers and equipment; None for equipment the town did not record."""

    plate: str
    model: str = ""
    seats: int = 0
    year: int = 0
    licence_expiry: str = ""
    inspection_due: str = ""
    insurance_expiry: str = ""
    speed_limiter: bool | None = None
    recorder: bool | None = None
    drivers: tuple[DriverRecord, ...] = field(default_factory=tuple)

    def due(self, item: str) -> str:
        """The ISO day `item` (licence, inspection, insurance) falls due ("" unknown)."""
        return {"licence": self.licence_expiry, "inspection": self.inspection_due,
                "insurance": self.insurance_expiry}[item]


@dataclass(frozen=True)
class DatedItem:
    """One dated item of a record with its state at a moment."""

    key: str  # unique per item: "licence:川F·D72692", "health:D003"
    item: str
    plate: str
    driver: str  # the driver's id, "" for the bus's own items
    due: str
    state: str
    days: int | None


def renew(done: str, years: int = RENEWAL_YEARS) -> str:
    """The day a yearly thing done on `done` falls due again ("" when not done)."""
    when = iso_date(done)
    if when is None:
        return ""
    try:
        return when.replace(year=when.year + years).isoformat()
    except ValueError:  # 29 February
        return date(when.year + years, 3, 1).isoformat()


def date_state(due: str, now: datetime) -> str:
    """ok / warning (within the expiry window) / expired (past) / missing for a due day."""
    if iso_date(due) is None:
        return MISSING
    if days_left(due, now) < 0:
        return EXPIRED
    return WARNING if expiring(due, now) else OK


def dated_items(record: VehicleRecord, now: datetime) -> list[DatedItem]:
    """Every dated item of a bus and its drivers, with its state at `now`."""
    out = []
    for item in VEHICLE_ITEMS:
        due = record.due(item)
        out.append(DatedItem(f"{item}:{record.plate}", item, record.plate, "", due,
                             date_state(due, now), days_left(due, now) if due else None))
    for d in record.drivers:
        for item in DRIVER_ITEMS:
            due = d.due(item)
            out.append(DatedItem(f"{item}:{d.id}", item, record.plate, d.id, due,
                                 date_state(due, now), days_left(due, now) if due else None))
    return out


def not_fit_reasons(record: VehicleRecord, now: datetime) -> list[str]:
    """Why the bus is not fit to drive (不宜出车); empty when it is fit."""
    reasons = []
    if date_state(record.licence_expiry, now) == EXPIRED:
        reasons.append("licence_expired")
    if date_state(record.inspection_due, now) == EXPIRED:
        reasons.append("inspection_expired")
    if record.speed_limiter is False:
        reasons.append("no_speed_limiter")
    return reasons


def fit(record: VehicleRecord, now: datetime) -> bool:
    """True when nothing on record keeps the bus off the road."""
    return not not_fit_reasons(record, now)


def pretrip_overdue(first_departure: datetime | None, checked: bool, now: datetime) -> bool:
    """No 出车前检查 today and the day's first trip has already left (or should have)."""
    return first_departure is not None and not checked and now >= first_departure


# ---------------------------------------------------------------- the town's files
class RecordErrors(ValueError):
    """Rows of a town's vehicle or driver file that are wrong: (file, row, column, problem)."""

    def __init__(self, errors: Sequence[tuple[str, int, str, str]]):
        self.errors = list(errors)
        super().__init__("; ".join(f"{f} row {r} {c}: {p}" for f, r, c, p in self.errors))


def _day(value: str | None, where: tuple[str, int, str], errors: list[tuple[str, int, str, str]]
         ) -> str:
    text = (value or "").strip()
    if text and (len(text) != 10 or iso_date(text) is None):
        errors.append((*where, f"not a date YYYY-MM-DD: {text[:20]!r}"))
        return ""
    return text


def _flag(value: str | None, where: tuple[str, int, str],
          errors: list[tuple[str, int, str, str]]) -> bool | None:
    text = (value or "").strip().lower()
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    errors.append((*where, f"not yes/no: {text[:20]!r}"))
    return None


def parse_drivers(rows: Iterable[Mapping[str, str]], plates: set[str]
                  ) -> tuple[list[DriverRecord], list[tuple[str, int, str, str]]]:
    """drivers.csv rows (id, name, phone, plate, licence_class, licence_expiry, trained_on,
    health_checked_on) as records, and the row errors (row 2 is the first data row)."""
    out: list[DriverRecord] = []
    errors: list[tuple[str, int, str, str]] = []
    seen: set[str] = set()
    for n, r in enumerate(rows, start=2):
        f = "drivers.csv"
        did = (r.get("id") or "").strip()
        plate = (r.get("plate") or "").strip()
        klass = (r.get("licence_class") or "").strip()
        if not did:
            errors.append((f, n, "id", "empty"))
        elif did in seen:
            errors.append((f, n, "id", f"repeated: {did}"))
        seen.add(did)
        if plate not in plates:
            errors.append((f, n, "plate", f"no such vehicle: {plate[:20]!r}"))
        if klass not in LICENCE_CLASSES:
            errors.append((f, n, "licence_class", f"not one of {'/'.join(LICENCE_CLASSES)}"))
        out.append(DriverRecord(
            id=did, name=(r.get("name") or "").strip(), phone=(r.get("phone") or "").strip(),
            plate=plate, licence_class=klass,
            licence_expiry=_day(r.get("licence_expiry"), (f, n, "licence_expiry"), errors),
            trained_on=_day(r.get("trained_on"), (f, n, "trained_on"), errors),
            health_checked_on=_day(r.get("health_checked_on"), (f, n, "health_checked_on"),
                                   errors)))
    return out, errors


def parse_vehicle_papers(rows: Iterable[Mapping[str, str]]
                         ) -> tuple[dict[str, dict[str, object]],
                                    list[tuple[str, int, str, str]]]:
    """The optional record columns of vehicles.csv (licence_expiry, inspection_due,
    insurance_expiry, speed_limiter, recorder) per plate, and the row errors."""
    out: dict[str, dict[str, object]] = {}
    errors: list[tuple[str, int, str, str]] = []
    for n, r in enumerate(rows, start=2):
        f = "vehicles.csv"
        out[(r.get("plate") or "").strip()] = {
            "licence_expiry": _day(r.get("licence_expiry"), (f, n, "licence_expiry"), errors),
            "inspection_due": _day(r.get("inspection_due"), (f, n, "inspection_due"), errors),
            "insurance_expiry": _day(r.get("insurance_expiry"), (f, n, "insurance_expiry"),
                                     errors),
            "speed_limiter": _flag(r.get("speed_limiter"), (f, n, "speed_limiter"), errors),
            "recorder": _flag(r.get("recorder"), (f, n, "recorder"), errors),
        }
    return out, errors


def records_of(vehicles: Iterable[tuple[str, str, int, int]],
               vehicle_rows: Iterable[Mapping[str, str]],
               driver_rows: Iterable[Mapping[str, str]]) -> dict[str, VehicleRecord]:
    """Each bus's record, by plate, from the town's vehicles ((plate, model, seats, year)),
    the rows of vehicles.csv and of drivers.csv; raise RecordErrors listing every bad row."""
    buses = list(vehicles)
    papers, errors = parse_vehicle_papers(vehicle_rows)
    drivers, driver_errors = parse_drivers(driver_rows, {b[0] for b in buses})
    errors += driver_errors
    if errors:
        raise RecordErrors(errors)
    out = {}
    for plate, model, seats, year in buses:
        p = papers.get(plate, {})
        out[plate] = VehicleRecord(
            plate=plate, model=model, seats=seats, year=year,
            licence_expiry=str(p.get("licence_expiry") or ""),
            inspection_due=str(p.get("inspection_due") or ""),
            insurance_expiry=str(p.get("insurance_expiry") or ""),
            speed_limiter=p.get("speed_limiter"),  # type: ignore[arg-type]
            recorder=p.get("recorder"),  # type: ignore[arg-type]
            drivers=tuple(d for d in drivers if d.plate == plate))
    return out


def record_view(record: VehicleRecord, now: datetime, checks: Mapping[str, Mapping[str, Any]],
                overdue: bool, phone: Callable[[str], str]) -> dict[str, Any]:
    """The record as /buses and the API show it (JSON-ready): the bus, its dated items with
    their states, equipment, drivers (phones through `phone`, the caller's one phone rule),
    whether it is fit and why not, and today's checks (`checks` by kind: {"at", "actor"})."""
    items = dated_items(record, now)
    return {
        "plate": record.plate, "model": record.model, "seats": record.seats,
        "year": record.year,
        "fit": fit(record, now), "reasons": not_fit_reasons(record, now),
        "items": [{"item": i.item, "driver": i.driver, "due": i.due, "state": i.state,
                   "days": i.days} for i in items if not i.driver],
        "equipment": {"speed_limiter": record.speed_limiter, "recorder": record.recorder},
        "drivers": [{"id": d.id, "name": d.name, "phone": phone(d.phone),
                     "licence_class": d.licence_class,
                     "items": [{"item": i.item, "due": i.due, "state": i.state,
                                "days": i.days} for i in items if i.driver == d.id]}
                    for d in record.drivers],
        "checks": {k: ({"at": checks[k]["at"], "actor": checks[k]["actor"]}
                       if checks.get(k) else None) for k in CHECK_KINDS},
        "pretrip_overdue": overdue,
    }
