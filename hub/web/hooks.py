"""Provider webhooks: verify and parse through the connector, accept durably, answer.

The channel comes from this process's channel cache (at most 5 s stale, as for the visitor
routes): a callback costs no channel query and no settings decryption.
"""

from __future__ import annotations

import logging

from aiohttp import web

from hub.domain.channels import WebhookRequest
from hub.domain.errors import NotFound
from hub.services.inbound import accept, apply_statuses
from hub.services.polling import wake_poller
from hub.web.bodies import read_limited
from hub.web.keys import hub_of

log = logging.getLogger(__name__)


async def webhook(request: web.Request) -> web.Response:
    hub_ = hub_of(request)
    try:
        channel_id = int(request.match_info["channel_id"])
    except ValueError:
        raise NotFound("no such channel") from None
    name = request.match_info["name"]
    channel = await hub_.directory.channel_by_id(channel_id)
    connector = hub_.deps.connector(channel.kind)
    if name not in connector.info.webhook_names:
        raise NotFound("no such webhook")
    body = await read_limited(request, hub_.settings.max_body_bytes)
    result = await connector.handle_webhook(
        channel,
        name,
        WebhookRequest(
            method=request.method,
            # The address the provider called (and may have signed), not the proxied one.
            url=hub_.settings.public_url.rstrip("/") + request.raw_path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=body,
        ),
    )
    if result.inbound:
        # The provider's answer waits for this commit: nothing it was told we have is lost.
        await accept(hub_.deps, channel, result.inbound)
    if result.statuses:
        await apply_statuses(hub_.deps, channel, result.statuses)
    for wake in result.wake:
        await wake_poller(hub_.deps, channel, wake)
    hub_.deps.pressure.answered()
    return web.Response(
        status=result.response.status,
        body=result.response.body,
        content_type=result.response.content_type,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_route("GET", "/hooks/{channel_id}/{name}", webhook)
    app.router.add_route("POST", "/hooks/{channel_id}/{name}", webhook)
