"""The API's documentation pages, served whole from the product (issue 15, offline).

FastAPI's own /docs page loads Swagger UI from a CDN, which the Content-Security-Policy
blocks and a government intranet cannot reach. Here Swagger UI (/api/docs) comes from the
`fastapi-offline` package's copy of its files, started by a small script of ours (no inline
script, so the CSP stays 'self' only). ReDoc is not offered: its bundle loads its maker's
logo from a CDN whatever its options say.
"""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

STATIC = "/api/docs/static"
_VENDOR = Path(fastapi_offline.__file__).resolve().parent / "static"
_OURS = Path(__file__).resolve().parent / "docs_static"
# The only files served, by name (no path from the URL ever reaches the disk).
FILES: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (_VENDOR / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (_VENDOR / "swagger-ui.css", "text/css"),
    "favicon.png": (_VENDOR / "favicon.png", "image/png"),
    "swagger-init.js": (_OURS / "swagger-init.js", "text/javascript"),
}


def page(title: str, openapi_url: str, css: list[str], scripts: list[str], root: str) -> str:
    """A documentation page that loads only same-origin files."""
    links = "".join(f'<link rel="stylesheet" href="{STATIC}/{c}">' for c in css)
    tags = "".join(f'<script src="{STATIC}/{s}"></script>' for s in scripts)
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title>"
            f'<link rel="icon" href="{STATIC}/favicon.png">{links}</head>'
            f'<body data-openapi="{html.escape(openapi_url)}"><div id="{root}"></div>'
            f"{tags}</body></html>")


def build_docs_router(title: str, openapi_url: str) -> APIRouter:
    """/api/docs (Swagger UI) and its files."""
    router = APIRouter(include_in_schema=False)

    @router.get("/api/docs")
    async def swagger_ui() -> HTMLResponse:
        """Swagger UI over the OpenAPI schema: try every door from the browser."""
        return HTMLResponse(page(f"{title} – API", openapi_url, ["swagger-ui.css"],
                                 ["swagger-ui-bundle.js", "swagger-init.js"], "swagger-ui"))

    @router.get(STATIC + "/{name}")
    async def docs_file(name: str) -> Response:
        """One of the pages' files, cached for a day."""
        found = FILES.get(name)
        if found is None or not found[0].exists():
            return JSONResponse({"error": "not_found", "message": name}, status_code=404)
        return FileResponse(found[0], media_type=found[1],
                            headers={"Cache-Control": "public, max-age=86400"})

    return router
