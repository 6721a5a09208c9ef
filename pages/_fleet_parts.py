"""The vehicle record's panel on /buses (一车一档): dates coloured by state, equipment,
drivers with their dates and phones, today's checks, and the 不宜出车 mark."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard.buses.pupils import Viewer, manifest_view
from dashboard.buses.views import staff_with_phones
from dashboard.i18n.text import t
from dashboard.roles import DISPLAY, current, personal
from dashboard.timeutil import LOCAL_TZ, hhmm, utcnow
from pages._components import services


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


def manifest_panel(view: dict[str, Any], states: dict[str, str], lang: str,
                   only: str | None = None) -> list[Any]:
    """The trip's manifest by stop (pupils.manifest_view: names as the reader may see them,
    counts only for the wall) with each child's state now (`states` by pupil id); `only`:
    the children in that state alone (the console's bus work order: who is on board)."""
    rows: list[Any] = [html.H3(t("fleet.manifest" if only is None else f"fleet.only.{only}",
                                 lang))]
    for s in view["stops"]:
        if not s["expected"]:
            continue
        name = s["name_en"] if lang == "en" and s.get("name_en") else s["name"]
        head = f"{s['time']} {name} · " + t("fleet.manifest.expected_n", lang).format(
            n=s["expected"])
        pupils = []
        for p in s.get("pupils", []):
            state = states.get(p["id"], "expected")
            if only is not None and state != only:
                continue
            # Whom to call, where it is asked for: each guardian's phone (as guardian_phone
            # lets this reader see it).
            call = "".join(f" · {g['relation']} {g['phone']}" for g in p.get("guardians", [])
                           if g.get("phone")) if only is not None else ""
            pupils.append(html.Li(f"{p['name']} · {t('fleet.pupil.' + state, lang)}{call}",
                                  className=f"fleet-pupil fleet-pupil-{state}",
                                  **{"data-pupil": p["id"]}))
        if only is not None and not pupils:
            continue
        rows.append(html.Div([html.Div(head, className="fleet-manifest-stop"),
                              html.Ul(pupils, className="fleet-pupils")] if pupils else
                             [html.Div(head, className="fleet-manifest-stop")],
                             className="fleet-manifest"))
    return rows


def staff_block(plate: str, route: str | None, lang: str) -> list[Any]:
    """The staff of the bus's route (and its drivers), with phones as this reader may see
    them (roles.personal: whole for officers), or nothing when none are on record."""
    tracker = services().hub.tracker
    if tracker is None:
        return []
    record = tracker.vehicle_records.get(plate) or {}
    who = current()
    staff = staff_with_phones(tracker.route_staff.get(route or record.get("route") or "", {}),
                              record or None, lang,
                              lambda number: personal(number, "phone", who))
    return [html.H3(t("bus_staff", lang)), staff_list(staff, lang)] if staff else []


def manifest_block(trip: str, plate: str, lang: str, *, where: str, first_view: bool,
                   only: str | None = None) -> list[Any]:
    """Today's manifest of a trip as this reader may see it (names by pupils.name_access),
    each read by a person audited once per opening (`where` names the screen)."""
    svc = services()
    if svc.boarding is None:
        return []
    found = svc.boarding.recent_tally(trip, utcnow().astimezone(LOCAL_TZ).date().isoformat())
    if found is None:
        return []
    manifest, tally = found
    who = current()
    view = manifest_view(manifest, Viewer(who.role), plate)
    if first_view and svc.audit is not None and who.role != DISPLAY:
        svc.audit.record("pupils.manifest", trip, f"{where} · {manifest.expected}",
                         who=who)
    return manifest_panel(view, {pid: st.state for pid, st in tally.pupils.items()}, lang,
                          only)
