"""投屏: a duty officer sends the incident being handled to the wall screens."""

from __future__ import annotations

import json
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dashboard.messages import MessageError


class WallCast(BaseModel):
    """One cast: which work order, who sent it, when (epoch seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["wall.cast"] = "wall.cast"
    v: Literal[1] = 1
    incident_id: int = Field(ge=1)
    by: str = Field(default="", max_length=40)
    at: float = Field(default_factory=time.time)

    def to_json(self) -> str:
        """The JSON published on the cast channel."""
        return self.model_dump_json()


def parse_cast(data: bytes | str) -> WallCast:
    """Validate a cast message; anything else is a MessageError with reason `bad_cast`."""
    try:
        return WallCast.model_validate(json.loads(data))
    except (ValueError, ValidationError) as exc:
        raise MessageError("bad_cast", str(exc)[:300]) from exc
