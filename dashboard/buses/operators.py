"""Which operator's platform may speak for which bus over JT/T 809 (issue 15), and what its
alarms become.

A county's school-bus operators feed the government through their monitoring platforms
(下级平台), platform to platform. Each operator has its own 接入码 (MsgGNSSCENTERID), user id
and password, the edition it speaks (2011 or 2019), optionally the cipher constants of the
standard (M1, IA1, IC1) and the addresses it may log in from, and the list of its plates: a
position or an alarm for any other plate is refused and counted. Pure: no I/O; the gateway
reads the admin's file (datasources/towns/files.load_operators) and does the talking.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dashboard.buses.terminals import plate_key
from dashboard.messages import MAX_TEXT, IncidentReport
from dashboard.timeutil import hhmm

# Refusal reasons, counted as rejections.
BAD_ACCESS_CODE = "jt809_bad_access_code"  # no operator has this 接入码
UNKNOWN_USER = "jt809_unknown_user"  # the operator has no such user id
BAD_PASSWORD = "jt809_bad_password"
BAD_IP = "jt809_bad_ip"  # not one of the addresses the operator logs in from
UNKNOWN_PLATE = "jt809_unknown_plate"  # a bus not on the operator's list
REF_PREFIX = "jt809:"  # the source_ref of every work order raised by a 809 alarm
URGE_ACTIONS = frozenset({"urge", "supervise"})  # 催办, 督办: sent down as 0x9401
EDITIONS = (2011, 2019)

# WARN_TYPE of 0x1402 (JT/T 809 报警类型): (中文, English, priority of the work order).
WARN_TYPES: dict[int, tuple[str, str, str]] = {
    0x0001: ("超速报警", "overspeed", "high"),
    0x0002: ("疲劳驾驶报警", "fatigue driving", "high"),
    0x0003: ("紧急报警", "emergency", "urgent"),
    0x0004: ("进入指定区域报警", "entered an area", "normal"),
    0x0005: ("离开指定区域报警", "left an area", "normal"),
    0x0006: ("路段堵塞报警", "road blocked", "normal"),
    0x0007: ("危险路段报警", "dangerous road", "high"),
    0x0008: ("越界报警", "out of bounds", "high"),
    0x0009: ("盗警", "theft", "urgent"),
    0x000A: ("劫警", "hijack", "urgent"),
    0x000B: ("偏离路线报警", "off route", "high"),
    0x000C: ("车辆移动报警", "vehicle moved", "normal"),
    0x000D: ("超时驾驶报警", "driving too long", "high"),
    0x000E: ("其他报警", "other alarm", "normal"),
}
# RESULT of 0x1401 报警督办应答.
URGE_RESULTS: dict[int, tuple[str, str]] = {
    0: ("处理中", "being handled"), 1: ("已处理完毕", "handled"),
    2: ("不作处理", "will not be handled"), 3: ("将来处理", "will be handled later")}


@dataclass(frozen=True)
class Operator:
    """One lower platform: who it is, how it signs in and which buses are its own."""

    name: str
    access_code: int
    user_id: int
    password: str
    edition: int = 2011
    plates: Mapping[str, str] = field(default_factory=dict)  # plate_key -> spelling
    keys: tuple[int, int, int] | None = None  # M1, IA1, IC1
    ips: frozenset[str] = frozenset()  # empty: any address
    down_link: str | None = None  # host:port of its slave-link server, over the login's

    def plate(self, sent: str) -> str | None:
        """The operator's spelling of a plate it sent, or None when not one of its buses."""
        return self.plates.get(plate_key(sent))


def _int(value: Any, what: str, top: int = 0xFFFFFFFF) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise ValueError(f"{what}: an integer 0-{top}, not {value!r}")
    return value


def operator_of(row: Mapping[str, Any], plates: Iterable[str] = ()) -> Operator:
    """One operator from the admin's declaration; raise ValueError naming what is wrong."""
    name = str(row.get("name") or "").strip()
    if not name:
        raise ValueError("an operator needs a name")
    password = str(row.get("password") or "")
    if not password or len(password.encode()) > 8 or not password.isascii():
        raise ValueError(f"{name}: the password is 1-8 ASCII characters")
    edition = row.get("edition", 2011)
    if edition not in EDITIONS:
        raise ValueError(f"{name}: edition is 2011 or 2019, not {edition!r}")
    keys = None
    if row.get("key") is not None:
        key = row["key"]
        if not isinstance(key, Mapping):
            raise ValueError(f"{name}: key is {{m1, ia1, ic1}}")
        keys = (_int(key.get("m1"), f"{name}: key.m1"), _int(key.get("ia1"), f"{name}: key.ia1"),
                _int(key.get("ic1"), f"{name}: key.ic1"))
        if keys[0] == 0:
            raise ValueError(f"{name}: key.m1 may not be 0")
    spelled: dict[str, str] = {}
    for plate in [*row.get("plates", []), *plates]:
        plate = str(plate).strip()
        if plate:
            spelled[plate_key(plate)] = plate
    down = row.get("down_link")
    if down is not None and (not isinstance(down, str) or ":" not in down):
        raise ValueError(f"{name}: down_link is host:port")
    return Operator(name[:40], _int(row.get("access_code"), f"{name}: access_code"),
                    _int(row.get("user_id"), f"{name}: user_id"), password, int(edition),
                    spelled, keys, frozenset(str(ip) for ip in row.get("ips", [])), down)


