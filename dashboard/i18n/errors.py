"""The user's text of a coded refusal (dashboard/incidents/errors.py) in zh or en.

Screens and doors call `error_text`; none reads an exception's message. Parameters that are
codes (a state, an action, a level, a role) are shown by their labels.
"""

from __future__ import annotations

from typing import Any

from dashboard.i18n.text import TEXT, state_label, t
from dashboard.incidents.errors import LoopError
from dashboard.incidents.lifecycle import ACTIONS, LEVELS
from dashboard.roles import ROLE_LABELS


def action_text(action: str, lang: str) -> str:
    """An action's label (接单, Acknowledge...), or the code when unknown."""
    act = ACTIONS.get(action)
    if act is None:
        return action
    return act.en if lang == "en" else act.zh


def _label(key: str, value: Any, lang: str) -> str:
    text = str(value)
    if key in ("state", "target"):
        return state_label(text, lang)
    if key == "action":
        return action_text(text, lang).lower() if lang == "en" else action_text(text, lang)
    if key == "level" and text in LEVELS:
        return LEVELS[text][1 if lang == "en" else 0]
    if key == "role" and text in ROLE_LABELS:
        return ROLE_LABELS[text][1 if lang == "en" else 0]
    if key == "name" and f"input_{text}" in TEXT:  # a typed field's name, in the language
        return t(f"input_{text}", lang)
    return text


class _Values(dict[str, str]):
    """Format values: a parameter the text names but the error lacks shows empty."""

    def __missing__(self, key: str) -> str:
        return ""


def error_text(exc: LoopError, lang: str) -> str:
    """The sentence for a refused step, from the i18n table by the error's code."""
    key = f"err_{exc.code}"
    values = _Values({k: _label(k, v, lang) for k, v in exc.params.items()})
    values["code"] = exc.code
    return t(key if key in TEXT else "err_unknown", lang).format_map(values)
