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
    # the tables a town overrides
    "adm_tab_tables": ("参数表", "Tables"),
    "tbl_title": ("本镇参数表：在内置值之上覆盖（保存时校验）",
                  "The town's tables: an override over the built-in (checked on save)"),
    "tbl_pick": ("参数表", "Table"),
    "tbl_deadlines": ("办结时限（按类别、紧急程度、层级）",
                      "Deadlines (per category, priority, level)"),
    "tbl_kits": ("应急物资包（按类别）", "Kits (per category)"),
    "tbl_weights": ("考核权重", "Evaluation weights"),
    "tbl_speed_zones": ("校车限速区", "School-bus speed zones"),
    "tbl_override": ("本镇覆盖（JSON，只写要改的行；留空即用内置值）",
                     "The town's override (JSON, only the rows to change; empty: built-in)"),
    "tbl_default": ("内置值（及本镇文件）", "Built-in (and the town's files)"),
    "tbl_effective": ("现行值", "In force"),
    "tbl_save": ("校验并保存", "Check and save"),
    "tbl_clear": ("恢复内置值", "Back to built-in"),
    "tbl_done_save": ("已保存「{table}」（第 {version} 版），新工单即按此执行",
                      "Saved “{table}” (version {version}); new work follows it"),
    "tbl_done_clear": ("「{table}」已恢复内置值", "“{table}” is back to the built-in"),
    "tbl_version": ("覆盖版本：{version}", "Override version: {version}"),
    "tbl_none": ("未覆盖", "No override"),
    "err_table_unknown": ("没有参数表「{table}」", "there is no table “{table}”"),
    "err_table_json": ("「{table}」不是有效的 JSON：{detail}",
                       "“{table}” is not valid JSON: {detail}"),
    "err_table_invalid": ("「{table}」有误，未保存：{detail}",
                          "“{table}” is wrong and was not saved: {detail}"),
}
ROTA_AUDIT: dict[str, tuple[str, str]] = {
    "tables.save": ("保存本镇参数表", "town table saved"),
    "tables.clear": ("恢复内置参数表", "town table back to built-in"),
    "rota.edit": ("调整班次", "shift set"),
    "rota.leave": ("登记请假", "leave marked"),
}
