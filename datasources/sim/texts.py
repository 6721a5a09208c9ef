"""Chinese text and weights the feed simulator draws from (fictional, demo only)."""

from __future__ import annotations

# Relative frequency of the 15 duty categories in a merged town's daily work orders.
CATEGORY_WEIGHTS: dict[str, float] = {
    "disputes": 16,
    "city_management": 15,
    "environment": 13,
    "traffic": 11,
    "public_security": 9,
    "estate": 7,
    "water": 6,
    "market": 5,
    "planning": 4,
    "fire": 4,
    "work_safety": 4,
    "labour": 3,
    "venues": 2,
    "education": 1,
    "culture": 1,
}

# (title, description) per category; "{place}" is filled with the grid's name.
TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "public_security": (
        ("夜间有人聚集争吵", "{place}附近夜间有多人聚集争吵，影响周边居民休息。"),
        ("可疑人员徘徊", "{place}有陌生人员多次在住户门口徘徊，群众担心安全。"),
        ("电动车被盗", "{place}一住户停放的电动车夜间被盗，请求查处。"),
    ),
    "city_management": (
        ("占道经营", "{place}路段有摊贩占道经营，影响行人和车辆通行。"),
        ("乱搭乱建", "{place}有住户在公共区域搭建棚子。"),
        ("违规张贴小广告", "{place}墙面和电杆上大量张贴小广告。"),
        ("路灯不亮", "{place}主路有多盏路灯不亮，夜间出行不便。"),
    ),
    "traffic": (
        ("车辆乱停乱放", "{place}路口车辆乱停乱放，造成拥堵。"),
        ("道路坑洼积水", "{place}村道出现坑洼，雨后积水，车辆通行困难。"),
        ("交通标志损坏", "{place}弯道处限速标志被撞倒，存在安全隐患。"),
    ),
    "market": (
        ("销售过期食品", "群众反映{place}一小卖部销售过期食品。"),
        ("农贸市场缺斤少两", "{place}农贸市场有摊位缺斤少两。"),
        ("无证经营餐馆", "{place}新开一家餐馆疑似无证经营。"),
    ),
    "planning": (
        ("疑似违法建房", "{place}有农户未经审批加层建房。"),
        ("施工围挡破损", "{place}工地围挡破损，渣土外露。"),
    ),
    "estate": (
        ("小区电梯故障", "{place}小区电梯频繁故障，居民出行不便。"),
        ("楼道堆放杂物", "{place}小区楼道堆放杂物，堵塞消防通道。"),
        ("物业服务纠纷", "{place}小区居民对物业收费有意见。"),
    ),
    "fire": (
        ("消防通道被占", "{place}消防通道被车辆长期占用。"),
        ("电动车楼道充电", "{place}有住户在楼道内给电动车充电，存在火灾隐患。"),
        ("秸秆焚烧", "{place}农田有人焚烧秸秆，烟雾较大。"),
    ),
    "environment": (
        ("河道漂浮垃圾", "{place}河道漂浮大量垃圾，需要清理。"),
        ("垃圾未及时清运", "{place}垃圾收集点垃圾堆积，未及时清运，有异味。"),
        ("养殖场异味", "{place}附近养殖场异味较重，群众反映强烈。"),
        ("工地扬尘", "{place}工地扬尘较大，未采取洒水措施。"),
    ),
    "water": (
        ("自来水管爆裂", "{place}路边自来水管爆裂，大量漏水。"),
        ("沟渠堵塞", "{place}灌溉沟渠堵塞，下雨后漫水。"),
        ("停水未通知", "{place}多户居民停水，未收到停水通知。"),
    ),
    "labour": (
        ("农民工工资拖欠", "{place}工地多名工人反映被拖欠工资。"),
        ("用工合同纠纷", "{place}务工人员反映用工单位未签劳动合同。"),
    ),
    "culture": (
        ("噪音扰民的广场舞", "{place}广场舞音响声音过大，影响周边居民。"),
        ("非法出版物", "{place}一流动摊位销售盗版书籍。"),
    ),
    "education": (
        ("校外培训无资质", "{place}一处民房内开展无资质校外培训。"),
        ("校门口交通拥堵", "{place}学校门口放学时段交通拥堵。"),
    ),
    "work_safety": (
        ("厂房安全隐患", "{place}一小作坊存放易燃物品，安全措施不到位。"),
        ("燃气泄漏气味", "{place}有住户闻到燃气味，疑似泄漏。"),
        ("高处作业无防护", "{place}工地高处作业人员未系安全带。"),
    ),
    "venues": (
        ("活动场所设施损坏", "{place}村文化活动室健身器材损坏。"),
        ("社会组织未登记", "{place}有团体以协会名义活动，疑似未登记。"),
    ),
    "disputes": (
        ("邻里宅基地纠纷", "{place}两户村民因宅基地边界发生争执。"),
        ("土地承包纠纷", "{place}村民因土地流转租金发生纠纷。"),
        ("家庭矛盾", "{place}一户家庭成员因赡养老人发生争吵。"),
        ("噪音扰邻纠纷", "{place}邻里之间因装修噪音发生矛盾。"),
    ),
}

VIDEO_PREFIX = "雪亮工程视频巡查发现："
HOTLINE_PREFIX = "12345热线来电反映："

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马胡朱郭何罗高林"
HONORIFICS = ("先生", "女士")

PROGRESS_NOTES: dict[str, tuple[str, ...]] = {
    "accepted": ("已受理，转网格员核实", "已受理", "信息核实无误，予以受理"),
    "dispatched": ("已派遣至网格员处置", "派单至村委会处理", "已派遣，请限时办结"),
    "in_progress": ("网格员已到达现场", "正在现场处置", "已联系当事人，正在协调"),
    "resolved": ("问题已处理完毕", "已现场整改到位", "当事双方达成一致，已办结"),
    "verified": ("现场核查，已整改到位", "核查通过", "网格长复核，处置到位"),
}
# The side steps of the demo history (issue 14).
VOID_NOTES = ("重复上报，作废", "经核实不属实", "非本镇辖区事项")
EXTEND_NOTES = ("等待更换配件", "需协调相关单位", "天气原因无法施工")

ISSUE_REASONS = ("演练领用", "防汛发放", "应急处置领用", "日常巡查领用", "过期报废")
RECEIPT_REASONS = ("补充入库", "上级调拨入库", "社会捐赠入库")

# Reports a day, as the demo history plays them and the live simulator sends them at rate 1:
# a uniform draw in PER_DAY on school days, WEEKEND_SHARE of it on weekends, spread over the
# local hours by HOUR_WEIGHTS (quiet nights, a morning and an afternoon peak).
PER_DAY = (60, 90)
WEEKEND_SHARE = 0.8
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 6, 9, 10, 10, 9, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1)


def reports_per_hour(weekday: int, hour: int) -> float:
    """Mean reports in one local hour of a day of the week (0 = Monday)."""
    mean = (PER_DAY[0] + PER_DAY[1]) / 2 * (WEEKEND_SHARE if weekday >= 5 else 1.0)
    return mean * HOUR_WEIGHTS[hour] / sum(HOUR_WEIGHTS)
