"""Accounts, sessions, kiosk tokens and ingest keys in the SQL store.

Passwords are argon2id hashes (argon2-cffi). Session tokens, kiosk tokens and API keys are
random 256-bit strings handed out once; only their SHA-256 is stored, so a copy of the
database lets nobody sign in. Look-ups are cached for a few seconds per process so a busy
wall does not ask the database on every callback.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from dashboard.i18n.text import t
from dashboard.passwords import password_problem
from dashboard.roles import (
    DISPLAY,
    GUARDIAN,
    INGEST,
    KEY_SCOPES,
    KEY_SOURCES,
    ROLES,
    Principal,
    check_unit_account,
    default_scopes,
    parse_scopes,
)
from dashboard.timeutil import as_utc, utcnow
from datasources.sql import models as m
from datasources.sql.engine import rows_changed, session_factory

# How long an answer from the database may serve the checks that follow it (a callback's
# own check after the gate's look-up), and what a request is answered from while the
# database cannot be read. The gate itself asks the database at every request.
CACHE_S = 10.0
KEY_KINDS = ("ingest", "kiosk", "guardian")  # guardian: a parent's link (issue 13)
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("zhongnao-no-such-user")


class AccountError(ValueError):
    """A refused account change (duplicate name, unknown role, weak password...); `code`
    names it when the user is told in their language (dashboard/i18n err_<code>)."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


def check_password(password: str, name: str) -> None:
    """Refuse a short, name-like or easily guessed password (dashboard/passwords.py)."""
    code = password_problem(password, name)
    if code is not None:
        # zh / en: the command line and the logs have no reader's language to pick.
        raise AccountError(f"{t('err_' + code, 'zh')} / {t('err_' + code, 'en')}", code)


