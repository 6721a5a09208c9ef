"""Screenshot a zhongnao page in headless Chromium: python tools/screenshot.py URL OUT.png WxH."""

from __future__ import annotations

import sys
import time
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--hide-scrollbars")


def sign_in(driver: Any, url: str, name: str, password: str) -> None:
    """Sign in through the login page, which then opens `url`."""
    from urllib.parse import quote, urlsplit

    from selenium.webdriver.common.by import By

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    driver.get(f"{parts.scheme}://{parts.netloc}/login?next={quote(path, safe='')}")
    driver.find_element(By.ID, "login-name").send_keys(name)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()


def _browser() -> Any:
    opts = Options()
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def _size(driver: Any, size: str) -> None:
    """Make the layout viewport exactly width×height regardless of window chrome."""
    width, height = (int(v) for v in size.lower().split("x"))
    driver.set_window_size(width, height)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1,
                            "mobile": width < 600})


def shoot(url: str, out: str, size: str = "1920x1080", wait_s: float = 6.0,
          login: tuple[str, str] | None = None) -> None:
    """Open `url` at `size` (CSS pixels), signed in as `login` (name, password) when given
    (walls use a `?kiosk=` URL instead), wait for live data, save a PNG."""
    shoot_many([(url, out, size)], login, wait_s)


def shoot_many(shots: list[tuple[str, str, str]], login: tuple[str, str] | None = None,
               wait_s: float = 6.0) -> None:
    """(url, out, size) shots in one browser, signed in once as `login` (the sign-in page
    limits attempts per name, so a browser per shot would be refused after five)."""
    driver = _browser()
    try:
        for n, (url, out, size) in enumerate(shots):
            _size(driver, size)
            if login and n == 0:
                sign_in(driver, url, *login)
            else:
                driver.get(url)
            time.sleep(wait_s)
            if "#" in url:  # a part below the fold on a small screen: bring it into view
                driver.execute_script("var e = document.getElementById(arguments[0]);"
                                      " if (e) { e.scrollIntoView(); }", url.split("#", 1)[1])
                time.sleep(0.5)
            driver.save_screenshot(out)
    finally:
        driver.quit()


if __name__ == "__main__":
    shoot(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "1920x1080")
