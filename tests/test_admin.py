"""系统管理 (/admin, issue 16), the rules behind the page: accounts, sessions, keys and kiosk
tokens changed by the administrator, each by the command line's rules and each audited with
who did it; a secret is handed back once and only its hash is kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import Type
from sqlalchemy import select

import datasources.sql.accounts as accounts_module
from dashboard.roles import CURRENT, Principal
from datasources.sql import models as m
from datasources.sql.accounts import AccountError, token_hash
from datasources.sql.admin import AdminDesk
from pages._admin_parts import refused
from tests.auth_helpers import SHIPPED_HASHER

ADMIN = Principal(role="admin", name="镇管理员", kind="user", user_id=1, ip="10.0.0.9")


@pytest.fixture
def desk(services) -> Iterator[AdminDesk]:
    """The admin's desk, served as the town's administrator (the audit's actor)."""
    token = CURRENT.set(ADMIN)
    try:
        yield AdminDesk(services.accounts, services.audit)
    finally:
        CURRENT.reset(token)


def audit_rows(desk: AdminDesk, action: str) -> list[dict]:
    return [r for r in desk.audit.search(action=action) if r["action"] == action]


def test_a_new_account_gets_a_password_shown_once_stored_hashed_and_audited(desk):
    row, shown = desk.add_user("值班员赵", "officer", display_name="赵值班")
    assert len(shown) >= 16 and row.display_name == "赵值班"
    assert desk.accounts.authenticate("值班员赵", shown) is not None
    with desk.accounts.session() as s:
        stored = s.scalar(select(m.User.password_hash).where(m.User.name == "值班员赵"))
    assert shown not in stored and stored.startswith("$argon2id$")
    [entry] = audit_rows(desk, "user.add")
    assert (entry["actor"], entry["role"], entry["ip"], entry["target"]) == (
        "镇管理员", "admin", "10.0.0.9", "值班员赵")
    assert "role officer" in entry["detail"] and shown not in entry["detail"]
    # A password the admin types is checked by the same rule as the command line's, and
    # is not shown back.
    with pytest.raises(AccountError) as weak:
        desk.add_user("值班员钱", "officer", password="password123")
    assert refused(weak.value, "zh").startswith("密码太容易被猜到")


def test_the_product_hashes_at_rfc_9106_cost_and_redoes_a_hash_of_another_cost(desk, monkeypatch):
    """The tests hash at argon2's cheapest cost (tests/auth_helpers.py); the product ships
    argon2id at RFC 9106's low-memory cost, and a hash made at another cost is redone at
    its owner's next sign-in."""
    assert SHIPPED_HASHER.type is Type.ID
    assert (SHIPPED_HASHER.memory_cost, SHIPPED_HASHER.time_cost,
            SHIPPED_HASHER.parallelism) == (65536, 3, 4)
    row, shown = desk.add_user("值班员孙", "officer")

    def stored() -> str:
        with desk.accounts.session() as s:
            return s.scalar(select(m.User.password_hash).where(m.User.name == row.name))

    assert not stored().startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    monkeypatch.setattr(accounts_module, "_hasher", SHIPPED_HASHER)
    assert desk.accounts.authenticate(row.name, shown) is not None
    assert stored().startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert desk.accounts.authenticate(row.name, shown) is not None
    assert desk.accounts.authenticate(row.name, shown + "x") is None
    _, none_shown = desk.add_user("值班员钱", "officer", password="钱-Rota-2026-spring!")
    assert none_shown == ""


def test_a_grid_workers_account_names_a_worker_of_the_register_and_no_other_does(desk):
    with pytest.raises(AccountError) as missing:
        desk.add_user("网格员甲", "grid_worker")
    assert missing.value.code == "acct_person_role"
    assert refused(missing.value, "en") == ("a grid worker's account names the worker; "
                                            "other roles do not")
    with pytest.raises(AccountError) as unknown:
        desk.add_user("网格员甲", "grid_worker", person_id="W999")
    assert unknown.value.code == "acct_person"
    with pytest.raises(AccountError) as officer:
        desk.add_user("值班员孙", "officer", person_id="W001")
    assert officer.value.code == "acct_person_role"
    with pytest.raises(AccountError) as unit:
        desk.add_user("村干部甲", "village", unit_id="U-T-CG")  # a town office, not a village
    assert refused(unit.value, "zh").startswith("承办单位账号须选")
    row, shown = desk.add_user("网格员甲", "grid_worker", person_id="W001")
    assert (row.person_id, row.display_name) == ("W001", "冯思远")
    who = desk.accounts.session_principal(
        desk.accounts.start_session(desk.accounts.authenticate("网格员甲", shown)))
    assert who is not None and (who.role, who.person_id) == ("grid_worker", "W001")
    assert len(audit_rows(desk, "user.add")) == 1  # refusals change nothing, write nothing


def test_a_changed_role_or_scope_ends_the_sessions_and_is_audited_before_and_after(desk):
    row, shown = desk.add_user("村干部乙", "village", unit_id="U-V03")
    cookie = desk.accounts.start_session(desk.accounts.authenticate("村干部乙", shown))
    assert desk.accounts.session_principal(cookie).village is not None
    desk.edit_user("村干部乙", "village", display_name="乙干部", unit_id="U-V03")
    assert desk.accounts.session_principal(cookie) is not None  # same role and scope
    desk.edit_user("村干部乙", "handler", unit_id="U-C-ZJ")
    assert desk.accounts.session_principal(cookie) is None  # signs in again as a handler
    after = desk.accounts.user("村干部乙")
    assert (after.role, after.unit_id, after.display_name) == ("handler", "U-C-ZJ", "乙干部")
    edits = audit_rows(desk, "user.edit")
    assert edits[0]["detail"] == "role village, unit U-V03 -> handler, unit U-C-ZJ"
    with pytest.raises(AccountError) as bad:
        desk.edit_user("村干部乙", "leader", unit_id="U-C-ZJ")  # a leader names no unit
    assert bad.value.code == "acct_unit"
    assert desk.accounts.user("村干部乙").role == "handler"


def test_reset_disable_and_sign_out_end_sessions_and_are_audited(desk):
    _, first = desk.add_user("领导周", "leader")
    user = desk.accounts.authenticate("领导周", first)
    phone, desk_pc = (desk.accounts.start_session(user, ip=ip)
                      for ip in ("10.1.1.1", "10.1.1.2"))
    listed = [s for s in desk.accounts.sessions() if s["user"] == "领导周"]
    assert {s["ip"] for s in listed} == {"10.1.1.1", "10.1.1.2"}
    # One lost phone signed out; the desk PC stays in.
    assert desk.end_session(token_hash(phone)) == "领导周"
    assert desk.accounts.session_principal(phone) is None
    assert desk.accounts.session_principal(desk_pc) is not None
    new = desk.reset_password("领导周")
    assert new != first and desk.accounts.authenticate("领导周", first) is None
    assert desk.accounts.authenticate("领导周", new) is not None
    assert desk.accounts.session_principal(desk_pc) is None
    again = desk.accounts.start_session(desk.accounts.authenticate("领导周", new))
    desk.set_disabled("领导周", True)
    assert desk.accounts.session_principal(again) is None
    assert desk.accounts.authenticate("领导周", new) is None
    desk.set_disabled("领导周", False)
    assert desk.accounts.authenticate("领导周", new) is not None
    actions = [r["action"] for r in desk.audit.search(text="领导周")]
    assert actions == ["user.enable", "user.disable", "user.reset", "session.end", "user.add"]
    assert all(new not in r["detail"] for r in desk.audit.search(text="领导周"))


def test_a_kiosk_token_and_a_key_are_shown_once_and_revoked_by_id_with_an_audit_row(desk):
    token = desk.add_key("kiosk", "大厅左屏")
    key = desk.add_key("ingest", "12345 热线", source="hotline")
    listed = {k["name"]: k for k in desk.list_keys()}
    assert listed["大厅左屏"]["prefix"] == token[:8] and listed["12345 热线"]["scopes"] == [
        "read-own", "report"]
    with desk.accounts.session() as s:
        hashes = set(s.scalars(select(m.ApiKey.key_hash)))
    assert token_hash(token) in hashes and token not in hashes and key not in hashes
    wall = desk.accounts.key_principal(token, "kiosk")
    assert wall is not None and wall.role == "display"
    desk.revoke_key(listed["大厅左屏"]["id"])
    assert desk.accounts.key_principal(token, "kiosk") is None
    assert not desk.accounts.check_key(wall.session, fresh=True)  # an open wall's re-check
    assert desk.accounts.key_principal(key, "ingest") is not None  # the other one stays
    with pytest.raises(AccountError) as twice:
        desk.revoke_key(listed["大厅左屏"]["id"])
    assert refused(twice.value, "en") == "there is no such active key"
    with pytest.raises(AccountError) as sourceless:
        desk.add_key("ingest", "无来源")
    assert refused(sourceless.value, "zh") == "接入密钥须选定来源"
    with pytest.raises(AccountError):
        desk.add_key("guardian", "guardian:P1/1")  # a parent's link is the register's
    rows = [(r["action"], r["target"], r["detail"]) for r in desk.audit.search(action="key.")]
    assert rows[0][:2] == ("key.revoke", "大厅左屏")
    assert ("key.add", "12345 热线", "ingest hotline read-own,report") in rows
    assert all(token not in d and key not in d for _, _, d in rows)


# ---------------------------------------------------------------- the grid staff roster
def _roster(*rows: list[str]) -> bytes:
    from datasources.towns.pupil_xlsx import write_workbook

    return write_workbook([("网格人员", [["网格编码", "岗位", "人员编号", "姓名", "电话", "职责"],
                                        *rows])])


GOOD = (["G3-01", "网格长", "", "张长青", "13800000011", ""],
        ["G3-01", "网格员", "W001", "冯思远", "13800000012", "信息采集、治安巡查"],
        ["G3-02", "网格员", "W900", "新来的", "13800000013", "全部"])
BAD = (["G9-99", "网格员", "W901", "无网格", "13800000014", ""],  # no such grid
       ["G3-02", "网格员", "W902", "错电话", "电话待补", ""],  # not a phone
       ["G3-02", "网格员", "W903", "乱职责", "13800000016", "扫地"])  # not one of the eight


def test_a_roster_with_bad_rows_names_each_and_applies_nothing(services):
    from datasources.sql.roster import RosterStore
    from pages._admin_parts import describe

    store = RosterStore(services.accounts.engine)
    checked = store.apply(_roster(*GOOD, *BAD))
    assert [(e.row, e.column, e.code) for e in checked.errors] == [
        (5, "A", "roster_unknown_grid"), (6, "E", "pupil_bad_phone"), (7, "F", "roster_bad_duty")]
    assert describe(checked.errors[2], "zh") == (
        "工作表「网格人员」第 7 行 F 列「职责」：不认识的职责：扫地（八项职责之一，或写 全部）")
    assert describe(checked.errors[0], "en").endswith("the town has no grid G9-99")
    with services.accounts.session() as s:
        assert s.get(m.GridWorker, "W900") is None  # the good rows were not applied either
        assert s.get(m.GridWorker, "W001").phone != "13800000012"
        assert s.get(m.Grid, "G3-01").leader_name != "张长青"


def test_a_good_roster_is_previewed_then_applied_in_one_go(services):
    from datasources.sql.roster import RosterStore, roster_template

    store = RosterStore(services.accounts.engine)
    preview = store.check(_roster(*GOOD))
    assert preview.ok and (preview.added, preview.updated, preview.leaders) == (1, 1, 1)
    with services.accounts.session() as s:
        assert s.get(m.GridWorker, "W900") is None  # a preview writes nothing
    store.apply(_roster(*GOOD))
    with services.accounts.session() as s:
        new, old = s.get(m.GridWorker, "W900"), s.get(m.GridWorker, "W001")
        assert (new.grid_code, new.name, len(new.duties)) == ("G3-02", "新来的", 8)
        assert (old.phone, old.duties) == ("13800000012", ["info", "patrol"])
        grid = s.get(m.Grid, "G3-01")
        assert (grid.leader_name, grid.leader_phone) == ("张长青", "13800000011")
    # The shipped template is a roster the demo town accepts as it is.
    assert store.check(roster_template()).ok
    with open("docs/roster-template.xlsx", "rb") as f:
        assert store.check(f.read()).ok
    assert store.check(b"not a workbook").errors[0].code == "roster_bad_file"


def test_a_swap_needs_a_reason_exchanges_two_shifts_at_once_and_moves_who_is_on_duty(
        services):
    from dashboard.grids.rota import shift_at
    from dashboard.timeutil import utcnow

    token = CURRENT.set(ADMIN)
    try:
        desk = AdminDesk(services.accounts, services.audit, services.rota)
        day, shift = shift_at(utcnow())
        # A grid of two workers or more: a later shift of another worker than now's.
        grid = next(c.code for c in services.rota.cells
                    if c.level == 3 and len(c.workers) > 1)
        now_a = services.rota.worker_on_duty(grid)
        with services.rota.store.session() as s:
            later = s.execute(select(m.GridRota.day, m.GridRota.shift, m.GridRota.worker_name)
                              .where(m.GridRota.grid_code == grid, m.GridRota.day > day,
                                     m.GridRota.worker_name != now_a)
                              .order_by(m.GridRota.day)).first()
        assert later is not None and later.worker_name != now_a
        b_worker = later.worker_name
        b = (grid, later.day, later.shift)
        with pytest.raises(AccountError) as no_reason:
            desk.swap_shifts((grid, day, shift), b, "  ")
        assert refused(no_reason.value, "zh") == "换班须填写原因"
        with pytest.raises(AccountError) as unknown:
            desk.swap_shifts((grid, day, shift), ("G3-01", "1999-01-01", "day"), "病假")
        assert unknown.value.code == "rota_shift"
        assert services.rota.worker_on_duty(grid) == now_a  # refusals change nothing
        before = desk.swap_shifts((grid, day, shift), b, "家中有事")
        assert before == (now_a, b_worker)
        # Who is on duty now (what the console's recommendation reads) is the other worker.
        assert services.rota.worker_on_duty(grid) == b_worker
        [entry] = desk.audit.search(action="rota.swap")
        assert entry["actor"] == "镇管理员" and entry["detail"].endswith(": 家中有事")
    finally:
        CURRENT.reset(token)
