"""The incidents' history read as a log (datasources/sql/event_log.py): what a hub that
missed messages catches up from; and the wall's gap badge it drives (zh and en)."""

from __future__ import annotations

from datetime import UTC, datetime

from dashboard.messages import IncidentReport
from dashboard.screens.live import LiveState
from dashboard.screens.views import gap_line
from datasources.sql.event_log import OVERLAP, EventLog


def _report(services, title: str):  # type: ignore[no-untyped-def]
    report = IncidentReport(source="grid_worker", category="disputes", title=title,
                            lon=104.45, lat=30.55)
    return services.intake.handle(report).event.incident


def test_the_log_gives_the_steps_after_the_last_seen_row_and_their_work_orders(services):
    log = EventLog(services.store)
    start = log.last_id()
    first = _report(services, "日志一")
    second = _report(services, "日志二")
    seen = log.last_id()
    assert seen >= start + 2
    third = _report(services, "日志三")
    found = log.since(seen)
    assert found.complete and found.rows >= 1
    assert found.last_id == log.last_id()
    titles = [v.title for v in found.incidents]
    assert "日志三" in titles
    # The newest step last: the order the steps were committed in.
    assert titles[-1] == "日志三"
    # A row re-read from the overlap is harmless (the same current view); nothing newer:
    again = log.since(found.last_id)
    assert again.rows == 0 and again.last_id == found.last_id
    assert {v.id for v in again.incidents} <= {first.id, second.id, third.id} | {
        v.id for v in services.store.live_incidents()}
    # Rows hidden behind the overlap are read again, not skipped.
    assert {v.title for v in log.since(seen - 1).incidents} >= {"日志二", "日志三"}
    assert OVERLAP > 0


def test_the_gap_badge_says_since_when_then_how_many_steps_and_then_nothing():
    state = LiveState()
    assert gap_line(state, "zh")["text"] == ""
    assert state.open_gap(datetime(2026, 12, 6, 3, 4, 5, tzinfo=UTC))
    assert not state.open_gap(datetime(2026, 12, 6, 3, 4, 9, tzinfo=UTC))  # the first time
    assert gap_line(state, "zh") == {"text": "断档：11:04:05 起的消息补齐中", "tone": "gap warn"}
    assert gap_line(state, "en")["text"] == "Gap since 11:04:05: catching up"
    state.apply_catch_up(seq=7, incidents=[], rows=3, rejected={})
    assert state.seq == 7 and state.gap_since is None
    assert gap_line(state, "zh") == {"text": "断档已补齐 3 条", "tone": "gap ok"}
    assert gap_line(state, "en")["text"] == "Gap filled: 3 steps caught up"
    state.caught_up = None
    assert gap_line(state, "en")["text"] == ""
