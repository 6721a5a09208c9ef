"""The server-side gate: who is asking (cookie, kiosk token, API key), may they, CSRF, headers.

`AuthMiddleware` is a plain ASGI middleware around the whole FastAPI app, so it sees every
HTTP request and every websocket handshake before Dash or a route does. It puts the
principal in a contextvar (dashboard.roles.CURRENT); Dash's websocket handler creates each
callback's task inside that context, so callbacks served over the websocket see the user of
the connection, and callbacks served over HTTP see the user of the request.
datasources/gate/callbacks.py wraps every server callback with its role check.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.i18n.georeport_wire import error_body, is_open311, path_format
from dashboard.i18n.text import key_refusal, requested_lang
from dashboard.roles import (
    ANON,
    CURRENT,
    NOBODY,
    Principal,
    allowed,
    key_may,
    page_roles,
    route_roles,
)
from datasources.gate.callbacks import SocketChecks
from datasources.threads import for_screens

log = logging.getLogger(__name__)
SESSION_COOKIE = "zn_session"
KIOSK_COOKIE = "zn_kiosk"
GUARDIAN_COOKIE = "zn_parent"  # a guardian's link, once exchanged (issue 13)
CSRF_COOKIE = "_csrf_token"  # the name Dash's renderer reads to send X-CSRFToken
CSRF_HEADER = "x-csrftoken"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
FORM_PATHS = ("/login",)  # checks the token in its form field itself
Headers = dict[str, str] | list[tuple[str, str]]  # a list when a name repeats (set-cookie)


def cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies by name."""
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is just no cookies
                return {}
    return {k: v.value for k, v in jar.items()}


def header(scope: Scope, name: str) -> str:
    """One request header (lower-case name), '' when absent."""
    want = name.encode()
    for key, value in scope.get("headers", []):
        if key == want:
            return value.decode("latin-1")
    return ""


def csrf_token(credential: str) -> str:
    """The CSRF token bound to a session (or kiosk) token: an HMAC keyed by that secret.

    Only whoever holds the HttpOnly credential can know it, so a cookie planted by another
    site or a sibling subdomain, with a header to match, no longer passes. Nothing is stored
    and every server process computes the same token.
    """
    return hmac.new(credential.encode(), b"zhongnao csrf v1", hashlib.sha256).hexdigest()


def bound_csrf(who: Principal, jar: dict[str, str]) -> str:
    """The CSRF token the principal's requests must carry ('' when it rides on no cookie)."""
    cookie = {"user": SESSION_COOKIE, "kiosk": KIOSK_COOKIE,
              "guardian": GUARDIAN_COOKIE}.get(who.kind, "")
    credential = jar.get(cookie) if cookie else ""
    return csrf_token(credential) if credential else ""


