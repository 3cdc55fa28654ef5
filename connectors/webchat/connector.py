"""The web chat connector: the widget's channel, spoken with visitors over its own transport."""

from __future__ import annotations

from html import escape
from pathlib import Path

from connectors.webchat.settings import WebchatSettings
from connectors.webchat.tokens import VisitorTokens
from connectors.webchat.transport import VisitorTransport
from hub.domain.channels import (
    ChannelKind,
    FetchedMedia,
    SendContext,
    WebhookRequest,
    WebhookResult,
)
from hub.domain.errors import NotFound
from hub.domain.events import HubEvent, visitor_topic
from hub.domain.model import AttachmentRef, MessageStatus, Outbound, SendReceipt
from hub.domain.records import Channel
from hub.domain.service_rules import RatingWay
from hub.domain.texts import text
from hub.domain.transports import HubAccess, Transport

INFO = ChannelKind(
    kind="webchat",
    title=text("Web chat", "网页咨询"),
    contact_label=text("Visitor", "访客"),
    settings=WebchatSettings,
    color="#1a56c4",
    assets=Path(__file__).parent / "static",
    rank=10,
    rating=RatingWay.WIDGET,
)


class WebchatConnector:
    info = INFO

    def __init__(self, tokens: VisitorTokens) -> None:
        self.tokens = tokens

    def embed_html(self, channel: Channel, public_url: str) -> str:
        src = f"{public_url.rstrip('/')}/assets/webchat/widget.js"
        language = str(channel.settings.get("language") or "auto")
        # the widget's first paint is in the channel's language, before the hub says hello
        lang = f' data-kefu-lang="{escape(language)}"' if language != "auto" else ""
        return (
            f'<script src="{escape(src)}" data-kefu-key="{escape(channel.public_key)}"{lang} '
            "async></script>"
        )

    def transport(self, hub: HubAccess) -> Transport:
        return VisitorTransport(self.info.kind, hub, self.tokens).transport()

    async def handle_webhook(
        self, channel: Channel, name: str, request: WebhookRequest
    ) -> WebhookResult:
        raise NotFound("web chat has no webhooks; visitors connect to its websocket")

    async def send(self, channel: Channel, out: Outbound, ctx: SendContext) -> SendReceipt:
        # The message is already in the visitor's history; this pushes it to open widgets.
        await ctx.publish(
            visitor_topic(channel.id, out.recipient_id),
            HubEvent("message", {"message_id": out.message_id}),
        )
        return SendReceipt(
            provider_message_id=f"webchat-{out.message_id}", status=MessageStatus.SENT
        )

    async def fetch_media(
        self, channel: Channel, ref: AttachmentRef, ctx: SendContext
    ) -> FetchedMedia:
        raise NotFound("web chat uploads are stored when they arrive")
