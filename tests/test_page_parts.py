"""A page's helper module (pages/_*.py) is imported once per process, but Dash takes the
callbacks of each app it builds: a callback decorated at a helper's top level belongs to the
first app only, and every later app (a second server in the process, each test after the
first on an xdist worker) draws the part with nothing behind it. Helpers register their
callbacks from a function their page calls (`register_*_callbacks()`)."""

from __future__ import annotations

import ast
from pathlib import Path

PAGES = Path(__file__).resolve().parent.parent / "pages"


def _is_callback(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Attribute) and target.attr in ("callback", "clientside_callback")


def test_no_page_helper_decorates_a_callback_at_its_top_level():
    found = [f"{path.name}:{node.lineno} {node.name}"
             for path in sorted(PAGES.glob("_*.py"))
             for node in ast.parse(path.read_text(encoding="utf-8")).body
             if isinstance(node, ast.FunctionDef) and any(map(_is_callback, node.decorator_list))]
    assert not found, f"callbacks only the first app gets: {found}"
