"""Tiers that hand over (issue 14): the organisation as data, hand-over to a unit and back,
scoping by unit and village, the tier shares."""

from __future__ import annotations

import pytest


def test_the_town_parser_refuses_a_unit_of_an_unknown_village_or_tier():
    from dashboard.town import parse_units

    good = {"id": "U-X", "name": "x", "tier": "village", "village": "V01", "categories": "*"}
    assert parse_units([good], {"V01"}, {"water"})[0].handles("water")
    for bad in ({**good, "village": "V99"}, {**good, "tier": "province"},
                {**good, "tier": "town", "categories": ["nonsense"], "village": None}):
        with pytest.raises(ValueError):
            parse_units([bad], {"V01"}, {"water"})
    with pytest.raises(ValueError):  # two offices for one village
        parse_units([good, {**good, "id": "U-Y"}], {"V01"}, {"water"})


# ---------------------------------------------------------------- hand-over (step 2)
from dashboard.geo.lookup import GridHit  # noqa: E402
from dashboard.incidents.errors import BadInput, Refused  # noqa: E402
from dashboard.messages import IncidentReport  # noqa: E402
from dashboard.roles import HANDLER, OFFICER, VILLAGE, Principal  # noqa: E402
from datasources.flows.desk import desk_step, dispatch_to  # noqa: E402

JIANLIN = GridHit("G3-10", "V03")  # a grid of 建林村 (village office U-V03)
QINGSHI = GridHit("G3-01", "V01")  # a grid of 青石社区
OFFICER_P = Principal(role=OFFICER, name="值班员甲", kind="user", user_id=1)
VILLAGER = Principal(role=VILLAGE, name="建林村干部", kind="user", user_id=2,
                     unit_id="U-V03", village="V03")
ZHUJIAN = Principal(role=HANDLER, name="住建局李", kind="user", user_id=3, unit_id="U-C-ZJ")
CHENGGUAN = Principal(role=HANDLER, name="城管王", kind="user", user_id=4, unit_id="U-T-CG")


def _order(services, hit=JIANLIN, category="planning", priority="normal"):
    report = IncidentReport(source="grid_worker", category=category, priority=priority,
                            title="违章搭建", lon=104.48, lat=30.568)
    return services.store.create_incident(report, hit).incident


def test_a_village_officer_hands_an_order_to_a_county_department_which_returns_it(services):
    intake, store = services.intake, services.store
    inc = _order(services)
    desk_step(intake, VILLAGER, inc.id, "accept")
    ev = dispatch_to(intake, VILLAGER, inc.id, "unit:U-C-ZJ", state="accepted", version=None,
                     note="需县住建局认定")
    got = ev.incident
    assert (got.level, got.unit_id, got.assignee, got.state) == (
        "county", "U-C-ZJ", "县住房和城乡建设局", "dispatched")
    # The county's clock starts at the hand-over: its full 'normal' time from now.
    assert got.deadline_at > inc.deadline_at
    # The department's handler sees it and acts: 接单, then 退回 with a reason.
    assert [o.id for o in store.queue(unit_id="U-C-ZJ")] == [inc.id]
    desk_step(intake, ZHUJIAN, inc.id, "ack")
    with pytest.raises(BadInput):
        desk_step(intake, ZHUJIAN, inc.id, "return")  # a reason is needed
    back = desk_step(intake, ZHUJIAN, inc.id, "return", note="属村级自治事项，退回村里").incident
    assert (back.state, back.level, back.unit_id, back.assignee_id) == (
        "returned", "grid", None, None)
    assert store.queue(unit_id="U-C-ZJ") == []
    # It is the village's again: its officer accepts and dispatches within the village.
    desk_step(intake, VILLAGER, inc.id, "accept")
    done = dispatch_to(intake, VILLAGER, inc.id, "W015", state="accepted", version=None)
    assert done.incident.assignee_id == "W015"
    steps = [(h["action"], h["note"]) for h in store.history(inc.id)]
    assert ("escalate", "县住房和城乡建设局") in steps
    assert ("dispatch", "县住房和城乡建设局 · 需县住建局认定") in steps
    assert ("return", "退回网格层级 · 属村级自治事项，退回村里") in steps
    assert [a for a, _ in steps] == ["report", "accept", "escalate", "dispatch", "ack",
                                     "return", "accept", "dispatch"]


