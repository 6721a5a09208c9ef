"""12345 / 网络理政 both ways (issue 15): what the hotline platform is told of each step of a
work order it sent us, how the message is signed, how its 回访 result reads, and the
schedule of retries. Pure: the outbox (datasources/sql/notify.py) queues the messages in the
same transaction as the step, and the sender (datasources/outbound/senders.py) posts them.

The hotline's own order number is the report's `source_ref` (source `hotline`): the number it
queries by and the number every message carries."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from dashboard.incidents.lifecycle import ACTIONS, STATES
from dashboard.timeutil import LOCAL_TZ, as_utc

HOTLINE = "hotline"  # the source, and the outbox's channel
ACTOR = "12345热线"  # who takes the 回访 step in the history
# The steps the hotline is told of: the report itself (with our ref), a merge into another
# work order or a split out of one, and every action of the loop. The resource desk's own
# history rows (stations, teams, supplies) stay inside.
TOLD_STEPS: frozenset[str] = frozenset({"report", "merge", "split", *ACTIONS})
# Retries of an undelivered step: longer than a guardian's SMS, since a platform may be down
# for hours and the steps after one wait for it (ordered per order number).
BACKOFF_S: tuple[float, ...] = (10.0, 60.0, 300.0, 1800.0, 3600.0, 6 * 3600.0, 12 * 3600.0,
                                24 * 3600.0)
SIGNATURE_HEADER = "X-Zn-Signature"
# The outbox's recipient column holds 40 characters; longer order numbers are hashed.
_RECIPIENT_MAX = 40


def recipient(number: str) -> str:
    """The outbox's recipient for one hotline order: the steps of one recipient go out in
    order, the next only after the one before was delivered (or given up)."""
    key = f"{HOTLINE}:{number}"
    if len(key) <= _RECIPIENT_MAX:
        return key
    return f"{HOTLINE}:#{hashlib.sha256(number.encode()).hexdigest()[:30]}"


_OWN_STEPS = {"report": ("上报受理登记", "Registered"), "merge": ("并入已有工单", "Merged"),
              "split": ("拆分为独立工单", "Split off")}


def step_names(step: str) -> tuple[str, str]:
    """A told step's name in Chinese and English."""
    act = ACTIONS.get(step)
    return (act.zh, act.en) if act is not None else _OWN_STEPS.get(step, (step, step))


def step_body(*, number: str, ref: str, seq: int, step: str, from_state: str | None,
              state: str, at: datetime, note: str, deadline_at: datetime | None,
              satisfaction: int | None = None) -> str:
    """The JSON the hotline gets for one step: its own number, our work-order ref, the
    step's place among the steps it was told (1, 2, …: a gap means one was given up), the
    step and the state in both languages, the time in the town's zone, the note."""
    zh, en = step_names(step)
    body: dict[str, Any] = {
        "hotline_ref": number, "ref": ref, "seq": seq, "step": step,
        "step_name": zh, "step_name_en": en, "from_state": from_state, "state": state,
        "state_name": STATES.get(state, (state, state))[0],
        "at": as_utc(at).astimezone(LOCAL_TZ).isoformat(timespec="seconds"), "note": note,
        "deadline_at": as_utc(deadline_at).astimezone(LOCAL_TZ).isoformat(timespec="seconds")
        if deadline_at else None,
    }
    if satisfaction is not None:
        body["satisfaction"] = satisfaction
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def signature(secret: str, body: bytes) -> str:
    """The header value over the exact bytes sent: sha256=<hex HMAC-SHA256(secret, body)>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What the hotline's receiver checks (compared in constant time)."""
    return bool(header) and hmac.compare_digest(signature(secret, body), str(header))


# ---------------------------------------------------------------- 回访 (follow-up) result
# A bare yes/no maps onto the 1–5 scale the loop keeps (rules.SATISFACTION_SCORES):
# 满意 5, 不满意 2 (the evaluation counts 4 and 5 as satisfied).
SATISFIED_SCORE, UNSATISFIED_SCORE = 5, 2
NO_RESULT = "score (1-5) or satisfied (true/false) is required"


def visit_note(note: str, satisfaction: int) -> str:
    """The 回访 row's note: the platform's words, prefixed so the history says who."""
    return ("12345回访：" + (note or ("满意" if satisfaction >= 4 else "不满意")))[:500]


def visit_score(score: int | None, satisfied: bool | None) -> int:
    """The score a work order is closed with: the hotline's 1–5, else 满意 5 / 不满意 2."""
    if score is not None:
        return score
    return SATISFIED_SCORE if satisfied else UNSATISFIED_SCORE
