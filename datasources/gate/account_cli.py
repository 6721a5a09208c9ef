"""`zhongnao user ...` and `zhongnao key ...`: accounts and keys from the command line."""

from __future__ import annotations

from contextlib import suppress

import click
from sqlalchemy import select

from dashboard.buses.pupils import POST_KINDS
from dashboard.roles import (
    ESCORT,
    KEY_SCOPES,
    KEY_SOURCES,
    ROLES,
    SCHOOL_STAFF,
    Principal,
    check_person_account,
)
from dashboard.settings import Settings
from datasources.sql.accounts import KEY_KINDS, AccountError, Accounts
from datasources.sql.audit import Audit

# Printed by `zhongnao run` for the demo town only; a real town adds its own with `user add`.
DEMO_PASSWORD = "zhongnao-demo"
DEMO_USERS = (("admin", "admin"), ("值班员", "officer"), ("领导", "leader"),
              ("大屏", "display"))
# Issue 14: a village officer, a town office's and a county department's handler, each
# naming its unit in the demo town's units.json (skipped when the town has no such unit).
DEMO_UNIT_USERS = (("建林村", "village", "U-V03"), ("城管中队", "handler", "U-T-CG"),
                   ("县住建局", "handler", "U-C-ZJ"))
DEMO_KIOSK = "demo-wall-kiosk-token"
DEMO_SCHOOL_STAFF = "学校教务处"  # issue 13: /school, the first school's staff
DEMO_PARENT_LINK = "demo-parent-link"  # /parent?link=demo-parent-link (issue 13)
# Issue 13: the demo's escort rides the first bus of route R01 on its trips.
DEMO_ESCORT = ("随车照管员", (("vehicle", "川F·D72692"), ("trip", "R01-AM1"), ("trip", "R01-PM1")))
# The demo town's citizens' key (Open311 api_key, X-Api-Key): a well-known value, so only a
# town marked demo gets it; a real town issues its own with `zhongnao key add`.
DEMO_CITIZEN_KEY = "demo-key"
CLI = Principal(role="admin", name="cli", kind="user", ip="local")


def _open(settings: Settings) -> tuple[Accounts, Audit]:
    from datasources.sql.engine import make_engine, upgrade

    engine = make_engine(settings.db_url)
    upgrade(engine)
    return Accounts(engine, settings.session_hours), Audit(engine)


def parent_link(settings: Settings, pupil: str, seq: int, revoke: bool = False) -> str | int:
    """A new link token for the guardian at `seq` of `pupil` (str), or with `revoke` how
    many of their links were revoked (int). Raises AccountError for an unknown guardian."""
    from dashboard.buses.notify import guardian_recipient
    from datasources.sql.engine import make_engine, upgrade
    from datasources.sql.pupils import PupilStore

    engine = make_engine(settings.db_url)
    upgrade(engine)
    accounts, audit = Accounts(engine, settings.session_hours), Audit(engine)
    recipient = guardian_recipient(pupil, seq)
    if revoke:
        n = accounts.revoke_named("guardian", recipient)
        audit.record("parent.revoke", recipient, f"{n} link(s)", who=CLI)
        return n
    if PupilStore(engine).guardian(pupil, seq) is None:
        raise AccountError(f"no guardian {seq} of pupil {pupil} in the register")
    token = accounts.add_key("guardian", recipient)
    audit.record("parent.link", recipient, who=CLI)
    return token


