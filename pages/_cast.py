"""投屏 from the duty console: send the selected incident to the wall screens (Redis)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from dashboard.channels import Channels
from dashboard.i18n.errors import error_text
from dashboard.i18n.text import LANGS, t
from dashboard.incidents.errors import BadInput
from dashboard.inputs import parse_id
from dashboard.roles import current
from dashboard.screens.cast import WallCast
from pages._components import services
from pages._dispatch_parts import ids, toast

CAST_BUTTON = "disp-cast"


def cast_button(lang: str) -> Any:
    """The 投屏 button of the console's action bar."""
    return html.Button(t("disp_cast", lang), id=CAST_BUTTON, n_clicks=0,
                       className="disp-cast", title=t("wall_cast", lang))


def register_cast_callback() -> None:
    """Register the 投屏 callback; called by pages/dispatch.py each time Dash loads it
    (a helper module is imported once, but each app needs its own callbacks)."""

    @dash.callback(
        Output(ids.TOAST, "children", allow_duplicate=True),
        Output(ids.TOAST, "className", allow_duplicate=True),
        Input(CAST_BUTTON, "n_clicks"), State(ids.CTX, "data"),
        State(ids.LANG, "data"), prevent_initial_call=True,
    )
    def send_to_wall(clicks: int | None, context: dict[str, Any] | None,
                     lang: str | None) -> tuple[Any, str]:
        """Publish the selected incident on the cast channel; every wall focuses it."""
        if not clicks or not context:
            raise PreventUpdate
        lang = lang if lang in LANGS else "zh"
        officer = current().name  # the hall sees who sent it: the signed-in user
        svc = services()
        assert svc.bus is not None
        try:  # the context came back from the browser: its id is parsed, never trusted
            incident_id = parse_id(context.get("id") if isinstance(context, dict) else None,
                                   "incident")
        except BadInput as exc:
            return toast(t("disp_err", lang) + error_text(exc, lang)), "disp-toast err"
        cast = WallCast(incident_id=incident_id, by=officer[:40])
        svc.bus.publish_raw(Channels(svc.settings.redis_prefix).cast, cast.to_json())
        return toast(t("disp_ok_cast", lang).format(ref=context.get("ref", ""))), "disp-toast ok"
