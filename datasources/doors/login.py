"""Sign-in, sign-out and the audit log's search page and CSV export (plain server HTML).

The login page is a plain form, not a Dash page: it must work before anything else is
allowed, with no script at all.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dashboard.i18n.codes import actor_label, audit_action_label, role_label
from dashboard.i18n.errors import error_text
from dashboard.i18n.text import t
from dashboard.incidents.errors import BadInput
from dashboard.inputs import parse_day
from dashboard.roles import Principal, current
from dashboard.screens.nav import nav_links, shows_sign_out
from dashboard.signin import BURST_FAILURES, BURST_WINDOW_S
from dashboard.timeutil import LOCAL_TZ, as_utc
from datasources.gate.web import (
    CSRF_COOKIE,
    KIOSK_COOKIE,
    SESSION_COOKIE,
    client_ip,
    csrf_token,
    escape,
    over_https,
)
from datasources.redis.login_throttle import LoginThrottle
from datasources.redis.ratelimit import hit_async
from datasources.sql.audit import to_csv
from datasources.threads import for_screens

LOGIN_PER_MIN_IP = 20
log = logging.getLogger(__name__)


def safe_next(target: str) -> str:
    """Only a path on this site (no //host, no scheme) may follow a sign-in."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _lang(request: Request, form: dict[str, str] | None = None) -> str:
    wanted = (form or {}).get("lang") or request.query_params.get("lang", "")
    return "en" if wanted == "en" else "zh"


def login_page(lang: str, csrf: str, next_url: str, error: str = "") -> str:
    """The sign-in form, Chinese first; ?lang=en for English."""
    other = "en" if lang == "zh" else "zh"
    switch = "English" if lang == "zh" else "中文"
    err = f'<p class="zn-login-error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="{'en' if lang == 'en' else 'zh-CN'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t('auth_title', lang))}</title>
<link rel="icon" href="/favicon.ico"><link rel="stylesheet" href="/assets/zn_login.css"></head>
<body class="zn-login-body"><main class="zn-login">
<h1>{escape(t('auth_heading', lang))}</h1>{err}
<form method="post" action="/login" id="login-form">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<input type="hidden" name="next" value="{escape(next_url)}">
<input type="hidden" name="lang" value="{lang}">
<label for="login-name">{escape(t('auth_name', lang))}</label>
<input id="login-name" name="name" autocomplete="username" required maxlength="40" autofocus>
<label for="login-password">{escape(t('auth_password', lang))}</label>
<input id="login-password" name="password" type="password" autocomplete="current-password"
 required maxlength="200">
<button type="submit" id="login-submit">{escape(t('auth_submit', lang))}</button>
</form>
<a class="zn-login-lang" href="/login?lang={other}&amp;next={escape(next_url)}">{switch}</a>
</main></body></html>"""


def nav_html(path: str, lang: str, who: Principal | None = None) -> str:
    """The shared header of the Dash pages as server HTML: the pages the role may open, the
    language switch, who is signed in and sign-out (assets/zn_auth.js posts /logout)."""
    who = who or current()
    other = "en" if lang == "zh" else "zh"
    links = "".join(
        f'<a class="zn-nav-link{" here" if link.path == path else ""}" '
        f'href="{link.path}?lang={lang}">{escape(t(link.key, lang))}</a>'
        for link in nav_links(who))
    user = ""
    if shows_sign_out(who):
        user = (f'<span class="zn-user" id="zn-user"><span class="zn-user-name">'
                f'{escape(who.name)} · {escape(role_label(who.role, lang))}</span>'
                f'<button type="button" class="zn-logout" id="zn-logout">'
                f'{escape(t("auth_logout", lang))}</button></span>')
    return (f'<div class="zn-nav" id="zn-nav"><span class="zn-nav-brand">'
            f'{escape(t("brand", lang))}</span><nav class="zn-nav-links" aria-label="'
            f'{escape(t("nav_label", lang))}">{links}</nav><span class="zn-nav-right">'
            f'<a class="lang-switch zn-nav-lang" href="{path}?lang={other}">'
            f'{escape(t("lang_switch", lang))}</a>{user}</span></div>')


HEAD_LINKS = ('<link rel="icon" href="/favicon.ico">'
              '<link rel="stylesheet" href="/assets/zn_login.css">'
              '<script src="/assets/zn_auth.js" defer></script>')


def _csrf(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or ""


def build_login_router(services: Any, secure_cookies: bool = False) -> APIRouter:
    """GET/POST /login, POST /logout, GET /audit and /audit.csv."""
    router = APIRouter(include_in_schema=False)

    def render(request: Request, lang: str, next_url: str, error: str = "",
               status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
        token = _csrf(request) or secrets.token_urlsafe(24)
        response = HTMLResponse(login_page(lang, token, next_url, error), status_code=status,
                                headers=headers)
        response.set_cookie(CSRF_COOKIE, token, samesite="strict", path="/",
                            secure=over_https(request.scope, secure_cookies))
        return response

    @router.get("/login")
    async def login_form(request: Request) -> HTMLResponse:
        """The sign-in page."""
        return render(request, _lang(request), safe_next(request.query_params.get("next", "/")))

    @router.post("/login")
    async def login(request: Request) -> Response:
        """Check name and password; start a session (HttpOnly cookie) and go on."""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(
            "utf-8", "replace")).items()}
        lang = _lang(request, form)
        next_url = safe_next(form.get("next", "/"))
        expected = _csrf(request)
        if not expected or not secrets.compare_digest(form.get("csrf", ""), expected):
            return render(request, lang, next_url, t("auth_csrf", lang), 403)
        name = form.get("name", "").strip()[:40]
        ip = client_ip(request.scope)
        r = services.bus.r
        # Per address over all names (spraying), then per name *and* address with backoff:
        # a guesser elsewhere no longer locks the user out (no per-name lock-out).
        throttle = LoginThrottle(r, services.bus.ch.prefix)
        wait = await hit_async(r, f"{services.bus.ch.prefix}:rl:login:ip:{ip}",
                               LOGIN_PER_MIN_IP) or await throttle.bounded(throttle.wait, name, ip)
        if wait:
            services.audit.record("login.limited", name, f"retry after {wait}s", actor=name)
            return render(request, lang, next_url, t("auth_limited", lang).format(s=wait), 429,
                          {"Retry-After": str(wait)})
        user = await for_screens(services.accounts.authenticate, name, form.get("password", ""))
        if user is None:
            services.audit.record("login.failed", name, actor=name or "-")
            if await throttle.bounded(throttle.failed, name, ip):
                log.warning("burst of failed sign-ins for %r (%d+ in %d s, latest from %s): "
                            "only its usual addresses may try it", name, BURST_FAILURES,
                            BURST_WINDOW_S, ip)
                services.audit.record("login.burst", name,
                                      f"{BURST_FAILURES}+ failures in {BURST_WINDOW_S}s",
                                      actor=name or "-")
            return render(request, lang, next_url, t("auth_failed", lang), 401)
        await throttle.bounded(throttle.succeeded, user.name, ip)
        token = await for_screens(services.accounts.start_session, user, ip)
        # No role text in the detail: the row's role column is labelled in the reader's language.
        services.audit.record("login", user.name,
                              who=Principal(role=user.role, name=user.name, ip=ip))
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                            max_age=int(services.accounts.session_ttl.total_seconds()),
                            secure=over_https(request.scope, secure_cookies))
        # The session's own CSRF token (bound to it): one fixed before sign-in, or planted
        # by another site, is worth nothing after.
        response.set_cookie(CSRF_COOKIE, csrf_token(token), samesite="strict", path="/",
                            secure=over_https(request.scope, secure_cookies))
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        """End the session (or forget the kiosk token) and go to the sign-in page."""
        who = current()
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await for_screens(services.accounts.end_session, token)
        services.audit.record("logout", who.name)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(KIOSK_COOKIE, path="/")
        return response

    @router.get("/audit")
    async def audit_page(request: Request) -> HTMLResponse:
        """Search the audit log (admin, leader)."""
        lang = _lang(request)
        q = request.query_params
        try:
            rows = await asyncio.to_thread(_search, services, q)
        except BadInput as exc:  # a range at year 1 or 9999 overflowed to a 500 before
            return HTMLResponse(audit_html([], dict(q), lang, error_text(exc, lang)),
                                status_code=exc.http_status)
        return HTMLResponse(audit_html(rows, dict(q), lang))

    @router.get("/audit.csv")
    async def audit_csv(request: Request) -> Response:
        """The same search as CSV (UTF-8 with BOM, so spreadsheets read the Chinese)."""
        try:
            rows = await asyncio.to_thread(_search, services, request.query_params, 100_000)
        except BadInput as exc:
            return Response(error_text(exc, _lang(request)), status_code=exc.http_status,
                            media_type="text/plain; charset=utf-8")
        services.audit.record("audit.export", f"{len(rows)} rows")
        return Response("\ufeff" + to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="audit.csv"'})

    @router.get("/api/whoami")
    async def whoami() -> JSONResponse:
        """The signed-in principal's name and role."""
        who = current()
        return JSONResponse({"name": who.name, "role": who.role, "kind": who.kind})

    return router


def _day(value: str | None, name: str) -> datetime | None:
    """Local midnight of a YYYY-MM-DD in the accepted years; BadInput for anything else (a
    wrong date used to be ignored silently, and 9999-12-31 overflowed)."""
    if not value:
        return None
    return datetime.combine(parse_day(value, name), time(0), tzinfo=LOCAL_TZ)


def _search(services: Any, q: Any, limit: int = 500) -> list[dict[str, Any]]:
    until = _day(q.get("until"), "until")
    return services.audit.search(text=q.get("q", "")[:80], action=q.get("action", "")[:40],
                                 since=_day(q.get("since"), "since"),
                                 until=until + timedelta(days=1) if until else None,
                                 limit=limit)


def audit_html(rows: list[dict[str, Any]], q: dict[str, str], lang: str,
               error: str = "") -> str:
    """The audit page: a search form, the export link, a refusal if any, and the rows
    (escaped)."""
    heads = t("audit_cols", lang).split(",")
    shown = {"role": lambda v: role_label(str(v), lang) if v else "",
             "actor": lambda v: actor_label(str(v), lang),
             "detail": lambda v: actor_label(str(v), lang) if v else "",
             "action": lambda v: audit_action_label(str(v), lang)}
    body = "".join(
        "<tr>" + "".join(
            f"<td>{escape(shown.get(c, _cell)(r[c]))}</td>" for c in
            ("id", "at", "actor", "role", "ip", "action", "target", "detail"))
        + "</tr>" for r in rows)
    from urllib.parse import urlencode
    query = urlencode({k: v for k, v in q.items() if k in ("q", "action", "since", "until")})
    value = {k: escape(q.get(k, "")) for k in ("q", "action", "since", "until")}
    return f"""<!doctype html><html lang="{'en' if lang == 'en' else 'zh-CN'}"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t('nav_audit', lang))} · {escape(t('brand', lang))}</title>
{HEAD_LINKS}</head><body class="zn-audit-body">{nav_html('/audit', lang)}
<h1>{escape(t('audit_title', lang))}</h1>
<form method="get" action="/audit" class="zn-audit-form">
<input type="hidden" name="lang" value="{lang}">
<input name="q" value="{value['q']}" placeholder="{escape(t('audit_text_ph', lang))}">
<input name="action" value="{value['action']}" placeholder="{escape(t('audit_action_ph', lang))}">
<input name="since" type="date" value="{value['since']}">
<input name="until" type="date" value="{value['until']}">
<button type="submit">{escape(t('audit_search', lang))}</button>
<a href="/audit.csv?{escape(query)}" id="audit-export">{escape(t('audit_export', lang))}</a>
</form>
{f'<p class="zn-audit-error" role="alert">{escape(error)}</p>' if error else ''}
<table class="zn-audit" id="audit-table"><thead><tr>{''.join(f'<th>{escape(h)}</th>'
                                                              for h in heads)}</tr></thead>
<tbody>{body}</tbody></table></body></html>"""


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return as_utc(value).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)