def seed_demo(settings: Settings) -> list[tuple[str, str, str]]:
    """Demo accounts (once) when the loaded town is marked demo; returns (name, role, pw)."""
    from datasources.sql import models as m

    accounts, audit = _open(settings)
    with accounts.session() as s:
        demo = s.scalar(select(m.TownMeta.value).where(m.TownMeta.key == "demo"))
        worker = s.execute(select(m.GridWorker.id, m.GridWorker.name)
                           .order_by(m.GridWorker.id).limit(1)).first()
        units = set(s.scalars(select(m.Unit.id)))
    if not demo:
        return []
    # The demo worker's account is the first grid worker (by id): work orders name the id.
    people = {name: None for name, _ in DEMO_USERS}
    users = list(DEMO_USERS)
    if worker:
        users.append((worker.name, "grid_worker"))
        people[worker.name] = worker.id
    unit_of = {name: unit for name, _, unit in DEMO_UNIT_USERS if unit in units}
    users += [(name, role) for name, role, _ in DEMO_UNIT_USERS if name in unit_of]
    for name, role in users:
        if accounts.user(name) is None:
            accounts.add_user(name, role, DEMO_PASSWORD, person_id=people.get(name),
                              unit_id=unit_of.get(name))
            audit.record("user.add", name, f"demo account, role {role}", who=CLI)
    if accounts.user(DEMO_ESCORT[0]) is None:
        from datasources.sql.engine import make_engine
        from datasources.sql.pupils import PupilStore

        escort = accounts.add_user(DEMO_ESCORT[0], ESCORT, DEMO_PASSWORD)
        store = PupilStore(make_engine(settings.db_url))
        for kind, ref in DEMO_ESCORT[1]:
            store.add_post(escort.id, kind, ref)
        audit.record("user.add", escort.name, "demo account, role escort", who=CLI)
    users.append((DEMO_ESCORT[0], ESCORT))
    if accounts.user(DEMO_SCHOOL_STAFF) is None:  # /school: the first school's staff
        with accounts.session() as s:
            school = s.scalar(select(m.School.code).order_by(m.School.code).limit(1))
        if school is not None:
            from datasources.sql.engine import make_engine
            from datasources.sql.pupils import PupilStore

            staff = accounts.add_user(DEMO_SCHOOL_STAFF, SCHOOL_STAFF, DEMO_PASSWORD)
            PupilStore(make_engine(settings.db_url)).add_post(staff.id, "school", school)
            audit.record("user.add", staff.name, "demo account, role school_staff", who=CLI)
    if accounts.user(DEMO_SCHOOL_STAFF) is not None:
        users.append((DEMO_SCHOOL_STAFF, SCHOOL_STAFF))
    if not any(k["revoked_at"] is None for k in accounts.list_keys("kiosk")):
        accounts.add_key("kiosk", "demo wall", token=DEMO_KIOSK)
    if accounts.key_principal(DEMO_PARENT_LINK, "guardian") is None:
        # The demo's parent: the first guardian of the first child riding R01-AM1, so
        # /parent?link=demo-parent-link shows a child on the demo's busiest bus.
        from dashboard.buses.notify import guardian_recipient
        from datasources.sql.engine import make_engine
        from datasources.sql.pupils import PupilStore

        manifest = PupilStore(make_engine(settings.db_url)).manifest("R01-AM1")
        first = next((p.id for st in manifest.stops for p in st.pupils), None) \
            if manifest is not None else None
        if first is not None:
            with suppress(AccountError):
                accounts.add_key("guardian", guardian_recipient(first, 1),
                                 token=DEMO_PARENT_LINK)
    if accounts.key_principal(DEMO_CITIZEN_KEY, "ingest") is None:
        with suppress(AccountError):  # another process seeded it a moment ago
            accounts.add_key("ingest", "demo citizens", "citizen", token=DEMO_CITIZEN_KEY)
    return [(name, role, DEMO_PASSWORD) for name, role in users]


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from exc


