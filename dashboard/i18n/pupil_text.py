"""Screen and error text of the pupils' feature (issue 13), zh first; merged into TEXT.

Kept in its own module so the feature's words sit together; `dashboard/i18n/text.py` merges
them into the one table, so `t()` and `error_text()` find them like any other key.
"""

from __future__ import annotations

PUPIL_TEXT: dict[str, tuple[str, str]] = {
    # ---- the register's refusals: where is in front ({sheet} 第{row}行 {column}列)
    "err_pupil_missing": ("必填，不能为空", "is required"),
    "err_pupil_too_long": ("内容过长：「{value}」", "is too long: {value}"),
    "err_pupil_bad_text": ("须为纯文字，不能含有 HTML、脚本标记或控制字符",
                           "must be plain text, without markup or control characters"),
    "err_pupil_bad_id": ("学号「{value}」格式不正确（字母、数字、-、_，最多 24 位）",
                         "pupil id {value} is not valid (letters, digits, - and _, ≤ 24)"),
    "err_pupil_bad_phone": ("电话「{value}」不是有效号码", "{value} is not a phone number"),
    "err_pupil_bad_flag": ("「{value}」须为 是 或留空", "{value}: write 是 (yes) or leave empty"),
    "err_pupil_unknown_stop": ("站点编号「{value}」不在本镇任何专线上",
                               "stop {value} is on none of the town's routes"),
    "err_pupil_unknown_trip": ("班次「{value}」不存在", "there is no trip {value}"),
    "err_pupil_trip_period": ("班次「{value}」放错了列（上学班次填早班，放学班次填晚班）",
                              "trip {value} is in the wrong column (morning trips to school, "
                              "afternoon trips home)"),
    "err_pupil_trip_stop": ("班次与站点不在同一条专线：{value}",
                            "the trip does not serve the stop: {value}"),
    "err_pupil_no_trip": ("上学班次、放学班次至少填一个", "give a morning or an afternoon trip"),
    "err_pupil_dup_id": ("学号重复，已在 {value}", "the pupil id is used twice, first at {value}"),
    "err_pupil_bad_school": ("第 1 行须为：学校编号 | 编号 | 学校名称 | 名称（编号为字母数字，"
                             "最多 16 位），收到「{value}」",
                             "row 1 must read: 学校编号 | CODE | 学校名称 | NAME (code: letters "
                             "and digits, ≤ 16), got {value}"),
    "err_pupil_bad_school_name": ("学校名称不能为空且须为纯文字", "the school needs a plain name"),
    "err_pupil_dup_school": ("学校编号「{value}」在多个工作表中出现",
                             "school {value} appears on more than one sheet"),
    "err_pupil_no_column": ("缺少列「{value}」（表头在第 2 行）",
                            "column {value} is missing (headers are on row 2)"),
    "err_pupil_two_staff": ("同一站点只能有一名（站点与首位：{value}）",
                            "one per stop (stop and the first: {value})"),
    "err_pupil_too_many": ("学生超过 {value} 人，请分文件导入",
                           "more than {value} pupils; split the file"),
    "err_pupil_empty": ("文件中没有学校工作表", "the workbook holds no school sheet"),
    "err_pupil_bad_file": ("不是可读取的 Excel（.xlsx）文件", "not a readable Excel (.xlsx) file"),
    "pupil_where": ("工作表「{sheet}」第 {row} 行 {column} 列「{header}」：",
                    "sheet {sheet}, row {row}, column {column} ({header}): "),
    "pupil_where_sheet": ("工作表「{sheet}」：", "sheet {sheet}: "),
    "err_unknown_trip": ("没有班次「{trip}」", "There is no trip {trip}"),
    # ---- boarding events (上车/下车/未到)
    "err_bad_shape": ("请求体必须是一个 JSON 对象", "The body must be a JSON object"),
    "err_bad_event": ("事件「{value}」无效：须为 board（上车）、alight（下车）或 absent（未到）",
                      "event {value} is not valid: board, alight or absent"),
    "err_bad_key": ("key（幂等键）须为 8–128 位字母、数字或 _ . : -",
                    "key (the idempotency key): 8-128 of A-Z a-z 0-9 _ . : -"),
    "err_bad_pupil": ("学号「{value}」无效", "pupil {value} is not a valid id"),
    "err_bad_vehicle": ("车牌「{value}」无效", "vehicle {value} is not a valid plate"),
    "err_unknown_vehicle": ("没有车牌为「{value}」的校车", "There is no bus {value}"),
    "err_unknown_pupil": ("名册上没有学号「{value}」", "There is no pupil {value} on the register"),
    "err_no_trip_now": ("学生 {value} 此时没有乘坐的班次",
                        "Pupil {value} rides no trip at that time"),
    "err_not_your_trip": ("班次 {value} 不是您负责的班次", "Trip {value} is not yours"),
    "err_key_reused": ("幂等键 {value} 已用于另一条记录，请为每条记录生成新的 key",
                       "key {value} was used for another event; make a new key per event"),
}
PUPIL_TEXT.update({
    # ---- /escort: the phone page of the staff on board (随车照管员 / 跟车教师)
    "nav_escort": ("随车照管", "Escort"),
    "esc_title": ("今日班次", "Today's trip"),
    "esc_no_trip": ("您的账号没有负责的班次，请联系管理员", "Your account looks after no trip; "
                    "ask an administrator"),
    "esc_board": ("上车", "On"),
    "esc_alight": ("下车", "Off"),
    "esc_absent": ("未到", "Absent"),
    "esc_expected": ("应到", "Expected"),
    "esc_on_board": ("在车", "On board"),
    "esc_alighted": ("已下车", "Alighted"),
    "esc_absent_n": ("未到", "Absent"),
    "esc_queue": ("待发送 {n} 条", "{n} waiting to send"),
    "esc_synced": ("已全部发送", "All sent"),
    "esc_offline": ("离线：点击已保存在本机，恢复网络后自动发送",
                    "Offline: taps are kept on this phone and sent when back online"),
    "esc_board_here": ("本站上车", "board here"),
    "esc_alight_here": ("本站下车", "alight here"),
    "esc_volunteer": ("家长志愿者", "Parent volunteer"),
    "esc_line_leader": ("路队长", "Line leader"),
    "esc_refused": ("未被接受：", "Refused: "),
    "bus_pupils": ("学生", "Pupils"),
    "esc_colon": ("：", ": "),
})
PUPIL_TEXT.update({
    # ---- the children's safety alerts (work orders from source bus, 校车监控)
    "ca_left_child": ("遗留儿童", "Child left on board"),
    "ca_overload": ("校车超员", "School bus overloaded"),
    "ca_wrong_stop": ("学生错站下车", "Pupil alighted at the wrong stop"),
    "ca_missed_stop": ("学生未下车", "Pupil did not get off at home"),
    "ca_title_missed_stop": ("{kind}：{plate}", "{kind}: {plate}"),
    "ca_title_left_child": ("{kind}：{plate} 收车时仍有 {n} 名学生未下车",
                            "{kind}: {n} pupil(s) still on {plate} at the end of the trip"),
    "ca_title_overload": ("{kind}：{plate} 在车 {n} 人，核载 {seats} 座",
                          "{kind}: {n} on board {plate}, {seats} seats"),
    "ca_title_wrong_stop": ("{kind}：{plate}", "{kind}: {plate}"),
    "ca_desc": ("{kind}，车辆 {plate}，班次 {trip}，{at}。学生：{who}。",
                "{kind}, bus {plate}, trip {trip}, {at}. Pupils: {who}."),
    "ca_stop": ("下车站点：{stop}。", " Alighted at {stop}."),
    "ca_home": ("应下车站点：{stop}。", " Home stop: {stop}."),
    "ca_sep": ("、", "; "),
    "ca_on_board": ("车上学生 {n} 名：{who}。", " {n} pupil(s) on board: {who}."),
    "ca_late_alight": ("后补下车记录：{who} {at} 下车。车上仍有 {n} 名学生。",
                       "Alight recorded late: {who} got off at {at}. {n} pupil(s) still on "
                       "board."),
})
