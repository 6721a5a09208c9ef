"""What guardians are told about their child's bus, and how it is sent (issue 13): the
messages, the two channels' request shapes (a generic SMS gateway over HTTP and the WeCom
group robot's webhook), the retry schedule and the per-recipient rate. Pure: the senders
(datasources/outbound/) and the outbox (datasources/sql/notify.py) read these rules.

The WeCom group robot API: POST JSON ``{"msgtype": "text", "text": {"content": ...}}`` (or
``"markdown"``) to the group's webhook URL; the answer is ``{"errcode": 0, "errmsg": "ok"}``
on success, a non-zero errcode otherwise (45009: over the robot's 20 messages a minute)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dashboard.alerts.cap import CHANNEL as CAP
from dashboard.buses.tracking import drives_backwards
from dashboard.i18n.text import t
from dashboard.timeutil import LOCAL_TZ

# What a guardian (by SMS) or a route's parent group (by WeCom) is told.
# Issue 15: the outbox also carries warnings (CAP XML) to the endpoints a town configures.
KINDS: tuple[str, ...] = ("boarded", "at_school", "alighted", "delayed", "bus_alert", CAP,
                         "callup")  # issue 16: 应急抽调 to a grid worker by SMS
CHANNELS: tuple[str, ...] = ("sms", "wecom", CAP)
# Outcomes of a message, every one kept in the outbox's log.
STATUSES: tuple[str, ...] = ("queued", "sending", "sent", "failed", "muted", "limited")

BACKOFF_S: tuple[float, ...] = (10.0, 60.0, 300.0, 1800.0)  # after the 1st, 2nd, … failure
MAX_TRIES = len(BACKOFF_S) + 1
RATE_LIMIT = 8  # messages to one recipient …
RATE_WINDOW = timedelta(minutes=10)  # … within this window; more are kept as `limited`
MAX_BODY = 480  # characters: an SMS of several parts, well under WeCom's 2,048 bytes


@dataclass(frozen=True)
class Note:
    """One event worth telling: `child` is the name shown to the child's own guardians
    (never sent to a group); `stop` a stop's display name; `at` aware UTC."""

    kind: str
    at: datetime
    child: str = ""
    stop: str = ""
    plate: str = ""
    route: str = ""
    minutes: int = 0
    centre_phone: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown notification kind {self.kind!r}")
        if self.at.tzinfo is None:
            raise ValueError("a notification's time must be aware")


def compose(note: Note, lang: str) -> str:
    """The message, calm and short, in the guardian's language: 【校车】… 07:12 …."""
    clock = note.at.astimezone(LOCAL_TZ).strftime("%H:%M")
    text = t(f"notify_{note.kind}", lang).format(
        child=note.child, stop=note.stop, time=clock, plate=note.plate, route=note.route,
        minutes=note.minutes, phone=note.centre_phone or "12345")
    return (t("notify_prefix", lang) + text)[:MAX_BODY]


def wecom_body(text: str, markdown: bool = False) -> dict[str, Any]:
    """The JSON a WeCom group robot takes."""
    if markdown:
        return {"msgtype": "markdown", "markdown": {"content": text}}
    return {"msgtype": "text", "text": {"content": text}}


def wecom_ok(answer: Mapping[str, Any]) -> bool:
    """A robot's answer means delivered only with errcode 0."""
    return answer.get("errcode") == 0


@dataclass(frozen=True)
class SmsTemplate:
    """A generic SMS provider over HTTP, as a town's provider documents it: the URL, the
    names of its parameters, fixed parameters (account, sign name, template id) and how a
    request is signed. `sign` is ``hmac-sha256`` (hex of HMAC-SHA256 with `secret` over
    the parameters sorted by name as ``k=v&k=v``), ``md5`` (hex MD5 of that string followed
    by `secret`) or ``none``."""

    url: str
    phone_param: str = "phone"
    text_param: str = "content"
    time_param: str = "timestamp"
    nonce_param: str = "nonce"
    sign_param: str = "sign"
    sign: str = "hmac-sha256"
    secret: str = ""
    fixed: Mapping[str, str] = field(default_factory=dict)
    ok_field: str = "code"  # the answer's field …
    ok_value: Any = 0  # … and its value on success

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SmsTemplate:
        """From the `sms` object of the notification file; ValueError names what is wrong."""
        if not isinstance(raw, Mapping):
            raise ValueError("sms: an object is expected")
        url = str(raw.get("url", ""))
        if not url.startswith(("http://", "https://")):
            raise ValueError("sms.url: an http(s) URL is expected")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"sms: unknown fields {sorted(unknown)}")
        values = dict(raw)
        values["fixed"] = {str(k): str(v) for k, v in dict(raw.get("fixed", {})).items()}
        tpl = cls(**values)
        if tpl.sign not in ("hmac-sha256", "md5", "none"):
            raise ValueError("sms.sign: hmac-sha256, md5 or none")
        if tpl.sign != "none" and not tpl.secret:
            raise ValueError("sms.secret: a signed template needs its secret")
        return tpl


