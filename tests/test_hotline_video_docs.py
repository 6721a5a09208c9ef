"""docs/ingest-hotline-video.md is executed: each ```http request runs against the real
server in the order written and its answer must match the ```json block after it (status
and every field written; "…" stands for any value); the webhook example is what the hotline
receiver (a real local server) got; the signature example verifies."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dashboard.incidents import hotline
from tests.browser import app_client, wait_until
from tests.receiver import Receiver

DOC = Path(__file__).resolve().parent.parent / "docs" / "ingest-hotline-video.md"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
ANY = "…"


def blocks() -> list[tuple[str, str, str]]:
    """(language, info after it, text) of every fenced block, in order."""
    return [(m.group(1), m.group(2).strip(), m.group(3))
            for m in FENCE.finditer(DOC.read_text(encoding="utf-8"))]


def examples() -> list[tuple[dict[str, Any], int, Any]]:
    """(request, status, answer) of each ```http block and the ```json STATUS after it."""
    out = []
    found = blocks()
    for n, (lang, _info, text) in enumerate(found):
        if lang != "http":
            continue
        head, _, body = text.partition("\n\n")
        first, *header_lines = head.strip().splitlines()
        method, path = first.split()
        headers = dict(line.split(": ", 1) for line in header_lines)
        nxt = found[n + 1]
        assert nxt[0] == "json" and nxt[1].isdigit(), f"no answer after {first}"
        out.append(({"method": method, "path": path, "headers": headers,
                     "body": body.strip() or None}, int(nxt[1]), json.loads(nxt[2])))
    return out


def matches(documented: Any, got: Any, where: str = "") -> None:
    """Every documented field has the documented value ("…": any)."""
    if documented == ANY:
        return
    if isinstance(documented, dict):
        assert isinstance(got, dict), where
        for key, value in documented.items():
            assert key in got, f"{where}.{key} missing in {got}"
            matches(value, got[key], f"{where}.{key}")
    elif isinstance(documented, list):
        assert isinstance(got, list) and len(got) == len(documented), f"{where}: {got}"
        for i, (d, g) in enumerate(zip(documented, got, strict=True)):
            matches(d, g, f"{where}[{i}]")
    else:
        assert documented == got, f"{where}: documented {documented!r}, got {got!r}"


def run(client: Any, example: tuple[dict[str, Any], int, Any]) -> Any:
    request, status, answer = example
    r = client.request(request["method"], request["path"], headers=request["headers"],
                       content=(request["body"] or "").encode() or None)
    assert r.status_code == status, (request["method"], request["path"], r.text)
    matches(answer, r.json(), f"{request['method']} {request['path']}")
    return r.json()


def test_every_example_of_the_page_runs_as_written(settings) -> None:
    rx = Receiver([(200, {})])
    try:
        conf = settings.with_(hotline_webhook=f"{rx.url}/12345", hotline_secret="12345-secret",
                              image_origins="https://cam.example.cn")
        with app_client(conf) as client:
            steps = examples()
            assert len(steps) >= 9
            paths = [s[0]["path"] for s in steps]
            order = run(client, steps[0])  # the hotline files its order
            svc = client.zn
            svc.intake.act(order["id"], "accept", "值班员王")
            svc.intake.act(order["id"], "dispatch", "值班员王", assignee="网格员李")
            svc.intake.act(order["id"], "start", "网格员李", note="已到场")
            svc.intake.act(order["id"], "resolve", "网格员李", note="已清理漂浮物")
            for example in steps[1:]:
                got = run(client, example)
                if example[0]["path"].endswith("/visit") and example[1] == 200:
                    assert got["ref"] == order["ref"]
            assert "/api/v1/video/events" in paths
            wait_until(lambda: len(rx.requests) >= 6, timeout=15, what="six steps told")
        [webhook] = [json.loads(text) for lang, info, text in blocks()
                     if lang == "json" and info == "webhook"]
        matches(webhook, rx.requests[0]["body"], "webhook")
        assert [r["body"]["step"] for r in rx.requests] == ["report", "accept", "dispatch",
                                                            "start", "resolve", "close"]
        assert all(hotline.verify("12345-secret", r["raw"], r["headers"]["X-Zn-Signature"])
                   for r in rx.requests)
    finally:
        rx.close()


def test_the_signature_example_verifies() -> None:
    [text] = [t for lang, info, t in blocks() if lang == "text" and info == "signature"]
    lines = dict(line.split(": ", 1) for line in text.strip().splitlines())
    assert hotline.signature(lines["secret"], lines["body"].encode()) == \
        lines["X-Zn-Signature"]
    assert hotline.verify(lines["secret"], lines["body"].encode(), lines["X-Zn-Signature"])
