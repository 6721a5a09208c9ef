"""Times a test sets "a while ago" that must stay on today's Beijing date."""

from __future__ import annotations

from datetime import datetime, timedelta

from dashboard.timeutil import local_day_start


def earlier_today(now: datetime, minutes: float) -> datetime:
    """`minutes` before `now`, but not before Beijing midnight: in the first half hour of the
    day a test's "half an hour ago" would be yesterday, and today's figures leave it out."""
    return max(now - timedelta(minutes=minutes), local_day_start(now))
