"""A local HTTP server standing in for a town's SMS gateway in browser journeys: it records
each form POST and answers as the provider does on success (the product's sender is real)."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.browser import free_port


class SmsGateway:
    """Records (arrival time, form body) of each SMS sent to it; answers {"code": 0}."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict[str, str]]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                gateway.received.append(
                    (time.time(), dict(urllib.parse.parse_qsl(body.decode()))))
                data = json.dumps({"code": 0, "msg": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def config(self, centre_phone: str = "0838-6201234") -> dict[str, Any]:
        """The ZN_NOTIFY_FILE contents pointing the product's SMS sender here (unsigned)."""
        return {"centre_phone": centre_phone,
                "sms": {"url": self.url, "sign": "none", "ok_field": "code", "ok_value": 0}}

    def texts_to(self, phone: str) -> list[str]:
        """The texts sent to `phone`, in arrival order."""
        return [b.get("content", "") for _, b in self.received if b.get("phone") == phone]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
