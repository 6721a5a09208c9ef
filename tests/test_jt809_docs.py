"""Every example of docs/ingest-jt809.md is executed: each hex frame is decoded, encoded
again byte for byte and its body read; the operators file loads; the results table is the
codec's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datasources.feeds.jt809 import bodies as b
from datasources.feeds.jt809 import codec as c
from datasources.towns.files import load_operators

DOC = (Path(__file__).resolve().parent.parent / "docs" / "ingest-jt809.md").read_text("utf-8")
FRAMES = re.findall(r"```hex (.*?)\n(.*?)```", DOC, re.S)


def meta(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.split())


def test_the_doc_has_its_examples() -> None:
    assert len(FRAMES) == 9


@pytest.mark.parametrize("info,hexes", FRAMES, ids=[f"{i}-{m}" for i, (m, _) in
                                                     enumerate(FRAMES)])
def test_each_frame_of_the_doc_decodes_and_encodes_again(info: str, hexes: str) -> None:
    m = meta(info)
    raw = bytes.fromhex(hexes.replace("\n", " "))
    edition = int(m["edition"])
    keys = c.Keys(*map(int, m["keys"].split(","))) if "keys" in m else None
    assert raw[0] == c.HEAD and raw[-1] == c.TAIL
    frame = c.decode_frame(raw[1:-1], edition, keys)
    h = frame.header
    assert h.msg_id == int(m["id"], 16) and h.access_code == 10001
    again = c.encode_frame(h.msg_id, h.access_code, h.serial, frame.body, edition,
                           version=h.version, keys=keys, key=h.key, at=h.at)
    assert again == raw
    if h.msg_id == c.UP_CONNECT_REQ:
        login = b.parse_login(frame.body, edition)
        assert (login.user_id, login.password, login.down_port) == (5001, "zn809pwd", 9809)
    elif h.msg_id == c.UP_CONNECT_RSP:
        assert b.parse_login_reply(frame.body) == (c.LOGIN_BAD_PASSWORD, 0)
    elif h.msg_id == c.UP_EXG_MSG:
        env = b.parse_envelope(frame.body)
        g = b.parse_location(env.data, edition)
        assert (env.plate, g.lon, g.lat, g.speed_kmh, g.heading) == (
            "川F·D72692", 104.468108, 30.573971, 72.0, 90)
    elif h.msg_id == c.UP_WARN_MSG:
        env = b.parse_warn(frame.body, edition)
        if env.data_type == c.UP_WARN_MSG_ADPT_INFO:
            alarm = b.parse_alarm(env.data, edition, env.plate, env.colour)
            assert (alarm.warn_type, alarm.info_id, alarm.content) == (3, 7, "报警")
        else:
            assert b.parse_urge_ack(env.data) == (18, 1)
    elif h.msg_id == c.DOWN_WARN_MSG:
        env = b.parse_warn(frame.body, edition)
        urge = b.parse_urge(env.data, edition)
        assert (env.data_type, urge.supervision_id, urge.level, urge.supervisor) == (
            c.DOWN_WARN_MSG_URGE_TODO_REQ, 18, 0, "值班员王芳")
    elif keys is not None:
        assert frame.body == bytes.fromhex("01020304") and h.encrypted


def test_the_operators_file_of_the_doc_loads(tmp_path: Path) -> None:
    block = re.search(r"```json operators\n(.*?)```", DOC, re.S)
    assert block is not None
    path = tmp_path / "operators.json"
    path.write_text(block.group(1), encoding="utf-8")
    ops = load_operators(path)
    first, second = ops.get(10001), ops.get(20002)
    assert first is not None and second is not None
    assert first.plate("川FD72692") == "川F·D72692" and first.ips == {"127.0.0.1"}
    assert second.edition == 2019 and second.keys == (30_000_000, 20_000_000, 20_000_000)
    # A plate on two lists is refused at start, naming the file.
    path.write_text(block.group(1).replace("川F·Y00001", "川F·D72692"), encoding="utf-8")
    with pytest.raises(ValueError, match="two lists|lists of"):
        load_operators(path)


def test_the_results_table_of_the_doc_is_the_codecs() -> None:
    rows = re.findall(r"^\| (\d) \| (\S+) \|", DOC, re.M)
    assert rows and {int(n): zh for n, zh in rows} == {
        n: c.LOGIN_RESULTS[n][0] for n in range(5)}
