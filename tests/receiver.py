"""Local HTTP servers standing in for outside systems the product sends to (a town's SMS
gateway, a WeCom group robot): each records every POST and answers from a script, as the
provider would; the product's sender is the real code."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.browser import free_port

SMS_OK = (200, {"code": 0, "msg": "ok"})
WECOM_OK = (200, {"errcode": 0, "errmsg": "ok"})


class Receiver:
    """Records each POST ({at, path, type, body}: JSON or form; raw: its bytes, headers)
    and answers from `answers`
    (status, JSON) in turn, then with the last one. With `secret` it checks an SMS's
    signature as the provider documents it (hex HMAC-SHA256 over the parameters sorted as
    k=v&…, the `sign` left out) and answers code 401 when it is wrong."""

    def __init__(self, answers: list[tuple[int, dict[str, Any]]], secret: str = ""):
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                kind = self.headers.get("Content-Type", "")
                if kind.startswith("application/json"):
                    got: dict[str, Any] = json.loads(body)
                elif kind.startswith("application/x-www-form-urlencoded"):
                    got = dict(urllib.parse.parse_qsl(body.decode()))
                else:  # a document (CAP XML, issue 15): kept as sent, in `raw`
                    got = {}
                receiver.requests.append({"at": time.time(), "path": self.path, "type": kind,
                                          "body": got, "raw": body,
                                          "headers": dict(self.headers.items())})
                status, answer = (receiver.answers.pop(0) if len(receiver.answers) > 1
                                  else receiver.answers[0])
                if secret and status == 200:
                    signed = {k: v for k, v in got.items() if k != "sign"}
                    text = "&".join(f"{k}={signed[k]}" for k in sorted(signed))
                    want = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
                    if got.get("sign") != want:
                        answer = {"code": 401, "msg": "bad signature"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        """The text of each message, SMS (`content`) or WeCom (`text.content`)."""
        out = []
        for r in self.requests:
            b = r["body"]
            out.append(b["content"] if isinstance(b.get("content"), str)
                       else b.get("text", {}).get("content", ""))
        return out

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


class SmsGateway(Receiver):
    """An SMS gateway that accepts every message unsigned, at `url` (…/sms/send)."""

    def __init__(self) -> None:
        super().__init__([SMS_OK])
        self.url = f"{self.url}/sms/send"

    @property
    def received(self) -> list[tuple[float, dict[str, str]]]:
        """(arrival time, form body) of each SMS."""
        return [(r["at"], r["body"]) for r in self.requests]

    def config(self, centre_phone: str = "0838-6201234") -> dict[str, Any]:
        """The ZN_NOTIFY_FILE contents pointing the product's SMS sender here (unsigned)."""
        return {"centre_phone": centre_phone,
                "sms": {"url": self.url, "sign": "none", "ok_field": "code", "ok_value": 0}}

    def texts_to(self, phone: str) -> list[str]:
        """The texts sent to `phone`, in arrival order."""
        return [b.get("content", "") for _, b in self.received if b.get("phone") == phone]
