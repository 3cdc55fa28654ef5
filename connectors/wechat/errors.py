"""WeChat's and WeCom's errcodes as the hub's errors, with reasons an agent can read.

A refused send becomes ``PermanentSendError`` with a code in the channel kind's namespace
(``wechat.45015``, ``wecom_kf.95001``) and the reason in English and Chinese; busy and quota
errcodes become ``TransientSendError`` (retried with backoff).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hub.domain.errors import HubError, PermanentSendError, TransientSendError
from hub.domain.texts import Text, text

#: errcode -1 is "system busy"; 45009/45011/45033 are API call quotas that reset later.
TRANSIENT_ERRCODES = frozenset({-1, 45009, 45011, 45033})

COMMON_REASONS: Mapping[int, Text] = {
    40164: text(
        "this server's IP address is not in the account's IP whitelist",
        "本服务器的 IP 不在 IP 白名单中",
    ),
    40125: text("the channel's secret is wrong", "渠道的密钥（Secret）有误"),
    40013: text("the channel's app id / corp id is wrong", "渠道的 AppID / 企业ID 有误"),
    40007: text(
        "the media id is invalid or expired (temporary media lives 3 days)",
        "媒体文件 ID 无效或已过期（临时素材只保存 3 天）",
    ),
    45002: text("the message is too long for WeChat", "消息内容超过微信的长度限制"),
    41001: text("the access token is missing", "缺少 access_token"),
}


class ApiError(Exception):
    """A WeChat/WeCom JSON answer with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, path: str) -> None:
        super().__init__(f"{path}: errcode {errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path


@dataclass(frozen=True)
class Product:
    """One of the two APIs: the namespace of its reason codes, its name and its errcodes."""

    namespace: str
    name: Text
    reasons: Mapping[int, Text]

    def fail(self, code: str, en: str, zh: str) -> PermanentSendError:
        """A refusal of our own making (no media id, too large...), namespaced like the rest."""
        return PermanentSendError(en, f"{self.namespace}.{code}", text(en, zh))

    def refused(self, exc: ApiError) -> HubError:
        """The hub's retry-or-fail decision for an errcode, with a reason in both languages."""
        if exc.errcode in TRANSIENT_ERRCODES:
            return TransientSendError(
                f"{self.name['en']} is busy or rate-limited (errcode {exc.errcode})"
            )
        known = self.reasons.get(exc.errcode) or COMMON_REASONS.get(exc.errcode)
        # errmsg is WeChat's own English text plus a request hint: useful to an admin, no PII.
        en = known["en"] if known else f"{self.name['en']} refused the request: {exc.errmsg}"
        zh = known["zh-CN"] if known else f"{self.name['zh-CN']}拒绝了请求：{exc.errmsg}"
        return PermanentSendError(
            f"{en} (errcode {exc.errcode})",
            f"{self.namespace}.{exc.errcode}",
            text(f"{en} (errcode {exc.errcode})", f"{zh}（错误码 {exc.errcode}）"),
        )
