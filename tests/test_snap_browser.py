"""随手拍 in real headless Chromium (issue 15): a grid worker's phone (390×844) reports with a
photo and the phone's position; the duty officer's console shows the thumbnail within a
second; a report made while the network is down waits on the phone, photo and all, and is
sent once when the page comes back."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from datasources.sql import models as m
from tests.browser import PUSHED_S, Live, signed_in_browser, wait_until
from tests.photo_helpers import jpeg_with_gps, png

pytestmark = pytest.mark.browser

PHONE = (390, 844)
WORKER = "李网格"
LON, LAT = 104.45, 30.55
TITLE = "井盖缺失，有人踩空风险"

# In the officer's browser: as soon as the report's row reaches the queue, click it (an
# officer's reflex, without WebDriver's round trips) and note when its photo has loaded.
WATCH = """
window.__snap = {};
var title = arguments[0];
var iv = setInterval(function () {
  var rows = document.querySelectorAll('#disp-list .q-row');
  for (var i = 0; i < rows.length && !window.__snap.row; i++) {
    var t = rows[i].querySelector('.q-title');
    if (t && t.textContent.indexOf(title) >= 0) {
      window.__snap.row = Date.now();
      rows[i].click();
    }
  }
  var img = document.getElementById('disp-photo');
  if (img && img.complete && img.naturalWidth > 0) {
    window.__snap.img = Date.now();
    clearInterval(iv);
  }
}, 10);
"""


def photo_orders(services) -> list[tuple[str, str | None]]:
    with services.store.session() as s:
        return list(s.execute(select(m.Incident.title, m.Incident.photo_id)
                              .where(m.Incident.source == "grid_worker")).all())


def fill(d, category: str, photo_path: str, text: str) -> None:
    Select(d.find_element(By.ID, "field-snap-category")).select_by_value(category)
    d.find_element(By.ID, "field-snap-photo").send_keys(photo_path)
    wait_until(lambda: d.execute_script(
        "var i = document.getElementById('field-snap-preview');"
        "return !i.hidden && i.complete && i.naturalWidth > 0;"), 10, "the photo's preview")
    d.find_element(By.ID, "field-snap-text").send_keys(text)


def queued(d) -> int:
    """Reports waiting on the phone, as its status line says (-1 before it is drawn)."""
    return int(d.execute_script("var q = document.getElementById('field-snap-queue');"
                                "return q ? q.getAttribute('data-n') : -1;"))


def test_snap001_a_photo_report_reaches_the_console_within_a_second(live: Live, tmp_path):
    services, settings = live.services, live.services.settings
    photo = tmp_path / "scene.jpg"
    photo.write_bytes(jpeg_with_gps((1600, 1200)))
    shot = tmp_path / "screen.png"
    shot.write_bytes(png((900, 600), alpha=False))
    with signed_in_browser(settings, live.base, "officer", "/dispatch") as officer, \
            signed_in_browser(settings, live.base, "grid_worker", "/field", WORKER,
                              PHONE) as phone:
        wait_until(lambda: officer.find_elements(By.CSS_SELECTOR, "#disp-status.ok"), 20,
                   "the console live")
        wait_until(lambda: phone.find_elements(By.ID, "field-snap-submit"), 20, "the form")
        # The phone is where the manhole is: its position, as the browser reports it.
        phone.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": live.base, "permissions": ["geolocation"]})
        phone.execute_cdp_cmd("Emulation.setGeolocationOverride", {
            "latitude": LAT, "longitude": LON, "accuracy": 8})
        fill(phone, "city_management", str(photo), TITLE)
        phone.find_element(By.ID, "field-snap-locate").click()
        wait_until(lambda: "±8" in phone.find_element(By.ID, "field-snap-where").text, 10,
                   "the phone's position on the form")

        officer.execute_script(WATCH, TITLE)
        sent_at = phone.execute_script(
            "var t = Date.now(); document.getElementById('field-snap-submit').click();"
            "return t;")
        seen = wait_until(lambda: officer.execute_script("return window.__snap.img && "
                                                         "window.__snap;"), 10,
                          "the thumbnail in the console")
        row_ms, photo_ms = seen["row"] - sent_at, seen["img"] - sent_at
        print(f"\nsubmit -> row in the queue {row_ms} ms, -> thumbnail shown {photo_ms} ms")
        assert photo_ms < PUSHED_S * 1000, f"thumbnail after {photo_ms} ms"
        wait_until(lambda: "已上报" in phone.find_element(By.ID, "field-snap-status").text,
                   10, "the phone told the work order")
        assert queued(phone) == 0
        (title, photo_id), = photo_orders(services)
        assert title == TITLE and photo_id
        order = services.store.queue()[0]
        assert (order.lon, order.lat) == (LON, LAT) and order.photo == photo_id
        thumb = officer.find_element(By.ID, "disp-photo")
        assert thumb.get_attribute("src").endswith(f"/api/v1/photos/{photo_id}/thumb")
        # The kept thumbnail, upright: the phone held up (EXIF orientation 6) makes 240×320.
        assert (int(thumb.get_attribute("naturalWidth")),
                int(thumb.get_attribute("naturalHeight"))) == (240, 320)

        # The network drops: the second report (a map tap, a PNG) waits on the phone.
        phone.execute_script("window.fetch = function () {"
                             " return Promise.reject(new TypeError('offline')); };")
        fill(phone, "environment", str(shot), "河边倾倒建筑垃圾")
        ActionChains(phone).move_to_element(
            phone.find_element(By.ID, "field-snap-map")).click().perform()
        wait_until(lambda: "地图点选" in phone.find_element(By.ID, "field-snap-where").text,
                   10, "the tapped position")
        phone.find_element(By.ID, "field-snap-submit").click()
        wait_until(lambda: queued(phone) == 1, 10, "the report waiting on the phone")
        wait_until(lambda: phone.find_elements(By.CSS_SELECTOR, ".snap-offline"), 10,
                   "the offline note")
        assert len(photo_orders(services)) == 1
        # Back online (the page reloaded): the report and its photo are sent, once.
        phone.refresh()
        wait_until(lambda: len(photo_orders(services)) == 2, 20, "the queued report stored")
        wait_until(lambda: queued(phone) == 0, 10, "the phone's queue empty")
        (_, second_photo), = [o for o in photo_orders(services) if o[0] != TITLE]
        assert second_photo and second_photo != photo_id
        assert phone.execute_script("return localStorage.getItem('zn-field-queue')") == "[]"
