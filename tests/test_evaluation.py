"""综合评价 (issue 14): every indicator on a hand-built set of work orders with known answers,
the scores and grades, the weights a town may override, and the same figures from the real
loop on the demo town's database and from `zhongnao evaluate`."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from dashboard.geo.lookup import GridHit
from dashboard.incidents.deadlines import StageTimes, stage_on_time
from dashboard.incidents.evaluation import (
    DEFAULT_WEIGHTS,
    INDICATORS,
    CaseFact,
    EvaluationError,
    evaluate,
    fold_history,
    grade,
    indicators,
    merge_weights,
    period,
    quarter,
    score,
)
from dashboard.messages import IncidentReport
from datasources.sql.evaluation import EvaluationStore

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Asia/Shanghai
AT = T0 + timedelta(hours=72)  # when the evaluation is run


def _m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _case(i: int, state: str, **kw) -> CaseFact:
    base = {"priority": "normal", "created_at": T0, "deadline_at": _h(24), "grid": "G1",
            "village": "V1", "assignee": "李春梅"}
    return CaseFact(id=i, state=state, **{**base, **kw})


# Eight work orders, all normal priority (立案 and 派遣 within 30 min), resolution due in
# 24 h; evaluated 72 h after they were reported.
CASES = [
    # A: closed on time, after 核查, scored 5.
    _case(1, "closed", accepted_at=_m(5), dispatched_at=_m(20), resolved_at=_h(4),
          verified_at=_h(5), satisfaction=5),
    # B: closed late (36 h of 24), accepted in 40 min and dispatched 50 min after: both late.
    _case(2, "closed", accepted_at=_m(40), dispatched_at=_m(90), resolved_at=_h(36),
          satisfaction=3),
    # C: resolved on time after a 返工, reassigned once (an inaccurate dispatch).
    _case(3, "resolved", accepted_at=_m(5), dispatched_at=_m(10), resolved_at=_h(10),
          rework_count=1, misdispatched=True),
    # D: still in progress, past its deadline (72 h of 24).
    _case(4, "in_progress", accepted_at=_m(5), dispatched_at=_m(15)),
    # E: in progress with an approved 延期 that moved the deadline to 96 h: not overdue.
    _case(5, "in_progress", accepted_at=_m(5), dispatched_at=_m(45), deadline_at=_h(96),
          extend_count=1),
    # F: 缓办 (suspended): in the cases, out of every denominator.
    _case(6, "suspended", accepted_at=_m(5), dispatched_at=_m(15)),
    # G: 作废 (void): in no count at all.
    _case(7, "void"),
    # H: reported late on, not yet accepted.
    _case(8, "reported", created_at=_h(70), deadline_at=_h(94)),
]


def test_every_indicator_on_a_hand_built_set():
    ind = indicators(CASES, AT)
    assert (ind.cases, ind.suspended, ind.due) == (7, 1, 6)  # G void; F suspended
    assert (ind.closed, ind.closed_on_time) == (2, 1)
    assert ind.close_rate == pytest.approx(2 / 6)            # 结案率 = 结案数 / 应结案数
    assert ind.on_time_close_rate == pytest.approx(1 / 6)    # 按期结案率
    assert (ind.to_handle, ind.handled, ind.handled_on_time) == (5, 3, 2)
    assert ind.handle_rate == pytest.approx(3 / 5)           # 处置率
    assert ind.on_time_handle_rate == pytest.approx(2 / 5)   # 按期处置率
    assert (ind.reworked, ind.reworks) == (1, 1)
    assert ind.rework_rate == pytest.approx(1 / 6)           # 返工率 = 返工数 / 应结案数
    assert ind.extend_rate == pytest.approx(1 / 5)           # 延期率
    assert ind.overdue_open == 1                              # D; E's deadline was moved
    assert ind.overdue_open_rate == pytest.approx(1 / 5)     # 超期待处置率
    assert ind.dispatched_on_time == 3                        # A, C, D; not B nor E
    assert ind.on_time_dispatch_rate == pytest.approx(3 / 5)  # 按时派遣率
    assert ind.accurate_dispatch_rate == pytest.approx(4 / 5)  # 1 − 退回改派 share
    assert ind.satisfaction == pytest.approx(4.0)            # 满意度: (5 + 3) / 2
    assert ind.satisfied_rate == pytest.approx(1 / 2)        # 满意率: scores ≥ 4
    assert ind.avg_accept_min == pytest.approx((5 + 40 + 5 + 5 + 5) / 5)
    assert ind.avg_dispatch_min == pytest.approx((15 + 50 + 5 + 10 + 40) / 5)
    assert ind.avg_handle_h == pytest.approx((4 - 1 / 3 + 36 - 1.5 + 10 - 1 / 6) / 3)
    assert ind.avg_verify_h == pytest.approx(1.0)
    assert ind.overdue_multiple == pytest.approx((36 / 24 + 72 / 24) / 2)  # B and D


def test_suspended_and_void_orders_change_no_rate():
    base = indicators([c for c in CASES if c.state not in ("suspended", "void")], AT)
    full = indicators(CASES, AT)
    for name in INDICATORS:
        assert getattr(full, name) == getattr(base, name), name


def test_an_approved_extension_keeps_a_late_order_on_time():
    late = _case(9, "resolved", accepted_at=_m(5), dispatched_at=_m(10), resolved_at=_h(30))
    assert indicators([late], AT).on_time_handle_rate == 0
    extended = replace(late, deadline_at=_h(48), extend_count=1)
    ind = indicators([extended], AT)
    assert ind.on_time_handle_rate == 1 and ind.extend_rate == 1


def test_the_department_score_and_its_grade():
    ind = indicators(CASES, AT)
    # 处置率×30 + 按期处置率×20 + (1−返工率)×20 + (1−超期待处置率)×20 + (1−延期率)×10
    expected = 0.6 * 30 + 0.4 * 20 + (1 - 1 / 6) * 20 + (1 - 0.2) * 20 + (1 - 0.2) * 10
    assert score(ind, DEFAULT_WEIGHTS["village"]) == round(expected, 1) == 66.7
    assert grade(66.7) == "C"
    assert [grade(x) for x in (100, 90, 89.9, 75, 60, 59.9, 40, 39.9, 0, None)] == \
        ["A", "A", "B", "B", "C", "D", "D", "E", "E", "—"]


def test_units_are_ranked_by_score_and_the_town_line_holds_all():
    good = [replace(c, id=100 + c.id, grid="G2", village="V2", assignee="陈红梅")
            for c in CASES[:1]]
    ev = evaluate(CASES + good, "grid", T0 - timedelta(days=1), T0 + timedelta(days=4), AT)
    assert [(r.rank, r.unit, r.grade) for r in ev.rows] == [(1, "G2", "A"), (2, "G1", "C")]
    assert ev.rows[0].score == 100.0 and ev.town.indicators.cases == 8
    by_worker = evaluate(CASES + good, "worker", T0, T0 + timedelta(days=4), AT)
    assert [r.unit for r in by_worker.rows] == ["陈红梅", "李春梅"]
    # Only the work orders reported in the period count.
    later = evaluate(CASES, "grid", _h(60), _h(80), AT)
    assert later.town.indicators.cases == 1


def test_a_town_overrides_the_weights_of_a_kind():
    weights = merge_weights({"worker": {"on_time_handle_rate": 50, "satisfied_rate": 50}})
    assert weights["grid"] == DEFAULT_WEIGHTS["grid"]
    ind = indicators(CASES, AT)
    assert score(ind, weights["worker"]) == 45.0  # (0.4 × 50 + 0.5 × 50) / 100
    for bad in ({"county": {"handle_rate": 1}}, {"grid": {"speed": 10}},
                {"grid": {"handle_rate": -1}}, {"grid": {"handle_rate": "30"}},
                {"grid": {"handle_rate": 0}}, {"grid": []}, []):
        with pytest.raises(EvaluationError):
            merge_weights(bad)  # type: ignore[arg-type]


def test_quarters_and_periods_are_local_days():
    start, end = quarter("2026q4")
    assert start == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 2026-10-01 00:00 Beijing
    assert end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert quarter("2026Q1")[0] == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    for bad in ("2026Q5", "26Q1", "2026-4", ""):
        with pytest.raises(EvaluationError):
            quarter(bad)
    lo, hi = period(None, None, None, AT)
    assert hi == AT and hi - lo == timedelta(days=30)
    with pytest.raises(EvaluationError):
        period(AT.date(), None, "2026Q4", AT)
    with pytest.raises(EvaluationError):
        period(AT.date(), AT.date() - timedelta(days=2), None, AT)


def test_the_history_marks_the_stages():
    steps = [("accept", _m(5)), ("dispatch", _m(20)), ("reassign", _m(30)),
             ("resolve", _h(5)), ("verify", _h(6)), ("rework", _h(7)), ("resolve", _h(9))]
    out = fold_history(steps)
    assert out == {"accepted_at": _m(5), "dispatched_at": _m(20), "resolved_at": _h(9),
                   "verified_at": None, "misdispatched": True}
    t = StageTimes(T0, _m(5), _m(50), _h(9), None, _h(24))
    assert stage_on_time("accept", t, "normal", AT) is True
    assert stage_on_time("dispatch", t, "normal", AT) is False   # 45 min of 30
    assert stage_on_time("dispatch", t, "urgent", AT) is False
    assert stage_on_time("handle", t, "normal", AT) is True
    assert stage_on_time("verify", t, "normal", _h(10)) is None  # 1 h of 2 so far
    assert stage_on_time("verify", t, "normal", AT) is False     # never verified


def test_every_indicator_is_documented():
    doc = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")
    missing = [name for name in INDICATORS if f"`{name}`" not in doc]
    assert not missing, f"docs/evaluation.md does not define: {missing}"


# ---------------------------------------------------------------- through the real loop
def _play(store, title: str, steps: list[tuple[str, float, dict]]) -> int:
    report = IncidentReport(source="hotline", category="city_management", title=title,
                            lon=104.45, lat=30.55, reported_at=T0)
    hit = GridHit("G3-02", "V01", workers=("陈红梅",), rostered="陈红梅")
    iid = store.create_incident(report, hit, now=T0).incident.id
    for action, minutes, kw in steps:
        store.act(iid, action, "值班员王", now=_m(minutes), **kw)
    return iid


def test_the_loop_on_the_demo_database_gives_the_same_figures(services):
    store = services.store
    to = {"assignee": "陈红梅", "assignee_id": "W003"}
    out = [("accept", 5, {}), ("dispatch", 15, to), ("start", 60, {})]
    # Due in 3 working days (normal city management): Thursday 09:00 Beijing.
    _play(store, "返工后办结", out + [("resolve", 120, {}),
                                 ("rework", 180, {"note": "核查不通过"}),
                                 ("resolve", 300, {}), ("verify", 360, {}),
                                 ("close", 400, {"satisfaction": 5})])
    _play(store, "延期后按期", out + [("extend", 600, {"note": "3d 等配件"}),
                                 ("extend_ok", 620, {}),
                                 ("resolve", 60 * 24 * 4, {})])  # day 4: late without 延期
    _play(store, "缓办", out + [("suspend", 200, {"note": "列入明年预算"})])
    _play(store, "作废", [("void", 3, {"note": "重复来电"})])
    ev, names = EvaluationStore(store).evaluate(
        "village", T0 - timedelta(minutes=1), T0 + timedelta(minutes=1),
        now=T0 + timedelta(days=5))
    ind = ev.town.indicators
    assert (ind.cases, ind.suspended, ind.due, ind.to_handle, ind.handled) == (3, 1, 2, 2, 2)
    assert ind.rework_rate == 0.5 and ind.reworks == 1
    assert ind.extend_rate == 0.5 and ind.on_time_handle_rate == 1.0
    assert ind.close_rate == 0.5 and ind.satisfaction == 5.0
    assert ind.avg_accept_min == 5 and ind.avg_dispatch_min == 10
    assert ind.on_time_dispatch_rate == 1.0 and ind.avg_verify_h == 1.0
    assert [r.unit for r in ev.rows] == ["V01"] and names["V01"][0]


def test_zhongnao_evaluate_prints_the_table_in_either_language(settings, services, tmp_path):
    _play(services.store, "路灯", [("accept", 5, {}),
                                 ("dispatch", 15, {"assignee": "陈红梅",
                                                   "assignee_id": "W003"})])
    env = {"ZN_DATA_DIR": settings.data_dir, "DATABASE_URL": settings.database_url,
           "ZN_LOG_LEVEL": "WARNING"}
    runner = CliRunner()
    zh = runner.invoke(main, ["evaluate", "--from", "2026-11-23", "--to", "2026-11-23"],
                       env=env)
    assert zh.exit_code == 0, zh.output
    assert "综合评价" in zh.output and "按期处置率" in zh.output and "全镇" in zh.output
    weights = tmp_path / "w.json"
    weights.write_text(json.dumps({"worker": {"handle_rate": 100}}), encoding="utf-8")
    en = runner.invoke(main, ["evaluate", "--from", "2026-11-23", "--to", "2026-11-23",
                              "--kind", "worker", "--weights", str(weights), "--lang", "en"],
                       env=env)
    assert en.exit_code == 0, en.output
    assert "On-time handling rate" in en.output and "陈红梅" in en.output
    assert "Score = Handling rate×100" in en.output
    bad = runner.invoke(main, ["evaluate", "--quarter", "2026Q9"], env=env)
    assert bad.exit_code == 2 and "2026Q4" in bad.output
    weights.write_text(json.dumps({"worker": {"speed": 1}}), encoding="utf-8")
    wrong = runner.invoke(main, ["evaluate", "--weights", str(weights)], env=env)
    assert wrong.exit_code == 2 and "unknown indicator 'speed'" in wrong.output


def test_a_town_sets_its_own_stage_limits_in_the_deadlines_file():
    from dashboard.incidents.deadlines import merge_table
    table = merge_table({"stages": {"dispatch": {"normal": "60min"}}, "water": {"normal": "1d"}})
    t = StageTimes(T0, _m(5), _m(50), None, None, _h(24))
    assert stage_on_time("dispatch", t, "normal", AT) is False  # the standard 30 min
    assert stage_on_time("dispatch", t, "normal", AT, table) is True  # the town's 60 min
    assert table["water"]["normal"] == "1d" and table["stages"]["accept"]["urgent"] == "10min"
    for bad in ({"stages": {"lunch": {"normal": "1h"}}}, {"stages": {"accept": {"normal": "1y"}}}):
        with pytest.raises(ValueError):
            merge_table(bad)


# ---------------------------------------------------------------- on the leader view
def test_the_leader_sees_the_villages_ranked_with_score_and_grade_on_the_bars(settings):
    from dashboard.timeutil import utcnow
    from tests.auth_helpers import leader_view, sign_in
    from tests.browser import app_client, step_backdated

    with app_client(settings) as client:
        svc = client.zn
        now = utcnow()
        report = IncidentReport(source="hotline", category="city_management", title="井盖缺失",
                                lon=104.45, lat=30.55, reported_at=now - timedelta(hours=5))
        hit = GridHit("G3-02", "V01", workers=("陈红梅",), rostered="陈红梅")
        iid = svc.store.create_incident(report, hit, now=now - timedelta(hours=5)).incident.id
        for action, kw in (("accept", {}), ("dispatch", {"assignee": "陈红梅",
                                                         "assignee_id": "W003"}),
                           ("start", {}), ("resolve", {})):
            step_backdated(svc.store, iid, action, "值班员王", now=now - timedelta(hours=4), **kw)
        ev, names = svc.evaluation.evaluate("village", now - timedelta(days=30), now, now=now)
        row = next(r for r in ev.rows if r.unit == "V01")
        sign_in(client, svc, "领导李", "leader")
        for lang, head in (("zh", "按期处置率"), ("en", "On-time handling rate")):
            r = leader_view(client, 1, lang)
            assert r.status_code == 200, r.text[:300]
            panel = json.dumps(r.json()["response"]["ld-eval"]["children"], ensure_ascii=False)
            assert f"{row.score:.1f} {row.grade}" in panel  # the figure on its bar
            assert names["V01"][0 if lang == "zh" else 1] in panel and head in panel
            assert f'"data-score": "{row.score}"' in panel


def test_the_leader_ranks_units_not_people_and_sees_the_red_list(settings):
    """部门排名 lists the receiving units by their evaluation (the figure on each bar, not
    the assignees' names), and 红灯 names each unit with work orders overdue, not handled."""
    from sqlalchemy import update

    from dashboard.roles import OFFICER, Principal
    from dashboard.screens.evaluation import red_list
    from dashboard.timeutil import utcnow
    from datasources.flows.desk import dispatch_to
    from datasources.sql import models as m
    from tests.auth_helpers import leader_view, sign_in
    from tests.browser import app_client

    officer = Principal(role=OFFICER, name="值班员甲", kind="user", user_id=1)
    with app_client(settings) as client:
        svc = client.zn
        now = utcnow()
        ids = []
        for title in ("违章搭建", "危房加固"):
            report = IncidentReport(source="grid_worker", category="planning", title=title,
                                    lon=104.48, lat=30.568)
            inc = svc.store.create_incident(report, GridHit("G3-10", "V03"),
                                            now=now - timedelta(hours=30)).incident
            dispatch_to(svc.intake, officer, inc.id, "unit:U-C-ZJ", state="reported",
                        version=None)
            ids.append(inc.id)
        with svc.store.session() as s:  # the county's time ran out
            s.execute(update(m.Incident).where(m.Incident.id.in_(ids))
                      .values(deadline_at=now - timedelta(hours=1)))
        ev, names = svc.evaluation.evaluate("unit", now - timedelta(days=30),
                                            now + timedelta(minutes=1), now=now)
        row = next(r for r in ev.rows if r.unit == "U-C-ZJ")
        assert row.indicators.overdue_open == 2
        assert red_list(ev, names, "zh")[0] == {"code": "U-C-ZJ", "unit": "县住房和城乡建设局",
                                                "n": 2}
        sign_in(client, svc, "领导李", "leader")
        for lang, name, n in (("zh", "县住房和城乡建设局", "2 件"), ("en", names["U-C-ZJ"][1],
                                                                "2 overdue")):
            r = leader_view(client, 1, lang)
            assert r.status_code == 200, r.text[:300]
            panel = json.dumps(r.json()["response"]["ld-depts"]["children"],
                               ensure_ascii=False)
            assert f"{row.score:.1f} {row.grade}" in panel  # the figure on its bar
            assert name in panel and n in panel
            assert '"data-unit": "U-C-ZJ"' in panel
            assert "值班员甲" not in panel  # units, not people


def test_the_leaders_tablets_share_one_read_per_minute(services):
    ev_store = services.evaluation
    lo, hi = T0 - timedelta(minutes=1), T0 + timedelta(minutes=1)
    first = ev_store.recent("village", lo, hi)
    assert first.__class__ is tuple and first[0].town.indicators.cases == 0
    _play(services.store, "新上报", [])
    assert ev_store.recent("village", lo, hi) is first  # kept for the minute
    fresh = ev_store.recent("village", lo, hi, max_age_s=0)
    assert fresh[0].town.indicators.cases == 1
