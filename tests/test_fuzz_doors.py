"""Every door fuzzed with hypothesis (issue 12): the HTTP JSON incident API, the Open311
form, JSON positions, GTFS-Realtime, JT/T 808 frames over TCP to the real gateway, every Dash
callback as every principal (well-formed bodies with hostile values, and malformed bodies),
stock-take files through the upload callback, and the Redis ingest channel.

ZN_FUZZ_EXAMPLES inputs per door (default 200 here; bench/fuzz.py runs 10,000): never a 5xx,
never a crash, every 4xx names its reason, no log record at ERROR or above, and afterwards
each door still takes a good input. Strategies and doors: tests/fuzz_doors.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import free_port
from tests.fuzz_doors import DOOR_NAMES, EXAMPLES, Doors, open_doors, run_door


@pytest.fixture(scope="module")
def doors(tmp_path_factory, redis_url) -> Iterator[Doors]:
    """One app and one gateway for the whole fuzz (no rate limit, real SQLite and Redis).
    Its Redis keys are its own: several workers (and earlier runs) share the machine's
    Redis, and a terminal registered under another run's keys is refused (result 3)."""
    import uuid

    from dashboard.settings import Settings

    settings = Settings.from_env(environ={}, data_dir=str(tmp_path_factory.mktemp("fuzz")),
                                 redis_url=redis_url, redis_prefix=f"fuzz{uuid.uuid4().hex[:8]}",
                                 port=free_port(),
                                 dedup_meters=0, ingest_rate=0)
    with open_doors(settings) as d:
        yield d


@pytest.mark.parametrize("door", DOOR_NAMES)
def test_a_fuzzed_door_never_fails(doors, door):
    tally = run_door(doors, door, EXAMPLES)
    assert tally.inputs >= min(EXAMPLES, 50), tally
    assert not tally.failures, f"{door}: {len(tally.failures)} failures\n" + "\n".join(
        tally.failures[:10])
    assert not tally.logged, f"{door}: logged at ERROR\n" + "\n".join(tally.logged[:10])


def test_after_the_fuzz_every_door_still_takes_a_good_input(doors):
    assert doors.good_inputs_pass() == []
    assert doors.client.get("/api/health").json()["ok"] is True
    rejected = doors.services.bus.rejected_counts()
    assert sum(rejected.values()) > 100, rejected  # refusals were counted, with reasons


# ------------------------------------------------------------------ what the fuzz found
def _call(doors: Doors, outputs: list[tuple[str, str]], inputs: list[tuple[str, str, Any]],
          state: list[tuple[str, str, Any]], who: str = "admin") -> Any:
    from tests.auth_helpers import post_callback

    doors._as(who)
    dep = [{"id": i, "property": p, "value": v} for i, p, v in inputs]
    return post_callback(doors.client, outputs, dep,
                         [{"id": i, "property": p, "value": v} for i, p, v in state],
                         f"{inputs[0][0]}.{inputs[0][1]}")


def _raw_call(doors: Doors, body: bytes, who: str = "admin") -> Any:
    return doors.client.post("/_dash-update-component", content=body,
                             headers=doors._as(who))


@pytest.mark.parametrize("body", [
    b"", b"-13561", b"[]", b'{"output": 1}',
    b'{"output": "..res-section.open...res-opened-for.data..", "outputs": {"id": "",'
    b' "property": "x"}, "inputs": [], "state": [], "changedPropIds": []}',
    b'{"output": "disp-queue.data", "outputs": {"id": "disp-queue", "property": "data"},'
    b' "inputs": [1], "state": [{"id": "disp-lang", "property": "data", "value": "zh"}]}',
    b'{"output": "disp-queue.data", "outputs": {"id": "disp-queue", "property": "x"},'
    b' "inputs": [[]], "state": [[]], "changedPropIds": []}',
], ids=["empty", "a-number", "a-list", "output-not-text", "no-inputs", "input-not-a-prop",
        "another-output"])
