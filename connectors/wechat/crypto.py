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
from typing import Any, Protocol

from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner

from hub.domain.errors import InvalidSignature, MalformedPayload


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


def decrypt(
    crypto: Decrypter,
    token: str,
    encrypted: str,
    msg_signature: str,
    timestamp: str,
    nonce: str,
) -> str:
    """Check ``msg_signature`` over the ciphertext, then decrypt it with wechatpy.

    Used for encrypted message bodies and for the encrypted ``echostr`` of a verification GET:
    both are ``Encrypt`` values signed the same way.
    """
    check_signature(token, msg_signature, timestamp, nonce, encrypted)
    try:
        plain = crypto.decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
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
