"""The /resources page in real headless Chromium: a receipt and an adjustment (reason
required) change the stock table and appear in the ledger; English via ?lang=en."""

from __future__ import annotations

import time
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import start_app

pytestmark = pytest.mark.browser


def _on_hand(dash_duo: Any, sku: str) -> int:
    """The item's on-hand figure; the table is live, so a row redrawn mid-read is read again."""
    for _ in range(20):
        try:
            return int(dash_duo.find_elements(f"#rs-row-{sku} td")[6].text)
        except StaleElementReferenceException:
            time.sleep(0.05)
    raise AssertionError(f"the row of {sku} kept changing under the reader")


def _record(dash_duo: Any, kind_index: int, qty: str, reason: str) -> None:
    dash_duo.find_elements("#rs-kind input")[kind_index].click()
    for sel, value in (("#rs-qty", qty), ("#rs-reason", reason)):
        box = dash_duo.find_element(sel)
        box.clear()
        if value:
            box.send_keys(value)
    dash_duo.find_element("#rs-apply").click()


def test_res002_receive_and_adjust_show_in_stock_and_ledger(dash_duo, settings):
    start_app(dash_duo, settings, path="/resources", name="仓管李", wait_status=None)
    dash_duo.wait_for_element("#rs-row-FL-SB", timeout=20)
    # The readiness of all five stations, with why they are not green.
    assert len(dash_duo.find_elements("#rs-readiness tbody tr")) == 5
    assert dash_duo.find_element("#rd-ES-03").text.count("沙袋低于下限") == 1
    assert len(dash_duo.find_elements("#rs-coverage tbody tr")) == 13
    start = _on_hand(dash_duo, "FL-SB")
    dash_duo.select_dcc_dropdown("#rs-item", "沙袋 (FL-SB)")

    _record(dash_duo, 0, "50", "")  # a receipt needs no reason
    dash_duo.wait_for_contains_text("#rs-toast", "✓", timeout=5)
    WebDriverWait(dash_duo.driver, 5).until(lambda d: _on_hand(dash_duo, "FL-SB") == start + 50)

    _record(dash_duo, 2, "-3", "")  # an adjustment without a reason is refused
    dash_duo.wait_for_contains_text("#rs-toast", "请填写原因", timeout=5)
    assert _on_hand(dash_duo, "FL-SB") == start + 50

    _record(dash_duo, 2, "-3", "盘点破损")
    WebDriverWait(dash_duo.driver, 5).until(lambda d: _on_hand(dash_duo, "FL-SB") == start + 47)
    ledger = [tr.text for tr in dash_duo.find_elements("#rs-ledger tr.rs-mv")]
    assert "调整 -3" in ledger[0] and "盘点破损" in ledger[0] and "仓管李" in ledger[0]
    assert "入库 +50" in ledger[1]

    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/resources?lang=en")
    dash_duo.wait_for_element("#rs-row-FL-SB", timeout=20)
    assert "Station readiness" in dash_duo.find_element(".res-root").text
    assert dash_duo.driver.find_element(By.CSS_SELECTOR, "#rs-row-FL-SB").text.count(
        "Sandbags") == 1
