"""The journey of issue 13 with a parent in it, every screen a real browser at once: the
escort taps three children on at two stops → one child's mother, on /parent from the link
the school sent, sees 上车 and the bus, and her phone gets the 上车 text (a local SMS
gateway); she turns the texts off → the bus reaches school, two get off (her child among
them: 到校, the bus leaves her map, no text), one stays → the 遗留儿童 alert is on the wall
and first in the console queue as urgent, naming the child by id and masked name → the
officer dispatches it."""

from __future__ import annotations

import json
from datetime import timedelta

from selenium.webdriver.common.by import By

from dashboard.buses.notify import guardian_recipient
from dashboard.messages import VehiclePosition
from dashboard.timeutil import utcnow
from datasources.sql.pupils import PupilStore
from tests.browser import ensure_user, new_browser, serve, signed_in_browser, wait_until
from tests.pupil_helpers import PLATE, TRIP, tap, trip_running_now
from tests.receiver import SmsGateway

PHONE = (390, 844)


def text(driver, selector: str) -> str:
    """The text of what `selector` finds ('' if nothing, or redrawn while read)."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, selector))
    except StaleElementReferenceException:
        return ""


def severe(driver) -> list[str]:
    """SEVERE console messages since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_par001_parent_sees_the_tap_and_the_bus_and_the_left_child_is_dispatched(
        settings, tmp_path):
    trip_running_now(settings.database_url)
    name = ensure_user(settings, "escort", "照管员戊")
    sms = SmsGateway()
    notify_file = tmp_path / "notify.json"
    notify_file.write_text(json.dumps(sms.config()), encoding="utf-8")
    settings = settings.with_(bus_alight_grace_s=2.0, notify_file=str(notify_file))
    try:
        with serve(settings) as live:
            run_journey(live, settings, name, sms)
    finally:
        sms.close()