def test_a_town_office_returns_what_the_county_handed_back_to_the_office(services):
    intake = services.intake
    inc = _order(services, category="city_management")
    dispatch_to(intake, OFFICER_P, inc.id, "unit:U-T-CG", state="reported", version=None)
    up = dispatch_to(intake, OFFICER_P, inc.id, "unit:U-C-ZJ", state="dispatched",
                     version=None).incident
    assert (up.level, up.unit_id, up.prev_unit_id) == ("county", "U-C-ZJ", "U-T-CG")
    back = desk_step(intake, ZHUJIAN, inc.id, "return", note="非县级事权").incident
    assert (back.level, back.unit_id, back.assignee) == ("town", "U-T-CG", "青石城管中队")
    # The town office's handler has it in its queue again and may act; the county may not.
    assert [o.id for o in services.store.queue(unit_id="U-T-CG")] == [inc.id]
    with pytest.raises(Refused):
        desk_step(intake, ZHUJIAN, inc.id, "note", note="还在吗")


def test_a_hand_over_goes_only_to_a_unit_that_handles_the_category_above_the_order(services):
    intake = services.intake
    inc = _order(services, category="water")
    for unit, code in (("unit:U-C-JT", "unit_category"), ("unit:U-V01", "unit_village")):
        with pytest.raises(BadInput) as refused:
            dispatch_to(intake, OFFICER_P, inc.id, unit, state="reported", version=None)
        assert refused.value.code == code
    up = dispatch_to(intake, OFFICER_P, inc.id, "unit:U-C-SW", state="reported",
                     version=None).incident
    assert up.level == "county"
    with pytest.raises(BadInput) as refused:  # not down to a town office from the county
        dispatch_to(intake, OFFICER_P, inc.id, "unit:U-T-CG", state="dispatched", version=None)
    assert refused.value.code == "unit_tier"


def test_escalate_without_a_chosen_unit_goes_to_the_village_office_of_the_order(services):
    inc = _order(services)
    v = services.store.act(inc.id, "escalate", "值班员甲")
    assert (v.level, v.unit_id) == ("village", "U-V03")
    assert v.deadline_at == inc.deadline_at  # 大事不出村: the village keeps the grid's clock


def test_a_village_officer_acts_in_its_village_only(services):
    intake = services.intake
    other = _order(services, hit=QINGSHI)
    with pytest.raises(Refused) as refused:
        desk_step(intake, VILLAGER, other.id, "accept")
    assert refused.value.code == "not_your_unit"
    mine = _order(services)
    with pytest.raises(Refused) as refused:  # W001 works in 青石社区
        dispatch_to(intake, VILLAGER, mine.id, "W001", state="reported", version=None)
    assert refused.value.code == "outside_village"
    with pytest.raises(Refused):  # 督办 is the town centre's
        desk_step(intake, VILLAGER, mine.id, "supervise")
    with pytest.raises(Refused):  # a handler acts on its unit's orders only
        desk_step(intake, CHENGGUAN, mine.id, "ack")


# ---------------------------------------------------------------- tier shares (step 4)
def test_tier_shares_count_the_level_each_order_was_resolved_at():
    from datetime import UTC, datetime, timedelta

    from dashboard.incidents.kpis import Window, WorkOrderFact, tier_share, tier_shares

    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    w = Window("month", t0, t0 + timedelta(days=30))

    def fact(n, level, state="closed", category="planning", closed=True):
        return WorkOrderFact(id=n, state=state, created_at=t0 + timedelta(hours=n),
                             closed_at=t0 + timedelta(hours=n + 5) if closed else None,
                             category=category, level=level)

    facts = [fact(1, "grid"), fact(2, "grid"), fact(3, "village"), fact(4, "town"),
             fact(5, "county", category="water"),
             fact(6, "county", state="dispatched", closed=False),  # open: not resolved
             fact(7, "grid", state="void", closed=False)]  # 作废: no case
    share = tier_share(facts, w)
    assert share.resolved == 5
    assert (share.in_grid, share.in_village, share.in_town) == (40.0, 60.0, 80.0)
    per = tier_shares(facts, w)
    assert per["water"].in_town == 0.0 and per["planning"].in_town == 100.0
    assert tier_share([], w).in_grid is None


