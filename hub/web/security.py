"""Security headers on every answer, set in one place as each response is prepared.

Every answer says ``nosniff`` and names no server version; API answers are never cached (they
carry customers' messages); HTML pages get a Content Security Policy that allows only the hub's
own scripts and styles and no framing; when the public URL is https, browsers are told to keep
to https (HSTS).
"""

from __future__ import annotations

from aiohttp import web

#: what a page may load when it did not set a policy of its own: the demo shop, error pages
PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"


def install(app: web.Application, public_url: str) -> None:
    https = public_url.lower().startswith("https://")

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        headers["Server"] = "Kefu Hub"
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if https:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if request.path.startswith("/api/"):
            headers["Cache-Control"] = "no-store"
        if (response.content_type or "").startswith("text/html"):
            headers.setdefault("Content-Security-Policy", PAGE_CSP)
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault("Referrer-Policy", "same-origin")

    app.on_response_prepare.append(on_prepare)
