"""An async client for WeChat-style JSON APIs: a shared cached access token and errcode mapping.

Shared by the Official Account and WeCom clients, which differ only in how a token is requested
and in what some errcodes mean:
https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html
https://developer.work.weixin.qq.com/document/path/91039
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from connectors.wechat.errors import ApiError, Product
from hub.domain.channels import ChannelState, FetchedMedia
from hub.domain.errors import HubError, TransientSendError
from hub.domain.model import AttachmentRef, SendReceipt
from hub.domain.ports import BlobStorage

log = logging.getLogger(__name__)

MEDIA_CACHE_TTL = timedelta(days=2)

#: WeChat hands out 7200 s tokens; refresh a little early so a token never dies mid-request.
TOKEN_EARLY_REFRESH_S = 300
#: The biggest download we accept (WeChat videos are <= 10 MB, WeCom files <= 20 MB).
MAX_MEDIA_BYTES = 32 * 1024 * 1024


async def fetch_customer_media(api: ApiClient, ref: AttachmentRef) -> FetchedMedia:
    """Download a customer's media with ``cgi-bin/media/get`` (media ids live 3 days).

    The provider's filename and type are kept where it gives them; otherwise what the inbound
    message said.
    """
    if not ref.provider_ref:
        raise api.product.fail("no_media", "the attachment has no media id", "附件没有媒体文件 ID")
    try:
        media = await api.download("cgi-bin/media/get", {"media_id": ref.provider_ref})
    except ApiError as exc:
        raise api.product.refused(exc) from None
    content_type = media.content_type
    if content_type in ("application/octet-stream", "") and ref.content_type:
        content_type = ref.content_type
    filename = media.filename
    if filename == "media":
        filename = ref.filename or ref.provider_ref
    return FetchedMedia(data=media.data, content_type=content_type, filename=filename)


async def send_receipt(
    sending: Awaitable[dict[str, Any]],
    product: Product,
    *,
    channel_id: int,
    message_id: int,
) -> SendReceipt:
    """Await a send call; its ``msgid`` as the receipt, or the errcode as the hub's error."""
    try:
        result = await sending
    except ApiError as exc:
        log.warning(
            "send refused",
            extra={
                "product": product.namespace,
                "channel_id": channel_id,
                "message_id": message_id,
                "errcode": exc.errcode,
            },
        )
        raise product.refused(exc) from None
    msgid = result.get("msgid")
    return SendReceipt(provider_message_id=str(msgid) if msgid else None)


@dataclass(frozen=True)
class _Blob:
    data: bytes
    content_type: str
    filename: str


