"""Every Redis channel and key name of zhongnao. Publishers and subscribers import these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channels:
    """Channel and key names under one prefix (so several towns can share one Redis)."""

    prefix: str = "zn"

    # --- pub/sub channels ---
    @property
    def ingest(self) -> str:
        """Raw reports from sources (incident reports, progress, stock movements)."""
        return f"{self.prefix}:ingest"

    @property
    def events(self) -> str:
        """Committed durable facts, each with a sequence number from `event_seq`."""
        return f"{self.prefix}:events"

    @property
    def vehicles(self) -> str:
        """Vehicle positions (ephemeral; latest state also kept in `vehicle_state`)."""
        return f"{self.prefix}:vehicles"

    @property
    def cast(self) -> str:
        """投屏: the incident a duty officer sends to the wall screens (grids issue)."""
        return f"{self.prefix}:cast"

    # --- keys ---
    @property
    def event_seq(self) -> str:
        """INCR counter giving every committed event its sequence number."""
        return f"{self.prefix}:seq:events"

    @property
    def vehicle_state(self) -> str:
        """Hash plate -> latest position JSON."""
        return f"{self.prefix}:vehicles:latest"

    @property
    def rejected(self) -> str:
        """Hash reason -> count of rejected inbound messages."""
        return f"{self.prefix}:stats:rejected"

    @property
    def jt808_terminals(self) -> str:
        """Hash terminal phone -> JSON {plate, code}: JT/T 808 registrations (issue 4)."""
        return f"{self.prefix}:jt808:terminals"

    # --- JT/T 809 (issue 15): alarms, 督办 down to the operators and their replies ---
    def jt809_alarm(self, ref: str) -> str:
        """Key (with a TTL) of one operator alarm's facts by its work order's source_ref:
        what a 督办 of that work order must tell the operator's platform."""
        return f"{self.prefix}:jt809:alarm:{ref}"

    def jt809_urges(self, access_code: int) -> str:
        """List of 督办 waiting to go down to one operator's platform (0x9401), oldest
        first; the gateway pops them while that platform is logged in."""
        return f"{self.prefix}:jt809:urges:{access_code}"

    @property
    def jt809_replies(self) -> str:
        """List of the operators' 0x1401 replies, for the server to put in the history."""
        return f"{self.prefix}:jt809:replies"

    def jt809_supervision(self, supervision_id: int) -> str:
        """Key (with a TTL) of one 督办 sent down: JSON {incident_id, access_code}."""
        return f"{self.prefix}:jt809:supervision:{supervision_id}"

    @property
    def jt809_supervision_seq(self) -> str:
        """INCR counter numbering the 督办 (SUPERVISION_ID of 0x9401)."""
        return f"{self.prefix}:jt809:supervision_seq"

    def real_feed(self, plate: str) -> str:
        """Key a real door (JT/T 808, GTFS-RT, JSON batch) sets, with a TTL, per plate it
        reported: while it exists the simulator's fixes for that plate are dropped."""
        return f"{self.prefix}:real:{plate}"

    def claim(self, digest: str) -> str:
        """Key a server process sets NX to be the one that handles one inbound report."""
        return f"{self.prefix}:claim:{digest}"

    @property
    def leader(self) -> str:
        """The leader lease: the process holding it runs the once-only work
        (datasources/redis/lease.py, docs/architecture.md)."""
        return f"{self.prefix}:lease:leader"

    @property
    def sweep_runs(self) -> str:
        """Hash period number -> timed sweep rounds run in it (1 when all is well)."""
        return f"{self.prefix}:stats:sweep-runs"
