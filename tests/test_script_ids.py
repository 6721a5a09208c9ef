"""The component ids the page scripts look up are named once, in Python (pages/_script_ids.py),
and reach the scripts on the page itself: a script naming an id the layout does not name
fails here, not on a wall that silently stops drawing."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from pages._script_ids import script_ids
from tests.auth_helpers import sign_in

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "assets").glob("*.js"))


def _ids() -> set[str]:
    named = script_ids()
    return {named["CLOCK"], *named["wall"].values(), *named["console"].values()}


def test_every_page_carries_the_ids_its_scripts_read(client):
    sign_in(client, client.zn, "值班员王", "officer")
    for path in ("/", "/dispatch", "/buses"):
        page = client.get(path)
        assert page.status_code == 200, path
        found = re.search(r'<meta name="zn-ids" content="([^"]*)"', page.text)
        assert found, f"{path} has no zn-ids meta tag"
        assert json.loads(html.unescape(found.group(1))) == script_ids()


def test_no_page_script_spells_a_component_id_of_its_own():
    for script in SCRIPTS:
        text = script.read_text(encoding="utf-8")
        for component in _ids():
            assert not re.search(rf"[\"']{re.escape(component)}[\"']", text), \
                f"{script.name} spells {component!r}: read it from window.zn.ids"


def test_every_id_a_script_reads_is_one_the_layout_names():
    named = script_ids()
    read = 0
    for script in SCRIPTS:
        text = script.read_text(encoding="utf-8")
        # The scripts' names for the two namespaces (var wall = window.zn.ids.wall, ...).
        aliases = {"wall": {"wall"}, "console": {"console"}}
        for alias, space in re.findall(r"var (\w+) = window\.zn\.ids\.(wall|console)\b", text):
            aliases[space].add(alias)
        for space, names in aliases.items():
            for alias in names:
                for name in re.findall(rf"\b{alias}\.([A-Z][A-Z0-9_]*)\b", text):
                    assert name in named[space], f"{script.name}: {alias}.{name} is not named"
                    read += 1
        for name in re.findall(r"\bIDS\.(wall|console)\.([A-Z][A-Z0-9_]*)\b", text):
            assert name[1] in named[name[0]], f"{script.name}: IDS.{name[0]}.{name[1]}"
            read += 1
    assert read >= 10  # the scripts do read them (the wall's push, the console's queue)
