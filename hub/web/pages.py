"""The pages people open in a browser: the inbox app and the demo shop."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from hub.web import demo
from hub.web.keys import hub_of

STATIC = Path(__file__).parent / "static"
#: static assets change with each release; a short cache plus revalidation keeps updates quick
ASSET_CACHE = "public, max-age=300, must-revalidate"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def inbox_csp(public_url: str) -> str:
    """The inbox runs only its own scripts; files may also come from the hub's public address."""
    extra = _origin(public_url)
    files = f"'self' {extra} blob: data:" if extra else "'self' blob: data:"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {files}",
            f"media-src {files}",
            "connect-src 'self' ws: wss:",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
    )


async def inbox(request: web.Request) -> web.FileResponse:
    """The single-page inbox: login, conversations and admin pages."""
    public_url = hub_of(request).settings.public_url
    return web.FileResponse(
        STATIC / "inbox" / "index.html",
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-cache",
            "Content-Security-Policy": inbox_csp(public_url),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY",
        },
    )


@web.middleware
async def static_headers(request: web.Request, handler: demo.Handler) -> web.StreamResponse:
    """Static assets get a cache policy and ``nosniff``."""
    response = await handler(request)
    if request.path.startswith("/static/") and not response.prepared:
        response.headers["Cache-Control"] = ASSET_CACHE
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def add_routes(app: web.Application) -> None:
    app.middlewares.append(static_headers)
    app.router.add_get("/", inbox)
    app.router.add_static("/static/", STATIC, follow_symlinks=False, append_version=False)
    demo.add_routes(app)
