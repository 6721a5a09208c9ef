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
    "field_title": ("我的工单", "My work orders"),
    "field_name": ("您的姓名（与派单一致）", "Your name (as dispatched)"),
    "field_need_name": ("请先填写姓名", "Enter your name first"),
    "field_none": ("暂无待办工单", "No open work orders"),
    "field_note": ("现场情况说明（可选）", "What you found (optional)"),
    "field_photo": ("照片链接（可选）", "Photo link (optional)"),
    "field_not_yours": ("该工单未派给您", "This work order is not assigned to you"),
    "centre": ("中心", "centre"),
    "area": ("片区站", "area"),
    "seq": ("序号", "seq"),
    "speed": ("车速", "speed"),
    # ---- duty console (/dispatch)
    "disp_title": ("值班调度台", "Duty console"),
    "disp_officer": ("值班员", "Officer"),
    "disp_officer_ph": ("输入您的姓名", "Your name"),
    "disp_officer_hint": ("请先填写值班员姓名，方可派遣和办理",
                          "Enter your name to dispatch and act"),
    "disp_back_wall": ("返回大屏", "Back to wall"),
    "disp_queue": ("待办队列", "Queue"),
    "disp_count": ("{n} 件", "{n} incidents"),
    "disp_open_states": ("全部在办", "All open"),
    "disp_resolved_wait": ("办结待回访", "Resolved, awaiting follow-up"),
    "disp_all_categories": ("全部类别", "All categories"),
    "disp_all_grids": ("全部村(社区)/网格", "All villages & grids"),
    "disp_all_sources": ("全部来源", "All sources"),
    "disp_overdue_only": ("只看超时", "Overdue only"),
    "disp_sort": ("排序", "Sort"),
    "disp_sort_deadline": ("按时限", "Deadline"),
    "disp_sort_newest": ("最新", "Newest"),
    "disp_sort_priority": ("紧急程度", "Priority"),
    "disp_queue_empty": ("没有符合条件的事件", "No matching incidents"),
    "disp_keys": ("↑↓ 选择 · Enter 打开 · D 派遣首选", "↑↓ select · Enter open · D dispatch top"),
    "disp_pick": ("从左侧队列选择一个事件", "Select an incident from the queue"),
    "disp_history": ("处置记录", "History"),
    "disp_recs": ("就近推荐", "Nearest resources"),
    "disp_no_recs": ("暂无推荐", "No recommendations"),
    "disp_actions": ("办理", "Actions"),
    "disp_f_category": ("类别", "Category"),
    "disp_f_priority": ("紧急程度", "Priority"),
    "disp_f_level": ("处置层级", "Level"),
    "disp_f_source": ("来源", "Source"),
    "disp_f_grid": ("网格", "Grid"),
    "disp_f_village": ("村(社区)", "Village"),
    "disp_f_created": ("上报时间", "Reported"),
    "disp_f_deadline": ("办结时限", "Deadline"),
    "disp_f_assignee": ("承办", "Assignee"),
    "disp_f_grid_worker": ("值班网格员", "Grid worker on duty"),
    "disp_f_reporter": ("报告人", "Reporter"),
    "disp_f_phone": ("联系电话", "Phone"),
    "disp_f_coords": ("坐标", "Position"),
    "disp_f_urge": ("催办", "Urged"),
    "disp_f_supervised": ("督办", "Supervised"),
    "disp_f_satisfaction": ("满意度", "Satisfaction"),
    "disp_f_reports": ("合并上报", "Reports merged"),
    "disp_h_time": ("时间", "Time"),
    "disp_h_actor": ("操作人", "By"),
    "disp_h_action": ("动作", "Action"),
    "disp_h_state": ("状态", "State"),
    "disp_h_note": ("备注", "Note"),
    "disp_h_report": ("上报", "Report"),
    "disp_h_merge": ("合并上报", "Report merged"),
    "disp_h_split": ("拆分", "Split"),
    "disp_grid_worker": ("网格员", "Grid worker"),
    "disp_team": ("救援队", "Rescue team"),
    "disp_same_grid": ("本网格", "this grid"),
    "disp_available": ("可派", "available"),
    "disp_busy": ("忙碌", "busy"),
    "disp_minutes": ("分钟", "min"),
    "disp_supplies": ("物资", "Supplies"),
    "disp_note_ph": ("备注（退回须填写原因）", "Note (a return needs one)"),
    "disp_satisfaction": ("回访满意度", "Follow-up satisfaction"),
    "disp_yes": ("是", "yes"),
    "disp_ok_dispatch": ("已派遣 {ref} → {who}", "Dispatched {ref} to {who}"),
    "disp_ok_action": ("已{action}：{ref}", "{action}: {ref} done"),
    "disp_err": ("操作未执行：", "Not done: "),
    "disp_err_officer": ("请先填写值班员姓名", "enter your name first"),
    "disp_err_note": ("退回须填写原因", "a return needs a note"),
    "disp_err_satisfaction": ("回访办结须选择满意度（1–5 分）",
                              "closing needs a satisfaction score from 1 to 5"),
    "disp_err_state": ("当前状态「{state}」不能{action}", "cannot {action} while {state}"),
    "disp_err_county": ("已是县级部门，不能再升级", "already at the county level"),
    "disp_err_conflict": ("{ref} 已由 {actor} 于 {at} {action}，当前状态「{state}」",
                          "{ref} was already {action} by {actor} at {at}; it is now {state}"),
    "disp_err_gone": ("事件不存在", "the incident does not exist"),
    "disp_reports": ("上报记录 ({n})", "Reports ({n})"),
    "disp_reports_badge": ("{n}条上报", "{n} reports"),
    "disp_merged": ("已合并", "merged"),
    "disp_split": ("拆分", "Split"),
    "disp_ok_split": ("已拆分为独立工单 {ref}（原工单 {old}）",
                      "Split off as work order {ref} (from {old})"),
    "disp_err_split": ("该上报已不是合并记录（可能已被拆分）",
                       "that report is no longer merged (already split?)"),
    # ---- accounts, roles, audit (issue 7)
    "auth_title": ("登录 · 中脑", "Sign in · zhongnao"),
    "auth_heading": ("中脑指挥中心 登录", "zhongnao command centre sign-in"),
    "auth_name": ("用户名", "User name"),
    "auth_password": ("密码", "Password"),
    "auth_submit": ("登录", "Sign in"),
    "auth_failed": ("用户名或密码错误，或账号已停用。",
                    "Wrong name or password, or the account is disabled."),
    "auth_limited": ("尝试次数过多，请 {s} 秒后再试。", "Too many attempts; try again in {s} s."),
    "auth_csrf": ("页面已过期，请重新登录。", "The page expired; please sign in again."),
    "auth_logout": ("退出", "Sign out"),
    "auth_denied": ("无权访问此页面（当前角色：{role}）。",
                    "You may not open this page (role: {role})."),
    "auth_signin_link": ("重新登录", "Sign in again"),
    "disp_err_role": ("您的角色不能执行此操作", "Your role may not take this step"),
    "disp_err_comment": ("请先在备注栏填写说明", "write the note first"),
    "audit_title": ("审计日志", "Audit log"),
    "audit_search": ("搜索", "Search"),
    "audit_text_ph": ("操作人、对象、内容或地址", "actor, target, detail or address"),
    "audit_action_ph": ("操作类型（前缀）", "action (prefix)"),
    "audit_export": ("导出 CSV", "Export CSV"),
    "audit_cols": ("编号,时间,操作人,角色,来源地址,操作,对象,内容",
                   "id,time,actor,role,from,action,target,detail"),
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
