"""The words of a town's own data import (issue 16): each finding of
dashboard/town_import.py and dashboard/geo/checks.py (imp_<kind>), and the /admin tab
镇数据导入; zh first, merged into TEXT by dashboard/i18n/text.py."""

from __future__ import annotations

TOWN_TEXT: dict[str, tuple[str, str]] = {
    # geometry checks (dashboard/geo/checks.py KIND_SEVERITY)
    "imp_invalid_polygon": ("多边形无效（{reason}）", "invalid polygon ({reason})"),
    "imp_not_in_parent": ("超出上级网格 {parent} 约 {m2} 平方米",
                          "lies {m2} m² outside its parent grid {parent}"),
    "imp_overlap": ("与网格 {other} 重叠约 {m2} 平方米", "overlaps grid {other} by {m2} m²"),
    "imp_gap": ("范围内有约 {m2} 平方米未被下级网格覆盖（约 {lon}, {lat}）",
                "a gap of {m2} m² no grid below covers (near {lon}, {lat})"),
    "imp_vehicle_route": ("车辆所属专线 {value} 不存在（按无时刻表跟踪）",
                          "the bus's route {value} does not exist (tracked without a timetable)"),
    "imp_no_worker": ("三级网格没有网格员", "level-3 grid without a grid worker"),
    "imp_stop_off_route": ("站点偏离专线 {route} 的行车路径约 {m} 米",
                           "stop lies {m} m off the path of route {route}"),
    # file checks (dashboard/town_import.py)
    "imp_field_missing": ("缺少字段 {field}", "field {field} is missing"),
    "imp_field_number": ("字段 {field} 应为数字", "field {field} must be a number"),
    "imp_field_bool": ("字段 {field} 应为是/否", "field {field} must be yes or no"),
    "imp_field_range": ("字段 {field} 超出允许范围", "field {field} is out of range"),
    "imp_field_format": ("字段 {field} 格式不对", "field {field} is malformed"),
    "imp_field_empty": ("字段 {field} 不能为空", "field {field} is empty"),
    "imp_field_long": ("字段 {field} 过长", "field {field} is too long"),
    "imp_field_choice": ("字段 {field} 不是允许的取值",
                         "field {field} is not one of the allowed values"),
    "imp_field_text": ("字段 {field} 含有不允许的字符",
                       "field {field} holds characters not allowed"),
    "imp_field_invalid": ("字段 {field} 无效", "field {field} is invalid"),
    "imp_file_shape": ("文件结构不对（应为列表或要素集）",
                       "the file is not shaped as expected (a list or a FeatureCollection)"),
    "imp_file_missing": ("缺少文件 {name}", "file {name} is missing"),
    "imp_file_unreadable": ("文件无法读取：{error}", "the file cannot be read: {error}"),
    "imp_file_text": ("{error}", "{error}"),
    "imp_duplicate": ("编号重复", "the code appears twice"),
    "imp_bad_parent": ("上级网格 {parent} 不存在或层级不对",
                       "parent grid {parent} unknown or of the wrong level"),
    "imp_unknown_ref": ("{field} 引用了不存在的 {value}",
                        "{field} names {value}, which does not exist"),
    # the /admin tab 镇数据导入
    "adm_tab_town": ("镇数据导入", "Town data import"),
    "imp_upload": ("上传镇数据压缩包（.zip）", "Upload the town's data as a .zip"),
    "imp_upload_hint": ("压缩包内为与 datasources/towns/demo 相同的文件；"
                        "网格可为 GeoJSON 或 Shapefile，"
                        "坐标可为 WGS-84/CGCS2000 或 GCJ-02（town.json 的 crs）",
                        "The zip holds the files of datasources/towns/demo; grids as GeoJSON or "
                        "a Shapefile, points in WGS-84/CGCS2000 or GCJ-02 (town.json's crs)"),
    "imp_valid_from": ("新网格生效日期", "New grids valid from"),
    "imp_apply": ("应用导入", "Apply the import"),
    "imp_errors": ("发现 {n} 个错误，未导入任何数据：",
                   "{n} error(s) found; nothing was imported:"),
    "imp_warnings": ("{n} 个提示（不阻止导入）：",
                     "{n} warning(s) (they do not block the import):"),
    "imp_ok": ("检查通过：{grids} 个网格、{villages} 个村(社区)、{stations} 个站点、"
               "{routes} 条专线",
               "Checked: {grids} grids, {villages} villages, {stations} stations, {routes} routes"),
    "imp_changes": ("网格变化（{n}）", "Grid changes ({n})"),
    "imp_no_changes": ("网格没有变化", "No grid changes"),
    "imp_change_added": ("新增", "added"),
    "imp_change_redrawn": ("重新划定", "redrawn"),
    "imp_change_retired": ("撤销", "retired"),
    "imp_col_grid": ("网格", "Grid"),
    "imp_col_change": ("变化", "Change"),
    "imp_col_version": ("版本", "Version"),
    "imp_col_fields": ("变更内容", "What changed"),
    "imp_applied": ("已导入：{grids} 个网格，新版本自 {date} 起生效；重启服务后大屏使用新网格",
                    "Imported: {grids} grids, new versions valid from {date}; the walls use "
                    "them after the service restarts"),
    "imp_not_checked": ("请先上传并通过检查", "Upload a file that passes the checks first"),
    "imp_bad_zip": ("不是有效的 zip 压缩包或文件过大", "Not a valid zip file, or too large"),
    "imp_bad_date": ("日期格式应为 YYYY-MM-DD", "The date must be YYYY-MM-DD"),
    "imp_what_geometry": ("边界", "boundary"),
    "imp_what_parent": ("上级网格", "parent grid"),
    "imp_what_village": ("所属村(社区)", "village"),
    "imp_what_name": ("名称", "name"),
    "imp_what_level": ("层级", "level"),
    "imp_legend_changed": ("橙色填充：新增或重新划定的网格",
                           "Filled orange: grids added or redrawn"),
    "imp_legend_now": ("虚线：现有网格", "Dashed: the grids in force"),
    "imp_legend_new": ("实线：导入的网格", "Solid: the grids imported"),
}