def test_the_village_page_shows_the_officers_own_village_whatever_it_asks(client):
    from tests.auth_helpers import post_callback, sign_in

    svc = client.zn
    mine = _order(svc)
    theirs = _order(svc, hit=QINGSHI)
    sign_in(client, svc, "建林村干部", VILLAGE)
    outs = [("vg-title", "children"), ("vg-today", "children"), ("vg-month", "children"),
            ("vg-tiers", "children"), ("vg-queue", "children"), ("vg-workers", "children"),
            ("vg-grids", "data")]
    r = post_callback(client, outs, [{"id": "vg-tick", "property": "data", "value": 0}],
                      [{"id": "vg-asked", "property": "data", "value": "V01"},
                       {"id": "vg-lang", "property": "data", "value": "zh"}], "vg-tick.data")
    assert r.status_code == 200, r.text[:300]
    body = r.json()["response"]
    assert body["vg-title"]["children"].startswith("建林村")
    text = str(body["vg-queue"]["children"])
    assert mine.ref in text and theirs.ref not in text
    grids = {f["properties"]["code"] for f in body["vg-grids"]["data"]["features"]}
    assert grids == {"G3-10", "G3-11", "G3-12", "G3-13"}
    assert "W015" in str(body["vg-workers"]["children"])
    assert "W001" not in str(body["vg-workers"]["children"])


def test_a_unit_roles_account_names_a_unit_of_its_tier(services):
    from datasources.sql.accounts import AccountError

    accounts = services.accounts
    for name, role, unit in (("甲", "handler", None), ("乙", "handler", "U-V03"),
                             ("丙", "village", "U-C-ZJ"), ("丁", "officer", "U-C-ZJ"),
                             ("戊", "village", "U-NOPE")):
        with pytest.raises(AccountError):
            accounts.add_user(name, role, "a-long-password", unit_id=unit)
    assert accounts.add_user("己", "handler", "a-long-password",
                             unit_id="U-T-CG").unit_id == "U-T-CG"


def test_the_evaluation_scores_the_receiving_units(services):
    from datetime import timedelta

    from dashboard.timeutil import utcnow

    intake = services.intake
    inc = _order(services, category="city_management")
    dispatch_to(intake, OFFICER_P, inc.id, "unit:U-T-CG", state="reported", version=None)
    for action in ("ack", "start", "resolve"):
        desk_step(intake, CHENGGUAN, inc.id, action)
    now = utcnow()
    ev, names = services.evaluation.evaluate("unit", now - timedelta(days=1),
                                             now + timedelta(minutes=1), now=now)
    row = next(r for r in ev.rows if r.unit == "U-T-CG")
    assert names["U-T-CG"][0] == "青石城管中队"
    assert row.score is not None and row.grade in "ABCDE"


def test_hand_over_and_back_on_postgresql(private_pg):
    from dashboard.settings import Settings
    from datasources.sql.engine import make_engine
    from datasources.sql.incidents import Store
    from datasources.sql.town_loader import prepare_database

    engine = make_engine(private_pg.url)
    try:
        prepare_database(engine, Settings().town_dir)  # every migration, 0017_units included
        store = Store(engine)
        report = IncidentReport(source="hotline", category="water", title="漏水",
                                lon=104.45, lat=30.55)
        iid = store.create_incident(report, JIANLIN).incident.id
        up = store.dispatch(iid, ("accept", "dispatch"), "值班员甲", "unit:U-C-SW")
        assert (up.level, up.unit_id, up.assignee) == ("county", "U-C-SW", "县水务局")
        back = store.act(iid, "return", "水务局张", note="非本部门事权")
        assert (back.level, back.unit_id, back.state) == ("grid", None, "returned")
        assert [h["action"] for h in store.history(iid)] == [
            "report", "accept", "escalate", "dispatch", "return"]
    finally:
        engine.dispose()


def test_a_hand_over_is_the_dispatch_plan_with_escalate_before_its_dispatch():
    from dashboard.incidents.rules import handover_plan
    from dashboard.town import Unit

    county = Unit("U-C-X", "县某局", "", "county", frozenset({"water"}))
    town = Unit("U-T-X", "某站", "", "town", frozenset({"water"}))
    assert handover_plan("reported", "grid", county) == ("accept", "escalate", "dispatch")
    assert handover_plan("dispatched", "town", county) == ("escalate", "reassign")
    assert handover_plan("accepted", "town", town) == ("dispatch",)  # within the tier
    assert handover_plan("closed", "grid", county) == ()


def test_the_receiving_tiers_row_times_a_hand_over_unless_the_category_has_its_own():
    from datetime import UTC, datetime, timedelta

    from dashboard.incidents.deadlines import DEFAULT_TABLE, deadline_for, merge_table

    t0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday
    assert deadline_for("urgent", t0, "planning", DEFAULT_TABLE, tier="county") == \
        t0 + timedelta(days=1)
    assert deadline_for("urgent", t0, "fire", DEFAULT_TABLE, tier="county") == \
        t0 + timedelta(hours=1)
    town = merge_table({"tier:county": {"urgent": "2d"}})  # a town's file overrides it
    assert deadline_for("urgent", t0, "planning", town, tier="county") == t0 + timedelta(days=2)
