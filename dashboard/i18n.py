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
    # ---- grids, wall, leader (issue 6) ----
    "gs_title": ("网格热力", "Grid heatmap"),
    "gs_town": ("全镇", "Whole town"),
    "gs_level": ("{n}级网格", "Level-{n} grids"),
    "gs_measure": ("指标", "Measure"),
    "gs_window": ("时段", "Window"),
    "gs_category": ("类别", "Category"),
    "gs_all_categories": ("全部类别", "All categories"),
    "gs_heat": ("事件点密度", "Incident density"),
    "gs_m_received": ("受理", "Received"),
    "gs_m_open": ("在办", "Open"),
    "gs_m_overdue": ("超时", "Overdue"),
    "gs_m_close_rate": ("办结率", "Close rate"),
    "gs_m_avg_hours": ("平均办理", "Avg handling"),
    "gs_m_satisfaction": ("满意度", "Satisfaction"),
    "gs_w_hour": ("近1小时", "Last hour"),
    "gs_w_today": ("今日", "Today"),
    "gs_w_7d": ("近7天", "7 days"),
    "gs_w_30d": ("近30天", "30 days"),
    "gs_leader": ("网格长", "Grid leader"),
    "gs_on_duty": ("在岗网格员", "On duty"),
    "gs_no_data": ("无数据", "no data"),
    "gs_legend": ("图例", "Legend"),
    "gs_grids_n": ("{n}个网格", "{n} grids"),
    "gs_ranking": ("排名", "Ranking"),
    "gs_hint": ("点击网格下钻，点击上方路径返回",
                "Click a grid to drill down; the path above goes back"),
    "gs_rota": ("轮班表", "Duty rota"),
    "gs_day_shift": ("白班 8–20", "Day 8–20"),
    "gs_night_shift": ("夜班 20–8", "Night 20–8"),
    "gs_workload": ("在办工单", "open orders"),
    "gs_callup": ("应急抽调", "Emergency call-up"),
    "gs_pick_grid": ("点击三级网格查看轮班与应急抽调",
                     "Click a level-3 grid for its rota and call-up list"),
    "gs_workers": ("网格员", "Grid workers"),
    "wall_punctuality": ("校车准点", "Bus punctuality"),
    "wall_readiness": ("站点战备", "Station readiness"),
    "wall_no_trips": ("班次数据未接入：在线校车 {live} 辆", "No trip data yet: {live} buses live"),
    "wall_alerts": ("告警", "Alerts"),
    "wall_no_alerts": ("暂无告警", "No alerts"),
    "wall_alert_overdue": ("超时", "Overdue"),
    "wall_alert_sos": ("紧急", "SOS"),
    "wall_alert_overspeed": ("超速", "Overspeed"),
    "wall_cast": ("投屏", "On the wall"),
    "wall_heat": ("网格在办热力", "Open incidents per grid"),
    "trip_on_time": ("准点", "on time"),
    "trip_early": ("早到", "early"),
    "trip_late": ("晚点", "late"),
    "trip_not_started": ("未发车", "not started"),
    "trip_done": ("已完成", "done"),
    "ready_green": ("就绪", "ready"),
    "ready_amber": ("注意", "watch"),
    "ready_red": ("告急", "not ready"),
    "ready_low": ("{n}项低于储备", "{n} items below minimum"),
    "ready_expiring": ("{n}项临期", "{n} items expiring"),
    "ready_no_team": ("无在岗队伍", "no team on duty"),
    "ready_shelter_full": ("安置已满", "shelter full"),
    "disp_cast": ("投屏", "Send to wall"),
    "disp_ok_cast": ("已投屏：{ref}", "Sent to the wall: {ref}"),

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
