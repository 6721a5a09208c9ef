"""Figures as text: one formatter per kind of figure, in both languages."""

from __future__ import annotations


def duration_text(hours: float | None, lang: str) -> str:
    """'45分钟' under an hour, '3.5小时' above ('45 min', '3.5 h'); '—' for none."""
    if hours is None:
        return "—"
    if hours < 1:
        minutes = round(hours * 60)
        return f"{minutes}分钟" if lang == "zh" else f"{minutes} min"
    return f"{hours:.1f}小时" if lang == "zh" else f"{hours:.1f} h"
