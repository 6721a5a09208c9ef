"""The administrator's desk (/admin): accounts, sessions, keys and kiosk tokens, each change
made by the rules of `Accounts` (the same the command line uses) and written to the audit
log with who did it. A secret (a new password, key or kiosk token) is returned once to be
shown once; the database keeps only its hash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from dashboard.roles import check_person_account
from datasources.sql import models as m
from datasources.sql.accounts import AccountError, Accounts, UserRow
from datasources.sql.audit import Audit


@dataclass(frozen=True)
class Choice:
    """Something an account may name: a unit or a grid worker (id, zh name, en name)."""

    id: str
    name: str
    name_en: str = ""
    tier: str = ""


class AdminDesk:
    """Account changes with their audit rows; the principal served now is the actor."""

    def __init__(self, accounts: Accounts, audit: Audit, rota: Any = None):
        self.accounts = accounts
        self.audit = audit
        self.rota = rota  # datasources.sql.rota.RotaStore, for 换班

    # ------------------------------------------------------------ rota
    def swap_shifts(self, a: tuple[str, str, str], b: tuple[str, str, str],
                    reason: str) -> tuple[str, str]:
        """换班 with a reason: the two shifts' workers exchanged in one transaction and
        audited; (worker of a before, worker of b before)."""
        from dashboard.grids.rota import RotaError

        reason = " ".join((reason or "").split())
        if not reason or len(reason) > 200:
            raise AccountError("a swap needs its reason (1-200 characters)", "rota_reason")
        try:
            before = self.rota.swap(a, b)
        except RotaError as exc:
            raise AccountError(str(exc), "rota_shift") from exc
        self.audit.record("rota.swap", f"{a[0]} {a[1]} {a[2]} <-> {b[0]} {b[1]} {b[2]}",
                          f"{before[0]} <-> {before[1]}: {reason}")
        return before

    def set_shift(self, grid: object, day: object, shift: object, worker_id: object,
                  reason: object) -> tuple[Any, str | None]:
        """Put a worker on a shift (the rota's checks: dashboard.grids.rota), with a reason,
        audited; (the shift as set, the worker before). RotaError when refused."""
        why = _reason(reason)
        row, before = self.rota.set_shift(grid, day, shift, worker_id)
        self.audit.record("rota.edit", f"{row.grid} {row.day} {row.shift}",
                          f"{before or '—'} -> {row.worker_name} ({row.worker_id}): {why}")
        return row, before

    def mark_leave(self, worker_id: object, first: object, last: object,
                   reason: object) -> dict[str, Any]:
        """A worker's leave (请假) with its reason, their shifts in it handed to colleagues
        of the grid, audited; what mark_leave of the rota returns."""
        why = _reason(reason)
        done = self.rota.mark_leave(worker_id, first, last, why)
        self.audit.record("rota.leave", f"{done['worker']} ({done['worker_id']})",
                          f"{done['first']}..{done['last']}: {why}; covered "
                          f"{len(done['covered'])}, open {len(done['open'])}")
        return done

    # ------------------------------------------------------------ reading
    def units(self) -> list[Choice]:
        """The town's units, by id (a handler's or village officer's scope)."""
        with self.accounts.session() as s:
            return [Choice(u.id, u.name, u.name_en or u.name, u.tier)
                    for u in s.scalars(select(m.Unit).order_by(m.Unit.id))]

    def workers(self) -> list[Choice]:
        """The town's grid workers, by id (who a grid worker's account is)."""
        with self.accounts.session() as s:
            return [Choice(w.id, w.name, w.name, w.grid_code)
                    for w in s.scalars(select(m.GridWorker).order_by(m.GridWorker.id))]

    # ------------------------------------------------------------ users
    def add_user(self, name: str, role: str, display_name: str = "", unit_id: str = "",
                 person_id: str = "", password: str = "") -> tuple[UserRow, str]:
        """A new account: (the row, the password to show once). An empty password gets a
        random one; a given one must pass the password rule."""
        _person_rule(role, person_id)
        shown = password or _random_password()
        row = self.accounts.add_user(name, role, shown, display_name, person_id=person_id,
                                     unit_id=unit_id)
        self.audit.record("user.add", row.name, f"role {role}" + _scope_text(row))
        return row, ("" if password else shown)

    def edit_user(self, name: str, role: str, display_name: str = "", unit_id: str = "",
                  person_id: str = "") -> UserRow:
        """Change role, shown name and scope; audited with the before and after."""
        _person_rule(role, person_id)
        before = self.accounts.user(name)
        if before is None:
            raise AccountError(f"no user named {name!r}", "acct_no_user")
        row = self.accounts.update_user(name, role, display_name, unit_id, person_id)
        self.audit.record("user.edit", row.name,
                          f"role {before.role}{_scope_text(before)} -> {row.role}"
                          f"{_scope_text(row)}")
        return row

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable (its sessions end at once) or enable an account."""
        self.accounts.set_disabled(name, disabled)
        self.audit.record("user.disable" if disabled else "user.enable", name)

    def reset_password(self, name: str) -> str:
        """A new random password to show once; the user's sessions end."""
        password = self.accounts.reset_password(name)
        self.audit.record("user.reset", name, "new password shown once; sessions ended")
        return password

    def end_session(self, session_id: str) -> str | None:
        """Sign one browser out; the user's name (None: it had ended already)."""
        name = self.accounts.end_session_by_id(session_id)
        if name is not None:
            self.audit.record("session.end", name, f"session {session_id[:8]}")
        return name

    def end_user_sessions(self, name: str) -> int:
        """Sign every browser of `name` out; how many."""
        n = self.accounts.end_user_sessions(name)
        self.audit.record("session.end", name, f"{n} session(s)")
        return n

    # ------------------------------------------------------------ keys and kiosk tokens
    def add_key(self, kind: str, name: str, source: str = "",
                scopes: Iterable[str] | None = None) -> str:
        """A new ingest key or kiosk token, returned to be shown once."""
        if kind not in ("ingest", "kiosk"):  # a guardian's link is the register's
            raise AccountError(f"kind {kind!r}", "acct_key_kind")
        chosen = list(scopes or []) or None
        token = self.accounts.add_key(kind, name, source if kind == "ingest" else "",
                                      scopes=chosen if kind == "ingest" else None)
        granted: list[str] = next((k["scopes"] for k in reversed(self.accounts.list_keys(kind))
                        if k["name"] == name.strip() and k["revoked_at"] is None), [])
        self.audit.record("key.add", name.strip(),
                          f"{kind} {source if kind == 'ingest' else ''} "
                          f"{','.join(granted)}".strip())
        return token

    def list_keys(self) -> list[dict[str, Any]]:
        """Ingest keys and kiosk tokens (never a guardian's link: the register's)."""
        return [k for k in self.accounts.list_keys() if k["kind"] in ("ingest", "kiosk")]

    def revoke_key(self, key_id: int) -> dict[str, Any]:
        """Revoke one key or token by id: refused at its next request, and an open wall's
        websocket closes at its next message (datasources/gate/web.py)."""
        found = self.accounts.revoke_key_id(key_id)
        self.audit.record("key.revoke", found["name"], f"{found['kind']} {found['id']}")
        return found


def _person_rule(role: str, person_id: str) -> None:
    try:
        check_person_account(role, person_id)
    except ValueError as exc:
        raise AccountError(str(exc), "acct_person_role") from exc


def _scope_text(row: UserRow) -> str:
    return (f", unit {row.unit_id}" if row.unit_id else "") + \
        (f", person {row.person_id}" if row.person_id else "")


def _random_password() -> str:
    """A password to show once: 16 URL-safe characters (about 96 bits)."""
    import secrets

    return secrets.token_urlsafe(12)


def _reason(reason: object) -> str:
    """The reason an edit of the rota needs: 1-200 characters of text, spaces folded."""
    from dashboard.grids.rota import RotaError

    why = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not why or len(why) > 200:
        raise RotaError("a rota change needs its reason (1-200 characters)", "rota_reason")
    return why
