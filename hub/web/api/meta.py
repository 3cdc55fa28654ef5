"""The API's own OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from hub.web import schemas as S
from hub.web.api.common import api
from hub.web.keys import hub_of


@api.route(
    "GET",
    "/openapi.json",
    summary="This document",
    tag="meta",
    response=S.OpenApiOut,
    auth=False,
)
async def openapi(request: web.Request) -> S.OpenApiOut:
    # The paths carry the prefix, so the server is the hub's public URL itself.
    return S.OpenApiOut(api.document(hub_of(request).settings.public_url.rstrip("/")))
