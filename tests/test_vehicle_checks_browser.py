"""The bus's daily checks from the escort's phone (issue 13, 一车一档), in a real browser at
390×844: one tap for 出车前检查 and one for 消毒, each shown with its time and the account,
stored once per bus and day however often it is tapped."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from sqlalchemy import select

from datasources.sql import models as m
from tests.browser import Live, ensure_user, signed_in_browser, wait_until

PLATE = "川F·D72692"
# The checks' lines are redrawn on every tick: read them in one go.
READ = """var e = document.querySelector('#escort-checks [data-check="' + arguments[0] + '"]');
return e ? {text: e.innerText, cls: e.className} : null;"""


def _check(driver, kind: str) -> dict | None:  # type: ignore[no-untyped-def]
    return driver.execute_script(READ, kind)


def _escort(live: Live, name: str) -> None:
    from datasources.sql.pupils import PupilStore

    ensure_user(live.services.settings, "escort", name)
    user = live.services.accounts.user(name)
    PupilStore(live.services.store.engine).add_post(user.id, "vehicle", PLATE)


def test_vcheck001_the_escort_taps_the_pre_trip_check_and_disinfection_once_each(live: Live):
    _escort(live, "照管员甲")
    services = live.services
    with signed_in_browser(services.settings, live.base, "escort", "/escort", "照管员甲",
                           (390, 844)) as driver:
        wait_until(lambda: PLATE in driver.execute_script(
            "var e = document.getElementById('escort-checks'); return e ? e.innerText : '';"),
            what="the bus's checks")
        assert "esc-check-todo" in wait_until(lambda: _check(driver, "pretrip"))["cls"]
        for _ in range(3):  # a hurried thumb
            driver.find_element(By.ID, "escort-check-pretrip").click()
        done = wait_until(lambda: (c := _check(driver, "pretrip")) and
                          "esc-check-done" in c["cls"] and c, what="the check shown")
        assert "出车前检查" in done["text"] and "照管员甲" in done["text"]
        driver.find_element(By.ID, "escort-check-disinfect").click()
        wait_until(lambda: (c := _check(driver, "disinfect")) and "esc-check-done" in c["cls"],
                   what="the disinfection shown")
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
    with live.services.store.session() as s:
        rows = list(s.execute(select(m.VehicleCheck.kind, m.VehicleCheck.actor)
                              .where(m.VehicleCheck.plate == PLATE)))
    assert sorted(rows) == [("disinfect", "照管员甲"), ("pretrip", "照管员甲")]