@click.group()
def user() -> None:
    """Accounts: add, list, disable, enable, password."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="8+ characters, not the name, not common nor easily guessed "
                   "(prompted when not given).")
@click.option("--display-name", default="", help="Name shown on screens (default NAME).")
@click.option("--person", default="",
              help="The grid worker's id (grid_workers.id) this account is; required for "
                   "--role grid_worker, since work orders name the person by id.")
@click.option("--post", "posts", multiple=True, metavar="KIND:REF",
              help="What an escort or school staff looks after (issue 13): trip:R01-AM1, "
                   "vehicle:PLATE or school:CODE; repeat for several.")
@click.option("--unit", default="",
              help="The unit's id (units.json) a handler or village officer works for; "
                   "required for --role handler and --role village.")
def user_add(name: str, role: str, password: str, display_name: str, person: str,
             posts: tuple[str, ...], unit: str) -> None:
    """Create an account (the first admin, duty officers, leaders, grid workers, walls,
    escorts, school staff, units' handlers, village officers)."""
    pairs = [tuple(p.split(":", 1)) for p in posts]
    if any(len(p) != 2 or p[0] not in POST_KINDS or not p[1] for p in pairs):
        raise click.UsageError(f"--post: KIND:REF with KIND one of {', '.join(POST_KINDS)}")
    if pairs and role not in (ESCORT, SCHOOL_STAFF):
        raise click.UsageError("--post is for escorts' and school staff's accounts only")
    if pairs:
        from datasources.sql.engine import make_engine
        from datasources.sql.pupils import PupilStore

        register = PupilStore(make_engine(Settings.from_env().db_url))
        unknown = [f"{k}:{r}" for k, r in pairs if not register.post_exists(k, r)]
        if unknown:
            raise click.UsageError(f"--post: the town has no {', '.join(unknown)}")
    try:
        check_person_account(role, person)  # the rule /admin follows too
    except ValueError as exc:
        raise click.UsageError(f"--person: {exc}") from exc
    accounts, audit = _open(Settings.from_env())
    try:
        row = accounts.add_user(name, role, password, display_name, person_id=person or None,
                                unit_id=unit or None)
    except AccountError as exc:
        _fail(exc)
    extra = ((f", person {person}" if person else "") + (f", unit {unit}" if unit else "")
             + "".join(f", {k} {r}" for k, r in pairs))
    audit.record("user.add", row.name, f"role {role}{extra}", who=CLI)
    for kind, ref in pairs:
        register.add_post(row.id, kind, ref)
    click.echo(f"added {row.name} ({row.role}{extra})")


@user.command("list")
def user_list() -> None:
    """Every account: name, role, state."""
    accounts, _ = _open(Settings.from_env())
    for u in accounts.users():
        state = "disabled" if u.disabled else "active"
        click.echo(f"{u.name}\t{u.role}\t{state}\t{u.created_at:%Y-%m-%d}")


@user.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
def user_disable(name: str, enable: bool) -> None:
    """Disable an account (its sessions end at once), or --enable it."""
    accounts, audit = _open(Settings.from_env())
    try:
        accounts.set_disabled(name, not enable)
    except AccountError as exc:
        _fail(exc)
    audit.record("user.enable" if enable else "user.disable", name, who=CLI)
    click.echo(f"{name}: {'enabled' if enable else 'disabled'}")


@user.command("password")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def user_password(name: str, password: str) -> None:
    """Set a new password."""
    accounts, audit = _open(Settings.from_env())
    try:
        accounts.set_password(name, password)
    except AccountError as exc:
        _fail(exc)
    audit.record("user.password", name, who=CLI)
    click.echo(f"{name}: password changed")


@click.group()
def key() -> None:
    """Ingest keys of sources and kiosk tokens of walls: add, list, revoke."""


@key.command("add")
@click.argument("name")
# A guardian's link is issued for a guardian of the register: `zhongnao pupils parent-link`.
@click.option("--kind", type=click.Choice([k for k in KEY_KINDS if k != "guardian"]),
              default="ingest", show_default=True)
@click.option("--source", type=click.Choice(KEY_SOURCES), default=None,
              help="The source this ingest key reports as (required for ingest keys); "
                   "'feed' is a reader of the bus feed.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(list(KEY_SCOPES)),
              help="What the key may do (repeatable); default: its source's scopes "
                   "(bus: report, positions, read-own; feed: feed; others: report, read-own).")
def key_add(name: str, kind: str, source: str | None, scopes: tuple[str, ...]) -> None:
    """Create a key; it is printed once and stored only hashed."""
    if kind == "ingest" and not source:
        raise click.UsageError("an ingest key needs --source (the source it reports as)")
    accounts, audit = _open(Settings.from_env())
    try:
        token = accounts.add_key(kind, name, source or "", scopes=scopes or None)
    except AccountError as exc:
        _fail(exc)
    granted: list[str] = next((k["scopes"] for k in accounts.list_keys(kind)
                               if k["name"] == name and k["revoked_at"] is None), [])
    audit.record("key.add", name, f"{kind} {source or ''} {','.join(granted)}".strip(),
                 who=CLI)
    click.echo(token)
    if kind == "kiosk":
        click.echo(f"wall URL: http://HOST:PORT/?kiosk={token}", err=True)


@key.command("list")
def key_list() -> None:
    """Keys: id, kind, name, source, scopes, first characters, state."""
    accounts, _ = _open(Settings.from_env())
    for k in accounts.list_keys():
        state = f"revoked {k['revoked_at']:%Y-%m-%d}" if k["revoked_at"] else "active"
        click.echo(f"{k['id']}\t{k['kind']}\t{k['name']}\t{k['source'] or '-'}\t"
                   f"{','.join(k['scopes']) or '-'}\t{k['prefix']}…\t{state}")


@key.command("revoke")
@click.argument("ident")
def key_revoke(ident: str) -> None:
    """Revoke the key with this id, name or first characters (takes effect in seconds)."""
    accounts, audit = _open(Settings.from_env())
    try:
        found = accounts.revoke_key(ident)
    except AccountError as exc:
        _fail(exc)
    audit.record("key.revoke", found["name"], found["kind"], who=CLI)
    click.echo(f"revoked {found['kind']} key {found['id']} {found['name']}")
