"""Open311 GeoReport v2 service definitions: what a citizen's app asks besides the text.

Every duty category is a service; each has the attributes below (GET services/{code}), and
a POST's `attribute[code]=value` is checked against them here. Pure: the door renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dashboard.incidents.errors import BadInput
from dashboard.incidents.lifecycle import CATEGORY_BY_CODE

MAX_VALUE = 200
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


@dataclass(frozen=True)
class Attribute:
    """One question of a service definition, in both languages."""

    code: str
    datatype: str
    required: bool
    zh: str
    en: str
    hint_zh: str = ""
    hint_en: str = ""
    values: tuple[tuple[str, str, str], ...] = ()  # (key, zh, en) of a list
    variable: bool = True  # False: information shown to the citizen, nothing to answer

    def label(self, lang: str) -> str:
        """The question in `lang`."""
        return self.en if lang == "en" else self.zh


YES_NO = (("yes", "是", "Yes"), ("no", "否", "No"))
# Asked of every service, in this order.
COMMON: tuple[Attribute, ...] = (
    Attribute("photo", "string", False,
              "请拍一张现场照片，以 media_url 或 media 文件发送。",
              "Take a photo of the spot and send it as media_url.", variable=False),
    Attribute("building", "string", False, "楼栋、门牌号或院落名", "Building, house number or yard",
              "如：3栋2单元、王家院子", "e.g. Block 3 Unit 2, the Wang family yard"),
    Attribute("danger", "singlevaluelist", False, "现场是否有人身危险？",
              "Is anyone in danger on the spot?", values=YES_NO),
)
# Asked of one service only.
EXTRA: dict[str, tuple[Attribute, ...]] = {
    "environment": (Attribute("pollution", "multivaluelist", False, "污染类型", "Kind of pollution",
                              values=(("water", "水体", "Water"), ("air", "空气", "Air"),
                                      ("waste", "垃圾", "Waste"), ("noise", "噪声", "Noise"))),),
    "traffic": (Attribute("blocked", "singlevaluelist", False, "道路是否中断？",
                          "Is the road blocked?", values=YES_NO),),
    "fire": (Attribute("people_trapped", "number", False, "被困人数", "People trapped",
                       "不清楚请留空", "leave empty when unknown"),),
}


def attributes_of(service_code: str) -> tuple[Attribute, ...]:
    """The attributes of a service, in the order they are shown."""
    return COMMON + EXTRA.get(service_code, ())


def definition(service_code: str, lang: str) -> dict[str, object]:
    """GET services/{code}: the service definition (the spec's JSON shape)."""
    en = lang == "en"
    return {"service_code": service_code, "attributes": [{
        "variable": a.variable, "code": a.code, "datatype": a.datatype,
        "required": a.required,
        "datatype_description": (a.hint_en if en else a.hint_zh) or None,
        "order": i, "description": a.label(lang),
        "values": [{"key": k, "name": e if en else z} for k, z, e in a.values],
    } for i, a in enumerate(attributes_of(service_code), start=1)]}


def check_attributes(service_code: str,
                     sent: Mapping[str, list[str]]) -> dict[str, str | list[str]]:
    """The attributes of a POST (`attribute[code]` → its values), checked against the
    service's definition; BadInput `o311_attr_*` naming the attribute otherwise."""
    if service_code not in CATEGORY_BY_CODE:
        raise BadInput("o311_service", service=service_code)
    known = {a.code: a for a in attributes_of(service_code) if a.variable}
    out: dict[str, str | list[str]] = {}
    for code, values in sent.items():
        attr = known.get(code)
        if attr is None:
            raise BadInput("o311_attr_unknown", attr=code)
        values = [v.strip() for v in values if v.strip()]
        if not values:
            continue
        keys = {k for k, _, _ in attr.values}
        if attr.datatype == "multivaluelist":
            if any(v not in keys for v in values):
                raise BadInput("o311_attr_value", attr=code)
            out[code] = sorted(set(values), key=values.index)
            continue
        if len(values) > 1:
            raise BadInput("o311_attr_many", attr=code)
        value = values[0]
        if attr.datatype == "singlevaluelist" and value not in keys:
            raise BadInput("o311_attr_value", attr=code)
        if attr.datatype == "number":
            try:
                number = float(value)
            except ValueError:
                raise BadInput("o311_attr_number", attr=code) from None
            if not -1e9 < number < 1e9:
                raise BadInput("o311_attr_number", attr=code)
        if len(value) > MAX_VALUE or (attr.datatype == "string" and "\n" in value):
            raise BadInput("o311_attr_long", attr=code)
        out[code] = value
    missing = [a.code for a in known.values() if a.required and a.code not in out]
    if missing:
        raise BadInput("o311_attr_required", attr=missing[0])
    return out


def attribute_lines(service_code: str, answers: Mapping[str, str | list[str]]) -> list[str]:
    """The answers as lines for the work order's description (the console's record is
    Chinese first): '楼栋、门牌号或院落名：3栋'."""
    lines = []
    for a in attributes_of(service_code):
        if a.code not in answers:
            continue
        given = answers[a.code]
        names = {k: z for k, z, _ in a.values}
        shown = "、".join(names.get(v, v) for v in ([given] if isinstance(given, str) else given))
        lines.append(f"{a.zh.rstrip('？')}：{shown}")
    return lines
