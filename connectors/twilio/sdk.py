"""The parts of the ``twilio`` package this connector uses, behind typed functions.

The package ships no type information, so its untyped calls stay in this one module:
webhook signatures (https://www.twilio.com/docs/usage/security#validating-requests) and TwiML
(https://www.twilio.com/docs/messaging/twiml).
"""

from __future__ import annotations

from collections.abc import Iterable

from multidict import MultiDict
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]
from twilio.twiml.messaging_response import MessagingResponse  # type: ignore[import-untyped]

#: the header Twilio puts its signature in
SIGNATURE_HEADER = "X-Twilio-Signature"


def _params(fields: Iterable[tuple[str, str]]) -> MultiDict[str]:
    # A MultiDict, so that a name sent twice is signed with both values, as Twilio signs it.
    return MultiDict(list(fields))


def compute_signature(auth_token: str, url: str, fields: Iterable[tuple[str, str]]) -> str:
    """The ``X-Twilio-Signature`` Twilio puts on a request to ``url`` with these form fields."""
    return str(RequestValidator(auth_token).compute_signature(url, _params(fields)))


def signature_valid(
    auth_token: str, url: str, fields: Iterable[tuple[str, str]], signature: str
) -> bool:
    """Whether ``signature`` is Twilio's for ``url`` and the fields (with or without the port)."""
    return bool(RequestValidator(auth_token).validate(url, _params(fields), signature))


def empty_messaging_response() -> bytes:
    """``<Response/>``: TwiML that tells Twilio to send no reply of its own."""
    return str(MessagingResponse()).encode()
