"""Write tests/data/reports_labelled.csv: fictional Chinese report texts, labelled for the
smart-intake bench (bench/smart_intake.py) and tests (issue 18).

Each problem of each of the 15 categories is worded four ways by hand (different words, not
the simulator's templates); a row is one wording at one place, with a caller's opening or
closing remark drawn at random. Rows are laid out the way duplicates and near-misses happen:
  - a duplicate group: two or three callers, in different words, about one problem at one
    place within 60 m and 25 minutes (same `duplicate_group`);
  - a near miss: a different problem of the same category 10–150 m away at the same time
    (the old place/time/category rule merges it; it must stay its own work order);
  - singletons elsewhere.
`phrasing` names the wording (category.problem.n): the bench trains on some wordings and
tests on the others, so its accuracy is for words the model has not seen.

    python tools/gen_labelled_reports.py   # rewrites the file (seeded: the same every time)
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "reports_labelled.csv"
SEED = 18

# Level-3 grid points of the demo town (representative points) with their village.
PLACES: tuple[tuple[str, float, float], ...] = (
    ("V01", 104.45706, 30.55601), ("V01", 104.45210, 30.54610), ("V02", 104.42980, 30.55444),
    ("V02", 104.42410, 30.54300), ("V03", 104.47155, 30.57749), ("V03", 104.48143, 30.56835),
    ("V04", 104.40323, 30.56830), ("V04", 104.41527, 30.56684), ("V05", 104.44263, 30.51879),
    ("V05", 104.45171, 30.52417), ("V06", 104.46164, 30.53636), ("V07", 104.47889, 30.55654),
    ("V08", 104.44173, 30.56491), ("V09", 104.43366, 30.57902), ("V09", 104.44728, 30.57578),
    ("V10", 104.40873, 30.55206), ("V10", 104.40437, 30.54855), ("V11", 104.48945, 30.54702),
    ("V11", 104.49333, 30.55179), ("V12", 104.43274, 30.52947), ("V12", 104.42302, 30.53021),
    ("V13", 104.48223, 30.53213),
)
LANDMARKS = ("3栋", "菜市场旁", "村委会对面", "小学门口", "幸福路", "老街口", "桥头",
             "卫生院后面", "公交站旁", "2组", "5组", "滨河路", "文化广场", "加油站附近",
             "10号楼", "农贸市场", "新村安置点", "工业园", "中心街", "村口")
OPENINGS = ("", "", "", "市民来电反映：", "网格员巡查发现，", "群众反映：", "您好，",
            "有居民打电话说", "来电人称", "随手拍：", "我要投诉，")
CLOSINGS = ("", "", "", "请尽快处理。", "希望有关部门管一管。", "已经好几天了。",
            "麻烦派人来看看。", "很多人都有意见。", "请核实。", "谢谢！")

# category -> problems: (key, unit: an id, or "V" for the place's village committee,
# four wordings; {p} marks where a caller names the place, which the set keeps apart in
# its `place` column as a 12345 ticket keeps the 诉求地址 apart from the 诉求内容).
PROBLEMS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "public_security": (
        ("fight", "U-T-PS", ("{p}晚上有几个人喝酒打架，还摔了瓶子",
                             "{p}夜宵摊有人斗殴，有人受伤流血",
                             "{p}深夜一群年轻人动手打起来了",
                             "{p}烧烤店门口发生肢体冲突")),
        ("theft", "U-T-PS", ("{p}停的电动车昨晚被人偷了",
                             "{p}家里电瓶车失窃，锁被撬开",
                             "{p}连续几户的摩托车电瓶被盗",
                             "{p}晚上有小偷偷车，监控拍到人影")),
        ("loiter", "V", ("{p}有陌生人天天在楼下转悠，挨家看门牌",
                         "{p}发现可疑男子在住户窗外张望",
                         "{p}几个外地人来回踩点，老人很害怕",
                         "{p}有不认识的人在单元门口徘徊不走")),
        ("scam", "U-C-GA", ("{p}有人上门推销保健品骗老人钱",
                            "{p}老人接到冒充公检法的诈骗电话转了钱",
                            "{p}有人以中奖为名骗取村民押金",
                            "{p}一伙人办讲座卖假药，骗了不少老人")),
    ),
    "city_management": (
        ("stalls", "U-T-CG", ("{p}人行道上摆满了水果摊，行人只能走马路",
                              "{p}小贩占道卖菜，早上堵得走不动",
                              "{p}流动摊贩把路占了一半",
                              "{p}门店把货物摆到街面上经营")),
        ("streetlight", "V", ("{p}路灯坏了好几盏，晚上黑漆漆的",
                              "{p}那段路晚上没有照明，灯一直不亮",
                              "{p}路灯杆倒了，灯也不亮",
                              "{p}夜里路灯全灭，走路摔了跤")),
        ("ads", "U-T-CG", ("{p}墙上电线杆上贴满了办证小广告",
                           "{p}有人到处喷涂疏通下水道的电话号码",
                           "{p}单元门贴满牛皮癣广告，撕了又贴",
                           "{p}公交站牌被小广告糊满了")),
        ("shed", "U-C-ZJ", ("{p}有人在绿地上私自搭铁皮棚",
                            "{p}楼顶加盖了彩钢房",
                            "{p}住户圈占公共空地搭违章棚子",
                            "{p}店铺违规外扩搭建雨棚")),
    ),
    "traffic": (
        ("parking", "U-T-PS", ("{p}路口车子乱停，公交车都过不去",
                               "{p}大货车常年停在路边，挡住视线",
                               "{p}私家车把路堵死了，救护车进不来",
                               "{p}车辆随意停放占用车道")),
        ("pothole", "U-C-JT", ("{p}路面塌陷一个大坑，已经有电动车摔倒",
                               "{p}村道坑坑洼洼，下雨全是水坑",
                               "{p}公路上有个深坑，晚上看不见很危险",
                               "{p}水泥路面开裂破损，车子颠得厉害")),
        ("sign", "U-C-JT", ("{p}限速牌被撞倒在地上没人扶",
                            "{p}急弯处的警示标志不见了",
                            "{p}红绿灯坏了，一直闪黄灯",
                            "{p}路口的让行标志牌被树挡住看不到")),
        ("speeding", "U-T-PS", ("{p}渣土车开得飞快，还闯红灯",
                                "{p}晚上有人飙车，声音很大很吓人",
                                "{p}三轮车超载逆行，差点撞到学生",
                                "{p}摩托车不戴头盔载三个人")),
    ),
    "market": (
        ("expired", "U-C-SJ", ("{p}小卖部卖过期的牛奶和面包",
                               "{p}超市货架上的零食早过了保质期",
                               "{p}买到过期饮料，店家不给退",
                               "{p}商店出售变质食品，孩子吃了拉肚子")),
        ("scales", "U-C-SJ", ("{p}菜市场摊主秤有问题，一斤少二两",
                              "{p}买肉被缺斤短两，复秤差很多",
                              "{p}卖水果的用的是鬼秤",
                              "{p}农贸市场有商户短斤少两")),
        ("nolicense", "U-T-WH", ("{p}新开的饭馆没有营业执照",
                                 "{p}有家作坊无证生产豆腐干",
                                 "{p}小吃店没有健康证还在营业",
                                 "{p}一家诊所没挂执照就给人看病打针")),
        ("price", "U-C-SJ", ("{p}药店口罩乱涨价",
                             "{p}加油站明码标价和收费不一样",
                             "{p}景区停车场乱收费",
                             "{p}商家先涨价再打折欺骗顾客")),
    ),
    "planning": (
        ("illegal_build", "U-C-ZJ", ("{p}有户人家没审批就在加盖第四层",
                                     "{p}农户占用耕地建房",
                                     "{p}老房子拆了重建，超出原来的宅基地",
                                     "{p}有人晚上偷偷施工建违法建筑")),
        ("hoarding", "U-T-CG", ("{p}工地围挡倒了一片，泥土撒到路上",
                                "{p}施工围墙破了个大口子，小孩能钻进去",
                                "{p}建筑工地没有围挡，材料乱堆",
                                "{p}工地挡板被风吹翻")),
        ("night_work", "U-T-CG", ("{p}工地半夜还在打桩，吵得睡不着",
                                  "{p}晚上十一点还在浇混凝土，噪音太大",
                                  "{p}施工队凌晨作业，机器轰鸣",
                                  "{p}夜间违规施工扰民")),
        ("road_dig", "U-C-ZJ", ("{p}马路挖开几个月了一直没恢复",
                                "{p}管网施工挖的沟没有回填",
                                "{p}开挖路面后没有设置警示",
                                "{p}道路改造工程拖了半年还没完工")),
    ),
    "estate": (
        ("elevator", "U-C-ZJ", ("{p}电梯故障，困住了一位老人",
                                "{p}电梯又坏了，老人上不了楼",
                                "{p}单元电梯停运一周没人修",
                                "{p}电梯运行时突然下坠，非常吓人")),
        ("garbage_pile", "V", ("{p}垃圾堆放在单元门口没人清理",
                               "{p}楼下垃圾桶满了溢出来，苍蝇乱飞",
                               "{p}小区垃圾几天没收，臭气熏天",
                               "{p}物业不清运生活垃圾，堆成小山")),
        ("fee", "V", ("{p}物业乱收停车费，业主不认可",
                      "{p}物业费涨价没开业主大会",
                      "{p}物业不作为还要收钱，业主拒交",
                      "{p}业主和物业因为维修基金吵起来")),
        ("leak", "V", ("{p}楼上卫生间漏水，我家天花板泡坏了",
                       "{p}屋顶防水层坏了，下雨屋里漏",
                       "{p}外墙渗水，墙皮大块脱落",
                       "{p}地下室进水，物业不处理")),
    ),
    "fire": (
        ("charging", "U-T-AJ", ("{p}有人把电瓶车推进楼道充电",
                                "{p}住户从窗户拉电线给电动车充电",
                                "{p}楼道里飞线充电，很危险",
                                "{p}电动车停在楼梯间整夜充电")),
        ("exit", "U-T-AJ", ("{p}消防通道被私家车堵死",
                            "{p}安全出口被锁住了",
                            "{p}消防车道上堆满杂物",
                            "{p}商场的疏散通道被货物堵住")),
        ("straw", "V", ("{p}田里有人烧秸秆，浓烟滚滚",
                        "{p}山坡上有人烧荒，火快烧到林子了",
                        "{p}有人露天焚烧垃圾和稻草",
                        "{p}地里冒黑烟，有人在烧庄稼杆")),
        ("extinguisher", "U-T-AJ", ("{p}楼里的灭火器全过期了",
                                    "{p}消火栓箱是空的，没有水带",
                                    "{p}烟感报警器坏了没人换",
                                    "{p}小区消防设施损坏，水压不够")),
    ),
    "environment": (
        ("river_litter", "U-T-CG", ("{p}河里漂着很多塑料瓶和垃圾",
                                    "{p}河面上全是漂浮物，水都发臭了",
                                    "{p}有人往河沟里倒垃圾",
                                    "{p}河道被生活垃圾堵住了")),
        ("farm_smell", "U-C-HJ", ("{p}养猪场臭味太大，窗户都不敢开",
                                  "{p}养殖场粪水直接排到沟里",
                                  "{p}鸡场气味熏人，苍蝇很多",
                                  "{p}养殖废水污染了水塘")),
        ("dust", "U-C-HJ", ("{p}工地扬尘很大，车上落满灰",
                            "{p}搅拌站粉尘飞扬，没有洒水",
                            "{p}渣土车没盖篷布，一路撒土",
                            "{p}拆房子灰尘漫天，没有降尘措施")),
        ("factory_smoke", "U-C-HJ", ("{p}小厂烟囱冒黑烟，味道刺鼻",
                                     "{p}工厂夜里偷排废气",
                                     "{p}厂里排出的污水是红色的",
                                     "{p}作坊烧塑料，气味很呛")),
    ),
    "water": (
        ("burst", "U-C-SW", ("{p}自来水管爆了，水喷得老高",
                             "{p}地下水管破裂，路面冒水",
                             "{p}供水管道漏水，白白流了一上午",
                             "{p}消防栓旁边的水管裂开了")),
        ("ditch", "V", ("{p}水渠堵了，田里的水排不出去",
                        "{p}排水沟被淤泥堵死，一下雨就淹",
                        "{p}灌溉渠塌了，放不了水",
                        "{p}沟渠里全是杂草淤泥")),
        ("no_water", "U-C-SW", ("{p}停水两天了也没通知",
                                "{p}自来水断断续续，水压很低",
                                "{p}家里水龙头出黄水",
                                "{p}突然停水，做饭都没水")),
        ("flood", "U-C-SW", ("{p}下大雨路上积水齐膝深",
                             "{p}雨后低洼处积水排不走，车子熄火",
                             "{p}河水涨了快漫过堤坝",
                             "{p}暴雨后院子进水，下水道往外冒水")),
    ),
    "labour": (
        ("wages", "U-C-RS", ("{p}工地老板欠了我们三个月工钱",
                             "{p}包工头跑了，二十几个工人拿不到工资",
                             "{p}厂里拖欠农民工工资不给",
                             "{p}干完活结不了账，老板一直推")),
        ("contract", "U-T-SJ", ("{p}公司不和员工签劳动合同",
                                "{p}单位辞退我不给补偿",
                                "{p}工厂不给买社保",
                                "{p}试用期被无故开除")),
        ("overtime", "U-C-RS", ("{p}工厂天天加班到半夜还不给加班费",
                                "{p}一个月只休一天，强制加班",
                                "{p}厂里雇佣童工",
                                "{p}工人受伤了老板不管")),
        ("jobs", "V", ("{p}想找工作，问有没有招工信息",
                       "{p}咨询返乡人员就业培训怎么报名",
                       "{p}失业了想办失业登记",
                       "{p}问村里有没有公益性岗位")),
    ),
    "culture": (
        ("square_dance", "V", ("{p}广场舞音响开得震天响",
                               "{p}跳舞的音乐太吵，晚上十点还不停",
                               "{p}坝坝舞噪音影响学生写作业",
                               "{p}早上六点就放广场舞音乐")),
        ("pirated", "U-T-WH", ("{p}有摊位卖盗版书和光碟",
                               "{p}书店卖盗印的教辅资料",
                               "{p}地摊上卖非法出版物",
                               "{p}有人在网上卖翻印的课本")),
        ("internet_cafe", "U-C-WL", ("{p}网吧让未成年人上网",
                                     "{p}网吧通宵营业还有初中生",
                                     "{p}游戏厅接纳中小学生",
                                     "{p}黑网吧没有证照")),
        ("heritage", "U-C-WL", ("{p}老祠堂的木雕被人偷拆",
                                "{p}古桥石栏杆被撞坏",
                                "{p}文物保护碑被推倒了",
                                "{p}老街古建筑被乱改造")),
    ),
    "education": (
        ("tutoring", "U-C-JY", ("{p}民房里办补习班，没有资质",
                                "{p}有人违规开办学科类培训",
                                "{p}暑假托管班挤了几十个孩子没消防",
                                "{p}培训机构收了学费跑路")),
        ("school_gate", "U-T-PS", ("{p}放学时学校门口堵成一锅粥",
                                   "{p}校门口家长车辆乱停，孩子过马路危险",
                                   "{p}学校门口没有人维持交通秩序",
                                   "{p}接送孩子的车把校门堵死")),
        ("fees", "U-C-JY", ("{p}学校乱收资料费",
                            "{p}老师强制学生订教辅",
                            "{p}幼儿园收费不公示",
                            "{p}学校要求家长交赞助费")),
        ("canteen", "U-C-SJ", ("{p}学校食堂饭菜不卫生，学生吃坏肚子",
                               "{p}幼儿园伙食太差，孩子吃不饱",
                               "{p}食堂发现变质肉",
                               "{p}学生营养餐分量不足")),
    ),
    "work_safety": (
        ("gas", "U-T-AJ", ("{p}闻到很大的煤气味，可能漏气了",
                           "{p}天然气管道漏气，一股臭味",
                           "{p}液化气罐阀门漏气",
                           "{p}燃气表附近有嘶嘶声和异味")),
        ("workshop", "U-C-YJ", ("{p}小作坊里堆着油漆稀料，没有消防器材",
                                "{p}民房里违规储存烟花爆竹",
                                "{p}加工厂粉尘大，电线乱拉",
                                "{p}化工仓库和住房挨在一起")),
        ("height", "U-T-AJ", ("{p}工人在高处干活没系安全带",
                              "{p}脚手架搭得摇摇晃晃",
                              "{p}塔吊在居民楼上方吊东西",
                              "{p}外墙施工没有安全网")),
        ("mine", "U-C-YJ", ("{p}有人私挖沙石，山体松动",
                            "{p}采石场放炮震得房子开裂",
                            "{p}非法开采河沙，河堤被掏空",
                            "{p}砖厂取土形成高陡边坡")),
    ),
    "venues": (
        ("fitness", "V", ("{p}健身器材坏了，扶手断了",
                          "{p}文化活动室的乒乓球台塌了",
                          "{p}篮球架倒了差点砸到人",
                          "{p}农家书屋常年锁门")),
        ("association", "U-T-ZZ", ("{p}有个协会没登记就收会费",
                                   "{p}有人以商会名义拉赞助",
                                   "{p}自称老年协会组织集资",
                                   "{p}有团体打着慈善旗号募捐")),
        ("gathering", "U-T-ZZ", ("{p}有人在民房里组织聚会活动，来的人很多",
                                 "{p}有人租场地开会推销理财",
                                 "{p}有人私设活动点聚集传教",
                                 "{p}每晚都有一群人在仓库里集会")),
        ("hall", "V", ("{p}村活动中心漏雨，墙皮掉了",
                       "{p}党群服务中心的空调坏了",
                       "{p}村便民服务室没人值班",
                       "{p}老年活动室电路老化")),
    ),
    "disputes": (
        ("homestead", "U-T-SJ", ("{p}两家人为宅基地界线吵了起来",
                                 "{p}邻居砌墙占了我家的地",
                                 "{p}老宅基地归属有争议，兄弟闹翻",
                                 "{p}邻居建房越界，双方要动手")),
        ("land_lease", "U-T-SJ", ("{p}土地流转的租金一直没给村民",
                                  "{p}承包地被别人占着种",
                                  "{p}村民对征地补偿分配有意见",
                                  "{p}合作社拖欠承包费")),
        ("family", "V", ("{p}儿女不赡养老人，老人没饭吃",
                         "{p}夫妻吵架闹离婚，动了手",
                         "{p}兄弟分家产打起来了",
                         "{p}婆媳矛盾很深，天天吵")),
        ("neighbour_noise", "V", ("{p}楼上装修天天砸墙，邻居吵架",
                                  "{p}邻居家狗叫一整夜，说了也不听",
                                  "{p}邻居在楼道放杂物，两家闹矛盾",
                                  "{p}楼下饭店油烟熏到楼上住户")),
    ),
}


def _shift(lon: float, lat: float, metres: float, rng: random.Random) -> tuple[float, float]:
    """A point `metres` from (lon, lat) in a random direction."""
    angle = rng.uniform(0, 2 * math.pi)
    dlat = metres * math.cos(angle) / 111_320
    dlon = metres * math.sin(angle) / (111_320 * math.cos(math.radians(lat)))
    return round(lon + dlon, 6), round(lat + dlat, 6)


def _text(wording: str, landmark: str, rng: random.Random) -> str:
    closing = rng.choice(CLOSINGS) if rng.random() < 0.6 else ""
    return rng.choice(OPENINGS) + wording.format(p=landmark) + ("，" + closing if closing else "")


def rows(seed: int = SEED) -> list[dict[str, object]]:
    """The labelled rows, in the order a desk would receive them."""
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    group = 0

    def add(cat: str, problem: tuple[str, str, tuple[str, ...]], n: int, place: tuple,
            lon: float, lat: float, minute: int, dup: str, landmark: str) -> None:
        village = place[0]
        unit = f"U-{village}" if problem[1] == "V" else problem[1]
        out.append({"id": len(out) + 1,
                    "text": _text(problem[2][n], "", rng).rstrip("，"),
                    "category": cat, "unit_id": unit, "village": village, "place": landmark,
                    "lon": lon, "lat": lat, "minute": minute,
                    "duplicate_group": dup, "phrasing": f"{cat}.{problem[0]}.{n}"})

    minute = 0
    for cat, problems in PROBLEMS.items():
        for i, problem in enumerate(problems):
            # A duplicate group: two or three callers, different wordings, one place.
            place = rng.choice(PLACES)
            landmark = rng.choice(LANDMARKS)
            lon, lat = _shift(place[1], place[2], rng.uniform(0, 300), rng)
            group += 1
            wordings = rng.sample(range(4), 3 if rng.random() < 0.5 else 2)
            start = minute
            for n in wordings:
                plon, plat = _shift(lon, lat, rng.uniform(0, 60), rng)
                add(cat, problem, n, place, plon, plat, start + rng.randint(0, 25),
                    f"G{group:03d}", landmark)
            # A near miss: another problem of the same category, close by, meanwhile.
            for step in (1, 2):
                other = problems[(i + step) % len(problems)]
                olon, olat = _shift(lon, lat, rng.uniform(10, 150), rng)
                add(cat, other, rng.randrange(4), place, olon, olat,
                    start + rng.randint(0, 25), "",
                    landmark if rng.random() < 0.5 else rng.choice(LANDMARKS))
            # Singletons: the remaining wordings, elsewhere and later.
            for n in set(range(4)) - set(wordings):
                far = rng.choice([p for p in PLACES if p != place])
                slon, slat = _shift(far[1], far[2], rng.uniform(0, 300), rng)
                add(cat, problem, n, far, slon, slat, start + rng.randint(40, 600), "",
                    rng.choice(LANDMARKS))
            minute += 45
    out.sort(key=lambda r: (int(str(r["minute"])), int(str(r["id"]))))
    for n, r in enumerate(out, 1):
        r["id"] = n
    return out


def main() -> None:
    """Write the CSV."""
    data = rows()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)
    print(f"wrote {len(data)} rows to {OUT}")


if __name__ == "__main__":
    main()
