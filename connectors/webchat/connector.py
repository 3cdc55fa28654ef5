"""The web chat connector: settings, and delivery of agents' replies to a visitor's topic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.domain.channels import (
    FetchedMedia,
    SendContext,
    WebhookRequest,
    WebhookResult,
)
from hub.domain.errors import InvalidInput, NotFound
from hub.domain.events import HubEvent, visitor_topic
from hub.domain.model import AttachmentRef, MessageStatus, Outbound, SendReceipt
from hub.domain.records import Channel


class WebchatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: sites allowed to embed the widget (scheme://host[:port]); empty allows any site
    allowed_origins: list[str] = Field(default_factory=list)
    #: ask for name and email before the first message
    prechat_form: bool = False
    welcome_text: str = Field(default="", max_length=500)
    #: the widget's accent colour
    color: str = Field(default="#1f6feb", pattern=r"^#[0-9a-fA-F]{6}$")
    title: str = Field(default="", max_length=80)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        result = []
        for origin in value:
            parts = urlsplit(origin.strip())
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or parts.path not in ("", "/")
            ):
                raise ValueError(f"{origin!r} is not an origin like https://shop.example.com")
            result.append(f"{parts.scheme}://{parts.netloc}".lower())
        return result


def origin_allowed(settings: Mapping[str, Any], origin: str | None) -> bool:
    allowed = settings.get("allowed_origins") or []
    if not allowed:
        return True
    return origin is not None and origin.lower().rstrip("/") in allowed


class WebchatConnector:
    kind = "webchat"
    #: how an anonymous customer of this channel is named until they give their name
    contact_label = "Visitor 访客"
    webhook_names: tuple[str, ...] = ()
    secret_settings: frozenset[str] = frozenset()

    def validate_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return WebchatSettings.model_validate(dict(settings)).model_dump()
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidInput(
                f"settings.{'.'.join(map(str, first['loc']))}: {first['msg']}"
            ) from None

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
