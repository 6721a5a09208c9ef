"""Actors that are not people: who the audit and a work order's history name for steps the
system takes itself (the demo simulator), with their labels in both languages."""

from __future__ import annotations

SIM_ACTOR = "simulator"  # the demo simulator and the demo history it plays

SYSTEM_ACTORS: dict[str, tuple[str, str]] = {
    SIM_ACTOR: ("系统模拟", "Simulator"),
}


def is_system(actor: str | None) -> bool:
    """True for an actor that is the system, not a person's account."""
    return actor in SYSTEM_ACTORS


def actor_label(actor: str | None, lang: str) -> str:
    """The display name of an actor: a system actor's label, else the name as stored."""
    if actor in SYSTEM_ACTORS:
        zh, en = SYSTEM_ACTORS[actor]
        return zh if lang == "zh" else en
    return actor or ""
