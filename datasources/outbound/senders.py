"""The two channels' senders (issue 13): a generic SMS gateway over HTTP and the WeCom group
robot webhook; and the loop that sends what the outbox (datasources/sql/notify.py) holds,
retrying on its schedule. A sender raises SendError for anything but a delivery the provider
confirmed; the loop records the outcome either way and never stops on one."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any, Protocol

from dashboard.alerts.cap import CAP_MEDIA
from dashboard.alerts.cap import CHANNEL as CAP_CHANNEL
from dashboard.buses.notify import (
    NotifyConfig,
    SmsTemplate,
    sms_ok,
    sms_params,
    wecom_body,
    wecom_ok,
)
from dashboard.incidents import hotline
from dashboard.timeutil import utcnow
from datasources.sql.notify import ORDERED, Outbox

log = logging.getLogger(__name__)
TIMEOUT_S = 5.0
ROUNDS = 50  # at most this many rounds back to back in one run_once


class SendError(Exception):
    """Not delivered; the text says why (kept in the outbox's log)."""


class Sender(Protocol):
    def send(self, address: str, text: str) -> None: ...


def _send(url: str, data: bytes, content_type: str) -> bytes:
    """POST `data`; the answer's body (at most 64 KiB), SendError for anything but a 2xx."""
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 - town's URL
            return bytes(resp.read(65536))
    except urllib.error.HTTPError as exc:
        raise SendError(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SendError(f"unreachable: {exc}") from exc


def _post(url: str, data: bytes, content_type: str) -> dict[str, Any]:
    raw = _send(url, data, content_type)
    try:
        answer = json.loads(raw or b"{}")
    except ValueError as exc:
        raise SendError("the answer is not JSON") from exc
    if not isinstance(answer, dict):
        raise SendError("the answer is not a JSON object")
    return answer


class WeComRobot:
    """Posts to a WeCom group robot's webhook URL (the address of a route's parent group)."""

    def send(self, address: str, text: str) -> None:
        answer = _post(address, json.dumps(wecom_body(text), ensure_ascii=False).encode(),
                       "application/json; charset=utf-8")
        if not wecom_ok(answer):
            raise SendError(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"[:200])


class SmsGateway:
    """Posts a signed form to the town's SMS provider (the address is the guardian's phone)."""

    def __init__(self, template: SmsTemplate):
        self.template = template

    def send(self, address: str, text: str) -> None:
        params = sms_params(self.template, address, text, utcnow(), secrets.token_hex(8))
        answer = _post(self.template.url, urllib.parse.urlencode(params).encode(),
                       "application/x-www-form-urlencoded; charset=utf-8")
        if not sms_ok(self.template, answer):
            raise SendError(f"refused: {json.dumps(answer, ensure_ascii=False)}"[:200])


class CapPush:
    """Posts a warning's CAP XML to an endpoint (issue 15, ZN_CAP_PUSH_URLS) as
    application/cap+xml; any 2xx answer is a delivery, whatever its body."""

    def send(self, address: str, text: str) -> None:
        _send(address, text.encode("utf-8"), f"{CAP_MEDIA}; charset=utf-8")


class HotlineWebhook:
    """Posts one step of a hotline work order to the 12345 platform's webhook (the address)
    as the JSON the outbox holds, signed: X-Zn-Signature is sha256=<hex HMAC-SHA256 of the
    exact body bytes with the shared secret>. Any 2xx answer is delivered; anything else
    (a 500, a refusal, no answer) is tried again on the hotline's schedule."""

    def __init__(self, secret: str):
        self.secret = secret

    def send(self, address: str, text: str) -> None:
        body = text.encode()
        req = urllib.request.Request(address, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            hotline.SIGNATURE_HEADER: hotline.signature(self.secret, body)})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 - town's URL
                resp.read(65536)
        except urllib.error.HTTPError as exc:
            raise SendError(f"HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SendError(f"unreachable: {exc}") from exc


def senders_for(config: NotifyConfig, cap: bool = False,
                hotline_secret: str = "") -> dict[str, Sender]:
    """The senders a town's configuration gives (`cap`: warnings are pushed somewhere; the
    hotline's when its secret is set)."""
    out: dict[str, Sender] = {CAP_CHANNEL: CapPush()} if cap else {}
    if config.sms is not None:
        out["sms"] = SmsGateway(config.sms)
    if config.wecom:
        out["wecom"] = WeComRobot()
    if hotline_secret:
        out[hotline.HOTLINE] = HotlineWebhook(hotline_secret)
    return out


class Notifier:
    """Sends what is due, one message at a time, in the order it was queued."""

    def __init__(self, outbox: Outbox, senders: dict[str, Sender], period_s: float = 1.0):
        self.outbox = outbox
        self.senders = senders
        self.period_s = period_s

    def run_once(self, now: datetime | None = None) -> int:
        """Send every due message once; returns how many were delivered. A delivered
        message of an ordered channel (the hotline's steps) lets the next of its recipient
        go: another round follows at once, until one delivers none of them."""
        delivered = 0
        for _ in range(ROUNDS):
            got, ordered = self._round(now)
            delivered += got
            if not ordered:
                break
        return delivered

    def _round(self, now: datetime | None) -> tuple[int, bool]:
        delivered, ordered = 0, False
        for msg in self.outbox.claim(now):
            sender = self.senders.get(msg.channel)
            try:
                if sender is None:
                    raise SendError(f"no {msg.channel} channel configured")
                sender.send(msg.address, msg.body)
            except SendError as exc:
                again = self.outbox.failed(msg.id, str(exc))
                log.warning("notification %s to %s not delivered (%s); %s", msg.id,
                            msg.recipient, exc, f"again at {again:%H:%M:%S}" if again
                            else "given up")
                continue
            self.outbox.sent(msg.id)
            delivered += 1
            ordered = ordered or msg.channel in ORDERED
        return delivered, ordered

    async def run(self) -> None:
        """Loop until cancelled: a round each `period_s` (retries fall due), and at once when
        this process queues a message; a failure of the outbox itself is logged and retried."""
        wake = self.outbox.wake
        while True:
            wake.clear()
            try:
                await asyncio.to_thread(self.run_once)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notification round failed; retrying")
            try:
                await asyncio.to_thread(wake.wait, self.period_s)
            except asyncio.CancelledError:
                wake.set()  # the thread waiting on it ends now, not a period later
                raise
