"""The WeCom 微信客服 connector: encrypted callbacks, sync_msg pulls and kf sends.

wechatpy 1.8.18 has the WeCom callback crypto (``wechatpy.enterprise.crypto.WeChatCrypto``) and
XML parsing, but no 微信客服 API, so this module keeps wechatpy for those two and calls the
``kf/*`` endpoints itself with aiohttp through the shared token-caching ``ApiClient``:

- callbacks: https://developer.work.weixin.qq.com/document/path/94670 (``kf_msg_or_event``)
- pulling messages: https://developer.work.weixin.qq.com/document/path/94670 (``kf/sync_msg``)
- sending: https://developer.work.weixin.qq.com/document/path/94677 (``kf/send_msg``)
- welcome message: https://developer.work.weixin.qq.com/document/path/95122
  (``kf/send_msg_on_event``)
- session state: https://developer.work.weixin.qq.com/document/path/94669
  (``kf/service_state/trans``)
- media: https://developer.work.weixin.qq.com/document/path/90253 (upload) and
  https://developer.work.weixin.qq.com/document/path/90254 (get)

A callback only says "there is something new": the connector answers it with a wake, and its
poller (``connectors.wecom_kf.sync``) pulls the messages in the one process that runs it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp

from connectors.wechat.api import ApiClient, fetch_customer_media, send_receipt
from connectors.wechat.crypto import CallbackCrypto, CryptoCache, signed_ciphertext
from connectors.wechat.errors import ApiError
from connectors.wechat.parse import inbound_from_fields
from connectors.wechat.settings import WECOM_API_BASE_URL
from connectors.wechat.window import WeChatReplyLimits
from connectors.wechat.xmlsafe import encrypted_values, parse_xml, text_field
from connectors.wecom_kf.kind import KF_INFO, KF_PRODUCT, KF_REPLY_RULE
from connectors.wecom_kf.sync import POLLER, KfSyncPoller
from hub.domain.channels import (
    AutoReply,
    ChannelState,
    FetchedMedia,
    Poller,
    SendContext,
    Wake,
    WebhookRequest,
    WebhookResponse,
    WebhookResult,
)
from hub.domain.errors import MalformedPayload, NotFound
from hub.domain.model import AttachmentRef, Inbound, MessageKind, Outbound, SendReceipt
from hub.domain.records import Channel

log = logging.getLogger(__name__)

_MEDIA_TYPES = {
    MessageKind.IMAGE: "image",
    MessageKind.AUDIO: "voice",
    MessageKind.VIDEO: "video",
    MessageKind.FILE: "file",
}


class WeComKfApi(ApiClient):
    """The WeCom API with the token from ``cgi-bin/gettoken`` (corp id + 微信客服 secret)."""

    product = KF_PRODUCT
    # WeCom's 40001 means "invalid secret", not a stale token as on the Official Account.
    token_errcodes = frozenset({40014, 42001})

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        state: ChannelState,
        *,
        corp_id: str,
        secret: str,
        lock: asyncio.Lock | None = None,
    ) -> None:
        # The token belongs to the (corp, secret) pair: several secrets of one corp differ.
        account = f"{corp_id}:{hashlib.sha256(secret.encode()).hexdigest()[:12]}"
        super().__init__(http, base_url, state, account_id=account, lock=lock)
        self._corp_id = corp_id
        self._secret = secret

    async def _request_token(self) -> tuple[str, int]:
        # https://developer.work.weixin.qq.com/document/path/91039
        data = await self.get_json_without_token(
            "cgi-bin/gettoken", {"corpid": self._corp_id, "corpsecret": self._secret}
        )
        return str(data["access_token"]), int(data.get("expires_in", 7200))


class WeComKfConnector(WeChatReplyLimits):
    """Connector for kind ``wecom_kf``: one 微信客服 account (``open_kfid``) per channel."""

    info = KF_INFO
    reply_rule = KF_REPLY_RULE

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self._http = http
        self._locks: dict[int, asyncio.Lock] = {}
        self._cryptos = CryptoCache(enterprise=True)

    def auto_reply(self, channel: Channel, item: Inbound) -> AutoReply | None:
        """The welcome (欢迎语) for a customer entering the chat: only an ``enter_session``
        event's ``welcome_code`` may answer it, within 20 seconds (see ``send_welcome``)."""
        code = item.data.get("welcome_code")
        welcome = channel.settings.get("welcome_text")
        if item.data.get("event") != "enter_session" or not code or not welcome:
            return None
        return AutoReply(str(welcome), {"welcome_code": code})

    def api(self, channel: Channel, state: ChannelState) -> WeComKfApi:
        """The API client for one channel (the token cache lives in ``state``)."""
        return WeComKfApi(
            self._http,
            str(channel.settings.get("api_base_url") or WECOM_API_BASE_URL),
            state,
            corp_id=str(channel.settings["corp_id"]),
            secret=str(channel.settings["secret"]),
            lock=self._locks.setdefault(channel.id, asyncio.Lock()),
        )

    # -- inbound ----------------------------------------------------------------------------

    async def handle_webhook(
        self, channel: Channel, name: str, request: WebhookRequest
    ) -> WebhookResult:
        """Verify the URL (GET) or decrypt a callback (POST) and pull what it announces.

        A callback's ``msg_signature`` signs the body's ``Encrypt`` value, so it is checked
        before any XML is parsed: an unsigned body is refused unread. Then one decryption and
        one parse of the message.
        """
        if name not in self.info.webhook_names:
            raise NotFound(f"no webhook {name!r} for WeCom channels")
        settings = channel.settings
        token = str(settings["token"])
        query = request.query
        signature = query.get("msg_signature", "")
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        method = request.method.upper()
        if method == "GET":
            echostr = query.get("echostr", "")
            if not echostr:
                raise MalformedPayload("verification request without echostr")
            plain = self._crypto(channel, token).decrypt(echostr, signature, timestamp, nonce)
            log.info("wecom callback URL verified", extra={"channel_id": channel.id})
            return WebhookResult(response=WebhookResponse(body=plain.encode()))
        if method != "POST":
            return WebhookResult(response=WebhookResponse(status=405, body=b"method not allowed"))
        encrypted = signed_ciphertext(
            token, signature, timestamp, nonce, encrypted_values(request.body)
        )
        fields = parse_xml(self._crypto(channel, token).open(encrypted))
        # An empty body with 200 tells WeCom "received, no passive reply".
        ok = WebhookResponse(body=b"")
        if text_field(fields, "Event") != "kf_msg_or_event":
            # Other WeCom callbacks (app messages and events) are kept like the OA's.
            other = inbound_from_fields(fields, enterprise=True)
            return WebhookResult(response=ok, inbound=(other,))
        open_kfid = text_field(fields, "OpenKfId") or str(settings["open_kfid"])
        if open_kfid != settings["open_kfid"]:
            # One app callback URL serves every account of the corp; another channel owns this.
            log.info("kf callback for another account ignored", extra={"channel_id": channel.id})
            return WebhookResult(response=ok)
        # The poller pulls; the callback's Token lifts sync_msg's rate limit for it.
        return WebhookResult(response=ok, wake=(Wake(POLLER, text_field(fields, "Token")),))

    def pollers(self, channel: Channel) -> Sequence[Poller]:
        return (KfSyncPoller(self),)

    def _crypto(self, channel: Channel, token: str) -> CallbackCrypto:
        settings = channel.settings
        return self._cryptos.get(
            channel.id, token, str(settings["encoding_aes_key"]), str(settings["corp_id"])
        )

    # -- outbound ---------------------------------------------------------------------------

    async def send(self, channel: Channel, out: Outbound, ctx: SendContext) -> SendReceipt:
        """Send one message with ``kf/send_msg``: media first, then the text if any.

        A link card needs a thumbnail media id in WeCom; without an image attachment or
        ``data["thumb_media_id"]`` it degrades to a text with the title and URL.
        """
        welcome_code = out.data.get("welcome_code")
        if isinstance(welcome_code, str) and welcome_code:
            # The hub's welcome for enter_session: only send_msg_on_event may answer it.
            return await self.send_welcome(channel, welcome_code, out.text, ctx)
        api = self.api(channel, ctx.state)
        base = {"touser": out.recipient_id, "open_kfid": str(channel.settings["open_kfid"])}
        return await send_receipt(
            self._send(api, base, out, ctx),
            KF_PRODUCT,
            channel_id=channel.id,
            message_id=out.message_id,
        )

    async def _send(
        self, api: WeComKfApi, base: dict[str, Any], out: Outbound, ctx: SendContext
    ) -> dict[str, Any]:
        send = "cgi-bin/kf/send_msg"
        if out.kind == MessageKind.LINK:
            link = await self._link(api, out, ctx)
            if link is not None:
                return await api.call("POST", send, body={**base, "msgtype": "link", "link": link})
            text = "\n".join(
                p
                for p in (str(out.data.get("title", "")), out.text, str(out.data.get("url", "")))
                if p
            )
            return await api.call(
                "POST", send, body={**base, "msgtype": "text", "text": {"content": text}}
            )
        result: dict[str, Any] = {}
        for attachment in out.attachments:
            media_type = _media_type(attachment)
            media_id = await api.upload_stored(attachment, media_type, ctx.blobs)
            result = await api.call(
                "POST",
                send,
                body={**base, "msgtype": media_type, media_type: {"media_id": media_id}},
            )
        if out.text.strip():
            result = await api.call(
                "POST", send, body={**base, "msgtype": "text", "text": {"content": out.text}}
            )
        elif not out.attachments:
            raise KF_PRODUCT.fail(
                "unsupported",
                f"nothing WeCom can show in a {out.kind.value} message",
                "企业微信无法显示这种消息",
            )
        return result

    async def _link(
        self, api: WeComKfApi, out: Outbound, ctx: SendContext
    ) -> dict[str, str] | None:
        url = str(out.data.get("url", ""))
        if not url:
            raise KF_PRODUCT.fail("invalid", "a link message needs data.url", "链接消息缺少网址")
        thumb = str(out.data.get("thumb_media_id", ""))
        images = [a for a in out.attachments if a.kind == MessageKind.IMAGE]
        if not thumb and images:
            thumb = await api.upload_stored(images[0], "image", ctx.blobs)
        if not thumb:
            return None
        return {
            "title": str(out.data.get("title") or out.text or url),
            "desc": str(out.data.get("description", "")),
            "url": url,
            "thumb_media_id": thumb,
        }

    async def send_welcome(
        self, channel: Channel, code: str, text: str, ctx: SendContext
    ) -> SendReceipt:
        """Send the welcome text for an ``enter_session`` event's ``welcome_code``.

        The code is valid for 20 seconds and one message; the hub calls this right after it
        processed the event. Uses ``kf/send_msg_on_event``.
        """
        api = self.api(channel, ctx.state)
        body = {"code": code, "msgtype": "text", "text": {"content": text}}
        try:
            result = await api.call("POST", "cgi-bin/kf/send_msg_on_event", body=body)
        except ApiError as exc:
            raise KF_PRODUCT.refused(exc) from None
        msgid = result.get("msgid")
        return SendReceipt(provider_message_id=str(msgid) if msgid else None)

    async def end_session(self, channel: Channel, external_userid: str, ctx: SendContext) -> None:
        """End the customer's session (``kf/service_state/trans`` to state 4, 已结束)."""
        api = self.api(channel, ctx.state)
        body = {
            "open_kfid": str(channel.settings["open_kfid"]),
            "external_userid": external_userid,
            "service_state": 4,
        }
        try:
            await api.call("POST", "cgi-bin/kf/service_state/trans", body=body)
        except ApiError as exc:
            raise KF_PRODUCT.refused(exc) from None

    async def fetch_media(
        self, channel: Channel, ref: AttachmentRef, ctx: SendContext
    ) -> FetchedMedia:
        return await fetch_customer_media(self.api(channel, ctx.state), ref)


def _media_type(attachment: AttachmentRef) -> str:
    media_type = _MEDIA_TYPES.get(attachment.kind, "file")
    if media_type == "voice" and attachment.content_type not in ("audio/amr", "audio/x-amr"):
        # WeCom voice must be AMR; any other audio still reaches the customer as a file.
        return "file"
    if media_type != "file" or not attachment.content_type.startswith("image/"):
        return media_type
    return "image"
