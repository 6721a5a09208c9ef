"""Words of the rota's edits on /admin (set a shift, mark leave), the town's tables and the
call-up (应急抽调), zh first; merged into TEXT by dashboard/i18n/text.py (issue 16)."""

from __future__ import annotations

ROTA_TEXT: dict[str, tuple[str, str]] = {
    # set one shift
    "rota_edit_title": ("调整班次：指定某网格某日某班的值班人员（须填原因）",
                        "Set a shift: who is on duty in a grid on a day (a reason is required)"),
    "rota_worker": ("网格员", "Grid worker"),
    "rota_set": ("保存班次", "Save the shift"),
    "rota_done_set": ("已排班：{grid} {day} {shift} 由 {before} 改为 {worker}",
                      "Shift set: {grid} {day} {shift}, {before} → {worker}"),
    "rota_grid_week": ("该网格近七天排班", "This grid's next seven days"),
    "rota_col_day": ("日期", "Day"),
    # leave
    "rota_leave_title": ("请假：请假期间的班次交由本网格其他网格员顶班",
                         "Leave: the worker's shifts in it go to a colleague of the grid"),
    "rota_first": ("开始日期", "First day"),
    "rota_last": ("结束日期", "Last day"),
    "rota_mark_leave": ("登记请假", "Mark leave"),
    "rota_done_leave": ("已登记 {worker} 请假 {first} 至 {last}：{covered} 个班次已顶班",
                        "Leave marked for {worker}, {first} to {last}: {covered} shifts "
                        "covered"),
    "rota_done_leave_open": ("；{open} 个班次无人可顶，请另行安排",
                             "; {open} shifts have nobody to cover them: set them by hand"),
    "rota_leaves": ("请假登记", "Leave in force or to come"),
    "rota_col_reason": ("原因", "Reason"),
    # refusals (dashboard.grids.rota.RotaError codes)
    "err_rota_unknown_grid": ("没有三级网格「{grid}」", "there is no level-3 grid “{grid}”"),
    "err_rota_bad_date": ("日期格式不对（应为 年-月-日）：{day}",
                          "not a date (YYYY-MM-DD): {day}"),
    "err_rota_day_range": ("日期 {day} 超出可排范围（{first} 至 {last}）",
                           "the day {day} is outside what may be set ({first} to {last})"),
    "err_rota_bad_shift": ("班次只能是白班或夜班", "a shift is day or night"),
    "err_rota_unknown_worker": ("「{worker}」不是网格「{grid}」或同一二级网格内的网格员",
                                "“{worker}” is not a worker of grid “{grid}” or of a "
                                "neighbour in its level-2 grid"),
    "err_rota_overlap": ("{worker} 在 {day} 同一班次已在网格 {grid} 值班",
                         "{worker} is on duty in grid {grid} at that time on {day}"),
    "err_rota_on_leave": ("{worker} 在 {day} 请假", "{worker} is on leave on {day}"),
    "err_rota_leave_order": ("结束日期 {last} 早于开始日期 {first}",
                             "the last day {last} comes before the first {first}"),
    "err_rota_leave_long": ("请假不能超过 {days} 天", "a leave is at most {days} days"),
    "err_rota_leave_overlap": ("{worker} 已登记 {first} 至 {last} 的请假",
                               "{worker} is already on leave from {first} to {last}"),
}
ROTA_AUDIT: dict[str, tuple[str, str]] = {
    "rota.edit": ("调整班次", "shift set"),
    "rota.leave": ("登记请假", "leave marked"),
}
