"""Twilio's REST API for messages: send one (``POST .../Messages.json``) and download MMS media.

Implements https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
(form fields, basic auth with the Account SID and Auth Token, the error body
``{"code", "message", "status"}``) and https://www.twilio.com/docs/messaging/api/media-resource
(a media URL answers a redirect to the file).

The calls go through the process's shared session (``ConnectorEnv.http``) rather than the
package's ``AsyncTwilioHttpClient``: that client opens an ``aiohttp`` session of its own, which
would bypass the hub's check of the addresses a channel may call (an admin types
``api_base_url``; the Auth Token goes with each call), and it logs every request's URL and
headers at INFO. The twilio package's ``Client`` also fixes its API host, so it could not be
pointed at ``api_base_url`` without reaching into its internals.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from connectors.twilio.errors import TRANSIENT_CODES, fail, refused
from hub.domain.channels import FetchedMedia
from hub.domain.errors import TransientSendError
from hub.domain.model import AttachmentRef, Outbound, SendReceipt

API_VERSION = "2010-04-01"
#: Twilio accepts at most 5 MB of media in one MMS; anything far past that is not an MMS file
MAX_MEDIA_BYTES = 16 * 1024 * 1024
TIMEOUT = aiohttp.ClientTimeout(total=20)


def basic_auth(settings: Mapping[str, Any]) -> dict[str, str]:
    """The ``Authorization`` header of the account: its SID and Auth Token (aiohttp drops it
    when a redirect leaves the host it was sent to)."""
    pair = f"{settings['account_sid']}:{settings['auth_token']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def messages_url(base_url: str, account_sid: str) -> str:
    return f"{base_url.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}/Messages.json"


#: Twilio's limit of files in one MMS
MAX_MEDIA_URLS = 10


def message_form(
    settings: Mapping[str, Any], out: Outbound, status_callback: str
) -> list[tuple[str, str]]:
    """The form fields that send ``out``: the whole text in ``Body`` (Twilio splits long and
    UCS-2 texts into segments itself), from the Messaging Service when there is one, and each
    file as a ``MediaUrl`` Twilio fetches from the hub (an MMS)."""
    if not out.text.strip() and not out.attachments:
        raise fail("empty", "the message has no text to send by SMS", "该消息没有可发送的文字")
    if len(out.attachments) > MAX_MEDIA_URLS:
        raise fail(
            "too_many_files",
            f"an MMS carries at most {MAX_MEDIA_URLS} files; send the others separately",
            f"一条彩信最多包含 {MAX_MEDIA_URLS} 个文件，请分开发送其余文件",
        )
    media = [attachment.url for attachment in out.attachments]
    if any(not url or urlsplit(url).scheme not in ("http", "https") for url in media):
        raise fail(
            "no_public_file_url",
            "Twilio fetches files from this hub's public address, and the hub has none: set "
            "KEFU_PUBLIC_URL to the address the internet reaches it at",
            "Twilio 需从本系统的公网地址获取文件，但未配置："
            "请将 KEFU_PUBLIC_URL 设为外网可访问的地址",
        )
    form = [("To", out.recipient_id)]
    service = settings.get("messaging_service_sid")
    if service:
        form.append(("MessagingServiceSid", str(service)))
    else:
        form.append(("From", str(settings["phone_number"])))
    if out.text.strip():
        form.append(("Body", out.text))
    form += [("MediaUrl", str(url)) for url in media]
    form.append(("StatusCallback", status_callback))
    return form


def send_outcome(status: int, body: str) -> SendReceipt:
    """Twilio's answer to a send as the hub's receipt, or the hub's retry-or-fail error."""
    if status in (200, 201):
        answer = _json(body)
        sid = answer.get("sid")
        return SendReceipt(provider_message_id=sid if isinstance(sid, str) and sid else None)
    if status == 429 or status >= 500:
        raise TransientSendError(f"Twilio answered HTTP {status}")
    if 400 <= status < 500:
        answer = _json(body)
        code = answer.get("code")
        message = answer.get("message")
        if isinstance(code, int) and not isinstance(code, bool):
            if code in TRANSIENT_CODES:
                raise TransientSendError(f"Twilio answered error {code}")
            raise refused(code, message if isinstance(message, str) else "")
        raise fail(
            f"http_{status}",
            f"Twilio refused the message (HTTP {status})",
            f"Twilio 拒绝了该短信（HTTP {status}）",
        )
    raise TransientSendError(f"Twilio answered HTTP {status}")


