"""Time rules: store UTC, show Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# A dated thing (a supply's expiry, a bus's inspection, a driver's licence) due within this
# many days of today (Asia/Shanghai calendar) is flagged: the one window of every expiry rule.
EXPIRY_DAYS = 30


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A datetime as aware UTC (naive values from SQLite are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local_day_start(now: datetime) -> datetime:
    """UTC instant of the most recent local (Asia/Shanghai) midnight before `now`."""
    local = as_utc(now).astimezone(LOCAL_TZ)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC)


def local_month_start(now: datetime) -> datetime:
    """UTC instant of the start of the local month containing `now`."""
    local = as_utc(now).astimezone(LOCAL_TZ)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def hhmm(value: datetime, seconds: bool = False) -> str:
    """Local wall-clock HH:MM (HH:MM:SS with `seconds`) of a UTC instant."""
    return as_utc(value).astimezone(LOCAL_TZ).strftime("%H:%M:%S" if seconds else "%H:%M")


def age_text(then: datetime, now: datetime, lang: str) -> str:
    """Short age like '3分钟前' / '3 min ago'."""
    seconds = max(0, int((as_utc(now) - as_utc(then)).total_seconds()))
    if seconds < 60:
        return "刚刚" if lang == "zh" else "just now"
    if seconds < 3600:
        n = seconds // 60
        return f"{n}分钟前" if lang == "zh" else f"{n} min ago"
    if seconds < 86400:
        n = seconds // 3600
        return f"{n}小时前" if lang == "zh" else f"{n} h ago"
    n = seconds // 86400
    return f"{n}天前" if lang == "zh" else f"{n} d ago"


def in_local_day(value: datetime, now: datetime) -> bool:
    """True if `value` falls in the local day of `now`."""
    start = local_day_start(now)
    return start <= as_utc(value) < start + timedelta(days=1)


def local_date(now: datetime) -> date:
    """The local (Asia/Shanghai) calendar day of a UTC instant."""
    return as_utc(now).astimezone(LOCAL_TZ).date()


def iso_date(value: str | None) -> date | None:
    """An ISO date (YYYY-MM-DD, a longer ISO time is cut to its day); None when absent or bad."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def days_left(due: str, now: datetime) -> int:
    """Days from today (Asia/Shanghai) to an ISO date (negative once it has passed)."""
    return (date.fromisoformat(due[:10]) - local_date(now)).days


def expiring(due: str | None, now: datetime, days: int = EXPIRY_DAYS) -> bool:
    """True when an ISO date falls within `days` of today (Asia/Shanghai), or has passed."""
    when = iso_date(due)
    return when is not None and (when - local_date(now)).days <= days
