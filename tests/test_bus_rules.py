"""Bus rules on recorded tracks: matching, ETA, punctuality and each alert, episode by episode."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from dashboard.buses.alerts import AlertConfig, SpeedLimits, SpeedZone
from dashboard.buses.board import bus_board_rows
from dashboard.buses.line import RouteLine
from dashboard.buses.timetable import is_school_day, local_date, runs_on
from dashboard.buses.tracking import Fleet, build_plans
from dashboard.settings import DEMO_TOWN_DIR
from dashboard.town import Route, Stop, Trip
from datasources.towns.files import load_town

WED = date(2026, 11, 25)


def local(hhmm: str, day: date = WED) -> datetime:
    """A Shanghai wall-clock time on `day` as UTC."""
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture(scope="module")
def town():  # type: ignore[no-untyped-def]
    return load_town(DEMO_TOWN_DIR)


def fleet_for(town, cfg: AlertConfig | None = None, zones=()):  # type: ignore[no-untyped-def]
    plans = build_plans(town.routes)
    vehicles = {v.plate: (v.route, v.seats) for v in town.vehicles}
    cfg = cfg or AlertConfig()
    return Fleet(plans, vehicles, cfg, SpeedLimits(cfg.limit_kmh, zones))


def drive(fleet: Fleet, plate: str, line: RouteLine, start: datetime, d0: float, d1: float,
          kmh: float, *, trip: str | None = None, jitter_m: float = 0.0, seed: int = 1,
          onboard: int | None = None) -> tuple[list, datetime]:
    """Feed one fix a second from d0 to d1 at `kmh`; returns the alerts and the end time."""
    rng = random.Random(seed)
    alerts, t, d = [], start, d0
    step = kmh / 3.6 * (1 if d1 >= d0 else -1)
    while (d <= d1) if step > 0 else (d >= d1):
        lon, lat = line.lonlat(d)
        lon += rng.uniform(-jitter_m, jitter_m) / 96_000
        lat += rng.uniform(-jitter_m, jitter_m) / 110_574
        alerts += fleet.observe(plate, t, lon, lat, kmh, trip=trip, onboard=onboard)
        alerts += fleet.tick(t)
        t += timedelta(seconds=1)
        d += step
    return alerts, t


def dwell(fleet: Fleet, plate: str, lon: float, lat: float, start: datetime, seconds: int,
          *, jitter_m: float = 8.0, trip: str | None = None, alarm: int | None = None,
          seed: int = 2) -> tuple[list, datetime]:
    """A standing bus: the fix wanders by up to `jitter_m` and reports a few km/h."""
    rng = random.Random(seed)
    alerts, t = [], start
    for _ in range(seconds):
        alerts += fleet.observe(plate, t, lon + rng.uniform(-jitter_m, jitter_m) / 96_000,
                                lat + rng.uniform(-jitter_m, jitter_m) / 110_574,
                                rng.uniform(0, 4.0), trip=trip, alarm=alarm)
        alerts += fleet.tick(t)
        t += timedelta(seconds=1)
    return alerts, t


PLATE = "川F·D72692"  # R01, 19 seats


def test_a_fix_is_matched_to_its_route_with_progress_and_next_stop(town) -> None:
    plan = build_plans(town.routes)["R01-AM1"]
    line = plan.line
    assert line.stop_m[0] == pytest.approx(0.0, abs=1)
    assert line.stop_m[-1] == pytest.approx(line.length_m, abs=1)
    halfway = (line.stop_m[2] + line.stop_m[3]) / 2
    lon, lat = line.lonlat(halfway)
    m = line.match(lon + 20 / 96_000, lat)  # 20 m beside the road
    assert m.along_m == pytest.approx(halfway, abs=25)
    assert 0 < m.offset_m < 25
    assert m.progress == pytest.approx(halfway / line.length_m, abs=0.01)
    assert line.next_stop(halfway) == 3
    assert line.next_stop(line.stop_m[2]) == 3  # standing at stop 2: heading for stop 3
    assert line.next_stop(line.length_m) is None


def test_a_bus_on_the_timetable_is_on_time_and_etas_follow_it(town) -> None:
    fleet = fleet_for(town)
    line = fleet.plans["R01-AM1"].line
    # 7.5 km in 15 min: about 30 km/h; start on the minute of departure.
    alerts, t = drive(fleet, PLATE, line, local("06:35"), 0, line.stop_m[3], 30, onboard=12)
    row = fleet.row(PLATE, t)
    assert row["trip"] == "R01-AM1"
    assert row["status"] == "on_time", row
    assert row["next_stop"] == "石桥村委会站"
    assert row["load"] == round(12 / 19, 2)
    eta = datetime.fromisoformat(row["eta_next"])
    assert abs((eta - local("06:46")).total_seconds()) < 180
    detail = fleet.detail(PLATE, t)
    assert [s["passed"] for s in detail["stops"]] == [True] * 4 + [False] * 3
    assert alerts == []


def test_a_late_bus_is_late_and_its_etas_move_by_the_delay(town) -> None:
    fleet = fleet_for(town)
    line = fleet.plans["R01-AM1"].line
    _, t = drive(fleet, PLATE, line, local("06:42"), 0, line.stop_m[2], 30)
    row = fleet.row(PLATE, t)
    assert row["status"] == "late"
    assert 5 <= row["delay_min"] <= 9
    detail = fleet.detail(PLATE, t)
    last = datetime.fromisoformat(detail["stops"][-1]["eta"])
    shift = (last - local("06:50")).total_seconds() / 60
    assert shift == pytest.approx(row["delay_min"], abs=0.1)


def test_an_early_bus_is_early(town) -> None:
    fleet = fleet_for(town)
    line = fleet.plans["R01-AM1"].line
    _, t = drive(fleet, PLATE, line, local("06:32"), 0, line.stop_m[3], 30)
    assert fleet.row(PLATE, t)["status"] == "early"


def test_afternoon_trips_drive_the_route_backwards_from_school(town) -> None:
    fleet = fleet_for(town)
    plan = fleet.plans["R01-PM1"]
    assert plan.stops[0].name == "青石中学站"
    _, t = drive(fleet, PLATE, plan.line, local("17:40"), 0, plan.line.stop_m[1] + 200, 30)
    row = fleet.row(PLATE, t)
    assert row["trip"] == "R01-PM1"
    assert row["next_stop"] == plan.stops[2].name


def test_gps_jitter_at_a_stop_is_no_alert_and_never_moves_the_bus_backwards(town) -> None:
    fleet = fleet_for(town)
    line = fleet.plans["R01-AM1"].line
    a1, t = drive(fleet, PLATE, line, local("06:35"), 0, line.stop_m[2], 30)
    along = fleet.tracks[PLATE].along_m
    lon, lat = line.lonlat(line.stop_m[2])
    a2, t = dwell(fleet, PLATE, lon, lat, t, 240, jitter_m=10)
    assert a1 + a2 == []
    assert fleet.tracks[PLATE].along_m >= along
    assert fleet.row(PLATE, t)["next_stop"] == "石桥村6组站"


def test_a_bus_that_never_left_is_not_started_not_late_with_one_late_departure_alert(
        town) -> None:
    fleet = fleet_for(town)
    s0 = fleet.plans["R01-AM1"].stops[0]
    alerts, t = dwell(fleet, PLATE, s0.lon, s0.lat, local("06:25"), 25 * 60, jitter_m=6)
    kinds = [a.kind for a in alerts]
    assert kinds == ["late_departure"]
    assert alerts[0].trip == "R01-AM1"
    assert alerts[0].started_at == local("06:35")
    row = fleet.row(PLATE, t)
    assert row["status"] == "not_started"  # counted as 未发车, not as a late bus
    assert row["delay_min"] == pytest.approx(15, abs=0.1)
    assert row["next_stop"] == s0.name


def loop_route() -> Route:
    """A ring route: leaves the school, goes round and comes back to the same stop."""
    ring = [[104.45, 30.55], [104.46, 30.55], [104.46, 30.56], [104.45, 30.56], [104.45, 30.55]]
    stops = [Stop("L-S1", "学校站", "School", 104.45, 30.55),
             Stop("L-S2", "东站", "East", 104.46, 30.555),
             Stop("L-S3", "北站", "North", 104.455, 30.56),
             Stop("L-S4", "学校站", "School", 104.45, 30.55)]
    trips = [Trip("L-AM1", "am", "to_school", ["07:00", "07:04", "07:08", "07:12"], "daily")]
    return Route("L01", "环线", "Ring", "学校", stops, ring, 4000, trips, {})


def test_a_loop_route_starts_at_its_start_and_finishes_at_its_end() -> None:
    plans = build_plans([loop_route()])
    fleet = Fleet(plans, {"LOOP-1": ("L01", 30)})
    line = plans["L-AM1"].line
    assert line.stop_m[0] == pytest.approx(0, abs=1)
    assert line.stop_m[-1] == pytest.approx(line.length_m, abs=1)
    _, t = dwell(fleet, "LOOP-1", 104.45, 30.55, local("06:58"), 60, jitter_m=5)
    assert fleet.row("LOOP-1", t)["status"] == "scheduled"  # 06:59, it leaves at 07:00
    assert not fleet.tracks["LOOP-1"].arrived
    _, t = drive(fleet, "LOOP-1", line, local("07:00"), 0, line.length_m - 300, 20)
    row = fleet.row("LOOP-1", t)
    assert row["next_stop"] == "学校站" and row["status"] != "done"
    _, t = drive(fleet, "LOOP-1", line, t, line.length_m - 300, line.length_m, 20)
    assert fleet.row("LOOP-1", t)["status"] == "done"
    arrived = fleet.finished[f"{local_date(t)}:L-AM1"]
    assert arrived["plate"] == "LOOP-1" and arrived["status"] == "on_time"
    assert 0 < arrived["delay_s"] < 180  # 4.4 km at 20 km/h: a little after 07:12


def test_overspeed_raises_one_alert_per_episode(town) -> None:
    fleet = fleet_for(town)
    line = fleet.plans["R01-AM1"].line
    a1, t = drive(fleet, PLATE, line, local("06:35"), 0, 600, 72)
    a2, t = drive(fleet, PLATE, line, t, 600, 900, 40)  # back under the limit for a while
    a3, t = drive(fleet, PLATE, line, t, 900, 1500, 75)
    overs = [a for a in a1 + a2 + a3 if a.kind == "overspeed"]
    assert len(overs) == 2
    assert overs[0].value == 72 and overs[0].limit == 60
    assert overs[0].key != overs[1].key


def test_a_short_speed_spike_is_not_overspeed(town) -> None:
    fleet = fleet_for(town)
    line = fleet.plans["R01-AM1"].line
    a1, t = drive(fleet, PLATE, line, local("06:35"), 0, 300, 40)
    a2, t = drive(fleet, PLATE, line, t, 300, 340, 70)  # two fixes over: a GPS glitch
    a3, t = drive(fleet, PLATE, line, t, 340, 800, 40)
    assert a1 + a2 + a3 == []


def test_a_20_kmh_zone_from_the_town_file_lowers_the_limit(town) -> None:
    line = build_plans(town.routes)["R01-AM1"].line
    bridge = [list(line.lonlat(1000)), list(line.lonlat(1400))]
    fleet = fleet_for(town, zones=[SpeedZone("石桥", 20, bridge, 30)])
    a1, t = drive(fleet, PLATE, line, local("06:35"), 0, 900, 30)
    a2, t = drive(fleet, PLATE, line, t, 1000, 1400, 30)
    assert a1 == []
    assert [(a.kind, a.limit, a.zone) for a in a2] == [("overspeed", 20, "石桥")]


def test_off_route_needs_the_bus_to_stay_out_of_the_corridor(town) -> None:
    fleet = fleet_for(town)
    line = fleet.plans["R01-AM1"].line
    _, t = drive(fleet, PLATE, line, local("06:35"), 0, 500, 30)
    lon, lat = line.lonlat(500)
    brief = []
    for i in range(10):  # 10 s on a parallel lane 300 m away: not yet an episode
        brief += fleet.observe(PLATE, t + timedelta(seconds=i), lon + 300 / 96_000, lat, 30)
    t += timedelta(seconds=10)
    _, t = drive(fleet, PLATE, line, t, 500, 900, 30)
    long = []
    for i in range(60):
        long += fleet.observe(PLATE, t + timedelta(seconds=i), lon + 400 / 96_000, lat, 30)
    assert brief == []
    assert [a.kind for a in long] == ["off_route"]
    assert long[0].value > 150


def test_signal_lost_after_60_s_without_a_fix_on_a_trip_once(town) -> None:
    fleet = fleet_for(town)
    line = fleet.plans["R01-AM1"].line
    _, t = drive(fleet, PLATE, line, local("06:35"), 0, 500, 30)
    last = t - timedelta(seconds=1)
    assert fleet.tick(last + timedelta(seconds=30)) == []
    lost = fleet.tick(last + timedelta(seconds=61)) + fleet.tick(last + timedelta(seconds=90))
    assert [a.kind for a in lost] == ["signal_lost"]
    assert lost[0].started_at == last
    # The signal comes back, then goes again: a new episode.
    _, t = drive(fleet, PLATE, line, last + timedelta(seconds=95), 600, 800, 30)
    again = fleet.tick(t + timedelta(seconds=70))
    assert [a.kind for a in again] == ["signal_lost"]


def test_no_signal_lost_off_duty(town) -> None:
    fleet = fleet_for(town)
    fleet.observe(PLATE, local("12:00"), 104.46, 30.55, 0)
    assert fleet.tick(local("12:05")) == []


def test_an_unscheduled_stop_between_stops_once(town) -> None:
    fleet = fleet_for(town)
    line = fleet.plans["R01-AM1"].line
    mid = (line.stop_m[1] + line.stop_m[2]) / 2
    _, t = drive(fleet, PLATE, line, local("06:35"), 0, mid, 30)
    lon, lat = line.lonlat(mid)
    alerts, t = dwell(fleet, PLATE, lon, lat, t, 200, jitter_m=6)
    assert [a.kind for a in alerts] == ["unscheduled_stop"]


def test_sos_alarm_bit_once_per_episode(town) -> None:
    fleet = fleet_for(town)
    s = fleet.plans["R01-AM1"].stops[2]
    alerts, t = dwell(fleet, PLATE, s.lon, s.lat, local("10:00"), 20, alarm=0x1)
    assert [a.kind for a in alerts] == ["sos"]
    quiet, t = dwell(fleet, PLATE, s.lon, s.lat, t, 40, alarm=0)
    again, t = dwell(fleet, PLATE, s.lon, s.lat, t, 5, alarm=0x1 | 0x4)
    assert quiet == [] and [a.kind for a in again] == ["sos"]


def test_an_sos_in_a_late_re_sent_fix_is_raised_once(town) -> None:
    fleet = fleet_for(town)
    s = fleet.plans["R01-AM1"].stops[2]
    quiet, t = dwell(fleet, PLATE, s.lon, s.lat, local("10:00"), 10, alarm=0)
    # Out of signal the terminal stored a pressed SOS; it arrives after newer fixes.
    late = fleet.observe(PLATE, t - timedelta(seconds=30), s.lon, s.lat, 0.0, alarm=0x1)
    assert quiet == [] and [(a.kind, a.started_at) for a in late] == [
        ("sos", t - timedelta(seconds=30))]
    assert fleet.observe(PLATE, t - timedelta(seconds=29), s.lon, s.lat, 0.0, alarm=0x1) == []
    assert fleet.track(PLATE).at == t - timedelta(seconds=1)  # the bus did not move back


def test_two_processes_name_the_same_episode_alike(town) -> None:
    keys = []
    for _ in range(2):
        fleet = fleet_for(town)
        line = fleet.plans["R01-AM1"].line
        alerts, _ = drive(fleet, PLATE, line, local("06:35"), 0, 400, 70)
        keys.append([a.key for a in alerts])
    assert keys[0] == keys[1] and len(keys[0]) == 1


def test_school_days_weekends_and_holidays() -> None:
    assert is_school_day(WED)
    assert not is_school_day(date(2026, 11, 28))
    assert not is_school_day(WED, holidays=[WED])
    assert is_school_day(date(2026, 11, 28), workdays=[date(2026, 11, 28)])
    assert runs_on("daily", date(2026, 11, 29)) and runs_on("weekend", date(2026, 11, 29))


def test_no_school_trip_on_a_saturday(town) -> None:
    fleet = fleet_for(town)
    line = fleet.plans["R01-AM1"].line
    sat = date(2026, 11, 28)
    alerts, t = drive(fleet, PLATE, line, local("06:35", sat), 0, 800, 30)
    assert fleet.row(PLATE, t)["trip"] is None
    assert alerts == []


def test_the_board_lists_late_buses_first_in_the_screen_language(town) -> None:
    class State:
        trips = {
            "A": {"plate": "A", "route": "R01", "route_name": "1号线", "route_name_en": "L1",
                  "trip": "R01-AM1", "next_stop": "甲站", "next_stop_en": "Stop A",
                  "eta_next": local("06:41").isoformat(), "status": "on_time",
                  "delay_min": 0.5, "load": 0.5},
            "B": {"plate": "B", "route": "R02", "route_name": "2号线", "route_name_en": "L2",
                  "trip": "R02-AM1", "next_stop": "乙站", "next_stop_en": "Stop B",
                  "eta_next": None, "status": "late", "delay_min": 6.2, "load": None},
        }
    zh = bus_board_rows(State(), "zh")
    assert [r["plate"] for r in zh] == ["B", "A"]
    assert zh[0]["status_label"] == "晚点" and zh[0]["delay_text"] == "晚6分"
    assert zh[1]["eta_next"] == "06:41" and zh[1]["load_text"] == "50%"
    en = bus_board_rows(State(), "en")
    assert en[0]["route_name"] == "L2" and en[0]["delay_text"] == "6 min late"


def test_before_departure_the_bus_may_come_from_its_depot_and_park_quietly(town) -> None:
    fleet = fleet_for(town)
    s0 = fleet.plans["R01-AM1"].stops[0]
    alerts = []
    for i in range(60):  # from a depot 600 m east of the first stop, 25 min early
        alerts += fleet.observe(PLATE, local("06:10") + timedelta(seconds=i),
                                s0.lon + (600 - i * 10) / 96_000, s0.lat + 300 / 110_574, 30)
    alerts += fleet.tick(local("06:20"))  # parked, engine off, no fix for 9 minutes
    alerts += fleet.tick(local("06:30"))
    assert alerts == []
    assert fleet.row(PLATE, local("06:30"))["status"] == "scheduled"  # its time is 06:35
    # From departure time on, silence is a lost signal.
    assert [a.kind for a in fleet.tick(local("06:36"))] == ["signal_lost"]


# ------------------------------------------------------------------ the board agrees with itself
def test_a_finished_trip_keeps_its_lateness_on_the_row_and_the_board(town) -> None:
    from dashboard.buses.views import day_trips

    fleet = fleet_for(town)
    line = fleet.plans["R01-AM1"].line
    # Leaves 7 minutes late and arrives about 7 minutes after 06:50.
    _, t = drive(fleet, PLATE, line, local("06:42"), line.stop_m[0], line.stop_m[-1], 35,
                 trip="R01-AM1")
    row = fleet.row(PLATE, t)
    assert row["status"] == "done" and row["delay_min"] > 3
    board = {b["trip"]: b for b in day_trips(fleet.plans, {PLATE: row}, fleet.finished, t, "zh")}
    assert board["R01-AM1"]["plate"] == PLATE
    assert board["R01-AM1"]["punctuality"].startswith("已到达 晚")
    # After the trip's window the row has no trip; the board still shows the same lateness.
    later = local("08:00")
    fleet.tick(later)
    gone = {b["trip"]: b for b in day_trips(fleet.plans, {PLATE: fleet.row(PLATE, later)},
                                            fleet.finished, later, "zh")}
    assert gone["R01-AM1"]["punctuality"] == board["R01-AM1"]["punctuality"]


def test_two_buses_of_a_route_never_hold_one_trip(town) -> None:
    fleet = fleet_for(town)
    other = "川F·D54327"  # also R01
    s0 = fleet.plans["R01-AM1"].stops[0]
    # Both park at the first stop at 06:50, when R01-AM1 and R01-AM2 both have their window.
    dwell(fleet, PLATE, s0.lon, s0.lat, local("06:50"), 5, jitter_m=0)
    dwell(fleet, other, s0.lon, s0.lat, local("06:50"), 5, jitter_m=0)
    trips = {fleet.row(PLATE, local("06:51"))["trip"], fleet.row(other, local("06:51"))["trip"]}
    assert trips == {"R01-AM1", "R01-AM2"}


def test_every_status_has_one_label_and_one_colour() -> None:
    from dashboard.buses.board import STATUSES, status_colour, status_label
    from dashboard.buses.timetable import STATUSES as TRIP_STATES

    assert set(TRIP_STATES) <= set(STATUSES)
    for status, (zh, en, colour) in STATUSES.items():
        assert (status_label(status, "zh"), status_label(status, "en")) == (zh, en)
        assert status_colour(status) == colour
    assert len({zh for zh, _, _ in STATUSES.values()}) == len(STATUSES)


# ------------------------------------------------------------------ when a fix may count
def test_a_fix_time_is_bounded_by_the_clock_and_by_the_bus_latest_fix() -> None:
    from dashboard.buses.fixtime import BAD_TIME, FixWindow, screen_fixes, time_fault
    from dashboard.messages import VehiclePosition

    now = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    win = FixWindow(future_s=300, replay_s=3600)
    assert time_fault(now + timedelta(minutes=4), now, None, win) is None
    assert time_fault(now + timedelta(minutes=6), now, None, win) == BAD_TIME
    assert time_fault(datetime(9999, 12, 31, 23, 59, tzinfo=UTC), now, None, win) == BAD_TIME
    assert time_fault(datetime(2068, 1, 1, tzinfo=UTC), now, now, win) == BAD_TIME
    # Behind the bus's latest fix: a blind-area re-upload within the window is fine.
    assert time_fault(now - timedelta(minutes=59), now, now, win) is None
    assert time_fault(now - timedelta(minutes=61), now, now, win) == BAD_TIME
    # Nothing before 2000 is a GPS fix of a school bus (nor year 1, however written).
    assert time_fault(datetime(1999, 12, 31, tzinfo=UTC), now, None, win) == BAD_TIME
    assert time_fault(datetime.fromisoformat("0001-01-01T00:00:00+08:00"), now, None,
                      win) == BAD_TIME
    # A latest fix that is itself in the future (stored before this rule) binds nothing:
    # the next good fix replaces it.
    assert time_fault(now, now, datetime(2068, 1, 1, tzinfo=UTC), win) is None

    def fix(plate: str, at: datetime) -> VehiclePosition:
        return VehiclePosition(plate=plate, lon=104.46, lat=30.55, at=at)

    batch = [fix("A", now - timedelta(seconds=30)), fix("A", datetime(2068, 1, 1, tzinfo=UTC)),
             fix("A", now - timedelta(seconds=60)), fix("B", now - timedelta(hours=3)),
             fix("C", now)]
    got = screen_fixes(batch, now, {"A": now - timedelta(seconds=45),
                                    "B": now - timedelta(seconds=10),
                                    "C": datetime(2068, 1, 1, tzinfo=UTC)}, win)
    assert got.refused == [1, 3]
    assert got.kept == [batch[0], batch[2], batch[4]]
    # The latest state only moves forward: A's -60 s fix is kept (history) but not latest.
    assert got.latest == {"A": batch[0], "C": batch[4]}
