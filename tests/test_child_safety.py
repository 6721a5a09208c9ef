"""The children's safety rules (issue 13) on recorded trips: a clean trip, a child left on
board, a wrong stop, an overload, taps arriving late and out of order; then the same rules in
the incident loop: the bus reaching school with a child on board files an urgent work order
naming the child, at once."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from sqlalchemy import select

from dashboard.buses.boarding import Boarding, tally
from dashboard.buses.child_safety import (
    LEFT_ON_BOARD,
    child_alert_text,
    left_on_board,
    missed_stop,
    overload,
    wrong_stop,
)
from dashboard.buses.pupils import PupilRecord, build_manifest
from dashboard.messages import VehiclePosition
from dashboard.roles import Principal
from dashboard.timeutil import LOCAL_TZ
from datasources.sql import models as m
from tests.pupil_helpers import AM, MUM, PM, ROUTE

PUPILS = [PupilRecord("P1", "张小明", "QSZX", "七年级1班", "S1", ("R9-AM1", "R9-PM1"), (MUM,)),
          PupilRecord("P2", "李四", "QSZX", "七年级2班", "S1", ("R9-AM1", "R9-PM1"), (MUM,)),
          PupilRecord("P3", "王五", "QSZX", "八年级1班", "S2", ("R9-AM1", "R9-PM1"), (MUM,))]
DAY = "2026-12-04"
PLATE = "川F·T0001"


def at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00+08:00")


def ev(pupil: str, event: str, hhmm: str, stop: str | None, seq: int,
       trip: str = "R9-AM1") -> Boarding:
    return Boarding(pupil, trip, DAY, event, at(hhmm), PLATE, stop, seq=seq)


MORNING = [ev("P1", "board", "07:00", "S1", 1), ev("P2", "board", "07:01", "S1", 2),
           ev("P3", "board", "07:05", "S2", 3), ev("P1", "alight", "07:10", "S3", 4),
           ev("P2", "alight", "07:10", "S3", 5), ev("P3", "alight", "07:11", "S3", 6)]


def end_of(events, trip=AM, seats=19):
    manifest = build_manifest(ROUTE, trip, PUPILS)
    t = tally(manifest, events)
    return manifest, t, left_on_board(manifest, t, PLATE, DAY, at("07:12"), 104.02, 30.0), \
        overload(manifest, t, seats, PLATE, DAY, at("07:12"), 104.02, 30.0)


def test_a_clean_trip_raises_nothing():
    manifest, t, left, over = end_of(MORNING)
    assert left is None and over is None
    assert t.counts() == {"expected": 3, "on_board": 0, "alighted": 3, "absent": 0}
    assert all(wrong_stop(manifest, e, 104.0, 30.0) is None for e in MORNING)


def test_a_child_left_on_board_is_an_urgent_alert_naming_the_child_and_the_bus():
    _, t, left, _ = end_of(MORNING[:-1])  # 王五 never got off
    assert left is not None and left.kind == LEFT_ON_BOARD
    assert [p.id for p in left.pupils] == ["P3"]
    assert left.key == f"bus:{PLATE}:left_child:R9-AM1:{DAY}"
    title, desc = child_alert_text(left, "zh")
    assert title == f"遗留儿童：{PLATE} 收车时仍有 1 名学生未下车"
    assert "王" not in title  # the wall shows titles: counts only there
    # Descriptions are public through Open311 reads: the child by id, the name masked.
    assert "P3（王*，八年级1班）" in desc and "R9-AM1" in desc and "07:12" in desc
    assert "王五" not in desc
    title, desc = child_alert_text(left, "en")
    assert title.startswith("Child left on board: 1 pupil(s) still on")
    assert "P3 (王*, 八年级1班)" in desc


def test_a_child_marked_absent_is_not_left_on_board():
    events = [*MORNING[:2], ev("P3", "absent", "07:05", "S2", 3), *MORNING[3:5]]
    _, t, left, _ = end_of(events)
    assert left is None and t.absent == 1


def test_alighting_at_the_wrong_stop_is_flagged_morning_and_afternoon():
    manifest = build_manifest(ROUTE, AM, PUPILS)
    off = ev("P1", "alight", "07:06", "S2", 7)  # got off before school
    alert = wrong_stop(manifest, off, 104.01, 30.0)
    assert alert is not None and alert.stop == "S2" and alert.pupils[0].name == "张小明"
    assert alert.key == f"bus:{PLATE}:wrong_stop:R9-AM1:{DAY}:P1"
    _, desc = child_alert_text(alert, "zh", {"S2": "金龙村站"})
    assert "P1（张*明" in desc and "下车站点：金龙村站" in desc
    home = build_manifest(ROUTE, PM, PUPILS)
    assert wrong_stop(home, ev("P1", "alight", "17:10", "S1", 8, "R9-PM1"), 0, 0) is None
    assert wrong_stop(home, ev("P1", "alight", "17:05", "S2", 9, "R9-PM1"), 0, 0) is not None
    # Where the bus was is unknown: nothing to say about the stop.
    assert wrong_stop(manifest, ev("P1", "alight", "07:06", None, 10), 0, 0) is None


def test_a_child_still_on_board_after_their_home_stop_missed_it():
    home = build_manifest(ROUTE, PM, PUPILS)  # driving order S3 (school), S2, S1
    boards = [ev(p, "board", "16:58", "S3", i, "R9-PM1") for i, p in enumerate(("P1", "P2", "P3"))]
    t = tally(home, boards)
    [alert] = missed_stop(home, t, 2, PLATE, DAY, at("17:10"), 104.0, 30.0)  # reached S1
    assert alert.pupils[0].id == "P3" and alert.stop == "S2"
    assert alert.key == f"bus:{PLATE}:missed_stop:R9-PM1:{DAY}:P3"
    _, desc = child_alert_text(alert, "zh", {"S2": "金龙村站"})
    assert "P3（王*" in desc and "应下车站点：金龙村站" in desc
    off = tally(home, [*boards, ev("P3", "alight", "17:05", "S2", 9, "R9-PM1")])
    assert missed_stop(home, off, 2, PLATE, DAY, at("17:10"), 0, 0) == []
    assert missed_stop(build_manifest(ROUTE, AM, PUPILS), t, 2, PLATE, DAY, at("07:10"),
                       0, 0) == []  # in the morning everyone gets off at school


def test_more_children_on_board_than_seats_is_an_overload():
    _, _, _, over = end_of(MORNING[:3], seats=2)
    assert over is not None and (over.value, over.limit) == (3, 2)
    assert child_alert_text(over, "zh")[0] == f"校车超员：{PLATE} 在车 3 人，核载 2 座"
    assert end_of(MORNING[:3], seats=3)[3] is None


def test_taps_arriving_late_and_out_of_order_give_the_same_end():
    clean = end_of(MORNING)[1].counts()
    for order in itertools.permutations(MORNING):
        _, t, left, _ = end_of(list(order))
        assert left is None and t.counts() == clean
    # Until the late alight arrives, the child counts as on board: the alert is raised, never
    # silent; with it, the tally is clean again.
    queued = MORNING[:-1]
    assert end_of(queued)[2] is not None
    assert end_of([MORNING[-1], *queued])[2] is None


# ---------------------------------------------------------------- in the incident loop
def school_day() -> date:
    """The last weekday before today (the demo routes run on school days)."""
    day = datetime.now(LOCAL_TZ).date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def local(day: date, hhmm: str) -> datetime:
    h, mi = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, mi, tzinfo=LOCAL_TZ)


TERMINAL = Principal(role="ingest", name="R01 card reader", kind="key", source="terminal")


def tap(services, pupil: str, event: str, when: datetime, plate: str, key: str):
    return services.boarding.record(TERMINAL, {
        "pupil": pupil, "event": event, "at": when.isoformat(), "vehicle": plate,
        "key": key}, now=when + timedelta(minutes=1))


def bus_work_orders(services, kind: str) -> list[m.Incident]:
    with services.store.session() as s:
        return list(s.scalars(select(m.Incident).where(
            m.Incident.source == "bus", m.Incident.source_ref.like(f"%:{kind}:%"))))


def test_the_bus_reaching_school_with_a_child_on_board_files_an_urgent_work_order(services):
    tracker = services.hub.tracker
    plan = tracker.fleet.plans["R01-AM1"]
    plate = "川F·D72692"
    day = school_day()
    times = [local(day, x) for x in plan.stop_times]
    manifest = services.boarding.pupils.manifest("R01-AM1")
    riders = [(s.code, p) for s in manifest.stops for p in s.pupils][:3]
    for i, (_, p) in enumerate(riders):
        tap(services, p.id, "board", times[0] + timedelta(seconds=30 * i), plate, f"k-board-{i}")
    for i, (_, p) in enumerate(riders[:2]):  # two get off at school, one stays
        tap(services, p.id, "alight", times[-1] + timedelta(seconds=10 * i), plate,
            f"k-alight-{i}")
    fixes = [VehiclePosition(plate=plate, at=times[i], lon=s.lon, lat=s.lat, speed_kmh=20,
                             heading=0) for i, s in enumerate(plan.stops)]
    tracker.observe(fixes)
    assert [r.index for r in tracker.take_stops()] == list(range(1, len(plan.stops)))
    # At the school stop the children get off first: nothing is due within the grace.
    assert tracker.take_ends(times[-1] + timedelta(seconds=60)) == []
    ends = tracker.take_ends(times[-1] + timedelta(seconds=tracker.alight_grace_s + 5))
    assert [(e.plate, e.trip, e.arrived) for e in ends] == [(plate, "R01-AM1", True)]
    tracker.handle_ends(ends)
    [order] = bus_work_orders(services, "left_child")
    left = riders[2][1]
    assert order.priority == "urgent" and plate in order.title and "1 名学生" in order.title
    assert f"{left.id}（{left.name[0]}*" in order.description
    assert left.name not in order.description
    # Anyone may read work orders through Open311: no child's whole name there.
    from datasources.doors.open311 import find_requests

    public = str(find_requests(services, "zh", refs=[order.ref]))
    assert left.id in public and all(p.name not in public for _, p in riders)
    tracker.handle_ends(ends)  # another process, or a repeated end: one work order
    assert len(bus_work_orders(services, "left_child")) == 1
    # The escort's phone was offline: the third child's alight arrives after the alert. The
    # work order is told, and that nobody is left on board.
    tap(services, left.id, "alight", times[-1] + timedelta(seconds=40), plate, "k-late-0001")
    notes = [h for h in services.store.history(order.id) if h["action"] == "note"]
    assert len(notes) == 1 and left.id in notes[0]["note"]
    assert "车上仍有 0 名学生" in notes[0]["note"]


def test_a_tap_off_at_the_wrong_stop_files_a_work_order_naming_the_child(services):
    plan = services.hub.tracker.fleet.plans["R01-AM1"]
    plate = "川F·D72692"
    day = school_day()
    when = local(day, plan.stop_times[2])
    stop = plan.stops[2]
    services.bus.publish_positions([VehiclePosition(plate=plate, at=when, lon=stop.lon,
                                                    lat=stop.lat, speed_kmh=0, heading=0)])
    manifest = services.boarding.pupils.manifest("R01-AM1")
    pupil = next(p for s in manifest.stops for p in s.pupils)
    tap(services, pupil.id, "board", local(day, plan.stop_times[0]), plate, "k-wrong-1")
    done = tap(services, pupil.id, "alight", when, plate, "k-wrong-2")
    assert done.event.stop == stop.code
    [order] = bus_work_orders(services, "wrong_stop")
    assert pupil.id in order.description and stop.name in order.description
    assert order.priority == "high"


def test_a_bus_alert_names_the_children_on_board_by_id(services):
    from dashboard.buses.alerts import Alert

    plan = services.hub.tracker.fleet.plans["R01-AM1"]
    plate = "川F·D72692"
    day = school_day()
    manifest = services.boarding.pupils.manifest("R01-AM1")
    kids = [p for s in manifest.stops for p in s.pupils][:2]
    for i, p in enumerate(kids):
        tap(services, p.id, "board", local(day, plan.stop_times[0]), plate, f"k-sos-000{i}")
    stop = plan.stops[2]
    services.hub.tracker.raise_alert(Alert(
        "overspeed", plate, local(day, plan.stop_times[2]), stop.lon, stop.lat, value=75.0,
        limit=60.0, trip="R01-AM1"))
    with services.store.session() as s:
        desc = s.scalar(select(m.Incident.description).where(
            m.Incident.source_ref.like(f"bus:{plate}:overspeed:%")))
    assert "车上学生 2 名" in desc
    assert all(p.id in desc and p.name not in desc for p in kids)


def test_a_child_carried_past_their_home_stop_files_a_work_order(services):
    tracker = services.hub.tracker
    plan = tracker.fleet.plans["R01-PM1"]
    plate = "川F·D72692"
    day = school_day()
    times = [local(day, x) for x in plan.stop_times]
    manifest = services.boarding.pupils.manifest("R01-PM1")
    stops = [s for s in manifest.stops if s.pupils]
    stays, goes = stops[0].pupils[0], stops[1].pupils[0]  # homes at two different stops
    for i, p in enumerate((stays, goes)):
        tap(services, p.id, "board", times[0] - timedelta(minutes=1), plate, f"k-pm-b{i:04d}")
    at_home = [s.code for s in plan.stops].index(goes.home_stop)
    tap(services, goes.id, "alight", times[at_home] + timedelta(seconds=20), plate,
        "k-pm-a0001")
    fixes = [VehiclePosition(plate=plate, at=times[i], lon=s.lon, lat=s.lat, speed_kmh=20,
                             heading=0) for i, s in enumerate(plan.stops)]
    tracker.observe(fixes)
    tracker.handle_stops(tracker.take_stops())
    [order] = bus_work_orders(services, "missed_stop")
    assert stays.id in order.description and "学生未下车" in order.title
    assert goes.id not in order.description


def test_the_record_catches_a_child_left_on_a_bus_the_tracker_never_saw_end(services):
    """The safety net: no GPS fix reached the tracker (or the server restarted within the
    children's grace), so no trip end was seen. When the trip's window closes, the sweep
    reads the taps and files the 遗留儿童 work order: once, and none for a clean trip."""
    from dashboard.buses.child_safety import windows_closed
    from dashboard.buses.timetable import trip_window

    watch = next(h.__self__ for h in services.hub.sweeps
                 if getattr(h, "__name__", "") == "sweep" and hasattr(h.__self__, "plans"))
    plans = services.hub.tracker.fleet.plans
    day = school_day()
    am = services.boarding.pupils.manifest("R01-AM1")
    times = [local(day, x) for x in plans["R01-AM1"].stop_times]
    closed = trip_window(plans["R01-AM1"].times_on(day))[1]
    riders = [p for s in am.stops for p in s.pupils][:2]
    plate = "川F·D72692"
    for i, p in enumerate(riders):
        tap(services, p.id, "board", times[0] + timedelta(seconds=30 * i), plate, f"net-board-{i}")
    tap(services, riders[0].id, "alight", times[-1], plate, "net-alight-0")
    # Before the window closes: nothing is due, nothing filed.
    assert "R01-AM1" not in dict(windows_closed(plans, day, closed - timedelta(minutes=1)))
    assert watch.sweep(closed - timedelta(minutes=1), force=True) == []
    assert dict(windows_closed(plans, day, closed + timedelta(minutes=1)))["R01-AM1"] == closed
    done = watch.sweep(closed + timedelta(minutes=1), force=True)
    [order] = bus_work_orders(services, "left_child")
    assert [o.event.incident.id for o in done if o.event] == [order.id]
    assert order.priority == "urgent" and plate in order.title and "1 名学生" in order.title
    assert riders[1].id in order.description and riders[0].id not in order.description
    # The next sweep, another process's, or the tracker's own end: still one work order.
    assert watch.sweep(closed + timedelta(minutes=2), force=True) == []
    assert len(bus_work_orders(services, "left_child")) == 1
    # Six hours on, yesterday's trips are not read again and again.
    assert "R01-AM1" not in dict(windows_closed(plans, day, closed + timedelta(hours=7)))
