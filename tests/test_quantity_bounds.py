"""Console quantities are bounded as the Redis door bounds them (issue 12): a receipt of 1e18
was stored, and inf / 1e308 / 9.3e18 / 10^30 in a quantity, a shelter count or a stock-take
cell gave a 500. Each is refused with a code whose text (zh, en) is in the i18n table, and
nothing changes in the record.

The console's callbacks are posted as Dash's renderer posts them, to the app in-process
(`client`), signed in as an officer; real SQLite and Redis."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from dashboard.incidents.errors import BadInput
from dashboard.messages import StockMovement
from tests.auth_helpers import csrf, sign_in

pytestmark = pytest.mark.shared_app  # refusals and reads: one app for the module

# The Redis door's bound (the schema of a stock movement): the console must use the same.
MAX_QUANTITY = next(m.le for m in StockMovement.model_fields["delta"].metadata
                    if getattr(m, "le", None) is not None)
STATION, SKU = "ES-01", "FL-SB"
HUGE: tuple[Any, ...] = (float("inf"), 1e308, 9.3e18, 10**30, 1e18, "1e18", MAX_QUANTITY + 1,
                         float("-inf"), -(10**30), "Infinity", "9" * 400)


def _callback(client: Any, outputs: list[tuple[str, str]], inputs: list[Any],
              state: list[dict[str, Any]], changed: str) -> Any:
    """POST one server callback as Dash's renderer does (inf goes as JSON's Infinity); an
    output with allow_duplicate is named with its @hash, as the callback map names it."""
    plain = "...".join(f"{i}.{p}" for i, p in outputs)
    fired = changed.rsplit(".", 1)[0]
    key = next((k.strip(".") for k, spec in client.app.callback_map.items()
                if re.sub(r"@[0-9a-f]+", "", k).strip(".") == plain
                and any(str(i.get("id")) == fired for i in spec.get("inputs", []))), plain)
    named = [part.rsplit(".", 1) for part in key.split("...")]
    body = {"output": f"..{key}..", "outputs": [{"id": i, "property": p} for i, p in named],
            "inputs": inputs, "state": state, "changedPropIds": [changed]}
    return client.post("/_dash-update-component", content=json.dumps(body, ensure_ascii=False),
                       headers={"X-CSRFToken": csrf(client), "content-type": "application/json"})


def _officer(client: Any) -> None:
    sign_in(client, client.zn, "值班员王", "officer")


def _figures(client: Any) -> tuple[Any, ...]:
    st = client.zn.resources.res.station(STATION)
    item = next(i for i in st["items"] if i["sku"] == SKU)
    return (item["quantity"], item["reserved"], item["out"], st["shelter"],
            len(client.zn.resources.res.ledger(STATION)))


def _toast(r: Any, out: str = "rs-toast") -> tuple[str, str]:
    assert r.status_code == 200, r.text[:300]
    resp = r.json()["response"][out]
    return str(resp["children"]), resp["className"]


def record_movement(client: Any, kind: str, qty: Any, lang: str = "zh") -> Any:
    outs = [("rs-toast", "children"), ("rs-toast", "className"), ("rs-qty", "value"),
            ("rs-reason", "value")]
    state = [{"id": "rs-station", "property": "value", "value": STATION},
             {"id": "rs-item", "property": "value", "value": SKU},
             {"id": "rs-kind", "property": "value", "value": kind},
             {"id": "rs-qty", "property": "value", "value": qty},
             {"id": "rs-reason", "property": "value", "value": "盘点"},
             {"id": "rs-batch", "property": "value", "value": None},
             {"id": "rs-lang", "property": "data", "value": lang}]
    return _callback(client, outs, [{"id": "rs-apply", "property": "n_clicks", "value": 1}],
                     state, "rs-apply.n_clicks")


def record_shelter(client: Any, delta: Any, lang: str = "zh") -> Any:
    outs = [("rs-toast", "children"), ("rs-toast", "className"), ("rs-shelter", "value")]
    state = [{"id": "rs-station", "property": "value", "value": STATION},
             {"id": "rs-shelter", "property": "value", "value": delta},
             {"id": "rs-lang", "property": "data", "value": lang}]
    return _callback(client, outs, [{"id": "rs-shelter-go", "property": "n_clicks",
                                     "value": 1}], state, "rs-shelter-go.n_clicks")


def import_stocktake(client: Any, text: str, lang: str = "zh") -> Any:
    outs = [("rs-toast", "children"), ("rs-toast", "className")]
    contents = "data:text/csv;base64," + base64.b64encode(text.encode()).decode()
    state = [{"id": "rs-upload", "property": "filename", "value": "盘点.csv"},
             {"id": "rs-lang", "property": "data", "value": lang}]
    return _callback(client, outs, [{"id": "rs-upload", "property": "contents",
                                     "value": contents}], state, "rs-upload.contents")


def _incident(client: Any) -> int:
    from dashboard.geo.lookup import GridHit
    from dashboard.messages import IncidentReport

    report = IncidentReport(source="hotline", category="water", title="防汛物资",
                            lon=104.45, lat=30.55)
    return client.zn.store.create_incident(report, GridHit("G3-02", "V01")).incident.id


def dispatch_resources(client: Any, incident_id: int, qty: Any, lang: str = "zh") -> Any:
    outs = [("res-toast", "children"), ("res-toast", "className"), ("res-refresh", "data"),
            ("disp-tick", "data")]
    state = [{"id": "res-station", "property": "value", "value": STATION},
             {"id": "res-teams", "property": "value", "value": []},
             [{"id": {"type": "res-qty", "sku": SKU}, "property": "value", "value": qty}],
             [{"id": {"type": "res-qty", "sku": SKU}, "property": "id",
               "value": {"type": "res-qty", "sku": SKU}}],
             {"id": "disp-ctx", "property": "data", "value": {"id": incident_id}},
             {"id": "disp-lang", "property": "data", "value": lang}]
    return _callback(client, outs, [{"id": "res-go", "property": "n_clicks", "value": 1}],
                     state, "res-go.n_clicks")


# ---------------------------------------------------------------- one bound, one definition
def test_the_console_reads_the_redis_doors_bound():
    from dashboard import messages
    from dashboard.resources.stock import parse_quantity

    assert messages.MAX_QUANTITY == MAX_QUANTITY
    assert parse_quantity("12") == 12 and parse_quantity(12.0) == 12
    assert parse_quantity(-MAX_QUANTITY, signed=True) == -MAX_QUANTITY
    for bad in HUGE + (0, -1, 1.5, "abc", None, [3], True):
        with pytest.raises(BadInput) as refused:
            parse_quantity(bad)
        assert refused.value.code in ("bad_quantity", "zero_quantity")


# ---------------------------------------------------------------- /resources: stock steps
@pytest.mark.parametrize("qty", HUGE)
@pytest.mark.parametrize("kind", ["receive", "issue", "adjust"])
def test_a_receipt_of_1e18_or_inf_is_refused_with_a_code_and_nothing_stored(client, kind, qty):
    _officer(client)
    before = _figures(client)
    text, cls = _toast(record_movement(client, kind, qty))
    assert "err" in cls and f"至 {MAX_QUANTITY}" in text, text
    text, cls = _toast(record_movement(client, kind, qty, "en"))
    assert "err" in cls and "whole numbers" in text, text
    assert _figures(client) == before


def test_a_sane_receipt_still_goes_in(client):
    _officer(client)
    before = _figures(client)
    text, cls = _toast(record_movement(client, "receive", MAX_QUANTITY))
    assert cls == "res-toast ok", text
    assert _figures(client)[0] == before[0] + MAX_QUANTITY


# ---------------------------------------------------------------- /resources: the shelter
@pytest.mark.parametrize("delta", HUGE)
def test_a_shelter_count_of_inf_or_1e308_is_refused_with_a_code(client, delta):
    _officer(client)
    before = _figures(client)
    text, cls = _toast(record_shelter(client, delta, "en"))
    assert "err" in cls and "whole numbers" in text, text
    assert _figures(client) == before


# ---------------------------------------------------------------- /resources: stock-take
@pytest.mark.parametrize("cell", ["inf", "1e308", "9.3e18", "1" + "0" * 30, "-inf", "nan",
                                  "9" * 400])
def test_a_stocktake_cell_of_inf_or_10_to_the_30_is_a_refused_line(client, cell):
    _officer(client)
    before = _figures(client)
    text, cls = _toast(import_stocktake(client, f"station,sku,quantity\n{STATION},{SKU},{cell}\n"))
    assert "err" in cls and "第2行" in text and f"0 至 {MAX_QUANTITY}" in text, text
    text, _ = _toast(import_stocktake(client, f"station,sku,quantity\n{STATION},{SKU},{cell}\n",
                                      "en"))
    assert "line 2" in text and "whole numbers" in text, text
    assert _figures(client) == before


# ---------------------------------------------------------------- the console: dispatches
@pytest.mark.parametrize("qty", HUGE)
def test_a_dispatch_of_inf_sandbags_is_refused_with_a_code(client, qty):
    incident_id = _incident(client)
    _officer(client)
    before = _figures(client)
    text, cls = _toast(dispatch_resources(client, incident_id, qty, "en"), "res-toast")
    assert "err" in cls and "whole numbers" in text, text
    assert _figures(client) == before


def test_the_store_itself_refuses_what_the_doors_refuse(client):
    res = client.zn.resources.res
    for qty in (10**18, MAX_QUANTITY + 1, 0, -3):
        with pytest.raises(BadInput):
            res.receive(STATION, SKU, qty, "仓管李")
    with pytest.raises(BadInput):
        res.adjust(STATION, SKU, -(10**30), "仓管李", "盘点")
    with pytest.raises(BadInput):
        res.shelter_move(STATION, 10**19)
    with pytest.raises(BadInput):
        res.dispatch(_incident(client), STATION, [], {SKU: 10**19}, "值班员王")


def test_a_200_kb_stocktake_cell_is_a_refused_file_not_a_500(client):
    _officer(client)
    before = _figures(client)
    for cell in ("x" * 200_000, '"' + "x" * 200_000 + '"'):
        text, cls = _toast(import_stocktake(client, f"station,sku,quantity\n{STATION},{SKU},"
                                                    f"{cell}\n"))
        assert "err" in cls and "盘点.csv：不是可读取的 CSV 文件" in text, text
    assert _figures(client) == before
