#!/usr/bin/env python3
"""Generate the demo town's school registers (一校一册): datasources/towns/demo/pupils.json.

虚构演示数据 / fictional demo data: every name and phone number is drawn at random. Two
schools, the pupils of the demo routes (fewer per route than its smallest bus has seats), two
guardians for some, a line leader (学生路队长) and a parent volunteer (家长志愿者) at every
stop that has pupils. The file holds the sheets of the workbook a school would import with
`zhongnao pupils import` (docs/pupils.md), so the town loader checks it with the same rules.
Deterministic (fixed seed); rerun after changing routes.json:

    python tools/gen_demo_pupils.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.buses.register import COLUMNS, SCHOOL_HEAD  # noqa: E402

OUT_DEFAULT = ROOT / "datasources" / "towns" / "demo"
SCHOOLS = {  # route's school name → (code, English name, grades)
    "青石中学": ("QSZX", "Qingshi Middle School", ("七年级", "八年级", "九年级")),
    "青石镇中心小学": ("QSXX", "Qingshi Central Primary School",
                   ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")),
}
# Pupils per route: below the seats of the route's smallest bus (vehicles.csv).
PER_ROUTE = {"R01": 18, "R02": 25, "R03": 25, "R04": 16, "R05": 22, "R06": 22, "R07": 18}
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
            "邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢")
GIVEN = ["子涵", "梓萱", "浩然", "宇轩", "欣怡", "一诺", "俊杰", "诗涵", "雨泽", "思彤", "明轩",
         "佳怡", "博文", "可馨", "天佑", "若曦", "嘉懿", "晨阳", "语桐", "皓轩", "雅琪", "铭泽",
         "心怡", "奕辰", "紫涵", "俊熙", "梦琪", "昊天", "书瑶", "子墨", "欣妍", "泽宇", "雨桐",
         "宇航", "诗琪", "锦程", "佳琪", "睿哲", "安琪", "思远"]
MEN = ["建国", "国强", "志刚", "军", "伟", "强", "磊", "勇", "洋", "德明"]
WOMEN = ["秀兰", "丽华", "桂英", "海燕", "芳", "敏", "静", "艳", "娟", "霞"]
# relation → (takes the child's surname, a man)
RELATIONS = {"父亲": (True, True), "母亲": (False, False), "祖父": (True, True),
             "祖母": (False, False), "外婆": (False, False)}


def adult(rng: random.Random, surname: str, relation: str) -> str:
    """A fictional guardian's name fitting the relation."""
    same, man = RELATIONS[relation]
    return (surname if same else rng.choice(SURNAMES)) + rng.choice(MEN if man else WOMEN)


def phone(rng: random.Random) -> str:
    """A fictional mobile number (139 + 8 random digits)."""
    return "139" + "".join(str(rng.randrange(10)) for _ in range(8))


def build(routes: list[dict]) -> dict:
    """The sheets of the two schools' registers."""
    rng = random.Random(20261205)
    sheets: dict[str, list[list[str]]] = {}
    serial: dict[str, int] = {}
    staffed: set[str] = set()
    for r in routes:
        code, name_en, grades = SCHOOLS[r["school"]]
        rows = sheets.setdefault(r["school"], [
            [SCHOOL_HEAD[0], code, SCHOOL_HEAD[1], r["school"], SCHOOL_HEAD[2], name_en],
            [c.zh for c in COLUMNS]])
        am = [t["code"] for t in r["trips"] if t["direction"] == "to_school"]
        pm = [t["code"] for t in r["trips"] if t["direction"] == "from_school"]
        homes = [s["code"] for s in r["stops"][:-1]]  # the last stop is the school
        for i in range(PER_ROUTE[r["code"]]):
            serial[code] = serial.get(code, 0) + 1
            surname = rng.choice(SURNAMES)
            stop = homes[i % len(homes)]
            guardian = rng.choice(sorted(RELATIONS))
            gname = adult(rng, surname, guardian)
            second = rng.random() < 0.4
            relation2 = "母亲" if guardian in ("父亲", "祖父") else "父亲"
            leader = stop not in staffed  # the first pupil of a stop leads its line
            row = {"id": f"{code}2026{serial[code]:03d}", "name": surname + rng.choice(GIVEN),
                   "class": f"{rng.choice(grades)}{rng.randint(1, 3)}班",
                   "teacher": "", "teacher_phone": "", "home_stop": stop,
                   "am_trip": am[i % len(am)] if am else "", "pm_trip": pm[0] if pm else "",
                   "guardian": gname, "relation": guardian, "phone": phone(rng),
                   "guardian2": adult(rng, surname, relation2) if second else "",
                   "relation2": relation2 if second else "",
                   "phone2": phone(rng) if second else "",
                   "line_leader": "是" if leader else "", "volunteer": "是" if leader else ""}
            staffed.add(stop)
            rows.append([row[c.key] for c in COLUMNS])
    # Head teachers: the first pupil of each class names the teacher (fictional).
    for rows in sheets.values():
        named: set[str] = set()
        for row in rows[2:]:
            klass = row[2]
            if klass not in named:
                named.add(klass)
                row[3] = rng.choice(SURNAMES) + "老师"
                row[4] = phone(rng)
    return {"note": "虚构演示数据 / fictional demo data (tools/gen_demo_pupils.py)",
            "sheets": [{"title": title, "rows": rows} for title, rows in sheets.items()]}


def main() -> None:
    """Write pupils.json next to the town's routes.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DEFAULT)
    args = parser.parse_args()
    routes = json.loads((args.out / "routes.json").read_text(encoding="utf-8"))
    data = build(routes)
    text = json.dumps(data, ensure_ascii=False, indent=None, separators=(",", ":"))
    text = text.replace("],[", "],\n[")  # a row per line: readable diffs
    (args.out / "pupils.json").write_text(text + "\n", encoding="utf-8")
    pupils = sum(len(s["rows"]) - 2 for s in data["sheets"])
    print(f"wrote {args.out / 'pupils.json'}: {len(data['sheets'])} schools, {pupils} pupils")


if __name__ == "__main__":
    main()
