"""What the pupils' tests share: a hand-built route R9 (three stops, a trip to school and
one home), a mother, and a tap on the /escort page."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from selenium.webdriver.common.by import By

from dashboard.buses.pupils import GuardianRecord
from dashboard.timeutil import LOCAL_TZ
from dashboard.town import Route, Stop, Trip

STOPS = [Stop("S1", "白鹤村站", "Baihe", 104.0, 30.0),
         Stop("S2", "金龙村站", "Jinlong", 104.01, 30.0),
         Stop("S3", "学校站", "School", 104.02, 30.0)]
AM = Trip("R9-AM1", "am", "to_school", ["07:00", "07:05", "07:10"], "school")
PM = Trip("R9-PM1", "pm", "from_school", ["17:00", "17:05", "17:10"], "school")
ROUTE = Route("R9", "九号线", "Route 9", "青石中学", STOPS, [], 0, [AM, PM], {})
MUM = GuardianRecord("王秀兰", "母亲", "13812341234")


def tap(driver, pupil: str, event: str) -> None:  # type: ignore[no-untyped-def]
    """Tap a child's button on /escort (the list is redrawn after each send: find it
    afresh)."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(20):
        try:
            driver.find_element(By.CSS_SELECTOR,
                                f'.esc-tap[data-pupil="{pupil}"][data-event="{event}"]').click()
            return
        except StaleElementReferenceException:
            time.sleep(0.05)
    raise AssertionError(f"could not tap {event} for {pupil}")


# The demo town's first morning trip and its bus, for journeys on today's clock.
PLATE = "川F·D72692"
TRIP = "R01-AM1"


def times_running_now(n: int, step_minutes: int = 1,
                      now: datetime | None = None) -> list[str]:
    """`n` stop times `step_minutes` apart of a trip on the road now: it left five minutes
    ago, or, near Beijing midnight, as late as still arrives the same day (a timetable is
    times of one day; shifted across midnight the trip would run tomorrow, and a tap would be
    refused as no trip now)."""
    now = now or datetime.now(LOCAL_TZ)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    last_start = day + timedelta(hours=23, minutes=59 - step_minutes * (n - 1))
    start = max(day, min(now - timedelta(minutes=5), last_start))
    return [(start + timedelta(minutes=step_minutes * i)).strftime("%H:%M") for i in range(n)]


def trip_running_now(db_url: str) -> None:
    """Before the server starts (the tracker reads the timetable once): the trip departed
    five minutes ago and reaches school in a few minutes, and runs every day (the test may
    run on a weekend)."""
    from sqlalchemy import select, update

    from datasources.sql import models as m
    from datasources.sql.engine import make_engine

    engine = make_engine(db_url)
    with engine.begin() as conn:
        n = len(conn.scalar(select(m.Trip.stop_times).where(m.Trip.code == TRIP)))
        times = times_running_now(n)
        conn.execute(update(m.Trip).where(m.Trip.code == TRIP).values(stop_times=times,
                                                                          days="daily"))
    engine.dispose()
