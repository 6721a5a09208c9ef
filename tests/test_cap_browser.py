"""预警发布 in a real browser (issue 15): an officer opens the drawer of the duty console,
is told what is missing in their language, previews, issues a flood warning for two grids,
finds it on the public feed, and cancels it with a reason; the feed then lists the cancel.

With ZN_SCREENSHOTS=1 it also saves docs/cap-zh-1920x1080.png and docs/cap-en-1920x1080.png.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

from lxml import etree
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser import Live, read_live, signed_in_browser, wait_until

DOCS = Path(__file__).resolve().parent.parent / "docs"
ATOM = {"atom": "http://www.w3.org/2005/Atom"}


def feed(live: Live) -> list[tuple[str, str]]:
    """(category, link) of each entry of the public feed, as anybody reads it."""
    with urllib.request.urlopen(f"{live.base}/api/v1/cap/feed.atom", timeout=10) as resp:
        doc = etree.fromstring(resp.read())
    return [(e.find("atom:category", ATOM).get("term"), e.find("atom:link", ATOM).get("href"))
            for e in doc.findall("atom:entry", ATOM)]


def pick(d, dropdown: str, *labels: str) -> None:
    """Choose options of a dcc.Dropdown by their text, as a mouse does."""
    for label in labels:
        d.find_element(By.CSS_SELECTOR, f"#{dropdown}").click()
        option = wait_until(lambda lb=label: [o for o in d.find_elements(
            By.CSS_SELECTOR, ".dash-dropdown-option") if o.text.strip() == lb],
            what=f"option {label}")[0]
        option.click()
        d.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


def toast(d) -> str:
    return d.find_element(By.ID, "cap-toast").text


def test_cap001_an_officer_issues_a_warning_finds_it_on_the_feed_and_cancels_it(live: Live):
    shots = os.environ.get("ZN_SCREENSHOTS") == "1"
    with signed_in_browser(live.services.settings, live.base, "officer", "/dispatch") as d:
        wait_until(lambda: d.find_elements(By.ID, "cap-open"), what="the 预警发布 button")
        d.find_element(By.ID, "cap-open").click()
        wait_until(lambda: d.find_element(By.ID, "cap-panel").is_displayed(),
                   what="the drawer open")
        d.find_element(By.ID, "cap-issue").click()  # nothing typed yet
        wait_until(lambda: "请填写标题" in toast(d), what="the missing headline named")
        d.find_element(By.ID, "cap-headline").send_keys("白鹤河水位上涨，沿河住户注意防范")
        d.find_element(By.ID, "cap-issue").click()
        wait_until(lambda: "请至少选择一个影响网格" in toast(d), what="the missing grids named")
        d.find_element(By.ID, "cap-description").send_keys("受上游强降雨影响，预计今晚超警戒。")
        d.find_element(By.ID, "cap-instruction").send_keys("沿河低洼处住户请向高处转移。")
        pick(d, "cap-grids", "G3-01 青石社区第1网格", "G3-07 新街社区第2网格")
        pick(d, "cap-severity", "橙色预警（严重）")
        d.find_element(By.ID, "cap-preview").click()
        wait_until(lambda: "<msgType>Alert</msgType>" in d.find_element(By.ID, "cap-xml").text,
                   what="the previewed XML")
        # The toast's text fades in (opacity 0 at first, which WebDriver reads as no text).
        wait_until(lambda: "共 2 个区域" in toast(d), what="the areas counted on the toast")
        assert feed(live) == []  # a preview issues nothing
        d.find_element(By.ID, "cap-issue").click()
        wait_until(lambda: "已发布预警" in toast(d), what="the warning issued")
        identifier = toast(d).split("已发布预警 ")[1].split()[0]
        listed = read_live(d, f"#cap-row-{identifier}", lambda row: row.text,
                           what="the issued warning listed")
        assert "生效中" in listed and "洪涝" in listed
        assert feed(live) == [("Alert", f"{live.base}/api/v1/cap/{identifier}.xml")]
        if shots:
            d.save_screenshot(str(DOCS / "cap-zh-1920x1080.png"))

        cancel = f"#cap-row-{identifier} .cap-cancel-btn"
        d.find_element(By.CSS_SELECTOR, cancel).click()  # without a reason
        wait_until(lambda: "请填写原因" in toast(d), what="the missing reason named")
        d.find_element(By.ID, "cap-reason").send_keys("水位已回落")
        d.find_element(By.CSS_SELECTOR, cancel).click()
        wait_until(lambda: "已撤销预警" in toast(d), what="the warning cancelled")
        # The list redraws the row when the cancel lands: read it afresh, not a stale handle.
        read_live(d, f"#cap-row-{identifier}", lambda row: "已撤销" in row.text,
                  what="the warning shown cancelled")
        entries = feed(live)
        assert [c for c, _ in entries] == ["Cancel", "Alert"]
        assert entries[1][1].endswith(f"/{identifier}.xml")
        audit = live.services.audit.search(action="cap.")
        assert [(r["action"], r["target"]) for r in audit] == [
            ("cap.cancel", identifier), ("cap.issue", identifier)]

        if shots:  # the English console, the drawer with a draft previewed
            d.get(f"{live.base}/dispatch?lang=en")
            wait_until(lambda: d.find_elements(By.ID, "cap-open"), what="the English console")
            d.find_element(By.ID, "cap-open").click()
            d.find_element(By.ID, "cap-headline").send_keys("S105 Baihe bridge closed")
            pick(d, "cap-event", "Road closure")
            pick(d, "cap-grids", "G2-03 " + live.services.grids["G2-03"].name_en)
            d.find_element(By.ID, "cap-preview").click()
            wait_until(lambda: "validates" in toast(d), what="the English preview")
            d.save_screenshot(str(DOCS / "cap-en-1920x1080.png"))
