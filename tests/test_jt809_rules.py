"""Who may log in over JT/T 809 and what an operator's alarm becomes (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.buses.operators import (
    BAD_ACCESS_CODE,
    BAD_IP,
    BAD_PASSWORD,
    UNKNOWN_USER,
    OperatorRegister,
    alarm_ref,
    alarm_report,
    check_login,
    operator_of,
    reply_note,
)
from dashboard.buses.sos import must_place

T0 = datetime(2026, 11, 24, 22, 35, tzinfo=UTC)
ROW = {"name": "县顺安校车公司", "access_code": 10001, "user_id": 5001, "password": "zn809pwd",
       "plates": ["川F·D72692"], "ips": ["10.0.0.5"]}


def test_a_login_is_checked_field_by_field() -> None:
    reg = OperatorRegister.of([operator_of(ROW)])
    op = reg.get(10001)
    assert check_login(reg, 10001, 5001, "zn809pwd", "10.0.0.5") == (op, None)
    assert check_login(reg, 10002, 5001, "zn809pwd", "10.0.0.5") == (None, BAD_ACCESS_CODE)
    assert check_login(reg, 10001, 5001, "zn809pwd", "10.0.0.6") == (None, BAD_IP)
    assert check_login(reg, 10001, 5002, "zn809pwd", "10.0.0.5") == (None, UNKNOWN_USER)
    assert check_login(reg, 10001, 5001, "zn809pw", "10.0.0.5") == (None, BAD_PASSWORD)
    assert check_login(reg, 10001, 5001, "zn809pwd", "10.0.0.5", 10002)[1] == BAD_ACCESS_CODE
    assert check_login(OperatorRegister.of([]), 10001, 5001, "x", "")[1] == BAD_ACCESS_CODE


def test_plates_are_the_operators_own_in_its_spelling() -> None:
    op = operator_of(ROW, ["川F D54327"])
    assert op.plate("川FD72692") == "川F·D72692" and op.plate("川f·d72692") == "川F·D72692"
    assert op.plate("川F D54327") == "川F D54327" and op.plate("川F·X00000") is None


@pytest.mark.parametrize("change,message", [
    ({"password": "ninechars"}, "1-8 ASCII"), ({"password": "密码"}, "1-8 ASCII"),
    ({"edition": 2013}, "2011 or 2019"), ({"access_code": -1}, "access_code"),
    ({"key": {"m1": 0, "ia1": 1, "ic1": 1}}, "m1 may not be 0"), ({"name": ""}, "name"),
    ({"down_link": "nowhere"}, "host:port"), ({"user_id": True}, "user_id")])
def test_a_wrong_declaration_is_named(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        operator_of({**ROW, **change})


def test_two_operators_may_not_share_a_code_or_a_bus() -> None:
    other = {**ROW, "name": "乙", "plates": []}
    with pytest.raises(ValueError, match="接入码 10001"):
        OperatorRegister.of([operator_of(ROW), operator_of(other)])
    with pytest.raises(ValueError, match="川F·D72692"):
        OperatorRegister.of([operator_of(ROW), operator_of({**ROW, "name": "乙",
                                                            "access_code": 2})])


def test_an_alarm_becomes_a_work_order_placed_even_without_a_point() -> None:
    op = operator_of(ROW)
    sos = alarm_report(op, "川F·D72692", 0x0003, T0, "乘客突发疾病", (104.46, 30.55))
    assert (sos.source, sos.priority, sos.category) == ("bus", "urgent", "traffic")
    assert sos.title == "校车运营平台报警：紧急报警（川F·D72692）"
    assert "县顺安校车公司" in sos.description and "乘客突发疾病" in sos.description
    far = alarm_report(op, "川F·D72692", 0x000C, T0, "", None)  # 车辆移动报警, no point
    assert far.priority == "normal" and (far.lon, far.lat) == (0, 0) and must_place(far)
    odd = alarm_report(op, "川F·D72692", 0x7777, T0, "", None)
    assert "0x7777" in odd.title
    # The same alarm again is the same report; another time is another.
    assert alarm_report(op, "川FD72692", 3, T0, "", None).msg_id == sos.msg_id
    assert alarm_ref(10001, "川F·D72692", 3, T0) != alarm_ref(10001, "川F·D72692", 3,
                                                                 T0.replace(minute=36))
    assert len(alarm_ref(4294967295, "川F·D72692" * 5, 0xFFFF, T0)) <= 64


def test_the_reply_note_in_both_languages() -> None:
    assert reply_note(18, 1) == "运营平台督办应答（督办号 18，0x1401）：已处理完毕"
    assert reply_note(18, 3, "en").endswith("will be handled later")
    assert "结果9" in reply_note(18, 9)
