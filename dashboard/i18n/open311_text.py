"""The Open311 door's words (issue 15): its refusals, in the spec's error format."""

from __future__ import annotations

OPEN311_TEXT: dict[str, tuple[str, str]] = {
    "err_o311_path": ("没有这个 Open311 接口：{path}。可用：services、services/<代码>、requests、"
                      "requests/<编号>、tokens/<令牌>，后缀 .json 或 .xml。",
                      "There is no Open311 resource {path}. Resources: services, "
                      "services/<code>, requests, requests/<id>, tokens/<token>, each "
                      "with .json or .xml."),
    "err_o311_format": ("不支持的格式“{fmt}”：请用 .json 或 .xml。",
                        "Format “{fmt}” is not served: use .json or .xml."),
    "err_o311_jurisdiction": ("jurisdiction_id“{given}”不是本接口服务的辖区（{ours}）。",
                              "jurisdiction_id “{given}” is not served here ({ours})."),
    "err_o311_service": ("没有服务代码“{service}”，可用代码见 services.json。",
                         "There is no service_code “{service}”; see services.json."),
    "err_o311_service_missing": ("缺少 service_code。", "service_code is required."),
    "err_o311_attr_unknown": ("该服务没有属性“{attr}”，见服务定义。",
                              "The service has no attribute “{attr}”; see its definition."),
    "err_o311_attr_value": ("属性“{attr}”的取值不在服务定义的选项中。",
                            "attribute “{attr}”: a value is not one of the definition's keys."),
    "err_o311_attr_many": ("属性“{attr}”只能取一个值。", "attribute “{attr}” takes one value."),
    "err_o311_attr_number": ("属性“{attr}”须为数字。", "attribute “{attr}” must be a number."),
    "err_o311_attr_long": ("属性“{attr}”过长或含换行。",
                           "attribute “{attr}” is too long or has a line break."),
    "err_o311_attr_required": ("缺少必填属性“{attr}”。",
                               "The required attribute “{attr}” is missing."),
    "err_o311_where": ("请提供位置：lat 和 long，或 address_string、address_id。",
                       "Say where: lat and long, or address_string or address_id."),
    "err_o311_latlong": ("lat/long 须为十进制度数（WGS-84）。",
                         "lat/long must be decimal degrees (WGS-84)."),
    "err_o311_address": ("本镇地名库中找不到地址“{address}”，"
                         "请写村、组或地标名称，或提供 lat/long。",
                         "The address “{address}” is not in the town's gazetteer: name a "
                         "village, a group or a landmark, or send lat/long."),
    "err_o311_address_id": ("本镇地名库中没有地址编号“{address_id}”。",
                            "There is no address_id “{address_id}” in the town's gazetteer."),
    "err_o311_media": ("本接口不保存上传的照片文件：请把照片放在可访问的网址，用 media_url 发送。",
                       "This server does not keep uploaded media files: put the photo at a "
                       "URL and send media_url."),
    "err_o311_content_type": ("请以 application/x-www-form-urlencoded 或 "
                              "multipart/form-data 发送。",
                              "Send application/x-www-form-urlencoded or multipart/form-data."),
    "err_o311_bad_form": ("表单格式不正确。", "The form is malformed."),
    "err_o311_not_utf8": ("表单不是 UTF-8 编码。", "The form is not UTF-8."),
    "err_o311_status": ("status 只能是 open、closed 或二者的逗号列表。",
                        "status must be open, closed or a comma list of them."),
    "err_o311_token": ("没有令牌“{token}”。", "There is no token “{token}”."),
    "err_o311_request": ("没有编号为 {id} 的服务请求。", "There is no service request {id}."),
    "err_o311_method": ("Open311 接口不接受 {method} 请求。", "Open311 does not take {method}."),
    # What the door answers in service_notice and status_notes.
    "o311_notice_new": ("已登记为工单 {ref}，将于 {due} 前办结。",
                        "Registered as work order {ref}; due by {due}."),
    "o311_notice_merged": ("同一问题已有工单 {ref}，您的反映已并入该工单。",
                           "Joined work order {ref}, already open for the same problem."),
    "o311_centre": ("{town}指挥中心", "{town} command centre"),
}
