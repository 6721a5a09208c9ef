"""A callback that works for seconds holds nobody else: server callbacks posted over HTTP run
off the event loop (issue 12: a 4 MB stock-take held every request of the process, walls
and health included, for 13.8 s)."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from datasources.gate.web import CSRF_COOKIE, SESSION_COOKIE, csrf_token
from tests.browser import Live


def post_stocktake(live: Live, token: str, text: str) -> int:
    """The /resources page's stock-take upload, as Dash's renderer posts it."""
    contents = "data:text/csv;base64," + base64.b64encode(text.encode()).decode()
    body = {"output": "..rs-toast.children@import...rs-toast.className@import..",
            "outputs": [{"id": "rs-toast", "property": "children"},
                        {"id": "rs-toast", "property": "className"}],
            "inputs": [{"id": "rs-upload", "property": "contents", "value": contents}],
            "state": [{"id": "rs-upload", "property": "filename", "value": "盘点.csv"},
                      {"id": "rs-lang", "property": "data", "value": "zh"}],
            "changedPropIds": ["rs-upload.contents"]}
    key = next(k for k, spec in live.app.callback_map.items()
               if any(i.get("id") == "rs-upload" for i in spec.get("inputs", [])))
    body["output"] = key
    req = urllib.request.Request(
        f"{live.base}/_dash-update-component", data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json", "X-CSRFToken": csrf_token(token),
                 "Cookie": f"{SESSION_COOKIE}={token}; {CSRF_COOKIE}={csrf_token(token)}"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        assert "res-toast ok" in resp.read().decode(), "the stock-take was not applied"
        return resp.status


def test_a_long_stocktake_holds_no_other_request(live: Live) -> None:
    accounts = live.services.accounts
    user = accounts.user("值班员") or accounts.add_user("值班员", "officer", "test-password")
    token = accounts.start_session(user)
    stations = json.loads((Path(live.services.settings.town_dir) / "stations.json")
                          .read_text(encoding="utf-8"))
    items = [(st["code"], it["sku"]) for st in stations for it in st["inventory"]]
    # Every line a change: each is an adjustment with its ledger and audit rows.
    rows = "".join(f"{items[n % len(items)][0]},{items[n % len(items)][1]},"
                   f"{100 + (n // len(items)) % 2}\n" for n in range(1_000))
    done: dict[str, Any] = {}

    def upload() -> None:
        started = time.monotonic()
        done["status"] = post_stocktake(live, token, "station,sku,quantity\n" + rows)
        done["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=upload)
    worker.start()
    time.sleep(0.1)
    waits: list[float] = []
    while worker.is_alive():
        started = time.monotonic()
        with urllib.request.urlopen(f"{live.base}/api/health", timeout=60) as resp:
            assert resp.status in (200, 503)
        waits.append(time.monotonic() - started)
        time.sleep(0.1)
    worker.join()
    waits.sort()
    slowest, typical = waits[-1], waits[len(waits) // 2]
    print(f"\nstock-take of 1,000 lines: {done.get('seconds', 0):.1f} s; /api/health "
          f"answered {len(waits)} times meanwhile, median {typical * 1000:.0f} ms, "
          f"slowest {slowest * 1000:.0f} ms")
    assert done["status"] == 200
    assert done["seconds"] > 1.0, "the upload was too quick to show anything"
    # Held by the stock-take, health answers once, after it (13.8 s in issue 12). Off the
    # loop it answers throughout; a busy CI box may still stall one answer for a second or
    # two (the box, not the process), so the bound is the typical answer, and no answer
    # waiting for a good part of the upload.
    assert typical < 0.25, f"/api/health typically waited {typical:.2f} s behind the stock-take"
    assert slowest < done["seconds"] / 4, f"/api/health waited {slowest:.1f} s behind it"
