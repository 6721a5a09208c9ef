"""The town's address points and the service definitions' checks: pure rules, no server."""

from __future__ import annotations

import pytest

from dashboard.geo.gazetteer import Gazetteer, Place, parse_gazetteer
from dashboard.incidents.errors import BadInput
from dashboard.incidents.georeport import attribute_lines, check_attributes, definition
from datasources.towns.files import load_gazetteer, load_town

DEMO = "datasources/towns/demo"
PLACES = [Place("A-V03", "village", "建林村", "Jianlin Village", 30.56, 104.48, "V03"),
          Place("A-V03-02", "group", "建林村二组", "Jianlin Village Group 2", 30.57, 104.47,
                "V03"),
          Place("L-S01", "landmark", "青石中学", "Qingshi Middle School", 30.55, 104.45),
          Place("L-S02", "landmark", "青石镇中心小学", "Qingshi Central Primary School", 30.54,
                104.42)]


@pytest.mark.parametrize(("typed", "found"), [
    ("建林村", "A-V03"),                     # the exact name
    ("  jianlin   village ", "A-V03"),       # English, any case and spacing
    ("建林村二组王家院子", "A-V03-02"),         # the longest name the text contains
    ("四川省青石镇建林村", "A-V03"),
    ("中心小学", "L-S02"),                    # the one name that contains the text
    ("青石", None),                           # in three names: not a guess
    ("火星", None), ("", None), ("中", None),
])
def test_a_typed_address_finds_one_place_or_none(typed: str, found: str | None) -> None:
    hit = Gazetteer(PLACES).find(typed)
    assert (hit.id if hit else None) == found


def test_the_demo_towns_gazetteer_loads_with_the_town() -> None:
    town = load_town(DEMO)
    assert len(town.places) == len(load_gazetteer(DEMO)) > 60
    kinds = {p.kind for p in town.places}
    assert kinds == {"village", "group", "landmark"}
    assert load_gazetteer(DEMO).by_id("A-V03-02").name == "建林村二组"


@pytest.mark.parametrize(("row", "word"), [
    ({"id": "X", "kind": "shop", "name": "a", "lat": "1", "lon": "1"}, "kind"),
    ({"id": "", "kind": "landmark", "name": "a", "lat": "1", "lon": "1"}, "id"),
    ({"id": "X", "kind": "landmark", "name": "a", "lat": "north", "lon": "1"}, "line 2"),
    ({"id": "X", "kind": "landmark", "name": "a", "lat": "91", "lon": "1"}, "globe"),
])
def test_a_wrong_gazetteer_row_is_named(row: dict[str, str], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        parse_gazetteer([row])


def test_attributes_are_checked_against_the_definition() -> None:
    assert check_attributes("environment", {"building": ["3栋"], "danger": ["yes"],
                                            "pollution": ["water", "waste", "water"]}) == {
        "building": "3栋", "danger": "yes", "pollution": ["water", "waste"]}
    for sent, code in [({"WHISHETN": ["123"]}, "o311_attr_unknown"),
                       ({"photo": ["x"]}, "o311_attr_unknown"),  # information, no answer
                       ({"danger": ["maybe"]}, "o311_attr_value"),
                       ({"danger": ["yes", "no"]}, "o311_attr_many"),
                       ({"pollution": ["water", "lava"]}, "o311_attr_value"),
                       ({"building": ["a\nb"]}, "o311_attr_long")]:
        with pytest.raises(BadInput) as err:
            check_attributes("environment", sent)
        assert err.value.code == code, sent
    with pytest.raises(BadInput) as err:
        check_attributes("fire", {"people_trapped": ["a few"]})
    assert err.value.code == "o311_attr_number"
    assert check_attributes("traffic", {"building": [" "]}) == {}  # blank is no answer


def test_the_answers_read_in_chinese_on_the_work_order() -> None:
    assert attribute_lines("environment", {"danger": "no", "pollution": ["air", "noise"]}) == [
        "现场是否有人身危险：否", "污染类型：空气、噪声"]
    assert [a["code"] for a in definition("traffic", "zh")["attributes"]] == [
        "photo", "building", "danger", "blocked"]