class ApiClient(ABC):
    """Calls one account's API with a shared, cached access token.

    The token lives in ``ChannelState`` so every web and worker process uses the same one: WeChat
    limits how often tokens may be requested and invalidates the old one when a new one is issued.
    """

    #: the API's name and errcodes, for the reasons of refusals
    product: Product
    #: errcodes meaning "this access token is stale": refresh once and retry.
    token_errcodes: frozenset[int] = frozenset({40001, 40014, 42001})

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        state: ChannelState,
        *,
        account_id: str,
        lock: asyncio.Lock | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._state = state
        # Keyed by account so a changed app id never reuses another account's token.
        self._token_key = f"access_token:{account_id}"
        self._lock = lock or asyncio.Lock()
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    @abstractmethod
    async def _request_token(self) -> tuple[str, int]:
        """Ask the provider for a fresh token: ``(token, expires_in seconds)``."""

    async def access_token(self, *, stale: str | None = None) -> str:
        """The cached token, or a fresh one when none is cached or the cached one is ``stale``."""
        cached = await self._cached_token()
        if cached is not None and cached != stale:
            return cached
        async with self._lock:
            # Another task (or process) may have refreshed while we waited.
            cached = await self._cached_token()
            if cached is not None and cached != stale:
                return cached
            token, expires_in = await self._request_token()
            expires_at = time.time() + max(60, expires_in - TOKEN_EARLY_REFRESH_S)
            await self._state.set(
                self._token_key,
                json.dumps({"token": token, "expires_at": expires_at}),
                expires_at=datetime.fromtimestamp(expires_at, UTC),
            )
            log.info("access token refreshed", extra={"token_key": self._token_key})
            return token

    async def _cached_token(self) -> str | None:
        raw = await self._state.get(self._token_key)
        if not raw:
            return None
        try:
            value = json.loads(raw)
            token, expires_at = str(value["token"]), float(value["expires_at"])
        except (ValueError, KeyError, TypeError):
            return None
        return token if token and expires_at > time.time() else None

    async def get_json_without_token(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """GET a JSON endpoint that takes no token (the token endpoint itself)."""
        result = await self._exchange("GET", path, params=dict(params))
        assert isinstance(result, dict)
        self._raise_for_errcode(path, result)
        return result

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
    ) -> dict[str, Any]:
        """Call ``path`` with the access token; refresh it and retry once if WeChat says stale.

        ``form`` is a factory because aiohttp consumes a ``FormData`` when it is sent.
        """
        result = await self._with_token(method, path, params, body, form, want_bytes=False)
        assert isinstance(result, dict)
        return result

    async def download(self, path: str, params: Mapping[str, str]) -> FetchedMedia:
        """GET a media endpoint that answers the file itself, or JSON on error."""
        result = await self._with_token("GET", path, params, None, None, want_bytes=True)
        if isinstance(result, dict):
            # Official Account video media answers {"video_url": ...} instead of the bytes.
            url = result.get("video_url")
            if not isinstance(url, str) or not url:
                raise self.product.fail(
                    "no_media", f"{path} answered JSON without media", f"{path} 未返回媒体文件"
                )
            blob = await self._exchange("GET", url, params={}, want_bytes=True, absolute=True)
            if isinstance(blob, dict):
                raise self.product.fail(
                    "no_media", "the video URL did not answer a file", "视频地址未返回文件"
                )
            result = blob
        return FetchedMedia(
            data=result.data, content_type=result.content_type, filename=result.filename
        )

    async def _with_token(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        form: Callable[[], aiohttp.FormData] | None,
        *,
        want_bytes: bool,
    ) -> dict[str, Any] | _Blob:
        token = await self.access_token()
        for attempt in (1, 2):
            query = {**(params or {}), "access_token": token}
            result = await self._exchange(
                method,
                path,
                params=query,
                body=body,
                form=form() if form else None,
                want_bytes=want_bytes,
            )
            if isinstance(result, _Blob):
                return result
            errcode = _errcode(result)
            if errcode in self.token_errcodes and attempt == 1:
                log.info(
                    "access token rejected, refreshing", extra={"path": path, "errcode": errcode}
                )
                token = await self.access_token(stale=token)
                continue
            self._raise_for_errcode(path, result)
            return result
        raise AssertionError("unreachable: the loop returns or raises")

    @staticmethod
    def _raise_for_errcode(path: str, result: Mapping[str, Any]) -> None:
        errcode = _errcode(result)
        if errcode != 0:
            raise ApiError(errcode, str(result.get("errmsg", "")), path)

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str],
        body: Mapping[str, Any] | None = None,
        form: aiohttp.FormData | None = None,
        want_bytes: bool = False,
        absolute: bool = False,
    ) -> dict[str, Any] | _Blob:
        url = path if absolute else f"{self._base}/{path.lstrip('/')}"
        try:
            async with self._http.request(
                method,
                url,
                params=params or None,
                json=body,
                data=form,
                timeout=self._timeout,
            ) as resp:
                if resp.status == 429 or resp.status >= 500:
                    raise TransientSendError(f"{_short(path)} answered HTTP {resp.status}")
                if resp.status >= 400:
                    raise self.product.fail(
                        f"http_{resp.status}",
                        f"{_short(path)} answered HTTP {resp.status}",
                        f"{_short(path)} 返回 HTTP {resp.status}",
                    )
                content_type = resp.content_type or "application/octet-stream"
                if want_bytes and content_type not in ("application/json", "text/plain"):
                    if resp.content_length and resp.content_length > MAX_MEDIA_BYTES:
                        raise self.product.fail(
                            "too_large", "the media file is too large", "媒体文件过大"
                        )
                    data = await resp.content.read(MAX_MEDIA_BYTES + 1)
                    if len(data) > MAX_MEDIA_BYTES:
                        raise self.product.fail(
                            "too_large", "the media file is too large", "媒体文件过大"
                        )
                    disposition = resp.content_disposition
                    filename = disposition.filename if disposition and disposition.filename else ""
                    return _Blob(data, content_type, filename or "media")
                text = await resp.text(encoding="utf-8")
        except HubError:
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            # ``from None``: aiohttp's message holds the URL, and with it the access token.
            raise TransientSendError(
                f"network error calling {_short(path)}: {type(exc).__name__}"
            ) from None
        try:
            decoded = json.loads(text)
        except ValueError:
            raise TransientSendError(f"{_short(path)} answered something not JSON") from None
        if not isinstance(decoded, dict):
            raise TransientSendError(f"{_short(path)} answered JSON that is not an object")
        return decoded

    async def upload_stored(
        self, attachment: AttachmentRef, media_type: str, blobs: BlobStorage
    ) -> str:
        """The media id of a file the hub stored: uploaded once, then remembered (temporary
        media live 3 days at WeChat; we reuse an id for 2)."""
        if attachment.storage_key is None:
            if attachment.provider_ref:
                return attachment.provider_ref  # already a WeChat media id
            raise self.product.fail(
                "no_file", "the attachment has no stored file", "附件没有已保存的文件"
            )
        cache_key = f"media:{media_type}:{attachment.storage_key}"
        cached = await self._state.get(cache_key)
        if cached:
            return cached
        data = await blobs.get(attachment.storage_key)
        media_id = await self.upload_media(
            media_type, data, attachment.filename or f"upload.{media_type}", attachment.content_type
        )
        await self._state.set(cache_key, media_id, expires_at=datetime.now(UTC) + MEDIA_CACHE_TTL)
        return media_id

    async def upload_media(
        self, media_type: str, data: bytes, filename: str, content_type: str
    ) -> str:
        """Upload a temporary file (``media/upload``, the same in both products); its id."""

        def form() -> aiohttp.FormData:
            body = aiohttp.FormData()
            body.add_field("media", data, filename=filename, content_type=content_type)
            return body

        result = await self.call(
            "POST", "cgi-bin/media/upload", params={"type": media_type}, form=form
        )
        media_id = result.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise self.product.fail(
                "upload",
                "the upload was accepted but no media_id came back",
                "上传成功但未返回 media_id",
            )
        return media_id


def _errcode(result: Mapping[str, Any]) -> int:
    try:
        return int(result.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1


def _short(path: str) -> str:
    """A path fit for logs and reasons: no query string, no host."""
    return path.split("?", 1)[0].rsplit("/cgi-bin/", 1)[-1]