def token_hash(token: str) -> str:
    """SHA-256 hex of a token: what the database keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh 256-bit URL-safe token."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class UserRow:
    """A user as listed (never with the hash)."""

    id: int
    name: str
    role: str
    display_name: str
    disabled: bool
    created_at: datetime
    person_id: str | None = None  # a grid worker's grid_workers.id
    unit_id: str | None = None  # a handler's or village officer's unit (units.id)


class Accounts:
    """Users, sessions and keys over one engine."""

    def __init__(self, engine: Engine, session_hours: float = 12.0):
        self.engine = engine
        self.session = session_factory(engine)
        self.session_ttl = timedelta(hours=session_hours)
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ users
    def add_user(self, name: str, role: str, password: str, display_name: str = "",
                 person_id: str | None = None, unit_id: str | None = None) -> UserRow:
        """Create a user; refuses unknown roles, short passwords, taken names and a person
        id that no grid worker has. A grid worker's account names the person it is; a
        handler's or village officer's the unit it works for (check_unit_account)."""
        name = name.strip()
        unit_id, person_id, person_name = self._check_account(role, unit_id, person_id)
        display_name = display_name or person_name
        if not name or len(name) > 40:
            raise AccountError("name: 1-40 characters", "acct_name")
        check_password(password, name)
        row = m.User(name=name, role=role, password_hash=_hasher.hash(password),
                     display_name=display_name.strip() or name, disabled=False,
                     created_at=utcnow(), person_id=person_id, unit_id=unit_id)
        try:
            with self.session.begin() as s:
                s.add(row)
        except IntegrityError as exc:
            raise AccountError(f"a user named {name!r} exists already", "acct_taken") from exc
        return _user_row(row)

    def _check_account(self, role: str, unit_id: str | None,
                       person_id: str | None) -> tuple[str | None, str | None, str]:
        """(unit id, person id, the person's name) of an account of `role`, both ids
        stripped and checked against the town: the one rule of a new and an edited user."""
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}",
                               "acct_role")
        unit_id = (unit_id or "").strip() or None
        with self.session() as s:
            unit = s.get(m.Unit, unit_id) if unit_id else None
        try:
            check_unit_account(role, unit_id, unit.tier if unit else None)
        except ValueError as exc:
            raise AccountError(str(exc), "acct_unit") from exc
        person_id = (person_id or "").strip() or None
        person_name = ""
        if person_id is not None:
            with self.session() as s:
                person = s.get(m.GridWorker, person_id)
            if person is None:
                raise AccountError(f"no grid worker with id {person_id!r}", "acct_person")
            person_name = person.name
        return unit_id, person_id, person_name

    def update_user(self, name: str, role: str, display_name: str = "",
                    unit_id: str | None = None, person_id: str | None = None) -> UserRow:
        """Change a user's role, shown name and scope (unit, person) by the rules of a new
        account. A changed role or scope ends the user's sessions, so the next request is
        served as the account now is."""
        unit_id, person_id, person_name = self._check_account(role, unit_id, person_id)
        with self.session.begin() as s:
            row = s.scalar(select(m.User).where(m.User.name == name))
            if row is None:
                raise AccountError(f"no user named {name!r}", "acct_no_user")
            moved = (row.role, row.unit_id, row.person_id) != (role, unit_id, person_id)
            row.role, row.unit_id, row.person_id = role, unit_id, person_id
            row.display_name = (display_name.strip() or person_name or row.display_name
                                or name)[:40]
            if moved:
                s.execute(delete(m.UserSession).where(m.UserSession.user_id == row.id))
            found = _user_row(row)
        self.forget()
        return found

    def reset_password(self, name: str) -> str:
        """A new random password for `name` (returned to be shown once, stored hashed);
        the user's sessions end."""
        password = secrets.token_urlsafe(12)
        self._store_password(name, password)
        self.end_user_sessions(name)
        return password

    def users(self) -> list[UserRow]:
        """Every user, by name."""
        with self.session() as s:
            return [_user_row(u) for u in s.scalars(select(m.User).order_by(m.User.name))]

    def user(self, name: str) -> UserRow | None:
        """The user called `name`, or None (also for a name that is not text: a page's
        forged pick, which no account is called)."""
        if not isinstance(name, str):
            return None
        with self.session() as s:
            row = s.scalar(select(m.User).where(m.User.name == name))
            return _user_row(row) if row else None

    def set_disabled(self, name: str, disabled: bool = True) -> None:
        """Disable (or enable) a user; a disabled user's sessions end at once."""
        with self.session.begin() as s:
            row = s.scalar(select(m.User).where(m.User.name == name))
            if row is None:
                raise AccountError(f"no user named {name!r}", "acct_no_user")
            row.disabled = disabled
            if disabled:
                s.execute(delete(m.UserSession).where(m.UserSession.user_id == row.id))
        self.forget()

    def set_password(self, name: str, password: str) -> None:
        """Replace a user's password (refused when weak, as for a new user)."""
        check_password(password, name)
        self._store_password(name, password)

    def _store_password(self, name: str, password: str) -> None:
        with self.session.begin() as s:
            n = rows_changed(s.execute(update(m.User).where(m.User.name == name)
                                       .values(password_hash=_hasher.hash(password))))
        if not n:
            raise AccountError(f"no user named {name!r}", "acct_no_user")

    def authenticate(self, name: str, password: str) -> UserRow | None:
        """The enabled user with this name and password, else None (same cost either way)."""
        with self.session() as s:
            row = s.scalar(select(m.User).where(m.User.name == name.strip()))
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            # A rehash keeps the password as it is, even one today's rule would refuse.
            self._store_password(row.name, password)
        return _user_row(row)

    # ------------------------------------------------------------ sessions
    def start_session(self, user: UserRow, ip: str = "") -> str:
        """A new session for `user`; returns the cookie's token (stored only hashed)."""
        token = new_token()
        now = utcnow()
        with self.session.begin() as s:
            s.add(m.UserSession(token_hash=token_hash(token), user_id=user.id, created_at=now,
                                expires_at=now + self.session_ttl, ip=ip[:64]))
            # Expired sessions are swept when someone signs in (no timer needed).
            s.execute(delete(m.UserSession).where(m.UserSession.expires_at < now))
        return token

    def end_session(self, token: str) -> None:
        """Sign out: forget the session everywhere."""
        digest = token_hash(token)
        with self.session.begin() as s:
            s.execute(delete(m.UserSession).where(m.UserSession.token_hash == digest))
        self.forget(digest)

    def sessions(self) -> list[dict[str, Any]]:
        """Sessions in force, newest first: id (the token's hash, not the token), user,
        role, started, expires, address."""
        now = utcnow()
        with self.session() as s:
            rows = s.execute(select(m.UserSession, m.User.name, m.User.role)
                             .join(m.User, m.User.id == m.UserSession.user_id)
                             .order_by(m.UserSession.created_at.desc())).all()
            return [{"id": sess.token_hash, "user": name, "role": role,
                     "created_at": sess.created_at, "expires_at": sess.expires_at,
                     "ip": sess.ip} for sess, name, role in rows
                    if as_utc(sess.expires_at) > now]

    def end_session_by_id(self, digest: str) -> str | None:
        """Sign a session out by its id (the token's hash); the user's name, or None when
        no such session is in force."""
        with self.session.begin() as s:
            sess = s.get(m.UserSession, digest)
            user = s.get(m.User, sess.user_id) if sess else None
            if sess is not None:
                s.delete(sess)
        self.forget(digest)
        return user.name if user else None

    def end_user_sessions(self, name: str) -> int:
        """Sign every browser of `name` out; how many sessions ended."""
        with self.session.begin() as s:
            uid = s.scalar(select(m.User.id).where(m.User.name == name))
            if uid is None:
                raise AccountError(f"no user named {name!r}", "acct_no_user")
            n = rows_changed(s.execute(delete(m.UserSession)
                                       .where(m.UserSession.user_id == uid)))
        self.forget()
        return n

    def session_principal(self, token: str, ip: str = "") -> Principal | None:
        """Who holds this session cookie, or None (unknown, expired or disabled). Asked of
        the database every time; the last answer (if recent) only while it cannot be read."""
        digest = token_hash(token)
        try:
            with self.session() as s:
                found = s.execute(select(m.UserSession, m.User, m.Unit.village_code,
                                         m.GridWorker.grid_code)
                                  .join(m.User, m.User.id == m.UserSession.user_id)
                                  .outerjoin(m.Unit, m.Unit.id == m.User.unit_id)
                                  .outerjoin(m.GridWorker, m.GridWorker.id == m.User.person_id)
                                  .where(m.UserSession.token_hash == digest)).first()
        except Exception:
            hit = self._cached("s:" + digest)
            if hit is False:
                raise
            return _with_ip(hit, ip)
        principal = None
        if found is not None:
            sess, user, village, grid = found
            if not user.disabled and as_utc(sess.expires_at) > utcnow():
                principal = Principal(role=user.role, name=user.name, kind="user",
                                      session=digest, user_id=user.id,
                                      person_id=user.person_id, unit_id=user.unit_id,
                                      village=village, grid=grid)
        self._remember("s:" + digest, principal)
        return _with_ip(principal, ip)

    def check_session(self, digest: str, fresh: bool = False) -> bool:
        """True while the session with this hash is still valid (for open websockets);
        `fresh` skips the recent answer."""
        hit = False if fresh else self._cached("s:" + digest)
        if hit is not False:
            return hit is not None
        with self.session() as s:
            sess = s.get(m.UserSession, digest)
            user = s.get(m.User, sess.user_id) if sess else None
            ok = bool(sess and user and not user.disabled
                      and as_utc(sess.expires_at) > utcnow())
        if not ok:
            self._remember("s:" + digest, None)
        return ok

    # ------------------------------------------------------------ keys and kiosk tokens
    def add_key(self, kind: str, name: str, source: str = "", token: str | None = None,
                scopes: Iterable[str] | None = None) -> str:
        """A new ingest key or kiosk token; returns it (shown once, stored hashed).

        An ingest key belongs to one source (KEY_SOURCES) and holds scopes, by default
        those of its source (dashboard.roles.default_scopes)."""
        if kind not in KEY_KINDS:
            raise AccountError(f"kind must be one of {KEY_KINDS}", "acct_key_kind")
        if not name.strip() or len(name) > 60:
            raise AccountError("name: 1-60 characters", "acct_key_name")
        source = source.strip()
        granted: frozenset[str] = frozenset()
        if kind == "ingest":
            if source not in KEY_SOURCES:
                raise AccountError(f"source must be one of {', '.join(KEY_SOURCES)}",
                                   "acct_key_source")
            granted = default_scopes(source) if scopes is None else frozenset(scopes)
            unknown = granted - set(KEY_SCOPES)
            if unknown or not granted:
                raise AccountError(f"scopes: one or more of {', '.join(KEY_SCOPES)}",
                                   "acct_key_scopes")
        token = token or new_token()
        try:
            with self.session.begin() as s:
                s.add(m.ApiKey(kind=kind, name=name.strip(), source=source[:40],
                               scopes=",".join(sorted(granted)),
                               key_hash=token_hash(token), prefix=token[:8],
                               created_at=utcnow(), revoked_at=None))
        except IntegrityError as exc:
            raise AccountError("this key exists already", "acct_key_taken") from exc
        self.forget()
        return token

    def list_keys(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Keys (never the key itself): id, kind, name, source, scopes, prefix, created,
        revoked."""
        query = select(m.ApiKey).order_by(m.ApiKey.id)
        if kind:
            query = query.where(m.ApiKey.kind == kind)
        with self.session() as s:
            return [{"id": k.id, "kind": k.kind, "name": k.name, "source": k.source,
                     "scopes": sorted(parse_scopes(k.scopes)),
                     "prefix": k.prefix, "created_at": k.created_at,
                     "revoked_at": k.revoked_at} for k in s.scalars(query)]

    def revoke_key(self, ident: str) -> dict[str, Any]:
        """Revoke the key with this id, name or prefix; returns its row."""
        with self.session.begin() as s:
            rows = list(s.scalars(select(m.ApiKey).where(m.ApiKey.revoked_at.is_(None))))
            match = [k for k in rows if ident in (str(k.id), k.name, k.prefix)]
            if len(match) != 1:
                raise AccountError(f"{len(match)} active keys match {ident!r}",
                                   "acct_key_match")
            match[0].revoked_at = utcnow()
            found = {"id": match[0].id, "kind": match[0].kind, "name": match[0].name}
        self.forget()
        return found

    def revoke_key_id(self, key_id: int) -> dict[str, Any]:
        """Revoke the active key or token with this id (the admin page's button); its row."""
        with self.session.begin() as s:
            row = s.get(m.ApiKey, key_id)
            if row is None or row.revoked_at is not None:
                raise AccountError(f"no active key {key_id}", "acct_key_match")
            row.revoked_at = utcnow()
            found = {"id": row.id, "kind": row.kind, "name": row.name}
        self.forget()
        return found

    def revoke_named(self, kind: str, name: str) -> int:
        """Revoke every active key of `kind` named `name` (a guardian's links); how many."""
        with self.session.begin() as s:
            rows = list(s.scalars(select(m.ApiKey).where(
                m.ApiKey.kind == kind, m.ApiKey.name == name, m.ApiKey.revoked_at.is_(None))))
            for row in rows:
                row.revoked_at = utcnow()
        self.forget()
        return len(rows)

    def key_principal(self, token: str, kind: str, ip: str = "") -> Principal | None:
        """Who holds this ingest key or kiosk token, or None (unknown or revoked). Asked of
        the database every time, so a revocation anywhere holds at the next request; the
        last answer (if recent) only while the database cannot be read."""
        digest = token_hash(token)
        try:
            with self.session() as s:
                row = s.scalar(select(m.ApiKey).where(m.ApiKey.key_hash == digest,
                                                      m.ApiKey.kind == kind,
                                                      m.ApiKey.revoked_at.is_(None)))
        except Exception:
            hit = self._cached(f"{kind}:{digest}")
            if hit is False:
                raise
            return _with_ip(hit, ip)
        principal = None
        if row is not None and kind == "guardian":
            # A parent's link names one guardian (the key's name is their recipient id);
            # which children they see is the register's answer, asked at each read.
            principal = Principal(role=GUARDIAN, name=row.name, kind="guardian",
                                  session=f"{kind}:{digest}", key_id=row.id,
                                  person_id=row.name)
        elif row is not None:
            principal = Principal(role=INGEST if kind == "ingest" else DISPLAY,
                                  name=row.name, kind="key" if kind == "ingest" else "kiosk",
                                  source=row.source, session=f"{kind}:{digest}",
                                  key_id=row.id, scopes=parse_scopes(row.scopes))
        self._remember(f"{kind}:{digest}", principal)
        return _with_ip(principal, ip)

    def filed_by(self, who: Principal, incident_id: int) -> bool:
        """True when the key behind `who` filed or joined this work order."""
        if who.key_id is None:
            return False
        with self.session() as s:
            return s.get(m.KeyFiling, (who.key_id, incident_id)) is not None

    def check_key(self, marker: str, fresh: bool = False) -> bool:
        """True while the key behind a principal's `session` marker is not revoked."""
        kind, digest = marker.split(":", 1)
        hit = False if fresh else self._cached(marker)
        if hit is not False:
            return hit is not None
        with self.session() as s:
            ok = s.scalar(select(m.ApiKey.id).where(
                m.ApiKey.key_hash == digest, m.ApiKey.kind == kind,
                m.ApiKey.revoked_at.is_(None))) is not None
        if not ok:
            self._remember(marker, None)
        return ok

    # ------------------------------------------------------------ cache
    def check(self, who: Principal, fresh: bool = False) -> bool:
        """True while the principal's session or token is valid; the answer is kept a few
        seconds for the checks that follow it (`fresh` asks the database anyway)."""
        ok = self.check_session(who.session, fresh) if who.kind == "user" else \
            self.check_key(who.session, fresh)
        if ok:
            key = ("s:" + who.session) if who.kind == "user" else who.session
            self._remember(key, replace(who, ip=""))
        return ok

    def check_many(self, principals: Iterable[Principal]) -> list[bool]:
        """`check(who, fresh=True)` of many principals in two queries (the open websockets'
        sessions and kiosk tokens, checked together: tests of a wall's every message)."""
        who = list(principals)
        digests = {p.session for p in who if p.kind == "user" and p.session}
        markers = {p.session for p in who if p.kind != "user" and p.session}
        live: set[str] = set()
        now = utcnow()
        with self.session() as s:
            if digests:
                for digest, expires in s.execute(
                        select(m.UserSession.token_hash, m.UserSession.expires_at)
                        .join(m.User, m.User.id == m.UserSession.user_id)
                        .where(m.UserSession.token_hash.in_(digests),
                               m.User.disabled.is_(False))):
                    if as_utc(expires) > now:
                        live.add(digest)
            by_kind: dict[str, set[str]] = {}
            for marker in markers:
                kind, digest = marker.split(":", 1)
                by_kind.setdefault(kind, set()).add(digest)
            for kind, hashes in by_kind.items():
                live.update(f"{kind}:{h}" for h in s.scalars(select(m.ApiKey.key_hash).where(
                    m.ApiKey.key_hash.in_(hashes), m.ApiKey.kind == kind,
                    m.ApiKey.revoked_at.is_(None))))
        out = []
        for p in who:
            ok = not p.session or p.session in live
            key = ("s:" + p.session) if p.kind == "user" else p.session
            self._remember(key, replace(p, ip="") if ok else None)
            out.append(ok)
        return out

    def _cached(self, key: str) -> Principal | None | Literal[False]:
        with self._lock:
            hit = self._cache.get(key)
        if hit is None or time.monotonic() - hit[0] > CACHE_S:
            return False
        return hit[1]

    def _remember(self, key: str, principal: Principal | None) -> None:
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (time.monotonic(), principal)

    def forget(self, digest: str | None = None) -> None:
        """Drop cached look-ups (all, or one session's) after a change."""
        with self._lock:
            if digest is None:
                self._cache.clear()
            else:
                self._cache.pop("s:" + digest, None)


def _user_row(row: m.User) -> UserRow:
    return UserRow(row.id, row.name, row.role, row.display_name, bool(row.disabled),
                   row.created_at, row.person_id, row.unit_id)


def _with_ip(principal: Principal | None, ip: str) -> Principal | None:
    if principal is None or not ip:
        return principal
    return replace(principal, ip=ip)  # user_id and person_id too