def client_ip(scope: Scope) -> str:
    """The client's address, the one place the app reads it: the TCP peer, or the address a
    proxy named in ZN_TRUSTED_PROXIES forwarded (app.py rewrites the scope for those only)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


def over_https(scope: Scope, declared: bool) -> bool:
    """True when the request came over HTTPS: ZN_SECURE_COOKIES says the site is served so,
    or the scheme is https (TLS here, or X-Forwarded-Proto from a trusted proxy)."""
    return declared or scope.get("scheme") in ("https", "wss")


def cookie_attrs(https: bool) -> str:
    """'; Secure' for a cookie sent over HTTPS, else ''."""
    return "; Secure" if https else ""


@dataclass(frozen=True)
class TokenEntry:
    """A page opened once with a token in its URL, swapped at once for a cookie."""

    path: str
    param: str
    kind: str  # api_keys.kind
    cookie: str
    action: str  # the audit's name of the sign-in
    refusal: str


TOKEN_ENTRIES: dict[str, TokenEntry] = {
    "/": TokenEntry("/", "kiosk", "kiosk", KIOSK_COOKIE, "login.kiosk",
                    "大屏令牌无效或已吊销 / kiosk token not valid or revoked"),
    "/parent": TokenEntry("/parent", "link", "guardian", GUARDIAN_COOKIE, "login.guardian",
                          "链接无效或已停用，请联系学校 / this link is not valid or was "
                          "revoked: ask the school"),
}


class RedactTokens(logging.Filter):
    """Masks `kiosk=TOKEN` and `link=TOKEN` in the access log's request line: a wall's (or a
    guardian's) first request carries its token in the URL (the gate swaps it for a cookie
    at once), and a log line is read by more people than the token's owner."""

    PATTERN = re.compile(r"((?:kiosk|link)=)[^&\s\"]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments (uvicorn logs the path as one of them)."""
        if isinstance(record.args, tuple):
            record.args = tuple(self.PATTERN.sub(r"\1[redacted]", a) if isinstance(a, str)
                                else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = self.PATTERN.sub(r"\1[redacted]", record.msg)
        return True


def redact_access_log() -> None:
    """Install RedactTokens on uvicorn's access logger (once per process)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())


class InlineScriptHashes:
    """The CSP hashes of every inline script the Dash app emits, read when asked.

    Dash adds inline scripts after `create_app` returns (the pages router registers its
    clientside callbacks when the server is set up), so a list taken at start-up missed
    the router's: the browser refused it and the renderer then failed on the missing
    function. The list is recomputed only when the number of scripts changes.
    """

    def __init__(self, app: Any):
        self.app = app
        self.seen = -1
        self.hashes: list[str] = []

    def __call__(self) -> list[str]:
        """The hashes now (Dash's own `csp_hashes`, which moves pending scripts in first)."""
        from dash import _callback

        count = len(self.app._inline_scripts) + len(_callback.GLOBAL_INLINE_SCRIPTS)
        if count != self.seen:
            self.hashes = list(self.app.csp_hashes())
            self.seen = len(self.app._inline_scripts)
        return self.hashes


FAVICON_PATHS = ("/favicon.ico",)  # browsers ask for it on every page, signed in or not


def csp(hashes: list[str], tile_url: str = "", image_origins: list[str] | None = None) -> str:
    """A Content-Security-Policy that lets Dash run: only this origin, Dash's inline
    bootstrap script by hash, inline styles (Dash components set style attributes). Images
    also from the tile server and from the origins of ZN_IMAGE_ORIGINS (the camera
    platform's snapshots, issue 15), nothing else."""
    img = "'self' data: blob:"
    if tile_url:
        parsed = urlparse(tile_url.replace("{", "").replace("}", ""))
        if parsed.scheme and parsed.netloc:
            img += f" {parsed.scheme}://{parsed.netloc}"
    for origin in image_origins or ():
        parsed = urlparse(origin)
        if parsed.scheme in ("http", "https") and parsed.netloc:
            img += f" {parsed.scheme}://{parsed.netloc}"
    return ("default-src 'self'; "
            f"script-src 'self' {' '.join(hashes)}; "
            "style-src 'self' 'unsafe-inline'; "
            f"img-src {img}; font-src 'self' data:; connect-src 'self'; "
            "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")


# Pages that may ask the phone where it is (the browser still asks the user): /field's report
# form takes the grid worker's position (issue 15). The camera needs no permission: the form's
# <input type=file capture> hands the picture over from the phone's own camera app.
GEOLOCATION_PAGES = ("/field",)


def permissions_policy(path: str) -> str:
    """The Permissions-Policy of a response: no camera, microphone or position, except the
    position on the pages that take one (GEOLOCATION_PAGES)."""
    geo = "(self)" if (path.rstrip("/") or "/") in GEOLOCATION_PAGES else "()"
    return f"camera=(), microphone=(), geolocation={geo}"


class AuthMiddleware:
    """Resolve the principal, enforce the route policy and CSRF, add security headers."""

    def __init__(self, app: ASGIApp, services: Any, csp_header: Callable[[], str],
                 secure: bool = False, hsts_seconds: int = 0):
        self.app = app
        self.services = services
        self.csp_header = csp_header
        self.secure = secure  # ZN_SECURE_COOKIES: the site is served over HTTPS
        self.hsts_seconds = hsts_seconds
        self.socket_checks = SocketChecks(services)  # every websocket message's re-check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        method = "WS" if scope["type"] == "websocket" else scope.get("method", "GET")
        jar = cookies(scope)
        https = over_https(scope, self.secure)
        principal = self.anonymous(scope, jar)
        if principal is None:
            # Every credential is looked up in the database at every request (revoking a
            # kiosk token or ending a session takes effect at once, in every process); off
            # the event loop, so a slow database stalls no screen.
            principal = await for_screens(self.resolve, scope, jar)
        token = CURRENT.set(principal)
        try:
            if scope["type"] == "websocket":
                await self.websocket(scope, receive, send, principal, path)
                return
            entry = TOKEN_ENTRIES.get(path) if method == "GET" else None
            if entry is not None and f"{entry.param}=" in \
                    scope.get("query_string", b"").decode("latin-1"):
                # A database look-up and an audit row: off the event loop.
                refusal: tuple[int, Headers, bytes] | None = await for_screens(
                    self.token_entry, scope, entry)
            else:
                refusal = self.refuse(scope, method, path, principal, jar)
            if refusal is not None:
                refusal = open311_shaped(path, refusal)
                rejected = scope.get("state", {}).get("zn_rejected")
                if rejected and self.services.intake is not None:
                    await asyncio.to_thread(self.services.intake.reject, *rejected)
                await self.respond(send, *refusal, https=https)
                return
            await self.app(scope, receive, self.headers_added(send, jar, principal, https,
                                                              path))
        finally:
            CURRENT.reset(token)

    # ------------------------------------------------------------ who
    def anonymous(self, scope: Scope, jar: dict[str, str]) -> Principal | None:
        """The principal of a request that carries no credential; None when it carries one
        (the database must be asked)."""
        if self.services.accounts is None:
            return NOBODY
        if jar.get(SESSION_COOKIE) or jar.get(KIOSK_COOKIE) or jar.get(GUARDIAN_COOKIE) \
                or header(scope, "x-api-key") \
                or header(scope, "authorization").lower().startswith("bearer "):
            return None
        return Principal(ip=client_ip(scope))

    def resolve(self, scope: Scope, jar: dict[str, str]) -> Principal:
        """The principal behind the request's cookie, kiosk token or API key."""
        accounts = self.services.accounts
        if accounts is None:
            return NOBODY
        ip = client_ip(scope)
        try:
            if jar.get(SESSION_COOKIE):
                found = accounts.session_principal(jar[SESSION_COOKIE], ip)
                if found is not None:
                    return found
            if jar.get(KIOSK_COOKIE):
                found = accounts.key_principal(jar[KIOSK_COOKIE], "kiosk", ip)
                if found is not None:
                    return found
            if jar.get(GUARDIAN_COOKIE):
                found = accounts.key_principal(jar[GUARDIAN_COOKIE], "guardian", ip)
                if found is not None:
                    return found
            key = header(scope, "x-api-key")
            auth = header(scope, "authorization")
            if not key and auth.lower().startswith("bearer "):
                key = auth[7:].strip()
            if key:
                found = accounts.key_principal(key, "ingest", ip)
                if found is not None:
                    return found
        except Exception as exc:  # database down: nobody is known, the doors say 503
            log.warning("principal not resolved: %s", exc)
            scope.setdefault("state", {})["zn_auth_outage"] = True
        return Principal(ip=ip)

    # ------------------------------------------------------------ may they
    def refuse(self, scope: Scope, method: str, path: str, who: Principal,
               jar: dict[str, str]) -> tuple[int, Headers, bytes] | None:
        """The response refusing this request, or None to let it through."""
        if method == "GET" and path in FAVICON_PATHS:
            return 200, {"content-type": "image/x-icon",
                         "cache-control": "public, max-age=86400"}, favicon()
        roles = route_roles(method, path)
        if not allowed(roles, who) and scope.get("state", {}).get("zn_auth_outage"):
            # Not "who are you?": the accounts could not be read. Try again shortly.
            return 503, {"content-type": "application/json", "retry-after": "5"}, json.dumps(
                {"error": "unavailable", "message": "服务暂时不可用，请稍后重试。"
                 " The service is unavailable; retry later."}, ensure_ascii=False).encode()
        if not allowed(roles, who):
            return self.denied(scope, method, path, who)
        if not key_may(who, method, path):
            # A key of one source at a door its scopes do not open (a citizen's key posting
            # bus positions): refused and counted like any rejection at a door.
            scope.setdefault("state", {})["zn_rejected"] = (
                "scope", f"{who.name} ({who.source}) {method} {path}")
            lang = requested_lang(header(scope, "accept-language"))
            return 403, {"content-type": "application/json"}, json.dumps(
                {"error": "scope", "message": key_refusal(who, method, path, lang)},
                ensure_ascii=False).encode()
        if method == "GET" and page_roles(path) is None and self.is_page(path):
            return self.denied(scope, method, path, who)  # a page nobody declared
        if method == "GET" and self.is_page(path) and not allowed(page_roles(path), who):
            return self.denied(scope, method, path, who)
        if method not in SAFE_METHODS and who.kind in ("user", "kiosk", "guardian"):
            # Cookies travel with cross-site requests; a token the page read from its own
            # cookie does not. The token is bound to the session (an HMAC of its secret), so
            # a matching cookie and header made up elsewhere do not pass. The login form
            # carries its own (pre-session) token in a field, checked there.
            ctype = header(scope, "content-type")
            sent = header(scope, CSRF_HEADER)
            expected = bound_csrf(who, jar)
            form_checked_there = path in FORM_PATHS and "form" in ctype
            if not form_checked_there and not (
                    expected and sent and secrets.compare_digest(sent, expected)):
                return 403, {"content-type": "application/json"}, json.dumps(
                    {"error": "csrf", "message": "missing or wrong X-CSRFToken"}).encode()
        return None

    @staticmethod
    def is_page(path: str) -> bool:
        """True for the path of a registered Dash page."""
        import dash

        want = path.rstrip("/") or "/"
        paths = {(p.get("path") or "").rstrip("/") or "/" for p in dash.page_registry.values()}
        return want in paths

    def denied(self, scope: Scope, method: str, path: str,
               who: Principal) -> tuple[int, dict[str, str], bytes]:
        """401 for nobody (a browser is sent to /login), 403 for a signed-in role."""
        if method == "GET" and "text/html" in header(scope, "accept") and not who.signed_in:
            query = scope.get("query_string", b"").decode()
            target = path + (f"?{query}" if query else "")
            return 303, {"location": f"/login?next={quote(target, safe='')}"}, b""
        if method == "GET" and "text/html" in header(scope, "accept") and \
                who.kind == "guardian" and path != "/parent":
            return 303, {"location": "/parent"}, b""  # a parent's phone has one page: theirs
        if method == "GET" and "text/html" in header(scope, "accept"):
            # A signed-in browser on a page its role may not see: say so, in both languages.
            page = ("<!doctype html><meta charset='utf-8'><link rel='stylesheet' "
                    "href='/assets/zn_login.css'><body class='zn-login-body'><main "
                    "class='zn-login'><h1>无权访问 / Not allowed</h1><p>"
                    f"{escape(who.name)} · {escape(who.role)}</p><a href='/'>大屏 / Wall</a>"
                    "<a href='/login'>换个账号登录 / Sign in as someone else</a></main>")
            return 403, {"content-type": "text/html; charset=utf-8"}, page.encode()
        status = 401 if who.role == ANON else 403
        body = {"error": "unauthorized" if status == 401 else "forbidden",
                "message": ("请先登录" if status == 401 else "无权执行此操作") +
                           f" ({method} {path})"}
        return status, {"content-type": "application/json"}, json.dumps(
            body, ensure_ascii=False).encode()

    def token_entry(self, scope: Scope, entry: TokenEntry) -> tuple[int, Headers, bytes]:
        """/?kiosk=TOKEN (a wall), /parent?link=TOKEN (a guardian): keep the token in an
        HttpOnly cookie and drop it from the URL."""
        query = parse_qs(scope.get("query_string", b"").decode())
        token = (query.pop(entry.param, [""]) or [""])[0]
        rest = "&".join(f"{k}={quote(v[0])}" for k, v in query.items())
        accounts = self.services.accounts
        who = accounts.key_principal(token, entry.kind, client_ip(scope)) if token else None
        if who is None:
            return 403, {"content-type": "text/plain; charset=utf-8"}, entry.refusal.encode()
        self.services.audit.record(entry.action, who.name, who=who)
        secure = cookie_attrs(over_https(scope, self.secure))
        cookie = (f"{entry.cookie}={token}; Path=/; HttpOnly; SameSite=Lax; "
                  f"Max-Age=31536000{secure}")
        # The URL with the token is answered with a redirect to the same screen without it
        # (Cache-Control: no-store, and the access log masks it: RedactTokens).
        # One browser, one token holder: a wall PC opening a parent's link (or the other way
        # round) becomes that holder only.
        held = cookies(scope)
        others = [("set-cookie", f"{e.cookie}=; Path=/; Max-Age=0{secure}")
                  for e in TOKEN_ENTRIES.values() if e.cookie != entry.cookie and e.cookie in held]
        return 303, [("location", entry.path + (f"?{rest}" if rest else "")),
                     ("set-cookie", cookie), *others,
                     ("set-cookie", f"{CSRF_COOKIE}={csrf_token(token)}; Path=/; "
                                    f"SameSite=Strict{secure}"),
                     ("cache-control", "no-store")], b""

    async def websocket(self, scope: Scope, receive: Receive, send: Send, who: Principal,
                        path: str) -> None:
        """Same-origin signed-in websockets only (the cookie is the credential)."""
        origin = header(scope, "origin")
        host = header(scope, "host")
        same_origin = bool(origin) and urlparse(origin).netloc == host
        if not same_origin or not allowed(route_roles("WS", path), who):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 4403 if same_origin else 4003})
            return
        async def checked_receive() -> Message:
            # Every message re-checks the session (heartbeats arrive every few seconds),
            # so signing out, disabling a user or revoking a kiosk token ends the stream.
            message = await receive()
            if message["type"] != "websocket.receive" or not who.session:
                return message
            # Asked of the database (off the event loop) at every message: a revocation in
            # another process is seen at once, not when a cache expires.
            ok = await self.socket_checks.still_valid(who)
            if not ok:
                await send({"type": "websocket.close", "code": 4401})
                return {"type": "websocket.disconnect", "code": 4401}
            return message

        await self.app(scope, checked_receive, send)

    # ------------------------------------------------------------ responses
    async def respond(self, send: Send, status: int, headers: Headers, body: bytes,
                      https: bool = False) -> None:
        """Send a whole small response with the security headers."""
        pairs = headers.items() if isinstance(headers, dict) else headers
        raw = [(k.encode(), v.encode()) for k, v in pairs]
        raw += self.security_headers(https)
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    def security_headers(self, https: bool = False,
                         path: str = "") -> list[tuple[bytes, bytes]]:
        """Headers every response carries (HSTS when served over HTTPS)."""
        hsts = [(b"strict-transport-security",
                 f"max-age={self.hsts_seconds}; includeSubDomains".encode())] \
            if https and self.hsts_seconds > 0 else []
        return hsts + [(b"content-security-policy", self.csp_header().encode()),
                (b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"same-origin"),
                (b"permissions-policy", permissions_policy(path).encode())]

    def headers_added(self, send: Send, jar: dict[str, str], who: Principal,
                      https: bool = False, path: str = "") -> Send:
        """`send` that adds the security headers and, when missing or not the one bound to
        the request's session, the CSRF cookie."""
        bound = bound_csrf(who, jar)
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", [])
                           if h[0].lower() not in (b"x-frame-options",
                                                   b"content-security-policy",
                                                   b"strict-transport-security")]
                headers += self.security_headers(https, path)
                sets_csrf = any(k.lower() == b"set-cookie" and v.startswith(CSRF_COOKIE.encode())
                                for k, v in headers)
                wanted = bound or jar.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
                if jar.get(CSRF_COOKIE) != wanted and not sets_csrf:
                    # Readable by the page on purpose: Dash copies it into X-CSRFToken.
                    headers.append((b"set-cookie", (
                        f"{CSRF_COOKIE}={wanted}; Path=/; SameSite=Strict"
                        f"{cookie_attrs(https)}").encode()))
                message = {**message, "headers": headers}
            await send(message)
        return wrapped


