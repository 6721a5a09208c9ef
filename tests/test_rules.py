"""Pure rules: the incident loop, deadlines, time display, grid lookup, settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.geo.lookup import GridIndex, haversine_m
from dashboard.incidents.deadlines import (
    add_working_days,
    deadline_for,
    parse_spec,
)
from dashboard.incidents.lifecycle import (
    ACTIONS,
    STATES,
    TRANSITIONS,
    TransitionError,
    action_to,
    check_action,
    check_transition,
    is_overdue,
    next_level,
)
from dashboard.settings import SETTINGS, Settings, setting_attrs
from dashboard.timeutil import age_text, local_day_start
from datasources.towns.files import load_table, load_town

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("current", sorted(STATES))
@pytest.mark.parametrize("target", sorted(STATES))
def test_every_transition_is_either_allowed_or_refused(current, target):
    if target in TRANSITIONS[current]:
        check_transition(current, target)
    else:
        with pytest.raises(TransitionError):
            check_transition(current, target)


def test_closed_is_final_and_reported_cannot_jump_to_resolved():
    assert TRANSITIONS["closed"] == frozenset()
    with pytest.raises(TransitionError) as refused:
        check_transition("reported", "resolved")
    assert refused.value.code == "bad_transition"
    assert refused.value.params["allowed"] == "accepted,returned,suspended,void"


def test_deadlines_and_overdue():
    t0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    assert deadline_for("urgent", t0) == t0 + timedelta(hours=2)
    assert deadline_for("urgent", t0, "fire") == t0 + timedelta(hours=1)
    late = t0 + timedelta(hours=3)
    assert is_overdue("dispatched", deadline_for("urgent", t0), late)
    assert not is_overdue("resolved", deadline_for("urgent", t0), late)


def test_local_day_starts_at_shanghai_midnight():
    # 2026-11-22 15:30 UTC is 23:30 in Shanghai; 16:30 UTC is already the 23rd there.
    assert local_day_start(datetime(2026, 11, 22, 15, 30, tzinfo=UTC)) == datetime(
        2026, 11, 21, 16, 0, tzinfo=UTC)
    assert local_day_start(datetime(2026, 11, 22, 16, 30, tzinfo=UTC)) == datetime(
        2026, 11, 22, 16, 0, tzinfo=UTC)


def test_age_text_in_both_languages():
    t0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    assert age_text(t0, t0 + timedelta(minutes=5), "zh") == "5分钟前"
    assert age_text(t0, t0 + timedelta(hours=3), "en") == "3 h ago"


def test_grid_index_places_points_and_refuses_outsiders():
    town = load_town(ROOT / "datasources" / "towns" / "demo")
    index = GridIndex(town.grids)
    assert len(index) == 50
    for village in town.villages:
        hit = index.locate(village.lon, village.lat)
        assert hit is not None and hit.village == village.code
    assert index.locate(120.0, 30.0) is None


def test_haversine_one_degree_of_latitude():
    assert haversine_m(104.0, 30.0, 104.0, 31.0) == pytest.approx(111_195, rel=1e-3)


def test_settings_read_from_environment_and_validate():
    s = Settings.from_env({"ZN_PORT": "9000", "ZN_LANG": "en", "ZN_SIM_RATE": "2.5"})
    assert (s.port, s.lang, s.sim_rate) == (9000, "en", 2.5)
    assert s.db_url.startswith("sqlite:///")
    with pytest.raises(ValueError, match="ZN_LANG"):
        Settings.from_env({"ZN_LANG": "fr"})
    with pytest.raises(ValueError, match="ZN_PORT"):
        Settings.from_env({"ZN_PORT": "eighty"})
    # A wall page shown for no time (or for minutes) is a typo, refused with the setting named.
    assert Settings.from_env({"ZN_WALL_PAGE_S": "10"}).wall_page_s == 10
    for bad in ("0", "61"):
        with pytest.raises(ValueError, match="ZN_WALL_PAGE_S must be 2–60"):
            Settings.from_env({"ZN_WALL_PAGE_S": bad})


def test_every_setting_is_in_the_table_and_documented_in_the_readme():
    assert {s.attr for s in SETTINGS} == setting_attrs()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", readme, re.MULTILINE))
    assert documented == {s.env for s in SETTINGS}


def test_normal_deadline_counts_working_days_in_shanghai():
    # Friday 2026-11-20 15:00 local: three working days later is Wednesday 15:00 local.
    friday = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    assert deadline_for("normal", friday) == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    assert add_working_days(friday, 1) == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def test_deadline_table_overrides_are_checked(tmp_path):
    good = tmp_path / "d.json"
    good.write_text('{"environment": {"normal": "5wd"}}', encoding="utf-8")
    table = load_table(good)
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # a Monday
    assert deadline_for("normal", t0, "environment", table) == t0 + timedelta(days=7)
    bad = tmp_path / "bad.json"
    bad.write_text('{"fire": {"urgent": "soon"}}', encoding="utf-8")
    with pytest.raises(ValueError, match="soon"):
        load_table(bad)
    assert parse_spec("12h") == (12, "h")


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_is_allowed_exactly_from_its_source_states(action, state):
    if state in ACTIONS[action].sources:
        assert check_action(action, state).name == action
    else:
        with pytest.raises(TransitionError):
            check_action(action, state)


def test_closed_and_resolved_take_no_desk_actions_but_follow_up():
    for action in ("urge", "supervise", "escalate", "dispatch", "return"):
        for state in ("resolved", "closed"):
            with pytest.raises(TransitionError):
                check_action(action, state)
    assert {a for a in ACTIONS if "resolved" in ACTIONS[a].sources} == {"close", "rework", "verify"}


def test_actions_guard_the_loop():
    assert check_action("dispatch", "accepted").target == "dispatched"
    for args, code in ((("dispatch", "reported"), "bad_state"),
                       (("escalate", "accepted", "county"), "top_level"),
                       (("delete", "accepted"), "unknown_action")):
        with pytest.raises(TransitionError) as refused:
            check_action(*args)
        assert refused.value.code == code
    assert check_action("urge", "dispatched").target is None
    assert action_to("dispatched", "in_progress") == "start"
    assert [next_level(x) for x in ("grid", "village", "town", "county")] == [
        "village", "town", "county", "county"]


def test_durations_read_in_minutes_under_an_hour():
    from dashboard.i18n.figures import duration_text

    assert duration_text(None, "zh") == "—"
    assert duration_text(0.25, "zh") == "15分钟" and duration_text(0.25, "en") == "15 min"
    assert duration_text(3.46, "zh") == "3.5小时"


def test_the_worker_on_duty_rotates_daily_over_the_grids_workers():
    from datetime import date

    from dashboard.geo.lookup import GridHit

    hit = GridHit("G3-01", "V01", ("甲", "乙"))
    days = [hit.on_duty(date(2026, 11, d)) for d in (22, 23, 24)]
    assert days[0] != days[1] and days[0] == days[2]
    assert GridHit("G3-02", "V01").on_duty(date(2026, 11, 22)) is None


def test_refusals_read_in_the_requesters_language_from_their_code():
    from dashboard.i18n.errors import error_text

    with pytest.raises(TransitionError) as refused:
        check_action("resolve", "dispatched")
    assert error_text(refused.value, "zh") == "当前状态「派遣」不能办结"
    assert error_text(refused.value, "en") == "cannot resolve while Dispatched"
    with pytest.raises(TransitionError) as top:
        check_action("escalate", "accepted", level="county")
    assert error_text(top.value, "en") == "already at the county level"


def test_the_countdown_and_overdue_rule_is_defined_once():
    from dashboard.incidents.lifecycle import Countdown, countdown, due_at
    from dashboard.screens.views import countdown_text

    t0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    assert countdown(t0 + timedelta(hours=3, minutes=5), t0) == Countdown(False, 3, "h")
    assert countdown(t0 - timedelta(minutes=20), t0) == Countdown(True, 20, "m")
    assert countdown(t0 + timedelta(days=2, hours=1), t0) == Countdown(False, 2, "d")
    assert countdown_text(t0 - timedelta(minutes=20), t0, "zh") == "超时 20分钟"
    assert countdown_text(t0 + timedelta(hours=3), t0, "en").endswith("3 h")
    # Done work orders have no overdue instant: the console's JS gets None for them.
    assert due_at("dispatched", t0) == t0 and due_at("resolved", t0) is None
    assert due_at("closed", t0) is None
    assert not is_overdue("closed", t0, t0 + timedelta(days=1))


def test_each_actions_effects_are_data():
    from dashboard.incidents.errors import BadInput
    from dashboard.incidents.rules import Assignee, OrderFacts, effects

    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    out = OrderFacts("dispatched", "grid", 0, None)
    assert effects("urge", out, now) == {"updated_at": now, "urge_count": 1}
    assert effects("escalate", out, now)["level"] == "village"
    assert effects("reassign", out, now, assignee=Assignee("W002", "李春梅")) == {
        "updated_at": now, "state": "dispatched", "assignee": "李春梅", "assignee_id": "W002"}
    done = OrderFacts("resolved", "grid", 0, now)
    assert effects("close", done, now, satisfaction=5)["satisfaction"] == 5
    assert effects("rework", done, now, note="回访不满意")["closed_at"] is None
    with pytest.raises(BadInput):
        effects("close", done, now)
    with pytest.raises(BadInput):
        effects("return", out, now, note="  ")