def run_journey(live, settings, name: str, sms: SmsGateway) -> None:
    services = live.services
    store = PupilStore(services.store.engine)
    user = services.accounts.user(name)
    store.add_post(user.id, "trip", TRIP)
    store.add_post(user.id, "vehicle", PLATE)
    manifest = store.manifest(TRIP)
    stops_with = [s for s in manifest.stops if s.pupils]
    # Three children at two stops: the first two of the first stop with children (or one),
    # the rest from the next.
    first_stop, second_stop = stops_with[0], stops_with[1]
    riders = (list(first_stop.pupils[:2]) + list(second_stop.pupils))[:3]
    child, left = riders[0], riders[2]
    mother = child.guardians[0]
    token = services.accounts.add_key("guardian", guardian_recipient(child.id, 1))
    plan = services.hub.tracker.fleet.plans[TRIP]
    stop_at = {s.code: s for s in plan.stops}

    def bus_at(code: str, seconds_ago: float) -> None:
        s = stop_at[code]
        services.bus.publish_positions([VehiclePosition(
            plate=PLATE, at=utcnow() - timedelta(seconds=seconds_ago), lon=s.lon, lat=s.lat,
            speed_kmh=0, heading=90, trip=TRIP)])

    parent = new_browser(PHONE)
    try:
        with signed_in_browser(settings, live.base, "officer", "/dispatch") as console, \
                signed_in_browser(settings, live.base, "display") as wall, \
                signed_in_browser(settings, live.base, "escort", "/escort", name,
                                  PHONE) as phone:
            parent.get(f"{live.base}/parent?link={token}")
            wait_until(lambda: parent.find_elements(By.CSS_SELECTOR, ".par-child"),
                       what="the mother's page")
            assert token not in parent.current_url  # swapped for a cookie at once
            assert text(parent, ".par-name").startswith(child.name)  # her child, whole
            assert "待上车" in text(parent, ".par-trip")
            wait_until(lambda: phone.find_elements(By.CSS_SELECTOR, ".esc-pupil"),
                       what="the manifest on the escort's phone")

            # The bus at the first stop: two get on; then at the next stop, the third.
            bus_at(first_stop.code, 40)
            wait_until(lambda: services.hub.state.vehicles.get(PLATE) is not None,
                       what="the bus's fix in the hub")
            for p in riders:
                if p.home_stop == first_stop.code:
                    tap(phone, p.id, "board")
            # Bounded by the wait, not timed: how fast is bench/parent.py's to measure.
            wait_until(lambda: "上车" in text(parent, ".par-timeline"), timeout=15,
                       what="上车 on the mother's page")
            line = text(parent, ".par-timeline")
            assert first_stop.name in line, line  # 上车 07:12 白鹤村站
            assert "在车上" in text(parent, ".par-state")
            wait_until(lambda: parent.find_elements(By.CSS_SELECTOR, ".par-bus-marker"),
                       what="the bus on the mother's map")
            assert PLATE in text(parent, ".par-bus")
            # Her phone got the text through the SMS gateway; nobody else's child named.
            wait_until(lambda: sms.texts_to(mother.phone), timeout=20,
                       what="the 上车 text at the gateway")
            message = sms.texts_to(mother.phone)[0]
            assert "上车" in message and child.name in message and PLATE in message
            # She turns the texts off on her page: no 到校 text will come.
            parent.find_element(By.CSS_SELECTOR, ".par-sms-box").click()
            wait_until(lambda: "短信通知已关闭" in text(parent, ".par-sms-state"),
                       what="the switch saying texts are off")
            assert services.outbox.muted(guardian_recipient(child.id, 1))
            bus_at(second_stop.code, 20)
            for p in riders:
                if p.home_stop != first_stop.code:
                    tap(phone, p.id, "board")
            # Nothing on her page names another child.
            page = parent.find_element(By.TAG_NAME, "body").text
            assert all(p.name not in page and p.id not in page for p in riders[1:])

            # At school, two get off (her child among them), one stays on.
            for p in riders[:2]:
                tap(phone, p.id, "alight")
            n = len(plan.stops)
            now = utcnow()
            services.bus.publish_positions([
                VehiclePosition(plate=PLATE, at=now - timedelta(seconds=(n - 1 - i) / 10),
                                lon=s.lon, lat=s.lat, speed_kmh=25, heading=90, trip=TRIP)
                for i, s in enumerate(plan.stops)])
            wait_until(lambda: "到校" in text(parent, ".par-timeline"), timeout=15,
                       what="到校 on the mother's page")
            wait_until(lambda: not parent.find_elements(By.CSS_SELECTOR, ".par-bus-marker"),
                       timeout=15, what="the bus leaving her map once her child is off")

            # Her child's 到校 was kept as muted, not sent; the other guardian's was sent.
            recipient = guardian_recipient(child.id, 1)
            wait_until(lambda: any(r["status"] == "muted"
                                   for r in services.outbox.log(recipient)),
                       what="the 到校 text held for the muted mother")
            assert len(sms.texts_to(mother.phone)) == 1
            if len(child.guardians) > 1 and child.guardians[1].phone != mother.phone:
                wait_until(lambda: any("到校" in x for x in
                                       sms.texts_to(child.guardians[1].phone)),
                           what="the 到校 text to the other guardian")

            # The wall: the 遗留儿童 alert in its ticker (the grace, 2 s here, then the
            # tracker's next tick, every 5 s, then the push; SOS alerts head the first page).
            wait_until(lambda: "遗留儿童" in text(wall, "#home-ticker"), timeout=20,
                       what="the 遗留儿童 alert on the wall")

            def first_row() -> tuple[str, str, str] | None:
                # Read once, text, class and id together: the queue redraws as it streams,
                # so an element found here may be gone when the assertions read it.
                rows = console.find_elements(By.CSS_SELECTOR, "#disp-list .q-row")
                try:
                    if rows and "遗留儿童" in rows[0].text:
                        return (str(rows[0].text), str(rows[0].get_attribute("class")),
                                str(rows[0].get_attribute("data-id")))
                except Exception:  # redrawn while read
                    return None
                return None
            row_text, classes, ident = wait_until(first_row, timeout=20,
                                                  what="遗留儿童 first in the queue")
            assert "urgent" in classes and PLATE in row_text
            incident_id = int(ident)
            order = services.store.incident(incident_id)
            assert f"{left.id}（{left.name[0]}*" in order["description"]
            assert all(p.name not in order["title"] + order["description"] for p in riders)

            # The officer opens it and dispatches it to the first recommended. The queue is
            # redrawn on every update: the row is found again by its id when clicked.
            def open_row():
                try:
                    console.find_element(
                        By.CSS_SELECTOR, f'#disp-list .q-row[data-id="{incident_id}"]').click()
                    return True
                except Exception:  # redrawn between finding and clicking
                    return False
            wait_until(open_row, timeout=10, what="the 遗留儿童 row opened")
            rec = "#disp-recs .disp-rec-btn:not([disabled])"
            button = wait_until(lambda: (console.find_elements(By.CSS_SELECTOR, rec)
                                         or [None])[0], timeout=10, what="派遣 enabled")
            button.click()
            wait_until(lambda: any(h["action"] == "dispatch"
                                   for h in services.store.history(incident_id)),
                       timeout=10, what="the work order dispatched")
            assert not severe(parent), severe(parent)
    finally:
        parent.quit()
