"""应急抽调 (issue 16), pure: which of the offered off-duty workers an officer may call up
for an incident, what they are told, what they may answer, and how the answers add up.
The list offered is the rota's (dashboard/grids/rota.callup); the role step is CALLUP in
dashboard/roles.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.i18n.text import t

MAX_CALLUP = 12  # as many as the call-up list offers
ANSWERS: tuple[str, ...] = ("coming", "cannot")  # 到岗 / 无法到岗


class CallupError(ValueError):
    """A call-up or an answer that cannot be taken; `code` and `params` give the reader's
    words (dashboard/i18n/rota_text.py err_<code>)."""

    def __init__(self, message: str, code: str, **params: object):
        super().__init__(message)
        self.code = code
        self.params = params


def pick_callees(offered: Iterable[Mapping[str, Any]], chosen: object) -> list[dict[str, Any]]:
    """The workers to call up: `chosen` ids (from the browser: any shape) each one of the
    `offered` list, at least one, at most MAX_CALLUP, each once; CallupError otherwise."""
    by_id = {str(w["id"]): dict(w) for w in offered}
    if not isinstance(chosen, list) or not chosen:
        raise CallupError("pick at least one worker", "callup_none")
    if len(chosen) > MAX_CALLUP:
        raise CallupError(f"at most {MAX_CALLUP} at once", "callup_many", n=MAX_CALLUP)
    out: list[dict[str, Any]] = []
    for wid in chosen:
        if not isinstance(wid, str) or wid not in by_id:
            raise CallupError(f"{str(wid)[:24]!r} is not on the call-up list",
                              "callup_not_offered", worker=str(wid)[:24])
        if all(w["id"] != wid for w in out):
            out.append(by_id[wid])
    return out


def check_answer(answer: object) -> str:
    """An answer a worker may give: coming or cannot."""
    if answer not in ANSWERS:
        raise CallupError("answer coming or cannot", "callup_answer")
    return str(answer)


def callup_text(ref: str, title: str, grid: str, lang: str) -> str:
    """What a called-up worker is told (by SMS, and on their /field page)."""
    return t("cu_sms", lang).format(ref=ref, title=title[:40], grid=grid)


@dataclass(frozen=True)
class Tally:
    """How a call-up stands: called, coming, cannot, not answered yet."""

    called: int
    coming: int
    cannot: int

    @property
    def waiting(self) -> int:
        """Called and not answered yet."""
        return self.called - self.coming - self.cannot


def tally(answers: Iterable[str | None]) -> Tally:
    """The answers of the members of call-ups (None: not answered)."""
    seen = list(answers)
    return Tally(len(seen), seen.count("coming"), seen.count("cannot"))
