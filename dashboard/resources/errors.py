"""Refusals of resource steps, worded for the log (English) and for the officer (Chinese)."""

from __future__ import annotations


class StockError(ValueError):
    """A stock movement that would take a quantity below zero."""


TEAM_STATUS_ZH = {"standby": "待命", "en_route": "出动", "on_scene": "到场",
                  "returning": "返回", "resting": "休整"}
DISPATCH_STATE_ZH = {"reserved": "已预留", "departed": "已出发", "returned": "已归还",
                     "cancelled": "已取消"}


class ResourceError(ValueError):
    """A resource step the rules refuse (busy team, wrong dispatch state, missing reason)."""

    def __init__(self, message: str, zh: str | None = None):
        super().__init__(message)
        self.zh = zh


def short_stock(message: str, zh: str) -> StockError:
    """A StockError (the store's, so intake counts it as stock_negative) with Chinese text."""
    exc = StockError(message)
    exc.zh = zh  # type: ignore[attr-defined]
    return exc


def says(exc: Exception, lang: str) -> str:
    """What to tell the officer: the Chinese wording on a zh screen when there is one."""
    zh = getattr(exc, "zh", None)
    return zh if lang == "zh" and zh else str(exc)
