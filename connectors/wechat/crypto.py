"""Callback signature checks and AES decryption for WeChat and WeCom, on top of wechatpy's crypto.

Docs: https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
(plain ``signature``), https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
(``msg_signature`` + AES, Official Account) and https://developer.work.weixin.qq.com/document/path/90968
(the same scheme for WeCom).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from wechatpy.crypto import PrpCrypto as OfficialPrp
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import PrpCrypto as EnterprisePrp
from wechatpy.enterprise.crypto import WeChatCrypto as EnterpriseCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner

from hub.domain.errors import InvalidSignature, MalformedPayload

#: How far a callback's signed ``timestamp`` may be from this server's clock, either way.
#: WeChat documents no limit for callbacks. It repeats a callback it got no answer to within 5 s,
#: three times in all (Message_Management/Passive_user_reply_message.html), so only those retries
#: and clock skew must fit. Five minutes is the window WeChat Pay's API v3 allows a signed
#: request's timestamp (it answers "timestamp与发起请求的时间不得超过5分钟" beyond it;
#: https://wechatpay-api.gitbook.io/wechatpay-api-v3/qian-ming-zhi-nan-1/qian-ming-sheng-cheng),
#: and the one Slack documents for the same replay check
#: (https://api.slack.com/authentication/verifying-requests-from-slack).
REPLAY_WINDOW_S = 300


class Decrypter(Protocol):
    """What wechatpy's ``WeChatCrypto`` (Official Account or enterprise) offers us."""

    def decrypt_message(
        self, msg: dict[str, Any], signature: str, timestamp: str, nonce: str
    ) -> str: ...


def signature_of(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    """The SHA-1 WeChat signs with: sorted parts concatenated (wechatpy's ``WeChatSigner``)."""
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce, *extra)
    return str(signer.signature)


def check_signature(token: str, signature: str, timestamp: str, nonce: str, *extra: str) -> None:
    """Raise ``InvalidSignature`` unless ``signature`` signs the parts with our token.

    wechatpy's own ``check_signature`` compares with ``!=``; we compute the same digest with its
    signer and compare in constant time so the check leaks nothing through timing.
    """
    if not (signature and timestamp and nonce):
        raise InvalidSignature("signature, timestamp and nonce are required")
    expected = signature_of(token, timestamp, nonce, *extra)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise InvalidSignature("WeChat signature does not match the channel token")


def signed_ciphertext(
    token: str, msg_signature: str, timestamp: str, nonce: str, candidates: Iterable[str]
) -> str:
    """The one of ``candidates`` (a body's ``Encrypt`` values) that ``msg_signature`` signs.

    Raises ``InvalidSignature`` when none is signed, before anything is decrypted or parsed.
    """
    if not (msg_signature and timestamp and nonce):
        raise InvalidSignature("msg_signature, timestamp and nonce are required")
    wanted = msg_signature.strip().lower().encode()
    found = False
    for value in candidates:
        found = True
        if hmac.compare_digest(signature_of(token, timestamp, nonce, value).encode(), wanted):
            return value
    if not found:
        raise InvalidSignature("the body has no Encrypt value for msg_signature to sign")
    raise InvalidSignature("WeChat msg_signature does not sign the body's Encrypt value")


def check_fresh(timestamp: str, now: float) -> None:
    """Raise ``InvalidSignature`` unless ``timestamp`` is within ``REPLAY_WINDOW_S`` of ``now``.

    A signature covers the timestamp, so a captured callback cannot be given a new one: past
    the window, sending it again (a replay) is refused.
    """
    if not timestamp.isdigit():
        raise InvalidSignature("the timestamp must be a Unix time in seconds")
    skew = int(timestamp) - now
    if abs(skew) > REPLAY_WINDOW_S:
        when = "old" if skew < 0 else "ahead of this server's clock"
        raise InvalidSignature(
            f"timestamp {timestamp} is {abs(skew):.0f} s {when}: outside the "
            f"{REPLAY_WINDOW_S} s window a callback is accepted in (a replay?)"
        )