def open311_shaped(path: str, refusal: tuple[int, Headers, bytes]) -> tuple[int, Headers, bytes]:
    """A refusal of the gate at an Open311 path in GeoReport's error format (issue 15):
    [{code, description}], or <errors> for a .xml path; other paths' refusals as they are."""
    status, headers, body = refusal
    if status < 400 or not is_open311(path):
        return refusal
    try:
        found = json.loads(body)
        text = str(found.get("message") or found.get("error")) if isinstance(found, dict) \
            else ""
    except ValueError:
        text = ""
    text = text or body.decode("utf-8", "replace")
    raw, ctype = error_body(status, text, path_format(path))
    pairs = headers.items() if isinstance(headers, dict) else headers
    return status, [(k, v) for k, v in pairs if k.lower() != "content-type"] + [
        ("content-type", ctype)], raw


def favicon() -> bytes:
    """The icon in assets/ (read once); an empty answer rather than a 401 when missing."""
    global _FAVICON
    if _FAVICON is None:
        from pathlib import Path

        icon = Path(__file__).resolve().parents[2] / "assets" / "favicon.ico"
        _FAVICON = icon.read_bytes() if icon.exists() else b""
    return _FAVICON


_FAVICON: bytes | None = None


def escape(text: str) -> str:
    """HTML-escape for the hand-written login page."""
    return html.escape(text, quote=True)
