"""The rota's edits on /admin (issue 16): set who is on a shift, mark leave; each checked by
the rota's rules (unknown ids, overlapping shifts, days out of range are refused in the
reader's words), audited, and read by the console's recommendation at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dashboard.grids.rota import RotaError, shift_at
from dashboard.resources.recommend import recommend
from dashboard.roles import CURRENT, Principal
from dashboard.timeutil import LOCAL_TZ, utcnow
from datasources.sql import models as m
from datasources.sql.admin import AdminDesk
from pages._admin_rota import rota_refused

ADMIN = Principal(role="admin", name="镇管理员", kind="user", user_id=1, ip="10.0.0.9")
GRID, NEIGHBOUR = "G3-02", "G3-03"  # both in G2-01; G3-02 has W002, W003; G3-03 W004, W005


@pytest.fixture
def desk(services) -> Iterator[AdminDesk]:
    token = CURRENT.set(ADMIN)
    try:
        yield AdminDesk(services.accounts, services.audit, services.rota)
    finally:
        CURRENT.reset(token)


def today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


def held(services: Any, grid: str, day: str, shift: str) -> str:
    """The worker id the rota has on one shift."""
    with services.rota.store.session() as s:
        return s.scalar(select(m.GridRota.worker_id).where(
            m.GridRota.grid_code == grid, m.GridRota.day == day, m.GridRota.shift == shift))


def first_on_console(services: Any, grid: str) -> str:
    """Whom the console's recommendation puts first for a work order in `grid` now."""
    store = services.store
    inc = {"grid": grid, "grid_worker": None, "lon": 104.0, "lat": 30.0, "category": "fire"}
    recs = recommend(inc, store.grid_workers(grid), [], **services.rota.live(grid))
    return recs[0].assignee_id


def test_setting_a_shift_moves_who_is_on_duty_and_the_consoles_first_choice(desk, services):
    day, shift = shift_at(utcnow())
    now_id = services.rota.duty_id(GRID)
    other = "W003" if now_id == "W002" else "W002"
    assert first_on_console(services, GRID) == now_id
    row, before = desk.set_shift(GRID, day, shift, other, "病假顶班")
    assert (row.worker_id, services.rota.duty_id(GRID)) == (other, other)
    assert first_on_console(services, GRID) == other
    # A neighbour of the same level-2 grid may cover it too.
    free = "W005" if services.rota.duty_id(NEIGHBOUR) == "W004" else "W004"
    desk.set_shift(GRID, day, shift, free, "邻格支援")
    assert services.rota.duty_id(GRID) == free
    [*_, entry] = desk.audit.search(action="rota.edit")
    assert entry["actor"] == "镇管理员" and entry["detail"].endswith(": 病假顶班")
    assert before is not None


def test_a_report_right_after_a_shift_edit_goes_to_the_worker_now_on_duty(desk, services):
    """Intake names each report's worker on duty from the rota as it is in the report's
    batch: the very next report after an edit on /admin goes to the worker just put on the
    shift (a roster kept between batches must not hide the edit)."""
    from dashboard.messages import IncidentReport

    def reported_to() -> str | None:
        report = IncidentReport(source="hotline", category="water", title="水管漏水",
                                lon=104.45, lat=30.55)
        view = services.intake.handle(report).event.incident
        assert view.grid == GRID, view.grid
        return view.grid_worker

    day, shift = shift_at(utcnow())
    names = {w["id"]: w["name"] for c in services.grids.values() if c.code == GRID
             for w in c.workers}
    now_id = services.rota.duty_id(GRID)
    assert reported_to() == names[now_id]
    other = "W003" if now_id == "W002" else "W002"
    desk.set_shift(GRID, day, shift, other, "临时换人")
    assert reported_to() == names[other]


@pytest.mark.parametrize(("args", "code", "zh"), [
    (("G9-99", None, "day", "W002"), "rota_unknown_grid", "没有三级网格「G9-99」"),
    (("G2-01", None, "day", "W002"), "rota_unknown_grid", "没有三级网格「G2-01」"),
    ((GRID, "2026-13-40", "day", "W002"), "rota_bad_date", "日期格式不对"),
    ((GRID, ["2026-01-01"], "day", "W002"), "rota_bad_date", "日期格式不对"),
    ((GRID, "+400", "day", "W002"), "rota_day_range", "超出可排范围"),
    ((GRID, "-3", "day", "W002"), "rota_day_range", "超出可排范围"),
    ((GRID, None, "evening", "W002"), "rota_bad_shift", "班次只能是白班或夜班"),
    ((GRID, None, ["day"], "W002"), "rota_bad_shift", "班次只能是白班或夜班"),
    ((GRID, None, "day", "W999"), "rota_unknown_worker", "「W999」不是网格「G3-02」"),
    ((GRID, None, "day", "W010"), "rota_unknown_worker", "不是网格"),  # another level-2
    ((GRID, None, "day", {"id": "W002"}), "rota_unknown_worker", "不是网格"),
    ((GRID, None, "day", "W002<script>"), "rota_unknown_worker", "不是网格"),
])
def test_a_bad_shift_is_refused_with_its_reason_and_changes_nothing(desk, services, args,
                                                                     code, zh):
    grid, day, shift, worker = args
    if day is None:
        day = today().isoformat()
    elif day.startswith(("+", "-")) if isinstance(day, str) else False:
        day = (today() + timedelta(days=int(day))).isoformat()
    before = services.rota.table(GRID, today().isoformat(), 2)
    with pytest.raises(RotaError) as refused:
        desk.set_shift(grid, day, shift, worker, "调整")
    assert refused.value.code == code
    assert zh in rota_refused(refused.value, "zh")
    assert "{" not in rota_refused(refused.value, "en")
    assert services.rota.table(GRID, today().isoformat(), 2) == before