@dataclass(frozen=True)
class OperatorRegister:
    """The operators by 接入码 (empty: nobody may log in)."""

    by_code: Mapping[int, Operator]

    @classmethod
    def of(cls, operators: Iterable[Operator]) -> OperatorRegister:
        """From operators; a 接入码 given twice, or a plate on two lists, is an error."""
        by_code: dict[int, Operator] = {}
        owner: dict[str, str] = {}
        for op in operators:
            if op.access_code in by_code:
                first = by_code[op.access_code].name
                raise ValueError(f"接入码 {op.access_code} is given to {first} and {op.name}")
            for key, plate in op.plates.items():
                if key in owner and owner[key] != op.name:
                    raise ValueError(f"plate {plate} is on the lists of {owner[key]} and {op.name}")
                owner[key] = op.name
            by_code[op.access_code] = op
        return cls(by_code)

    def __len__(self) -> int:
        return len(self.by_code)

    def get(self, access_code: int) -> Operator | None:
        """The operator of a 接入码."""
        return self.by_code.get(access_code)


def check_login(register: OperatorRegister, access_code: int, user_id: int, password: str,
                peer_ip: str, body_access_code: int | None = None) -> tuple[Operator | None,
                                                                              str | None]:
    """(the operator, None) when this login is let in, else (None, the refusal reason).
    The password is compared in constant time."""
    op = register.get(access_code)
    if op is None or (body_access_code is not None and body_access_code != access_code):
        return None, BAD_ACCESS_CODE
    if op.ips and peer_ip not in op.ips:
        return None, BAD_IP
    if user_id != op.user_id:
        return None, UNKNOWN_USER
    if not hmac.compare_digest(password.encode("latin-1", "replace"),
                               op.password.encode("latin-1", "replace")):
        return None, BAD_PASSWORD
    return op, None


# ------------------------------------------------------------------ alarms into the loop
def warn_label(warn_type: int, lang: str = "zh") -> str:
    """The alarm type's name (unknown types by number)."""
    zh, en, _ = WARN_TYPES.get(warn_type, (f"报警类型0x{warn_type:04X}",
                                           f"alarm type 0x{warn_type:04X}", "normal"))
    return zh if lang == "zh" else en


def alarm_ref(access_code: int, plate: str, warn_type: int, at: datetime) -> str:
    """The work order's source_ref: one per operator, bus, alarm type and alarm time, so a
    repeat of the same alarm is the same report (the loop says duplicate)."""
    ref = f"{REF_PREFIX}{access_code}:{plate_key(plate)}:{warn_type:04x}:{int(at.timestamp())}"
    return ref[:64]


def alarm_report(op: Operator, plate: str, warn_type: int, at: datetime, content: str,
                 where: tuple[float, float] | None) -> IncidentReport:
    """The work order a 0x1402 alarm becomes (source 'bus', 校车监控), at the bus's latest
    fix from that platform; without one it is placed at the town's centre (sos.must_place)."""
    ref = alarm_ref(op.access_code, plate, warn_type, at)
    priority = WARN_TYPES.get(warn_type, ("", "", "normal"))[2]
    kind = warn_label(warn_type)
    lon, lat = where if where is not None else (0.0, 0.0)
    desc = (f"{op.name}（接入码 {op.access_code}）经 JT/T 809 上报{kind}，报警时间 {hhmm(at)}。"
            + (f"\n{content.strip()}" if content.strip() else ""))
    return IncidentReport(
        msg_id="jt809-" + hashlib.sha1(ref.encode()).hexdigest()[:32],
        source="bus", source_ref=ref, category="traffic", priority=priority,
        title=f"校车运营平台报警：{kind}（{plate}）"[:100], description=desc[:MAX_TEXT],
        lon=round(lon, 6), lat=round(lat, 6), reported_at=at)


def reply_note(supervision_id: int, result: int, lang: str = "zh") -> str:
    """The history note of an operator's 0x1401 reply to a 督办."""
    zh, en = URGE_RESULTS.get(result, (f"结果{result}", f"result {result}"))
    if lang == "zh":
        return f"运营平台督办应答（督办号 {supervision_id}，0x1401）：{zh}"
    return f"The operator's platform answered the 督办 (no. {supervision_id}, 0x1401): {en}"
