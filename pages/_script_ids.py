"""The component ids the page scripts (assets/*.js) look up, named once, here in Python.

Every page carries them in `<meta name="zn-ids">` (app.py); assets/zn_direct.js, the first
script to load, reads them into `window.zn.ids`: `ids.wall.PANELS`, `ids.console.LIST`,
`ids.CLOCK`. A script that names an id the layout does not (a typo, a rename) finds
`undefined`, and the wall and console tests fail, instead of a second spelling going stale.
"""

from __future__ import annotations

import json
from typing import Any

from pages._components import CLOCK
from pages._dispatch_parts import ids as console
from pages._wall_push import ids as wall


def _names(namespace: type) -> dict[str, str]:
    return {k: v for k, v in vars(namespace).items() if k.isupper() and isinstance(v, str)}


def script_ids() -> dict[str, Any]:
    """{"CLOCK": ..., "wall": {PANELS: ...}, "console": {LIST: ...}}."""
    return {"CLOCK": CLOCK, "wall": _names(wall), "console": _names(console)}


def script_ids_meta() -> dict[str, str]:
    """The page's meta tag that carries them (Dash escapes its content)."""
    return {"name": "zn-ids", "content": json.dumps(script_ids(), separators=(",", ":"))}