def canonical(params: Mapping[str, str]) -> str:
    """The string a provider signs: parameters sorted by name, ``k=v`` joined by ``&``."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params))


def signature(tpl: SmsTemplate, params: Mapping[str, str]) -> str:
    """The signature of `params` (without the signature itself) under `tpl`."""
    text = canonical(params)
    if tpl.sign == "hmac-sha256":
        return hmac.new(tpl.secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    if tpl.sign == "md5":
        return hashlib.md5((text + tpl.secret).encode()).hexdigest()  # noqa: S324 - provider's
    return ""


def sms_params(tpl: SmsTemplate, phone: str, text: str, at: datetime,
               nonce: str) -> dict[str, str]:
    """The form parameters of one SMS, signed."""
    params = dict(tpl.fixed)
    params.update({tpl.phone_param: phone, tpl.text_param: text,
                   tpl.time_param: str(int(at.timestamp())), tpl.nonce_param: nonce})
    if tpl.sign != "none":
        params[tpl.sign_param] = signature(tpl, params)
    return params


def sms_ok(tpl: SmsTemplate, answer: Mapping[str, Any]) -> bool:
    """The provider's answer means accepted."""
    return answer.get(tpl.ok_field) == tpl.ok_value


def retry_at(tries: int, failed_at: datetime,
             backoff: tuple[float, ...] = BACKOFF_S) -> datetime | None:
    """When to try again after the `tries`-th failure; None once it has failed for good."""
    if tries < 1 or tries > len(backoff):
        return None
    return failed_at + timedelta(seconds=backoff[tries - 1])


def over_rate(recent: Iterable[datetime], now: datetime, limit: int = RATE_LIMIT,
              window: timedelta = RATE_WINDOW) -> bool:
    """One more message to a recipient who got `recent` ones would be too many."""
    return sum(1 for at in recent if now - at < window) >= limit


@dataclass(frozen=True)
class NotifyConfig:
    """The town's notification channels (the file ZN_NOTIFY_FILE names): the centre's
    phone given in messages, an SMS provider for guardians, and per route the WeCom group
    robot of its parents. Without a file nothing is sent (messages are still composed)."""

    centre_phone: str = ""
    sms: SmsTemplate | None = None
    wecom: Mapping[str, str] = field(default_factory=dict)  # route id -> webhook URL

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> NotifyConfig:
        if not isinstance(raw, Mapping):
            raise ValueError("the notification file holds an object")
        unknown = set(raw) - {"centre_phone", "sms", "wecom"}
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        wecom = raw.get("wecom", {})
        if not isinstance(wecom, Mapping):
            raise ValueError("wecom: an object of route id -> webhook URL is expected")
        for route, url in wecom.items():
            if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
                raise ValueError(f"wecom.{route}: an http(s) URL is expected")
        sms = raw.get("sms")
        return cls(centre_phone=str(raw.get("centre_phone", "")),
                   sms=SmsTemplate.from_dict(sms) if sms is not None else None,
                   wecom={str(k): str(v) for k, v in wecom.items()})


# The bus alerts a route's parent group is told of, as which message; the others (overspeed,
# off-route, an unscheduled stop) are the centre's to handle and would only alarm parents.
PARENT_NOTICES: Mapping[str, str] = {"late_departure": "delayed", "sos": "bus_alert",
                                     "signal_lost": "bus_alert"}


def parent_notice(alert_kind: str, plate: str, route: str, started_at: datetime,
                  late_s: float | None, centre_phone: str) -> Note | None:
    """What a route's parent group is told of a bus alert, if anything. Never a child's
    name: the group holds every family of the route."""
    kind = PARENT_NOTICES.get(alert_kind)
    if kind is None:
        return None
    minutes = int(round((late_s or 0) / 60)) if kind == "delayed" else 0
    return Note(kind, started_at, plate=plate, route=route, minutes=minutes,
                centre_phone=centre_phone)


def guardian_notice(event: str, direction: str) -> str | None:
    """What a child's guardians are told of a boarding event: 上车 (boarded); getting off a
    trip to school is 到校 (at school), off a trip home 下车 (alighted); 未到 (absent) is the
    school's to follow up, not a message."""
    if event == "board":
        return "boarded"
    if event == "alight":
        return "alighted" if drives_backwards(direction) else "at_school"
    return None


def guardian_recipient(pupil_id: str, seq: int) -> str:
    """A guardian by id: the school's pupil id and the guardian's place in the register (a
    re-imported register keeps both, so a mute survives it)."""
    return f"guardian:{pupil_id}/{seq}"
