"""Screen text in Chinese (first) and English."""

from __future__ import annotations

from dashboard.incidents import CATEGORY_BY_CODE, PRIORITIES, SOURCES, STATES

LANGS = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {
    "app_title": ("中脑 · 综合指挥调度", "Command Brain"),
    "demo": ("演示数据", "demo data"),
    "kpi_received": ("今日受理", "Received today"),
    "kpi_closed": ("今日办结", "Closed today"),
    "kpi_close_rate": ("办结率", "Close rate"),
    "kpi_open": ("在办", "Open"),
    "kpi_overdue": ("超时", "Overdue"),
    "kpi_month": ("本月受理", "This month"),
    "kpi_avg_hours": ("平均办理", "Avg handling"),
    "kpi_satisfaction": ("本月满意度", "Satisfaction"),
    "kpi_buses": ("运行校车", "Buses live"),
    "kpi_rejected": ("拒收消息", "Rejected msgs"),
    "feed_title": ("实时事件", "Live incidents"),
    "feed_empty": ("暂无事件", "No incidents yet"),
    "stations_title": ("应急资源 1+4", "Emergency resources 1+4"),
    "buses_title": ("学生定制客运", "Student shuttles"),
    "map_title": ("态势一张图", "Situation map"),
    "status_live": ("实时", "Live"),
    "status_connecting": ("连接中…", "Connecting…"),
    "status_reconnecting": ("重连中…", "Reconnecting…"),
    "status_stale": ("数据可能过期", "Data may be stale"),
    "low_stock": ("低于储备", "below minimum"),
    "teams_on_duty": ("在岗", "on duty"),
    "shelter_free": ("安置空位", "shelter places"),
    "stock_ok": ("储备正常", "stock OK"),
    "overdue": ("超时", "overdue"),
    "left": ("剩余", "left"),
    "moving": ("行驶", "moving"),
    "stopped": ("停靠", "stopped"),
    "onboard": ("在车学生", "students on board"),
    "lang_switch": ("English", "中文"),
    "centre": ("中心", "centre"),
    "area": ("片区站", "area"),
    "seq": ("序号", "seq"),
    "speed": ("车速", "speed"),
}


def t(key: str, lang: str) -> str:
    """The text of `key` in `lang` (zh when unknown)."""
    zh, en = TEXT[key]
    return en if lang == "en" else zh


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def category_label(code: str, lang: str) -> str:
    """Display name of a duty category."""
    cat = CATEGORY_BY_CODE.get(code)
    if cat is None:
        return code
    return cat.en if lang == "en" else cat.zh


def state_label(code: str, lang: str) -> str:
    """Display name of an incident state."""
    return _pick(STATES[code], lang) if code in STATES else code


def source_label(code: str, lang: str) -> str:
    """Display name of a report source."""
    return _pick(SOURCES[code], lang) if code in SOURCES else code


def priority_label(code: str, lang: str) -> str:
    """Display name of a priority."""
    return _pick(PRIORITIES[code], lang) if code in PRIORITIES else code


def name(obj: dict, lang: str) -> str:
    """`name_en` in English when present, else `name`."""
    if lang == "en" and obj.get("name_en"):
        return str(obj["name_en"])
    return str(obj.get("name", ""))