def test_a_malformed_callback_body_is_a_clear_400_not_a_500(doors, body):
    r = _raw_call(doors, body)
    assert r.status_code == 400, r.text[:300]
    assert r.json()["error"] == "bad_callback" and r.json()["message"], r.json()


@pytest.mark.parametrize("pathname", [{"a": 1}, "en", 5])
def test_the_pages_router_refuses_a_location_that_is_not_a_path(doors, pathname):
    r = _call(doors, [("_pages_content", "children"), ("_pages_store", "data")],
              [("_pages_location", "pathname", pathname), ("_pages_location", "search", "")],
              [])
    assert r.status_code == 400, r.text[:300]
    assert r.json()["error"] == "bad_callback"


@pytest.mark.parametrize("filters", [1, "zh", [1], {"state": ["x"], "grid": 5}])
def test_queue_filters_that_are_not_a_dict_of_text_are_no_filters(doors, filters):
    r = _call(doors, [("disp-queue", "data")], [("disp-filters", "data", filters)],
              [("disp-lang", "data", "zh")])
    assert r.status_code == 200, r.text[:300]
    assert "rows" in r.json()["response"]["disp-queue"]["data"]


def test_a_grid_picked_as_a_list_or_a_heat_toggle_as_a_number_is_ignored(doors):
    r = _call(doors, [("gs-side", "children")], [("gs-select", "data", [["a", False]]),
                                                 ("gs-tick", "data", 0)],
              [("gs-lang", "data", "zh")])
    assert r.status_code == 200, r.text[:300]
    r = _call(doors, [("gs-heat-frame", "data")], [("gs-heat", "value", 1),
                                                   ("gs-window", "value", "today"),
                                                   ("gs-category", "value", None),
                                                   ("gs-tick", "data", 0)], [])
    assert r.status_code == 200, r.text[:300]
    assert r.json()["response"]["gs-heat-frame"]["data"]["on"] is False


@pytest.mark.parametrize(("selected", "drawn"), [({"a": 1}, None), (None, 1), (None, [1]),
                                                 ([1], "x")])
def test_the_bus_screen_ignores_a_pick_or_revision_it_never_wrote(doors, selected, drawn):
    r = _call(doors, [("bus-board", "children"), ("bus-live", "children"),
                      ("bus-detail", "children"), ("bus-drawn-rev", "data")],
              [("bus-tick", "n_intervals", 1), ("bus-selected", "data", selected)],
              [("bus-lang", "data", "zh"), ("bus-drawn-rev", "data", drawn)])
    assert r.status_code == 200, r.text[:300]


@pytest.mark.parametrize("track", [[1, 2], {"fixes": 5}, {"fixes": [1]},
                                   {"fixes": [{"at": "x", "lon": 1, "lat": 2}]}])
def test_a_replay_track_not_shaped_as_written_shows_nothing(doors, track):
    r = _call(doors, [("bus-replay-layer", "children"), ("bus-replay-time", "children")],
              [("bus-replay-slider", "value", 0)], [("bus-replay-track", "data", track)])
    assert r.status_code == 200, r.text[:300]
    assert r.json()["response"]["bus-replay-time"]["children"] == ""


