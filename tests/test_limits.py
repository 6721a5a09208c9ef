"""Bodies are bounded before anything reads them: an oversized request gets a 413 in the
requester's language and costs the server nothing, whoever sends it (a kiosk once posted
52 MB to Dash's callback route, parsed in full before the role check)."""

from __future__ import annotations

from collections.abc import Iterator

from datasources.gate.limits import MAX_BODY_BYTES
from tests.auth_helpers import sign_in

JSON = {"content-type": "application/json"}


def test_an_oversized_callback_body_is_refused_with_413_in_the_requesters_language(client):
    headers = sign_in(client, client.zn, "大屏一", "display")
    big = b'{"output": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    r = client.post("/_dash-update-component", content=big, headers={**headers, **JSON})
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "too_large" and "请求" in r.json()["message"]
    en = client.post("/_dash-update-component", content=big,
                     headers={**headers, **JSON, "accept-language": "en-US"})
    assert en.status_code == 413 and "too large" in en.json()["message"]


def test_a_body_streamed_without_a_length_is_cut_at_the_limit(client):
    headers = sign_in(client, client.zn, "大屏一", "display")

    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // (1 << 20) + 2):
            yield b"x" * (1 << 20)

    r = client.post("/_dash-update-component", content=chunks(), headers={**headers, **JSON})
    assert r.status_code == 413, r.text


def test_a_body_within_the_limit_goes_on_as_before(client):
    headers = sign_in(client, client.zn, "值班员", "officer")
    r = client.post("/api/v1/incidents", content=b"{not json", headers={**headers, **JSON})
    assert r.status_code == 400  # read and refused by the door itself, not by the limit
