"""The escort's phone (issue 13), in a real browser at 390×844: today's trip by stop, one tap
per child, taps kept on the phone while offline and sent once when back."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from sqlalchemy import func, select, update

from datasources.sql import models as m
from datasources.sql.pupils import PupilStore
from tests.browser import Live, ensure_user, signed_in_browser, wait_until
from tests.pupil_helpers import tap, times_running_now

PLATE = "川F·D72692"
PHONE = (390, 844)


def running_now(services, trip: str) -> None:
    """Move `trip`'s timetable so that it runs now (the town's timetable is data)."""
    with services.store.session() as s:
        n = len(s.get(m.Trip, trip).stop_times)
        times = times_running_now(n, step_minutes=3)
        s.execute(update(m.Trip).where(m.Trip.code == trip).values(stop_times=times))
        s.commit()


def escort(live: Live, name: str = "照管员丙") -> str:
    ensure_user(live.services.settings, "escort", name)
    services = live.services
    user = services.accounts.user(name)
    store = PupilStore(services.store.engine)
    store.add_post(user.id, "trip", "R01-AM1")
    store.add_post(user.id, "vehicle", PLATE)
    return name


def stored(services) -> int:
    with services.store.session() as s:
        return s.scalar(select(func.count()).select_from(m.BoardingEvent))




def queue_length(driver) -> int:
    # Read in one script: the list is redrawn as taps are sent, and an element found in one
    # WebDriver call may be gone by the next (stale under a loaded machine).
    return int(driver.execute_script("var q = document.getElementById('escort-queue');"
                                     "return q ? q.getAttribute('data-n') : -1;"))


def test_esc001_taps_are_counted_kept_offline_and_sent_once(live: Live):
    services = live.services
    running_now(services, "R01-AM1")
    name = escort(live)
    manifest = PupilStore(services.store.engine).manifest("R01-AM1")
    first, second, third = [p.id for s in manifest.stops for p in s.pupils][:3]
    with signed_in_browser(services.settings, live.base, "escort", "/escort", name, PHONE) as d:
        rows = wait_until(lambda: d.find_elements(By.CSS_SELECTOR, ".esc-pupil"),
                          what="the manifest on the phone")
        assert len(rows) == manifest.expected
        names = [e.text for e in d.find_elements(By.CSS_SELECTOR, ".esc-name")]
        assert all("*" not in n for n in names)  # the escort of the trip reads whole names
        assert "R01-AM1 · " + PLATE in d.find_element(By.CSS_SELECTOR, ".esc-trip").text

        tap(d, first, "board")
        wait_until(lambda: stored(services) == 1, what="the tap stored")
        wait_until(lambda: queue_length(d) == 0, what="the queue emptied")
        row = d.find_element(By.CSS_SELECTOR, f'.esc-pupil[data-pupil="{first}"]')
        assert "esc-on_board" in row.get_attribute("class") and "在车" in row.text

        # The connection drops: taps are shown and kept, nothing reaches the server.
        d.execute_script("window.fetch = function () {"
                         " return Promise.reject(new TypeError('offline')); };")
        tap(d, second, "board")
        tap(d, third, "absent")
        wait_until(lambda: queue_length(d) == 2, what="two taps waiting")
        assert "待发送 2 条" in d.find_element(By.ID, "escort-queue").text
        on_board = d.find_element(By.CSS_SELECTOR, ".esc-count-on_board b").text
        assert on_board == "2" and stored(services) == 1
        assert "离线" in d.find_element(By.CSS_SELECTOR, ".esc-offline").text

        # The phone is reloaded with the network back: the queue survives and is sent.
        d.refresh()
        wait_until(lambda: stored(services) == 3, what="the queued taps stored")
        wait_until(lambda: d.find_elements(By.ID, "escort-queue") and queue_length(d) == 0,
                   what="the queue emptied after reload")

        # An answer lost on the way: the phone sends a tap the server already has. It is
        # stored once.
        with services.store.session() as s:
            key = s.scalar(select(m.BoardingEvent.idem_key).limit(1))
        d.execute_script(
            "var q = JSON.parse(localStorage.getItem('zn-escort-queue') || '[]');"
            "q.push({pupil: arguments[0], event: 'board', at: new Date().toISOString(),"
            " vehicle: arguments[1], trip: 'R01-AM1', key: arguments[2]});"
            "localStorage.setItem('zn-escort-queue', JSON.stringify(q));",
            first, PLATE, key)
        wait_until(lambda: queue_length(d) == 0 and stored(services) == 3, timeout=15,
                   what="the retried tap dropped, not stored twice")
        counts = {c.get_attribute("class").split("esc-count-")[1]:
                  c.find_element(By.TAG_NAME, "b").text
                  for c in d.find_elements(By.CSS_SELECTOR, ".esc-count")}
        assert counts == {"expected": str(manifest.expected), "on_board": "2",
                          "alighted": "0", "absent": "1"}
    assert services.audit.search(action="pupils.manifest")[0]["target"] == "R01-AM1"
