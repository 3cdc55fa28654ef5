"""The pages people open in a browser."""

from __future__ import annotations

from aiohttp import web

ROOT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kefu Hub</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Kefu Hub 客服中心</h1>
<p>The REST API is at <code>/api/v1</code>; its OpenAPI document is
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.
Health: <a href="/healthz">/healthz</a>.</p>
</body></html>
"""


async def root(request: web.Request) -> web.Response:
    return web.Response(text=ROOT, content_type="text/html")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", root)
