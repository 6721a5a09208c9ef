"""Refusals of the incident loop: a code and parameters, never prose.

The user's text comes from the i18n table (dashboard/i18n/errors.py renders `err_<code>`);
`str()` of an error is only for logs and machine-readable `detail` fields.
"""

from __future__ import annotations

from typing import Any


class LoopError(Exception):
    """A refused step of the loop, with a machine-readable code and its parameters."""

    http_status = 409

    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        args = " ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.code} {args}".strip()


class TransitionError(LoopError, ValueError):
    """A step the loop does not allow now (state, level) or whose inputs are missing."""


class BadInput(TransitionError):
    """A step refused for what the requester left out (a note, a score, an assignee)."""

    http_status = 400


class Refused(LoopError, PermissionError):
    """A step this role (or this person) may not take."""

    http_status = 403


class NotFound(LoopError, LookupError):
    """An id or code the record does not know."""

    http_status = 404


class Conflict(LoopError, RuntimeError):
    """Someone else changed the work order first; the parameters say who, what and when."""
