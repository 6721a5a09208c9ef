"""Which JT/T 808 terminal may register which plate, and how auth codes are kept (issue 12).
The pure rule (dashboard/buses/terminals.py) and the register read from a town's files."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from dashboard.buses.terminals import (
    PLATE_MISMATCH,
    UNKNOWN_TERMINAL,
    UNKNOWN_VEHICLE,
    TerminalRegister,
    admit,
    already_registered,
    code_matches,
    hash_code,
    new_code,
    plate_key,
    sealed,
)
from dashboard.settings import DEMO_TOWN_DIR, Settings
from datasources.towns.files import load_terminals, load_town

REG = TerminalRegister.of([("川F·D72692", "13800138000"), ("川F·D54327", "013800138001"),
                           ("川F·D32468", "")])


def test_a_terminal_registers_its_own_plate_only() -> None:
    assert admit(REG, "13800138000", "川F·D72692").plate == "川F·D72692"
    # Terminals spell plates their own way; the bus keeps the register's spelling.
    for spelling in ("川FD72692", "川F D72692", "川f·d72692", "川FD72692\x00"):
        assert admit(REG, "13800138000", spelling).plate == "川F·D72692", spelling
    # The header's phone has no leading zeros; the register's may.
    assert admit(REG, "13800138001", "川F·D54327").ok
    assert admit(REG, "13900000009", "川F·D72692").refusal == UNKNOWN_TERMINAL
    assert admit(REG, "13800138001", "川F·D72692").refusal == PLATE_MISMATCH
    assert admit(REG, "13800138001", "川F·FAKE1").refusal == UNKNOWN_VEHICLE
    assert admit(REG, "13800138001", "").refusal == UNKNOWN_VEHICLE
    # A bus without a terminal is no one's to drive.
    assert admit(REG, "13800138001", "川F·D32468").refusal == UNKNOWN_VEHICLE
    assert admit(TerminalRegister({}), "13800138000", "川F·D72692").refusal == UNKNOWN_TERMINAL


def test_a_register_is_checked_when_it_is_built() -> None:
    with pytest.raises(ValueError, match="given to"):
        TerminalRegister.of([("川F·D72692", "13800138000"), ("川F·D54327", "13800138000")])
    with pytest.raises(ValueError, match="digits"):
        TerminalRegister.of([("川F·D72692", "1380013800x")])
    assert plate_key("川F·D72692") == plate_key("川FD72692") != plate_key("川F·D72693")


def test_the_admins_declaration_wins_and_moves_a_plate() -> None:
    declared = TerminalRegister.of([("川F·D72692", "13911112222"), ("川F·D32468", "13933334444")])
    merged = REG.merged(declared)
    assert admit(merged, "13911112222", "川F·D72692").ok
    assert admit(merged, "13800138000", "川F·D72692").refusal == UNKNOWN_TERMINAL  # moved
    assert admit(merged, "13933334444", "川F·D32468").ok
    assert admit(merged, "13800138001", "川F·D54327").ok  # untouched


def test_a_terminal_holding_a_code_for_its_plate_is_refused_another() -> None:
    held = {"plate": "川F·D72692", **sealed(new_code())}
    assert already_registered(held, "川FD72692")
    assert not already_registered(None, "川F·D72692")
    assert not already_registered({"plate": "川F·D54327", **sealed("x")}, "川F·D72692")
    assert not already_registered({"plate": "川F·D72692", "code": "abc"}, "川F·D72692")


def test_auth_codes_are_sealed_with_a_salt_of_their_own() -> None:
    code = new_code()
    one, two = sealed(code), sealed(code)
    assert code not in str(one) and one["salt"] != two["salt"] and one["hash"] != two["hash"]
    assert code_matches(code, one) and code_matches(code, two)
    assert not code_matches(code + "0", one) and not code_matches("", one)
    assert one["hash"] == hash_code(code, one["salt"])
    assert not code_matches(code, {"plate": "川F·D72692", "code": code})  # kept in clear
    assert not code_matches(code, {"salt": 1, "hash": None})


def test_the_demo_register_gives_each_bus_a_terminal_of_its_own() -> None:
    town = load_town(DEMO_TOWN_DIR)
    register = load_terminals(town)
    assert len(register) == len(town.vehicles)
    assert register.phone_of("川F·D72692") == "13800138000"  # tests/browser.py's terminal
    assert all(v.terminal and v.terminal != v.phone for v in town.vehicles)


def _town_copy(tmp_path: Path, keep_terminal: bool) -> Path:
    town = tmp_path / "town"
    shutil.copytree(DEMO_TOWN_DIR, town)
    with (town / "vehicles.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with (town / "vehicles.csv").open("w", encoding="utf-8", newline="") as fh:
        fields = [k for k in rows[0] if keep_terminal or k != "terminal"]
        w = csv.DictWriter(fh, fields, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return town


def test_a_town_without_the_terminal_column_binds_no_terminal(tmp_path: Path) -> None:
    town = load_town(_town_copy(tmp_path, keep_terminal=False))
    assert all(v.terminal == "" for v in town.vehicles)
    assert len(load_terminals(town)) == 0


def test_a_declared_register_file_is_read_and_checked(tmp_path: Path) -> None:
    town = load_town(_town_copy(tmp_path, keep_terminal=False))
    declared = tmp_path / "terminals.csv"
    declared.write_text("plate,terminal\n川F·D72692,013912345678\n", encoding="utf-8")
    register = load_terminals(town, declared)
    assert admit(register, "13912345678", "川F·D72692").ok and len(register) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("plate,sim\n川F·D72692,13912345678\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.csv"):
        load_terminals(town, bad)


def test_the_gateway_binds_this_machine_unless_told() -> None:
    assert Settings.from_env({}).jt808_host == "127.0.0.1"
    assert Settings.from_env({"ZN_JT808_HOST": "0.0.0.0"}).jt808_host == "0.0.0.0"
