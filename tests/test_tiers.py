"""Tiers that hand over (issue 14): the organisation as data, hand-over to a unit and back,
scoping by unit and village, the tier shares."""

from __future__ import annotations

import pytest


def test_the_town_parser_refuses_a_unit_of_an_unknown_village_or_tier():
    from dashboard.town import parse_units

    good = {"id": "U-X", "name": "x", "tier": "village", "village": "V01", "categories": "*"}
    assert parse_units([good], {"V01"}, {"water"})[0].handles("water")
    for bad in ({**good, "village": "V99"}, {**good, "tier": "province"},
                {**good, "tier": "town", "categories": ["nonsense"], "village": None}):
        with pytest.raises(ValueError):
            parse_units([bad], {"V01"}, {"water"})
    with pytest.raises(ValueError):  # two offices for one village
        parse_units([good, {**good, "id": "U-Y"}], {"V01"}, {"water"})