def test_a_worker_on_duty_elsewhere_at_that_time_cannot_hold_a_second_shift(desk, services):
    day = (today() + timedelta(days=2)).isoformat()
    busy_id = held(services, NEIGHBOUR, day, "day")
    with pytest.raises(RotaError) as twice:
        desk.set_shift(GRID, day, "day", busy_id, "支援")
    assert twice.value.code == "rota_overlap"
    assert f"在网格 {NEIGHBOUR} 值班" in rota_refused(twice.value, "zh")
    assert "is on duty in grid G3-03" in rota_refused(twice.value, "en")
    with pytest.raises(RotaError) as no_reason:
        desk.set_shift(GRID, day, "day", "W002", "   ")
    assert no_reason.value.code == "rota_reason"


def test_leave_hands_the_workers_shifts_to_a_colleague_and_keeps_them_off_the_lists(
        desk, services):
    first, last = today() + timedelta(days=1), today() + timedelta(days=3)
    done = desk.mark_leave("W002", first.isoformat(), last.isoformat(), "年假")
    assert done["worker_id"] == "W002" and done["covered"] and not done["open"]
    held_then = {held(services, GRID, (first + timedelta(days=n)).isoformat(), shift)
                 for n in range(3) for shift in ("day", "night")}
    assert "W002" not in held_then and held_then <= {"W003", "W001", "W004", "W005"}
    assert services.rota.away(first.isoformat()) == {"W002"}
    # The admin's table of leaves names the worker (by name, with the id).
    [row] = services.rota.leave_rows(today().isoformat())
    assert (row["worker_id"], row["worker"], row["reason"]) == ("W002", "李春梅", "年假")
    [entry] = desk.audit.search(action="rota.leave")
    assert "年假" in entry["detail"]
    # The leave cannot be marked twice, nor backwards, nor too long, nor for nobody.
    for args, code in [(("W002", last.isoformat(), (last + timedelta(days=2)).isoformat()),
                        "rota_leave_overlap"),
                       (("W003", last.isoformat(), first.isoformat()), "rota_leave_order"),
                       (("W003", first.isoformat(), (first + timedelta(days=59)).isoformat()),
                        None),
                       (("W777", first.isoformat(), last.isoformat()), "rota_unknown_worker"),
                       ((["W003"], first.isoformat(), last.isoformat()),
                        "rota_unknown_worker"),
                       (("W003", "2020-01-01", last.isoformat()), "rota_day_range")]:
        if code is None:
            continue
        with pytest.raises(RotaError) as bad:
            desk.mark_leave(*args, "事假")
        assert bad.value.code == code, args
        assert rota_refused(bad.value, "en") and "{" not in rota_refused(bad.value, "zh")


def _post(client: Any, button: str, names: list[str], values: list[Any], lang: str) -> Any:
    from tests.auth_helpers import post_callback

    state = [{"id": n, "property": "value", "value": v} for n, v in zip(names, values,
                                                                       strict=True)]
    state.append({"id": "adm-lang", "property": "data", "value": lang})
    return post_callback(client, [("adm-msg", "children"), ("adm-msg", "className"),
                                  ("adm-rota-tick", "data")],
                         [{"id": button, "property": "n_clicks", "value": 1}], state,
                         f"{button}.n_clicks")


SHIFT_FORM = ["adm-rota-grid", "adm-rota-day", "adm-rota-shift", "adm-rota-worker",
              "adm-rota-reason"]
LEAVE_FORM = ["adm-leave-worker", "adm-leave-first", "adm-leave-last", "adm-leave-reason"]


def test_the_page_refuses_forged_forms_in_words_never_an_error(client, services):
    """What a forged callback body can carry (lists, objects, numbers, nothing) is told in
    the reader's language with a 200 and the refusal; nothing is changed; a good form
    still goes through after."""
    from tests.auth_helpers import sign_in

    sign_in(client, services, "管理员甲", "admin")
    day = today().isoformat()
    for values in ([["G3-02"], day, "day", "W002", "x"], ["G3-02", {"a": 1}, "day", "W002", "x"],
                   ["G3-02", day, 7, "W002", "x"], ["G3-02", day, "day", None, "x"],
                   ["G3-02", day, "day", "W002", ["x"]], [None] * 5,
                   ["G3-02", "9" * 5000, "day", "W002", "x"]):
        r = _post(client, "adm-rota-set", SHIFT_FORM, values, "en")
        assert r.status_code == 200, (values, r.status_code, r.text[:200])
        out = r.json()["response"]["adm-msg"]
        assert out["className"] == "adm-msg bad" and out["children"], values
    for values in (["W002", [day], day, "x"], [12, day, day, "x"],
                   ["W002", day, day, {"r": 1}], ["W002", day, "2026-02-30", "x"]):
        r = _post(client, "adm-leave-mark", LEAVE_FORM, values, "zh")
        assert r.status_code == 200, values
        assert r.json()["response"]["adm-msg"]["className"] == "adm-msg bad", values
    assert services.rota.away(day) == set()
    r = _post(client, "adm-leave-mark", LEAVE_FORM, ["W003", day, day, "病假"], "zh")
    assert "已登记" in r.json()["response"]["adm-msg"]["children"]
    assert services.rota.away(day) == {"W003"}
