"""The examples of the HTTP doors in docs/ingest.md (the JSON API's reports and positions,
every Open311 call), run as written against a live server.

Each ```sh example``` block is run by bash with the real curl (its host:port pointed at the
test's server); the ```json example status=N``` or ```xml example status=N``` block under it
is the answer it must give: the same keys, elements and values, where "…" in a text stands
for anything, a trailing "…" item of a JSON list and a trailing <more/> element for more of
the same kind. `$ID` is the id the JSON API's first 201 gave, `$REF` and `$TOKEN` what the
first Open311 POST answered.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests.browser import KEYS, Live

DOC = Path(__file__).resolve().parents[1] / "docs" / "ingest.md"
FENCE = re.compile(r"^```(\w+) example(?: status=(\d+))?\n(.*?)^```\n", re.M | re.S)
STATUS = "\n__zn_status__="
ANY = "…"


def examples(text: str) -> list[tuple[str, str, int, str]]:
    """(command, answer format, status, expected answer) of each example, in order."""
    blocks = FENCE.findall(text)
    out = []
    for (kind, _, command), (fmt, status, expected) in zip(blocks[::2], blocks[1::2],
                                                           strict=True):
        assert kind == "sh" and fmt in ("json", "xml") and status, (command, fmt)
        out.append((command, fmt, int(status), expected))
    return out


def glob_fits(expected: str, actual: str) -> bool:
    """`expected` with "…" standing for any text, against `actual`."""
    pattern = ".*".join(re.escape(p) for p in expected.split(ANY))
    return re.fullmatch(pattern, actual, re.S) is not None


def json_fits(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """What differs between an expected JSON answer and the actual one ("…" alone stands
    for any value, a number's included)."""
    if expected == ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or list(expected) != list(actual):
            return [f"{where}: keys {list(actual) if isinstance(actual, dict) else actual!r}"
                    f" are not {list(expected)}"]
        return [d for k in expected for d in json_fits(expected[k], actual[k], f"{where}.{k}")]
    if isinstance(expected, list):
        more = bool(expected) and expected[-1] == ANY
        want = expected[:-1] if more else expected
        if not isinstance(actual, list) or len(actual) < len(want) or (
                not more and len(actual) != len(want)):
            return [f"{where}: {len(actual) if isinstance(actual, list) else actual!r} items, "
                    f"expected {len(want)}{' or more' if more else ''}"]
        return [d for i, e in enumerate(want) for d in json_fits(e, actual[i], f"{where}[{i}]")]
    if isinstance(expected, str) and isinstance(actual, str):
        return [] if glob_fits(expected, actual) else [f"{where}: {actual!r} is not {expected!r}"]
    return [] if expected == actual else [f"{where}: {actual!r} is not {expected!r}"]


def xml_fits(expected: ET.Element, actual: ET.Element, where: str = "") -> list[str]:
    """What differs between an expected XML answer and the actual one."""
    where = f"{where}/{actual.tag}"
    if expected.tag != actual.tag:
        return [f"{where}: <{actual.tag}> is not <{expected.tag}>"]
    want = list(expected)
    more = bool(want) and want[-1].tag == "more"
    want = want[:-1] if more else want
    got = list(actual)
    if len(got) < len(want) or (not more and len(got) != len(want)):
        return [f"{where}: {[c.tag for c in got]} are not {[c.tag for c in want]}"]
    if more and any(c.tag != want[-1].tag for c in got[len(want):]):
        return [f"{where}: more than <{want[-1].tag}>: {[c.tag for c in got]}"]
    if not want and not glob_fits((expected.text or "").strip(), (actual.text or "").strip()):
        return [f"{where}: {actual.text!r} is not {expected.text!r}"]
    return [d for e, a in zip(want, got, strict=False) for d in xml_fits(e, a, where)]


def run(command: str, live: Live, env: dict[str, str]) -> tuple[int, str]:
    """Run one example with bash and curl against the live server: (status, body)."""
    script = command.replace("http://127.0.0.1:8050", live.base)
    # The status after the body, on a line of its own (the docs show curl -sS as is).
    wrapper = f"curl() {{ command curl -w '{STATUS.strip()}%{{http_code}}' \"$@\"; }}\n"
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", wrapper + script],
                          capture_output=True, text=True, timeout=30,
                          env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition(STATUS.strip())
    return int(status), body.rstrip("\n")


@pytest.mark.skipif(shutil.which("curl") is None, reason="make test installs curl")
def test_every_http_door_example_in_the_docs_answers_as_shown(live: Live) -> None:
    found = examples(DOC.read_text(encoding="utf-8"))
    assert len(found) >= 17  # the JSON API; each Open311 call, both formats, refusals
    env: dict[str, str] = {"BUS_KEY": KEYS["bus"]}  # what `zhongnao key add` printed
    wrong: list[str] = []
    for command, fmt, status, expected in found:
        got, body = run(command, live, env)
        first = command.strip().splitlines()[0][:90]
        if got != status:
            wrong.append(f"{first}: status {got}, expected {status}: {body[:300]}")
            continue
        if fmt == "json":
            actual = json.loads(body)
            diffs = json_fits(json.loads(expected), actual)
            if isinstance(actual, list) and actual and isinstance(actual[0], dict) \
                    and "token" in actual[0] and "REF" not in env:
                env |= {"REF": actual[0]["service_request_id"], "TOKEN": actual[0]["token"]}
            if isinstance(actual, dict) and "id" in actual and "ID" not in env:
                env["ID"] = str(actual["id"])
        else:
            assert body.startswith('<?xml version="1.0" encoding="utf-8"?>'), body[:80]
            diffs = xml_fits(ET.fromstring(expected.encode()), ET.fromstring(body.encode()))
        wrong += [f"{first}: {d}" for d in diffs]
    assert not wrong, "\n".join(wrong)


def test_the_matchers_fail_on_a_difference() -> None:
    assert json_fits({"a": "x…"}, {"a": "xyz"}) == [] and json_fits({"a": "…"}, {"a": 4}) == []
    assert json_fits({"a": "x…"}, {"a": "yz"}) and json_fits({"a": 1}, {"a": 1, "b": 2})
    assert json_fits([1, ANY], [1, 2, 3]) == [] and json_fits([1], [1, 2])
    x = ET.fromstring("<r><i><c>…</c></i><more/></r>")
    assert xml_fits(x, ET.fromstring("<r><i><c>1</c></i><i><c>2</c></i></r>")) == []
    assert xml_fits(x, ET.fromstring("<r><j><c>1</c></j></r>"))
    assert xml_fits(ET.fromstring("<r><c>a</c></r>"), ET.fromstring("<r><c>b</c></r>"))
