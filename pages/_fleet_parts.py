"""The vehicle record's panel on /buses (一车一档): dates coloured by state, equipment,
drivers with their dates and phones, today's checks, and the 不宜出车 mark."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard.i18n.text import t
from dashboard.timeutil import hhmm


def not_fit_mark(lang: str) -> Any:
    """The board row's and the wall's 不宜出车 mark."""
    return html.Span(t("fleet.not_fit", lang), className="fleet-not-fit-mark")


def _due(i: dict[str, Any], lang: str) -> str:
    return t("fleet.until", lang).format(due=i["due"]) if i["due"] else ""


def _item_row(i: dict[str, Any], lang: str) -> Any:
    return html.Tr([html.Td(t(f"fleet.item.{i['item']}", lang)), html.Td(_due(i, lang)),
                    html.Td(t(f"fleet.state.{i['state']}", lang), className="fleet-state")],
                   className=f"fleet-item fleet-{i['state']}", **{"data-item": i["item"]})


def _equipment(value: bool | None, lang: str) -> str:
    return t("fleet.unknown" if value is None else
             ("fleet.fitted" if value else "fleet.not_fitted"), lang)


def record_panel(view: dict[str, Any], lang: str) -> list[Any]:
    """The record of one bus (fleet.record_view) as the /buses side panel shows it."""
    colon = "：" if lang == "zh" else ": "
    fit = view["fit"]
    verdict = t("fleet.fit" if fit else "fleet.not_fit", lang)
    if not fit:
        verdict += colon + "、".join(t(f"fleet.reason.{r}", lang) for r in view["reasons"])
    parts: list[Any] = [
        html.H3(t("fleet.title", lang)),
        html.P(verdict, className="fleet-verdict " + ("fleet-fit" if fit else "fleet-unfit")),
        html.P(f"{t('fleet.model', lang)}{colon}{view['model']} · "
               f"{t('fleet.seats', lang)}{colon}{view['seats']} · "
               f"{t('fleet.year', lang)}{colon}{view['year']}", className="bus-record"),
        html.Table(html.Tbody([_item_row(i, lang) for i in view["items"]] + [
            html.Tr([html.Td(t(f"fleet.{k}", lang)), html.Td(""),
                     html.Td(_equipment(v, lang), className="fleet-state")],
                    className="fleet-item fleet-" + ("missing" if v is None else
                                                     ("ok" if v else "expired")))
            for k, v in view["equipment"].items()]), className="fleet-items"),
    ]
    if view["drivers"]:
        parts.append(html.H3(t("fleet.drivers", lang)))
        for d in view["drivers"]:
            parts.append(html.Div([
                html.Div(f"{d['name']} ({d['id']}) · {t('fleet.licence_class', lang)}{colon}"
                         f"{d['licence_class']}" + (f" · {d['phone']}" if d["phone"] else ""),
                         className="fleet-driver-name"),
                html.Table(html.Tbody([_item_row(i, lang) for i in d["items"]]),
                           className="fleet-items"),
            ], className="fleet-driver", **{"data-driver": d["id"]}))
    checks = []
    for kind, c in view["checks"].items():
        state = t("fleet.check.done", lang).format(time=hhmm(c["at"]), actor=c["actor"]) \
            if c else t("fleet.check.not_done", lang)
        overdue = kind == "pretrip" and view["pretrip_overdue"]
        checks.append(html.Li(f"{t(f'fleet.check.{kind}', lang)}{colon}{state}",
                              className="fleet-check " + ("fleet-ok" if c else
                                                          "fleet-expired" if overdue
                                                          else "fleet-missing"),
                              **{"data-check": kind}))
        if overdue:
            checks.append(html.Li(t("fleet.check.overdue", lang),
                                  className="fleet-check fleet-expired fleet-overdue"))
    parts += [html.H3(t("fleet.checks", lang)), html.Ul(checks, className="fleet-checks")]
    return parts


def staff_list(staff: list[tuple[str, str, str]], lang: str) -> Any:
    """The staff of the bus's trip, with their phones where on record."""
    colon = "：" if lang == "zh" else ": "
    return html.Ul([html.Li(f"{role}{colon}{name}" + (f" · {phone}" if phone else ""))
                    for role, name, phone in staff], className="bus-staff")


def manifest_panel(view: dict[str, Any], states: dict[str, str], lang: str) -> list[Any]:
    """The trip's manifest by stop (pupils.manifest_view: names as the reader may see them,
    counts only for the wall) with each child's state now (`states` by pupil id)."""
    rows: list[Any] = [html.H3(t("fleet.manifest", lang))]
    for s in view["stops"]:
        if not s["expected"]:
            continue
        name = s["name_en"] if lang == "en" and s.get("name_en") else s["name"]
        head = f"{s['time']} {name} · " + t("fleet.manifest.expected_n", lang).format(
            n=s["expected"])
        pupils = []
        for p in s.get("pupils", []):
            state = states.get(p["id"], "expected")
            pupils.append(html.Li(f"{p['name']} · {t('fleet.pupil.' + state, lang)}",
                                  className=f"fleet-pupil fleet-pupil-{state}",
                                  **{"data-pupil": p["id"]}))
        rows.append(html.Div([html.Div(head, className="fleet-manifest-stop"),
                              html.Ul(pupils, className="fleet-pupils")] if pupils else
                             [html.Div(head, className="fleet-manifest-stop")],
                             className="fleet-manifest"))
    return rows
