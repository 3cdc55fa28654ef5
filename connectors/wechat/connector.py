"""The WeChat Official Account (公众号) connector: verify callbacks, parse them, send replies.

Implements, under https://developers.weixin.qq.com/doc/offiaccount/ :
Basic_Information/Access_Overview.html (server verification),
Message_Management/Message_encryption_and_decryption_instructions.html (plaintext, compatible
and safe mode), Message_Management/Passive_user_reply_message.html (we always answer
``success`` and reply through the API instead), Message_Management/Service_Center_messages.html
(``cgi-bin/message/custom/send``), Asset_Management/New_temporary_materials.html
(``cgi-bin/media/upload``) and Asset_Management/Get_temporary_materials.html
(``cgi-bin/media/get``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from connectors.wechat.api import (
    ApiClient,
    fetch_customer_media,
    send_receipt,
)
from connectors.wechat.crypto import (
    CallbackCrypto,
    CryptoCache,
    check_fresh,
    check_signature,
    signed_ciphertext,
)
from connectors.wechat.kind import OA_INFO, OA_PRODUCT, OA_REPLY_RULE
from connectors.wechat.parse import inbound_from_fields
from connectors.wechat.settings import OA_API_BASE_URL
from connectors.wechat.window import WeChatReplyLimits
from connectors.wechat.xmlsafe import encrypted_values, parse_xml, text_field
from hub.domain.channels import (
    AutoReply,
    ChannelState,
    FetchedMedia,
    SendContext,
    WebhookRequest,
    WebhookResponse,
    WebhookResult,
)
from hub.domain.errors import MalformedPayload, NotFound
from hub.domain.model import AttachmentRef, Inbound, MessageKind, Outbound, SendReceipt
from hub.domain.records import Channel

log = logging.getLogger(__name__)

#: Hub attachment kinds → WeChat media types (files cannot be sent by an Official Account).
_MEDIA_TYPES = {MessageKind.IMAGE: "image", MessageKind.AUDIO: "voice", MessageKind.VIDEO: "video"}


class OfficialAccountApi(ApiClient):
    """The Official Account API with the token from ``cgi-bin/token`` (client_credential)."""

    product = OA_PRODUCT

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        state: ChannelState,
        *,
        app_id: str,
        app_secret: str,
        lock: asyncio.Lock | None = None,
    ) -> None:
        super().__init__(http, base_url, state, account_id=app_id, lock=lock)
        self._app_id = app_id
        self._app_secret = app_secret

    async def _request_token(self) -> tuple[str, int]:
        # https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html
        data = await self.get_json_without_token(
            "cgi-bin/token",
            {"grant_type": "client_credential", "appid": self._app_id, "secret": self._app_secret},
        )
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    async def send_message(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "cgi-bin/message/custom/send", body=payload)


class WeChatConnector(WeChatReplyLimits):
    """Connector for kind ``wechat``: one Official Account per channel."""

    info = OA_INFO
    reply_rule = OA_REPLY_RULE

    def __init__(
        self, http: aiohttp.ClientSession, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._http = http
        #: the Unix time callbacks' timestamps are compared with (see ``REPLAY_WINDOW_S``)
        self._clock = clock
        # One lock per channel so concurrent sends in this process refresh a token only once.
        self._locks: dict[int, asyncio.Lock] = {}
        self._cryptos = CryptoCache(enterprise=False)

    def auto_reply(self, channel: Channel, item: Inbound) -> AutoReply | None:
        """The channel's reply to a follow (关注回复), when it has one."""
        reply = channel.settings.get("subscribe_reply")
        if item.data.get("event") == "subscribe" and isinstance(reply, str) and reply:
            return AutoReply(reply)
        return None

    # -- inbound ----------------------------------------------------------------------------

    async def handle_webhook(
        self, channel: Channel, name: str, request: WebhookRequest
    ) -> WebhookResult:
        """Verify and parse one callback; always answer ``success`` (replies go out async).

        Each callback is checked, decrypted and parsed once: the plain signature and the
        timestamp from the query first, then (safe and compatible mode) the ``msg_signature``
        over the body's ``Encrypt`` value, one decryption, and one XML parse of the message.
        """
        if name not in self.info.webhook_names:
            raise NotFound(f"no webhook {name!r} for WeChat channels")
        token = str(channel.settings["token"])
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        method = request.method.upper()
        if method == "GET":
            return WebhookResult(response=self._verify(channel, query, token))
        if method != "POST":
            return WebhookResult(response=WebhookResponse(status=405, body=b"method not allowed"))
        # WeChat sends the plain signature in every mode, so it is always checked first.
        check_signature(token, query.get("signature", ""), timestamp, nonce)
        check_fresh(timestamp, self._clock())
        msg_signature = query.get("msg_signature", "")
        if query.get("encrypt_type", "").lower() == "aes":
            # Safe mode, or compatible mode (plaintext + Encrypt): the encrypted copy is the truth.
            crypto = self._crypto(channel, token)
            encrypted = signed_ciphertext(
                token, msg_signature, timestamp, nonce, encrypted_values(request.body)
            )
            fields = parse_xml(crypto.open(encrypted))
        else:
            fields = parse_xml(request.body)
            encrypted = text_field(fields, "Encrypt")
            if encrypted:  # an encrypted body without encrypt_type=aes in the query
                crypto = self._crypto(channel, token)
                fields = parse_xml(crypto.decrypt(encrypted, msg_signature, timestamp, nonce))
        inbound = inbound_from_fields(fields)
        log.info(
            "wechat callback accepted",
            extra={
                "channel_id": channel.id,
                "provider_event_id": inbound.provider_event_id,
                "kind": inbound.kind.value,
            },
        )
        return WebhookResult(response=WebhookResponse(body=b"success"), inbound=(inbound,))

    def _crypto(self, channel: Channel, token: str) -> CallbackCrypto:
        aes_key = channel.settings.get("encoding_aes_key")
        if not aes_key:
            raise MalformedPayload("encrypted callback but the channel has no EncodingAESKey")
        return self._cryptos.get(channel.id, token, str(aes_key), str(channel.settings["app_id"]))

    def _verify(self, channel: Channel, query: Mapping[str, str], token: str) -> WebhookResponse:
        """Answer the console's "submit" check with echostr, only when the signature checks."""
        echostr = query.get("echostr", "")
        if not echostr:
            raise MalformedPayload("verification request without echostr")
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if query.get("msg_signature") and channel.settings.get("encoding_aes_key"):
            # Safe-mode style verification: echostr is encrypted and signed with msg_signature.
            crypto = self._crypto(channel, token)
            check_signature(token, query["msg_signature"], timestamp, nonce, echostr)
            check_fresh(timestamp, self._clock())
            return WebhookResponse(body=crypto.open(echostr).encode())
        check_signature(token, query.get("signature", ""), timestamp, nonce)
        check_fresh(timestamp, self._clock())
        log.info("wechat server verification passed", extra={"channel_id": channel.id})
        return WebhookResponse(body=echostr.encode())

    # -- outbound ---------------------------------------------------------------------------

    def api(self, channel: Channel, state: ChannelState) -> OfficialAccountApi:
        """The API client for one channel (the token cache lives in ``state``)."""
        return OfficialAccountApi(
            self._http,
            str(channel.settings.get("api_base_url") or OA_API_BASE_URL),
            state,
            app_id=str(channel.settings["app_id"]),
            app_secret=str(channel.settings["app_secret"]),
            lock=self._locks.setdefault(channel.id, asyncio.Lock()),
        )

    async def send(self, channel: Channel, out: Outbound, ctx: SendContext) -> SendReceipt:
        """Send one message with the customer-service API.

        Media go first (uploaded as temporary media), then the text if there is any; kinds an
        Official Account cannot show degrade to their text, or fail with a clear reason.
        """
        api = self.api(channel, ctx.state)
        return await send_receipt(
            self._send(api, out, ctx),
            OA_PRODUCT,
            channel_id=channel.id,
            message_id=out.message_id,
        )

    async def _send(
        self, api: OfficialAccountApi, out: Outbound, ctx: SendContext
    ) -> dict[str, Any]:
        to = out.recipient_id
        result: dict[str, Any] = {}
        if out.kind == MessageKind.LINK:
            return await api.send_message({"touser": to, **_link_payload(out)})
        if out.attachments:
            for attachment in out.attachments:
                media_type = _media_type(attachment)
                media_id = await api.upload_stored(attachment, media_type, ctx.blobs)
                body: dict[str, Any] = {"media_id": media_id}
                if media_type == "video":
                    # The customer-service API documents media_id, title and description for a
                    # video; no thumb_media_id (developers report an error when it is sent).
                    body |= {
                        "title": str(out.data.get("title", "")),
                        "description": str(out.data.get("description", "")),
                    }
                result = await api.send_message(
                    {"touser": to, "msgtype": media_type, media_type: body}
                )
        elif not out.text.strip():
            raise OA_PRODUCT.fail(
                "unsupported",
                f"nothing WeChat can show in a {out.kind.value} message",
                "微信无法显示这种消息",
            )
        if out.text.strip():
            result = await api.send_message(
                {"touser": to, "msgtype": "text", "text": {"content": out.text}}
            )
        return result

    async def fetch_media(
        self, channel: Channel, ref: AttachmentRef, ctx: SendContext
    ) -> FetchedMedia:
        return await fetch_customer_media(self.api(channel, ctx.state), ref)


def _media_type(attachment: AttachmentRef) -> str:
    media_type = _MEDIA_TYPES.get(attachment.kind)
    if media_type is None and attachment.content_type.startswith("image/"):
        media_type = "image"
    if media_type is None:
        raise OA_PRODUCT.fail(
            "unsupported",
            "WeChat Official Accounts cannot send files; share a link to it instead",
            "微信公众号无法发送文件，请改为发送文件链接",
        )
    return media_type


def _link_payload(out: Outbound) -> dict[str, Any]:
    """A link card: ``news`` with one article, or ``link`` when ``data["msgtype"] == "link"``."""
    url = str(out.data.get("url", ""))
    if not url:
        raise OA_PRODUCT.fail("invalid", "a link message needs data.url", "链接消息缺少网址")
    title = str(out.data.get("title") or out.text or url)
    description = str(out.data.get("description", ""))
    image = str(out.data.get("image_url", ""))
    if out.data.get("msgtype") == "link":
        return {
            "msgtype": "link",
            "link": {"title": title, "description": description, "url": url, "thumb_url": image},
        }
    article = {"title": title, "description": description, "url": url, "picurl": image}
    return {"msgtype": "news", "news": {"articles": [article]}}