def _json(body: str) -> dict[str, Any]:
    try:
        decoded = json.loads(body)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


async def post_message(
    http: aiohttp.ClientSession, settings: Mapping[str, Any], form: list[tuple[str, str]]
) -> tuple[int, str]:
    """POST the form to the account's Messages resource; Twilio's status and body."""
    account_sid = str(settings["account_sid"])
    url = messages_url(str(settings["api_base_url"]), account_sid)
    try:
        async with http.post(
            url,
            data=form,
            headers=basic_auth(settings),
            timeout=TIMEOUT,
        ) as response:
            return response.status, await response.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransientSendError(f"network error calling Twilio: {type(exc).__name__}") from None


def _may_carry_credentials(url: str, base_url: str) -> bool:
    """Whether a media URL may be sent the account's credentials: it is the API's own address
    (Twilio's media URLs are under api.twilio.com), never a host a payload named."""
    media, base = urlsplit(url), urlsplit(base_url)
    if (media.scheme, media.netloc) == (base.scheme, base.netloc):
        return True
    host = (media.hostname or "").lower()
    return media.scheme == "https" and (host == "twilio.com" or host.endswith(".twilio.com"))


async def fetch_media(
    http: aiohttp.ClientSession, settings: Mapping[str, Any], ref: AttachmentRef
) -> FetchedMedia:
    """Download an MMS file: the media URL answers a redirect to Twilio's file store, which
    is followed (aiohttp drops the credentials when the redirect leaves the API's host)."""
    url = ref.provider_ref or ""
    if urlsplit(url).scheme not in ("http", "https"):
        raise fail("no_media", "the attachment has no media URL", "附件没有媒体文件地址")
    carries = _may_carry_credentials(url, str(settings["api_base_url"]))
    headers = basic_auth(settings) if carries else {}
    try:
        async with http.get(
            url, headers=headers, timeout=TIMEOUT, allow_redirects=True
        ) as response:
            status = response.status
            if status == 429 or status >= 500:
                raise TransientSendError(f"Twilio media answered HTTP {status}")
            if status in (404, 410):
                raise fail(
                    "media_gone",
                    "the file is no longer at Twilio (it may have been deleted)",
                    "该文件已不在 Twilio（可能已被删除）",
                )
            if status in (401, 403):
                raise fail(
                    "media_refused",
                    "Twilio refused the channel's credentials for the file",
                    "Twilio 拒绝了渠道获取该文件的凭据",
                )
            if status != 200:
                raise fail(
                    f"media_http_{status}",
                    f"Twilio media answered HTTP {status}",
                    f"Twilio 媒体文件返回 HTTP {status}",
                )
            if response.content_length and response.content_length > MAX_MEDIA_BYTES:
                raise _too_large()
            data = await response.content.read(MAX_MEDIA_BYTES + 1)
            if len(data) > MAX_MEDIA_BYTES:
                raise _too_large()
            content_type = response.content_type
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransientSendError(
            f"network error fetching Twilio media: {type(exc).__name__}"
        ) from None
    if content_type in ("", "application/octet-stream") and ref.content_type:
        content_type = ref.content_type
    filename = ref.filename or urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or "media"
    return FetchedMedia(data=data, content_type=content_type, filename=filename)


def _too_large() -> Exception:
    return fail("too_large", "the media file is too large", "媒体文件过大")