def _call_named(doors: Doors, first_output: str, values: dict[str, Any],
                who: str = "admin") -> Any:
    """Post the callback whose first output is `first_output` ('id.property') and whose
    first input is named in `values` ('id.property' -> value); every other input and state
    None."""
    import re

    key, spec = next((k, s) for k, s in doors.callbacks
                     if re.sub(r"@[0-9a-f]+", "", k).strip(".").startswith(first_output)
                     and s["inputs"]
                     and f"{s['inputs'][0]['id']}.{s['inputs'][0]['property']}" in values)

    def dep(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "value": values.get(f"{d['id']}.{d['property']}")}

    named = [part.rsplit(".", 1) for part in key.strip(".").split("...")]
    body = {"output": key, "outputs": [{"id": i, "property": p} for i, p in named]
            if key.startswith("..") else {"id": named[0][0], "property": named[0][1]},
            "inputs": [dep(d) for d in spec["inputs"]],
            "state": [dep(d) for d in spec.get("state", [])],
            "changedPropIds": [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"]}
    return _raw_call(doors, json.dumps(body, ensure_ascii=False).encode(), who)


@pytest.mark.parametrize("name", [[None], {"a": 1}, 7])
def test_a_field_phone_named_with_a_list_or_a_dict_is_no_name(doors, name):
    r = _call_named(doors, "field-name-store.data", {"field-name.value": name})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["response"]["field-name-store"]["data"] is None
    r = _call_named(doors, "field-tasks.children", {"field-tick.n_intervals": 1,
                                                    "field-name-store.data": name})
    assert r.status_code in (200, 204), r.text[:300]


@pytest.mark.parametrize(("first", "values"), [
    ("rs-toast.children", {"rs-shelter-go.n_clicks": 1, "rs-station.value": ["ES-01"],
                           "rs-shelter.value": 1}),
    ("rs-toast.children", {"rs-upload.contents": {"a": 1}, "rs-upload.filename": "a.csv"}),
], ids=["shelter-station-list", "upload-dict"])
def test_a_resource_step_named_with_a_list_or_a_dict_is_refused_with_a_reason(doors, first,
                                                                               values):
    r = _call_named(doors, first, values, "officer")
    assert r.status_code == 200, r.text[:300]
    assert "res-toast err" in r.text, r.text[:300]


def _console_incident(doors: Doors) -> dict[str, Any]:
    """A waterlogging work order the console shows (its disp-ctx), to dispatch resources to."""
    from dashboard.geo.lookup import GridHit
    from dashboard.messages import IncidentReport

    inc = doors.services.store.create_incident(IncidentReport(
        source="hotline", category="water", title="积水", lon=104.45, lat=30.55),
        GridHit("G3-01", "V01")).incident
    return {"id": inc.id, "ref": inc.ref, "version": inc.version, "state": inc.state}


@pytest.mark.parametrize(("station", "teams", "qty", "qty_ids"), [
    ("ES-01", 5, [], []),
    ("ES-01", None, [1], [7]),
    ("ES-01", None, [1, 2], [{"sku": "FL-SB"}]),
], ids=["teams-number", "box-id-number", "fewer-ids-than-boxes"])
def test_a_resource_dispatch_not_shaped_as_drawn_is_refused_with_a_reason(
        doors, station, teams, qty, qty_ids):
    key = next(k for k, s in doors.callbacks
               if s["inputs"] and s["inputs"][0]["id"] == "res-go")
    spec = dict(doors.callbacks)[key]
    seen = _console_incident(doors)
    values = [station, teams, None, None, seen, "zh"]
    state = []
    for dep, value in zip(spec["state"], values, strict=True):
        if dep["id"].startswith("{"):  # the supply boxes: one entry per box drawn
            ident = json.loads(dep["id"])
            got = qty if dep["property"] == "value" else qty_ids
            state.append([{"id": {**ident, "sku": f"S{n}"}, "property": dep["property"],
                           "value": v} for n, v in enumerate(got)])
        else:
            state.append({**dep, "value": value})
    named = [part.rsplit(".", 1) for part in key.strip(".").split("...")]
    body = {"output": key, "outputs": [{"id": i, "property": p} for i, p in named],
            "inputs": [{"id": "res-go", "property": "n_clicks", "value": 1}], "state": state,
            "changedPropIds": ["res-go.n_clicks"]}
    r = _raw_call(doors, json.dumps(body, ensure_ascii=False).encode(), "officer")
    assert r.status_code == 200, r.text[:300]
    assert "disp-toast err" in r.text, r.text[:300]


def test_the_station_box_set_to_a_list_shows_no_station(doors):
    seen = _console_incident(doors)
    r = _call_named(doors, "res-teams.options", {"res-station.value": ["ES-01"],
                                                 "disp-ctx.data": seen})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["response"]["res-teams"]["options"] == []


@pytest.mark.parametrize(("used", "used_ids"), [([1], [5]), ([1, 2], [{"dispatch": 1,
                                                                        "sku": "FL-SB"}])],
                         ids=["box-id-number", "fewer-ids-than-boxes"])
def test_a_resource_return_with_boxes_not_shaped_as_drawn_is_refused(doors, used, used_ids):
    key = next(k for k, s in doors.callbacks
               if s["inputs"] and s["inputs"][0]["id"].startswith('{"dispatch"')
               and "res-step" in s["inputs"][0]["id"])
    trigger = {"type": "res-step", "dispatch": 1, "step": "return"}
    boxes = {"type": "res-used", "dispatch": 1}
    named = [part.rsplit(".", 1) for part in key.strip(".").split("...")]
    body = {"output": key, "outputs": [{"id": i, "property": p} for i, p in named],
            "inputs": [[{"id": trigger, "property": "n_clicks", "value": 1}]],
            "state": [[{"id": {**boxes, "sku": f"S{n}"}, "property": "value", "value": v}
                       for n, v in enumerate(used)],
                      [{"id": {**boxes, "sku": f"S{n}"}, "property": "id", "value": v}
                       for n, v in enumerate(used_ids)],
                      {"id": "disp-lang", "property": "data", "value": "zh"}],
            "changedPropIds": [json.dumps(trigger, separators=(",", ":"), sort_keys=True)
                               + ".n_clicks"]}
    r = _raw_call(doors, json.dumps(body, ensure_ascii=False).encode(), "officer")
    assert r.status_code == 200, r.text[:300]
    assert "disp-toast err" in r.text, r.text[:300]


@pytest.mark.parametrize("field", ["adm-person.value", "adm-name.value", "adm-role.value"])
def test_an_account_form_field_forged_as_a_list_is_refused_in_words(doors, field):
    r = _call_named(doors, "adm-msg.children", {"adm-add.n_clicks": 1, "adm-name.value": "x",
                                                "adm-role.value": "officer", field: ["W003"],
                                                "adm-lang.data": "en"})
    assert r.status_code == 200, r.text[:300]
    assert "must be text" in r.json()["response"]["adm-msg"]["children"], r.text[:300]


@pytest.mark.parametrize("index", [10**19, -1, "1; drop", [1]])
def test_a_key_revoked_by_an_index_that_is_no_id_is_refused_in_words(doors, index):
    key = next(k for k, s in doors.callbacks
               if s["inputs"] and "adm-revoke" in str(s["inputs"][0]["id"]))
    trigger = {"index": index, "type": "adm-revoke"}
    named = [part.rsplit(".", 1) for part in key.strip(".").split("...")]
    body = {"output": key, "outputs": [{"id": i, "property": p} for i, p in named],
            "inputs": [[{"id": trigger, "property": "n_clicks", "value": 1}]],
            "state": [{"id": "adm-lang", "property": "data", "value": "en"}],
            "changedPropIds": [json.dumps(trigger, separators=(",", ":"), sort_keys=True)
                               + ".n_clicks"]}
    r = _raw_call(doors, json.dumps(body, ensure_ascii=False).encode())
    assert r.status_code in (200, 400), r.text[:300]  # the gate may refuse the shape first
    if r.status_code == 200:
        assert "is not a valid id" in r.json()["response"]["adm-msg"]["children"], r.text[:300]


@pytest.mark.parametrize("pick", [[None], {"a": 1}, 7])
def test_an_account_picked_as_a_list_or_a_number_fills_nothing(doors, pick):
    r = _call_named(doors, "adm-erole.value", {"adm-pick.value": pick})
    assert r.status_code in (200, 204), r.text[:300]


@pytest.mark.parametrize("day", [["2026-12-01"], {"a": 1}])
def test_a_town_import_dated_with_a_list_is_refused_as_no_date(doors, day):
    from dashboard.i18n.text import t

    r = _call_named(doors, "adm-town-msg.children", {"adm-town-apply.n_clicks": 1,
                                                     "adm-town-date.value": day,
                                                     "adm-lang.data": "en"})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["response"]["adm-town-msg"]["children"] == t("imp_bad_date", "en")
