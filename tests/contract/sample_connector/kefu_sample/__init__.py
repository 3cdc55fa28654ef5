"""Sample Chat: a provider that signs JSON webhooks with HMAC-SHA256 and has a small REST API.

It exists to show (and test) that a channel is one package: it is registered only by its
``kefu.connectors`` entry point, and the hub, the API and the inbox page learn everything about
it from its ``ChannelKind``.

The provider's wire format:
- webhook ``messages``: ``POST`` JSON ``{"id", "from", "name", "text", "media": [{"id", "type"}]}``
  signed in ``X-Sample-Signature: sha256=<hex HMAC of the body with the signing secret>``;
- ``POST {api}/messages`` ``{"to", "text"}`` → ``{"id"}``, or a 4xx with
  ``{"error": {"code", "message"}}``;
- ``GET {api}/media/{id}`` → the file;
- ``GET {api}/updates?after=<cursor>`` → ``{"messages": [...], "cursor"}`` (what the poller reads).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from hub.domain.channels import (
    ChannelKind,
    ConsoleGuide,
    FetchedMedia,
    PollContext,
    Poller,
    SendContext,
    WebhookRequest,
    WebhookResponse,
    WebhookResult,
)
from hub.domain.errors import (
    InvalidSignature,
    MalformedPayload,
    NotFound,
    PermanentSendError,
    TransientSendError,
)
from hub.domain.model import AttachmentRef, Inbound, MessageKind, Outbound, SendReceipt
from hub.domain.records import Channel
from hub.domain.settings import setting
from hub.domain.texts import text
from hub.registry import ConnectorEnv

KIND = "sample_chat"


class SampleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str = setting(
        label=text("Account name", "账号名称"), pattern=r"^[a-z0-9-]{2,40}$", placeholder="acme"
    )
    signing_secret: str = setting(
        label=text("Signing secret", "签名密钥"),
        help=text("Copied from the provider's console.", "从服务商后台复制。"),
        secret=True,
        min_length=8,
    )
    api_base_url: str = setting(
        "https://api.sample-chat.invalid",
        label=text("API address", "API 地址"),
        pattern=r"^https?://[^\s?#]+$",
        destination=True,
    )
    poll: bool = setting(False, label=text("Also fetch missed messages", "同时拉取漏收的消息"))
    signature: str = setting(
        "",
        label=text("Signature added to replies", "回复签名"),
        multiline=True,
        max_length=200,
    )


INFO = ChannelKind(
    kind=KIND,
    title=text("Sample Chat", "示例聊天"),
    contact_label=text("Sample user", "示例用户"),
    settings=SampleSettings,
    webhook_names=("messages",),
    guide=ConsoleGuide(
        title=text("Connect it in the Sample Chat console", "在示例聊天后台完成配置"),
        steps=(
            text(
                "Open **Settings → Webhooks** and paste the URL below.",
                "打开 **设置 → Webhooks**，粘贴下方的 URL。",
            ),
            text(
                "Copy the **signing secret** into the field above and save.",
                "把 **签名密钥** 填入上方并保存。",
            ),
        ),
        console_url="https://console.sample-chat.invalid/",
        webhook="messages",
    ),
    events={"joined": text("Joined the chat", "加入了聊天")},
    color="#8e24aa",
)

#: the provider's refusal codes, in the agent's words
REASONS = {
    "blocked": text(
        "the customer blocked this account on Sample Chat", "客户已在示例聊天中屏蔽此账号"
    ),
    "quota": text("the account's monthly message quota is used up", "账号本月消息额度已用完"),
}


class InboundMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    sender: str = Field(alias="from", min_length=1, max_length=200)
    name: str | None = None
    text: str = ""
    event: str | None = None
    media: list[dict[str, str]] = Field(default_factory=list, max_length=10)

    def inbound(self) -> Inbound:
        refs = tuple(
            AttachmentRef(
                kind=MessageKind.IMAGE
                if m.get("type", "").startswith("image/")
                else MessageKind.FILE,
                content_type=m.get("type") or "application/octet-stream",
                provider_ref=m.get("id"),
            )
            for m in self.media
        )
        kind = (
            MessageKind.EVENT
            if self.event
            else (refs[0].kind if refs and not self.text else MessageKind.TEXT)
        )
        return Inbound(
            provider_event_id=self.id,
            sender_id=self.sender,
            sender_name=self.name,
            kind=kind,
            text=self.text,
            attachments=refs,
            data={"event": self.event} if self.event else {},
        )


class UpdatesPoller:
    """Reads ``/updates`` after a cursor kept in the channel state: messages a webhook missed."""

    name = "updates"

    def __init__(self, http: aiohttp.ClientSession, interval_s: float = 0.2) -> None:
        self._http = http
        self._interval_s = interval_s

    async def run(self, channel: Channel, ctx: PollContext) -> None:
        base = str(channel.settings["api_base_url"]).rstrip("/")
        while True:
            cursor = await ctx.state.get("updates_cursor") or ""
            async with self._http.get(f"{base}/updates", params={"after": cursor}) as response:
                response.raise_for_status()
                page = await response.json()
            items = [InboundMessage.model_validate(m).inbound() for m in page.get("messages", [])]
            if items:
                await ctx.accept(items)  # committed before the cursor moves: nothing is skipped
            await ctx.state.set("updates_cursor", str(page.get("cursor", cursor)))
            await asyncio.sleep(self._interval_s)


class SampleConnector:
    info = INFO

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self._http = http

    def pollers(self, channel: Channel) -> Sequence[Poller]:
        return [UpdatesPoller(self._http)] if channel.settings.get("poll") else []

    async def handle_webhook(
        self, channel: Channel, name: str, request: WebhookRequest
    ) -> WebhookResult:
        if name != "messages" or request.method.upper() != "POST":
            raise NotFound("Sample Chat posts to the messages webhook")
        secret = str(channel.settings["signing_secret"]).encode()
        expected = "sha256=" + hmac.new(secret, request.body, hashlib.sha256).hexdigest()
        given = {k.lower(): v for k, v in request.headers.items()}.get("x-sample-signature", "")
        if not hmac.compare_digest(expected, given):
            raise InvalidSignature("the X-Sample-Signature does not match")
        try:
            message = InboundMessage.model_validate_json(request.body)
        except ValueError:
            raise MalformedPayload("the body is not a Sample Chat message") from None
        return WebhookResult(
            response=WebhookResponse(body=b'{"ok":true}', content_type="application/json"),
            inbound=(message.inbound(),),
        )

    async def send(self, channel: Channel, out: Outbound, ctx: SendContext) -> SendReceipt:
        base = str(channel.settings["api_base_url"]).rstrip("/")
        signature = str(channel.settings.get("signature") or "")
        text = f"{out.text}\n{signature}" if signature else out.text
        body = {"to": out.recipient_id, "text": text}
        try:
            async with self._http.post(f"{base}/messages", json=body) as response:
                answer: dict[str, Any] = json.loads(await response.text() or "{}")
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TransientSendError(f"Sample Chat is unreachable: {type(exc).__name__}") from None
        if status >= 500 or status == 429:
            raise TransientSendError(f"Sample Chat answered HTTP {status}")
        if status >= 400:
            error = answer.get("error") or {}
            code = str(error.get("code") or f"http_{status}")
            texts = REASONS.get(code) or text(
                f"Sample Chat refused the message: {error.get('message', status)}",
                f"示例聊天拒绝了消息：{error.get('message', status)}",
            )
            raise PermanentSendError(texts["en"], f"{KIND}.{code}", texts)
        return SendReceipt(provider_message_id=str(answer.get("id") or "") or None)

    async def fetch_media(
        self, channel: Channel, ref: AttachmentRef, ctx: SendContext
    ) -> FetchedMedia:
        base = str(channel.settings["api_base_url"]).rstrip("/")
        try:
            async with self._http.get(f"{base}/media/{ref.provider_ref}") as response:
                if response.status >= 500:
                    raise TransientSendError(f"Sample Chat media answered HTTP {response.status}")
                if response.status >= 400:
                    raise PermanentSendError(
                        "the file is gone at Sample Chat",
                        f"{KIND}.media_gone",
                        text("the file is gone at Sample Chat", "示例聊天上的文件已不存在"),
                    )
                data = await response.read()
                content_type = response.content_type
        except aiohttp.ClientError as exc:
            raise TransientSendError(f"Sample Chat is unreachable: {type(exc).__name__}") from None
        return FetchedMedia(data, content_type, f"{ref.provider_ref}")


def connector(env: ConnectorEnv) -> SampleConnector:
    """The ``kefu.connectors`` entry point."""
    return SampleConnector(env.http)
