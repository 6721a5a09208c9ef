"""A town's address points (gazetteer.csv) and how a typed address finds one.

Open311's `address_id` names a point by id; `address_string` is what a citizen typed
("建林村二组王家院子", "Qingshi Middle School"). Pure: the rows come from the town folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

KINDS = ("village", "group", "landmark")
_SPACE = re.compile(r"[\s,，、.。·\-–_/]+")
MIN_PART = 2  # a typed fragment shorter than this matches nothing by containment


@dataclass(frozen=True)
class Place:
    """One address point: a village or community, a group (村民小组) or a landmark."""

    id: str
    kind: str
    name: str
    name_en: str
    lat: float
    lon: float
    village: str = ""

    def label(self, lang: str) -> str:
        """The name in `lang` (Chinese when there is no English)."""
        return self.name_en if lang == "en" and self.name_en else self.name


def parse_gazetteer(rows: Iterable[Mapping[str, str]]) -> list[Place]:
    """The places of gazetteer.csv; ValueError naming the row that is wrong."""
    out: list[Place] = []
    seen: set[str] = set()
    for n, r in enumerate(rows, start=2):
        try:
            pid, kind, name = r["id"].strip(), r["kind"].strip(), r["name"].strip()
            lat, lon = float(r["lat"]), float(r["lon"])
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            raise ValueError(f"gazetteer.csv line {n}: {exc!r}") from exc
        if not pid or len(pid) > 32 or pid in seen:
            raise ValueError(f"gazetteer.csv line {n}: id {pid!r} empty, too long or repeated")
        if kind not in KINDS:
            raise ValueError(f"gazetteer.csv line {n}: kind {kind!r} not one of {KINDS}")
        if not name or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"gazetteer.csv line {n}: no name or a point off the globe")
        seen.add(pid)
        out.append(Place(pid, kind, name, (r.get("name_en") or "").strip(), lat, lon,
                         (r.get("village") or "").strip()))
    return out


def _norm(text: str) -> str:
    return _SPACE.sub("", text).casefold()


class Gazetteer:
    """Look-ups over one town's places: by id, or by a typed name."""

    def __init__(self, places: Iterable[Place] = ()):
        self.places = list(places)
        self._by_id = {p.id: p for p in self.places}
        # Every name a place answers to, normalised (Chinese and English).
        self._names = [(_norm(n), p) for p in self.places for n in (p.name, p.name_en) if n]

    def __len__(self) -> int:
        return len(self.places)

    def by_id(self, pid: str) -> Place | None:
        """The place with this id, or None."""
        return self._by_id.get(pid.strip())

    def find(self, text: str) -> Place | None:
        """The place a typed address names, or None when none (or more than one) fits.

        An exact name wins; then the longest name the text contains ("建林村二组王家院子"
        is 建林村二组, not 建林村); then the one name that contains the text ("中心小学").
        """
        want = _norm(text)
        if not want:
            return None
        exact = {p.id: p for n, p in self._names if n == want}
        if len(exact) == 1:
            return next(iter(exact.values()))
        inside = [(len(n), p) for n, p in self._names if n and n in want]
        if inside:
            longest = max(size for size, _ in inside)
            found = {p.id: p for size, p in inside if size == longest}
            return next(iter(found.values())) if len(found) == 1 else None
        if len(want) < MIN_PART:
            return None
        around = {p.id: p for n, p in self._names if want in n}
        return next(iter(around.values())) if len(around) == 1 else None
