"""One label function per code list, so no screen shows a raw code: roles, levels, stock
categories, team states, resource dispatch states, audit actions, units, skills."""

from __future__ import annotations

from dashboard.actors import SYSTEM_ACTORS
from dashboard.i18n.admin_text import ADMIN_AUDIT
from dashboard.i18n.rota_text import ROTA_AUDIT
from dashboard.incidents.lifecycle import ACTIONS, LEVELS, SOURCES
from dashboard.roles import ROLE_LABELS

STOCK_CATEGORIES: dict[str, tuple[str, str]] = {
    "flood": ("防汛", "Flood"), "shelter": ("安置", "Shelter"), "fire": ("消防", "Fire"),
    "medical": ("医疗", "Medical"), "general": ("通用", "General"),
    "rescue": ("救援", "Rescue"), "food": ("食品", "Food"), "water": ("饮用水", "Water"),
}
TEAM_STATES: dict[str, tuple[str, str]] = {
    "standby": ("待命", "standby"), "en_route": ("出动", "en route"),
    "on_scene": ("到场", "on scene"), "returning": ("返回", "returning"),
    "resting": ("休整", "resting"),
}
DISPATCH_STATES: dict[str, tuple[str, str]] = {
    "reserved": ("已预留", "reserved"), "departed": ("已出发", "departed"),
    "returned": ("已归还", "returned"), "cancelled": ("已取消", "cancelled"),
}
AUDIT_ACTIONS: dict[str, tuple[str, str]] = {
    "login": ("登录", "sign-in"), "login.failed": ("登录失败", "failed sign-in"),
    "login.limited": ("登录受限", "sign-in rate-limited"),
    "login.burst": ("登录失败激增", "burst of failed sign-ins"),
    "login.kiosk": ("大屏令牌登录", "kiosk sign-in"),
    "login.guardian": ("家长链接登录", "guardian link sign-in"), "logout": ("退出", "sign-out"),
    "notify.mute": ("家长关闭短信", "guardian muted texts"),
    "notify.unmute": ("家长开启短信", "guardian unmuted texts"),
    "parent.link": ("发放家长链接", "guardian link issued"),
    "parent.revoke": ("停用家长链接", "guardian link revoked"),
    "audit.export": ("导出审计日志", "audit export"), "user.add": ("新增账号", "account added"),
    "user.enable": ("启用/停用账号", "account enabled/disabled"),
    "user.password": ("修改密码", "password changed"), "key.add": ("新增密钥", "key added"),
    "key.revoke": ("吊销密钥", "key revoked"),
    "pupils.manifest": ("查阅学生名单", "pupil manifest read"),
    "vehicle.check": ("车辆检查记录", "vehicle check recorded"),
    # issue 15: warnings to the public (CAP 1.2), each issue and cancel
    "cap.issue": ("发布预警", "warning issued"), "cap.cancel": ("撤销预警", "warning cancelled"),
    **ADMIN_AUDIT,  # issue 16: the changes made on /admin
    **ROTA_AUDIT,  # issue 16: the rota's edits, the town's tables, the call-up
}
# Incident audit rows that are not console actions.
INCIDENT_AUDIT: dict[str, tuple[str, str]] = {
    "report": ("上报", "report"), "merge": ("合并上报", "report merged"),
    "split": ("拆分", "split"), "cast": ("投屏", "sent to the wall"),
    "resource_dispatch": ("调派资源", "resources dispatched"),
}
# Units are stored as the Chinese measure word; English counts them (singular, plural).
UNITS: dict[str, tuple[str, str]] = {
    "袋": ("bag", "bags"), "顶": ("tent", "tents"), "件": ("piece", "pieces"),
    "具": ("unit", "units"), "台": ("set", "sets"), "个": ("kit", "kits"),
    "床": ("bed", "beds"), "艘": ("boat", "boats"), "支": ("unit", "units"),
    "箱": ("case", "cases"), "瓶": ("bottle", "bottles"), "桶": ("barrel", "barrels"),
    "套": ("set", "sets"), "人": ("person", "people"), "辆": ("vehicle", "vehicles"),
}
SKILLS: dict[str, str] = {
    "巡逻": "patrol", "现场急救": "first aid", "水上救援": "water rescue",
    "人员转移": "evacuation", "物资分发": "supply distribution", "隐患排查": "hazard checks",
    "防汛抢险": "flood fighting", "群众转移": "evacuation", "地质灾害救援": "landslide rescue",
    "森林灭火": "forest firefighting", "伤员转运": "casualty transport",
    "心理疏导": "counselling", "绳索救援": "rope rescue",
}


def _pick(table: dict[str, tuple[str, str]], code: str, lang: str) -> str:
    pair = table.get(code)
    if pair is None:
        return code
    return pair[1] if lang == "en" else pair[0]


def role_label(code: str, lang: str) -> str:
    """Display name of a role (值班员 / Duty officer)."""
    return _pick(ROLE_LABELS, code, lang)


def level_label(code: str, lang: str) -> str:
    """Display name of a handling level (村(社区) / Village)."""
    return _pick(LEVELS, code, lang)


def stock_category_label(code: str, lang: str) -> str:
    """Display name of a stock category (防汛 / Flood)."""
    return _pick(STOCK_CATEGORIES, code, lang)


def team_state_label(code: str, lang: str) -> str:
    """Display name of a team's duty status (待命 / standby)."""
    return _pick(TEAM_STATES, code, lang)


def dispatch_state_label(code: str, lang: str) -> str:
    """Display name of a resource dispatch's state (已出发 / departed)."""
    return _pick(DISPATCH_STATES, code, lang)


def audit_action_label(code: str, lang: str) -> str:
    """Display name of an audit action (登录失败 / failed sign-in; incident.dispatch is
    事件·派遣 / incident · Dispatch); unknown codes as they are."""
    head, _, step = code.partition(".")
    if head == "incident" and step:
        action = ACTIONS.get(step)
        label = (action.en if lang == "en" else action.zh) if action else _pick(
            INCIDENT_AUDIT, step, lang)
        return f"{'incident' if lang == 'en' else '事件'} · {label}"
    return _pick(AUDIT_ACTIONS, code, lang)


def actor_label(actor: str, lang: str) -> str:
    """Who took a step: a person's name as it is; a source or the system by its label."""
    if actor in SOURCES:
        return _pick(SOURCES, actor, lang)
    return _pick(SYSTEM_ACTORS, actor, lang)


def unit_label(unit: str, lang: str, n: float = 2) -> str:
    """A stock unit for `n` of something: the measure word in Chinese, 'bag'/'bags' in English."""
    if lang != "en":
        return unit
    pair = UNITS.get(unit)
    if pair is None:
        return unit
    return pair[0] if n == 1 else pair[1]


def quantity_text(n: float, unit: str, lang: str) -> str:
    """'81具' in Chinese, '81 units' in English."""
    num = f"{n:g}"
    return f"{num}{unit}" if lang != "en" else f"{num} {unit_label(unit, lang, n)}"


def skill_label(skill: str, lang: str) -> str:
    """A team skill (stored in Chinese) in the screen's language."""
    return SKILLS.get(skill, skill) if lang == "en" else skill


def plural(n: int, one: str, many: str) -> str:
    """'1 grid', '3 grids': English counts agree with their number."""
    return f"{n} {one if n == 1 else many}"
