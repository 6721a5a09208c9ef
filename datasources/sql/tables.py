"""The tables a town overrides on /admin (`town_tables`), and the one accessor every rule's
caller reads them through: the deadlines a new work order gets (Store), the kits of the
recommendation and the resource desk, the evaluation's weights, the buses' speed zones.

An override is kept as the JSON its rule's validator accepted (dashboard/town_tables.py);
what the rules read is that override laid over the town's own table (its files, else the
built-in). Each process re-reads the rows at most every `ttl_s` (a save in this process is
seen at once; in another within the TTL)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from dashboard.buses.alerts import SpeedLimits, parse_zones
from dashboard.timeutil import utcnow
from dashboard.town_tables import TableError, TownBase, effective, read_table
from datasources.sql import models as m
from datasources.sql.engine import session_factory

TTL_S = 2.0


class TownTables:
    """Reads and writes `town_tables`; answers each table as the rules must use it."""

    def __init__(self, engine: Engine, base: TownBase | None = None,
                 speed_limit_kmh: float = 60.0, ttl_s: float = TTL_S):
        self.base = base or TownBase()
        self.speed_limit_kmh = speed_limit_kmh
        self.ttl_s = ttl_s
        self._sessions = session_factory(engine)
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[int, Any]] = {}
        self._read_at = -1e9
        self._made: dict[str, tuple[str, Any]] = {}  # name -> (stamp, effective table)

    # ------------------------------------------------------------ reading
    def _current(self) -> dict[str, tuple[int, Any]]:
        with self._lock:
            if time.monotonic() - self._read_at > self.ttl_s:
                with self._sessions() as s:
                    self._rows = {r.name: (r.version, r.data)
                                  for r in s.scalars(select(m.TownTable))}
                self._read_at = time.monotonic()
            return self._rows

    def override(self, name: str) -> Any:
        """The admin's override of a table as stored (None: none)."""
        return self._current().get(name, (0, None))[1]

    def version(self, name: str) -> int:
        """How many times the table was saved (0: never)."""
        return self._current().get(name, (0, None))[0]

    def table(self, name: str) -> Any:
        """The table the rules read (override over the town's own), made once per version."""
        version, data = self._current().get(name, (0, None))
        # A removed override and a new one may share a version number: the data decides.
        stamp = json.dumps([version, data], sort_keys=True, ensure_ascii=False)
        made = self._made.get(name)
        if made is None or made[0] != stamp:
            try:
                value = effective(name, self.base, data)
            except (TableError, ValueError):  # stored before a stricter rule: the town's own
                value = self.base.shown(name)
            if name == "speed_zones":
                value = SpeedLimits(self.speed_limit_kmh, parse_zones(value))
            made = self._made[name] = (stamp, value)
        return made[1]

    def deadlines(self) -> dict[str, Any]:
        """The deadline table (dashboard.incidents.deadlines) a new work order gets."""
        return dict(self.table("deadlines"))

    def kits(self) -> dict[str, dict[str, int]]:
        """The kits per category (dashboard.resources.kits)."""
        return dict(self.table("kits"))

    def weights(self) -> dict[str, dict[str, float]]:
        """The evaluation's weights per kind (dashboard.incidents.evaluation)."""
        return dict(self.table("weights"))

    def speed_limits(self) -> SpeedLimits:
        """The buses' default limit and speed zones (the same object until a save)."""
        limits = self.table("speed_zones")
        assert isinstance(limits, SpeedLimits)
        return limits

    # ------------------------------------------------------------ writing
    def save(self, name: object, text: object) -> int:
        """Store the admin's table (checked by its rule's validator; empty text removes the
        override); the new version. TableError when refused."""
        data = read_table(name, text)
        key = str(name)
        for _ in range(2):
            try:
                with self._sessions.begin() as s:
                    row = s.get(m.TownTable, key)
                    if data is None:
                        if row is not None:
                            s.delete(row)
                        version = 0
                    elif row is None:
                        s.add(m.TownTable(name=key, data=data, version=1, updated_at=utcnow()))
                        version = 1
                    else:
                        row.data, row.version, row.updated_at = data, row.version + 1, utcnow()
                        version = row.version
                break
            except IntegrityError:  # another admin saved the same table at the same moment
                continue
        with self._lock:
            self._read_at = -1e9
        return version