def decrypt(
    crypto: Decrypter,
    token: str,
    encrypted: str,
    msg_signature: str,
    timestamp: str,
    nonce: str,
) -> str:
    """Check ``msg_signature`` over the ciphertext, then decrypt it with wechatpy.

    Used for the encrypted ``echostr`` of a verification GET and for callbacks whose channel
    has no ``CallbackCrypto`` at hand: both are ``Encrypt`` values signed the same way.
    """
    check_signature(token, msg_signature, timestamp, nonce, encrypted)
    return _opened(
        lambda: crypto.decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
    )


class CallbackCrypto:
    """One channel's callback crypto, built once per channel and settings.

    wechatpy's ``WeChatCrypto`` decodes the EncodingAESKey when it is built, and its
    ``decrypt_message`` checks the signature again and builds a new AES cipher for every
    message; this keeps both the crypto and its cipher, and decrypts values whose signature
    the caller has checked (``signed_ciphertext``).
    """

    def __init__(self, token: str, aes_key: str, receiver_id: str, *, enterprise: bool) -> None:
        self.settings = (token, aes_key, receiver_id)
        self.token = token
        self.crypto: Decrypter
        self._prp: OfficialPrp | EnterprisePrp
        if enterprise:
            work = EnterpriseCrypto(token, aes_key, receiver_id)
            self.crypto, self._prp = work, EnterprisePrp(work.key)
        else:
            official = WeChatCrypto(token, aes_key, receiver_id)
            self.crypto, self._prp = official, OfficialPrp(official.key)
        self._receiver_id = receiver_id

    def decrypt(self, encrypted: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """Check ``msg_signature`` over ``encrypted``, then decrypt it."""
        check_signature(self.token, msg_signature, timestamp, nonce, encrypted)
        return self.open(encrypted)

    def open(self, encrypted: str) -> str:
        """Decrypt a value whose ``msg_signature`` was checked (``signed_ciphertext``)."""
        return _opened(lambda: self._prp.decrypt(encrypted, self._receiver_id))


class CryptoCache:
    """Each channel's ``CallbackCrypto``, built again only when its settings change."""

    def __init__(self, *, enterprise: bool) -> None:
        self._enterprise = enterprise
        self._by_channel: dict[int, CallbackCrypto] = {}

    def get(self, channel_id: int, token: str, aes_key: str, receiver_id: str) -> CallbackCrypto:
        found = self._by_channel.get(channel_id)
        if found is None or found.settings != (token, aes_key, receiver_id):
            found = CallbackCrypto(token, aes_key, receiver_id, enterprise=self._enterprise)
            self._by_channel[channel_id] = found
        return found


def _opened(decrypt_it: Callable[[], Any]) -> str:
    """Run wechatpy's decryption, its errors mapped onto ours."""
    try:
        plain = decrypt_it()
    except InvalidSignatureException as exc:  # unreachable after our check, kept for safety
        raise InvalidSignature("WeChat msg_signature does not match") from exc
    except (binascii.Error, ValueError, TypeError, IndexError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"cannot decrypt the AES payload ({type(exc).__name__})") from exc
    except Exception as exc:
        # wechatpy raises InvalidAppIdException / InvalidCorpIdException (and the cipher its own
        # errors) when the payload was encrypted for another account or with another key.
        raise MalformedPayload(
            f"AES payload is not for this account or key ({type(exc).__name__})"
        ) from exc
    return str(plain)


def aes_key_is_valid(key: str) -> bool:
    """An EncodingAESKey is 43 base64 characters that decode to 32 bytes."""
    if len(key) != 43 or not (key.isascii() and key.isalnum()):
        return False
    try:
        return len(base64.b64decode(key + "=", validate=True)) == 32
    except binascii.Error:
        return False
