"""A station's 一部三室, teams' members and vehicles as the administrator keeps them (issue 16):
the pure rules, the record on a real database (audited, the team's counts following its
roster, a closed room on the readiness index), and who may do it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from dashboard.i18n.errors import error_text
from dashboard.incidents.errors import BadInput, NotFound
from dashboard.resources.readiness import readiness_rows
from dashboard.resources.stations import check_member, check_room, check_vehicles
from dashboard.roles import ADMIN, CALLBACKS, OFFICER
from datasources.sql import models as m


def test_a_room_edit_is_bounded_and_its_refusals_are_clear():
    ok = check_room("shelter", "150", 20, "limited", " 东侧漏雨 ")
    assert (ok.capacity, ok.occupancy, ok.state, ok.note) == (150, 20, "limited", "东侧漏雨")
    for args, code in ((("pool", 1, 0, "ready", ""), "st_bad_room"),
                       (("shelter", 1, 0, "broken", ""), "st_bad_state"),
                       (("shelter", 10, 11, "ready", ""), "st_over_capacity"),
                       (("shelter", "1e308", 0, "ready", ""), "bad_number"),
                       (("shelter", -1, 0, "ready", ""), "bad_number"),
                       (("shelter", 1, 0, "ready", "<img src=x onerror=alert(1)>"),
                        "bad_plain")):
        with pytest.raises(BadInput) as exc:
            check_room(*args)
        assert exc.value.code == code
    with pytest.raises(BadInput) as exc:
        check_room("shelter", 10, 11, "ready", "")
    assert error_text(exc.value, "zh") == "在用11超过容量10"
    assert error_text(exc.value, "en") == "11 in use is more than the capacity 10"


def test_a_member_needs_a_name_a_known_role_and_a_phone_by_the_one_phone_rule():
    p = check_member("李医生", "medic", "13900001111", "急救、心肺复苏,急救", True)
    assert (p.name, p.role, p.skills, p.on_duty) == ("李医生", "medic", ["急救", "心肺复苏"], True)
    for args, code in ((("", "member", "13900001111", "", False), "st_bad_name"),
                       (("王", "boss", "13900001111", "", False), "st_bad_role"),
                       (("王", "member", "", "", False), "bad_phone"),
                       (("王", "member", "call me", "", False), "bad_phone"),
                       (("<b>王</b>", "member", "13900001111", "", False), "bad_plain"),
                       (("王", "member", "13900001111", ",".join("abcdefghijk"), False),
                        "st_bad_skills")):
        with pytest.raises(BadInput) as exc:
            check_member(*args)
        assert exc.value.code == code
    with pytest.raises(BadInput) as exc:
        check_member("王", "member", "call me", "", False)
    assert error_text(exc.value, "zh") == "电话「call me」不是有效电话号码"
    assert check_vehicles("3") == 3
    with pytest.raises(BadInput):
        check_vehicles(201)


def test_room_member_and_vehicle_edits_are_stored_audited_and_seen_by_readiness(services):
    desk = services.stations
    desk.save_room("ES-01", "medical", 10, 0, "closed", "消毒中", "管理员")
    row = services.resources.res.station("ES-01")
    medical = next(r for r in row["rooms"] if r["kind"] == "medical")
    assert (medical["capacity"], medical["state"], medical["note"]) == (10, "closed", "消毒中")
    reasons = readiness_rows([row], "zh", datetime.now(UTC))[0]["reasons"]
    assert "临时医疗救助室停用" in reasons
    with pytest.raises(BadInput):
        desk.save_room("ES-01", "shelter", 10, 11, "ready", "", "管理员")
    with pytest.raises(NotFound):
        desk.save_room("XX-01", "shelter", 10, 1, "ready", "", "管理员")

    team = "ES-01-T1"
    before = next(t for t in row["teams"] if t["code"] == team)
    new_id = desk.add_member(team, "李医生", "medic", "13900001111", "急救", True, "管理员")
    after = next(t for t in services.resources.res.station("ES-01")["teams"]
                 if t["code"] == team)
    assert after["members"] == before["members"] + 1
    assert after["on_duty"] == before["on_duty"] + 1 and after["medics"] == before["medics"] + 1
    assert desk.toggle_duty(new_id, "管理员") is False
    desk.remove_member(new_id, "管理员")
    final = next(t for t in services.resources.res.station("ES-01")["teams"]
                 if t["code"] == team)
    assert (final["members"], final["on_duty"]) == (before["members"], before["on_duty"])
    with pytest.raises(NotFound):
        desk.add_member("NOPE", "王", "member", "13900001111", "", False, "管理员")
    with pytest.raises(BadInput):
        desk.toggle_duty("1; drop table", "管理员")

    assert desk.set_vehicles("ES-01", "5", "管理员") == 5
    assert services.resources.res.station("ES-01")["vehicles"] == 5
    with services.store.session() as s:
        actions = [a.action for a in s.scalars(select(m.AuditEntry).where(
            m.AuditEntry.action.like("station.%")).order_by(m.AuditEntry.id))]
    assert actions == ["station.room", "station.member.add", "station.member.duty",
                       "station.member.remove", "station.vehicles"]


def test_stations_admin_is_the_administrators_and_drills_the_officers():
    stations = [n for n in CALLBACKS if n.startswith("pages._admin_stations.")]
    assert len(stations) == 7 and all(CALLBACKS[n] == {ADMIN} for n in stations)
    for step in ("plan_drill", "record_drill", "fill_drill_record"):
        assert CALLBACKS[f"pages._drill_parts.{step}"] == {ADMIN, OFFICER}
