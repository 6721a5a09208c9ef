"""The pictures of 随手拍 in docs/ (issue 15): /field's form at 390×844 in zh and en, with a
photo chosen and the phone's position, and the duty console's detail with the thumbnail at
1920×1080. Runs the app on a scratch folder (demo town, no simulator).

    .venv/bin/python tools/field_photo_screenshots.py
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.settings import Settings  # noqa: E402
from tests.browser import free_port, new_browser, serve, sign_in, wait_until  # noqa: E402

LON, LAT = 104.45, 30.55


def scene() -> bytes:
    """A made-up street scene: road, kerb and an open manhole, as a phone photo (JPEG)."""
    img = Image.new("RGB", (1600, 1200), (120, 150, 190))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 520, 1600, 1200), fill=(70, 72, 76))
    d.polygon([(0, 520), (1600, 520), (1600, 600), (0, 640)], fill=(160, 160, 150))
    d.ellipse((560, 760, 1040, 960), fill=(15, 15, 15), outline=(200, 180, 40), width=14)
    for x in range(100, 1600, 300):
        d.rectangle((x, 1040, x + 160, 1070), fill=(230, 230, 230))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()


def shoot_field(live, settings, lang: str, out: Path, photo: Path) -> None:
    """The form filled in (a photo, the phone's position); the zh one is then sent."""
    from selenium.webdriver.support.ui import Select

    d = new_browser((390, 844))
    try:
        sign_in(d, settings, live.base, "grid_worker", "李网格", f"/field?lang={lang}")
        wait_until(lambda: d.find_elements("id", "field-snap-submit"), 20, "form")
        d.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": live.base, "permissions": ["geolocation"]})
        d.execute_cdp_cmd("Emulation.setGeolocationOverride", {
            "latitude": LAT, "longitude": LON, "accuracy": 8})
        Select(d.find_element("id", "field-snap-category")).select_by_value("city_management")
        d.find_element("id", "field-snap-photo").send_keys(str(photo))
        d.find_element("id", "field-snap-text").send_keys(
            "井盖缺失，有人踩空风险" if lang == "zh" else "Manhole cover missing")
        d.find_element("id", "field-snap-locate").click()
        wait_until(lambda: "±8" in d.find_element("id", "field-snap-where").text, 10,
                   "position")
        time.sleep(1.5)  # the basemap drawn
        d.save_screenshot(str(out))
        if lang == "zh":  # sent: the console's picture shows this report
            d.find_element("id", "field-snap-submit").click()
            wait_until(lambda: "已上报" in d.find_element("id", "field-snap-status").text, 20,
                       "sent")
    finally:
        d.quit()


def shoot_console(live, settings, lang: str, out: Path, incident: int) -> None:
    """The duty console with the work order picked: its thumbnail in the detail."""
    d = new_browser((1920, 1080))
    try:
        sign_in(d, settings, live.base, "officer", "值班员王",
                f"/dispatch?incident={incident}&lang={lang}")
        wait_until(lambda: d.execute_script(
            "var i = document.getElementById('disp-photo');"
            "return i && i.complete && i.naturalWidth > 0;"), 20, "thumbnail")
        time.sleep(1.5)
        d.save_screenshot(str(out))
    finally:
        d.quit()


def main() -> None:
    """Serve a scratch demo town and save the four pictures."""
    docs = ROOT / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(environ={}, data_dir=tmp, port=free_port(), sim=False,
                                     dedup_meters=0)
        photo = Path(tmp) / "scene.jpg"
        photo.write_bytes(scene())
        with serve(settings) as live:
            shoot_field(live, settings, "zh", docs / "field-report-390x844.png", photo)
            shoot_field(live, settings, "en", docs / "field-report-en-390x844.png", photo)
            order = live.services.store.queue()[0]
            shoot_console(live, settings, "zh", docs / "dispatch-photo-1920x1080.png", order.id)
            shoot_console(live, settings, "en", docs / "dispatch-photo-en-1920x1080.png",
                          order.id)
    print("saved docs/field-report-*.png and docs/dispatch-photo-*.png")


if __name__ == "__main__":
    main()
