"""The site's navigation: which pages a principal may open, read from the role policy."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.roles import PAGES, Principal, allowed, page_roles, route_roles

# Server HTML pages (not Dash pages) that belong in the navigation.
SERVER_PAGES: tuple[str, ...] = ("/audit",)


@dataclass(frozen=True)
class NavLink:
    """One entry of the header: a page's path and the i18n key of its name."""

    path: str
    key: str


def page_key(path: str) -> str:
    """The i18n key naming the page at `path` ('/' is the wall)."""
    return "nav_" + (path.strip("/") or "wall")


def nav_links(who: Principal) -> list[NavLink]:
    """The pages `who` may open, in the policy's order: Dash pages, then server pages."""
    out = [NavLink(p, page_key(p)) for p in PAGES if allowed(page_roles(p), who)]
    out += [NavLink(p, page_key(p)) for p in SERVER_PAGES if allowed(route_roles("GET", p), who)]
    return out


def shows_sign_out(who: Principal) -> bool:
    """A signed-in person signs out; a kiosk token (the hall's wall PC) has no one to sign out."""
    return who.signed_in and who.kind != "kiosk"
