"""The parts of the ``twilio`` package this connector uses, behind typed functions.

The package ships no type information, so its untyped calls stay in this one module:
webhook signatures (https://www.twilio.com/docs/usage/security#validating-requests) and TwiML
(https://www.twilio.com/docs/messaging/twiml).
"""

from __future__ import annotations

import hmac
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
    """Whether ``signature`` is Twilio's for ``url`` and the fields (with or without the port).

    ``validate`` always computes two signatures (the URL with and without its port), while
    Twilio signs the URL as configured, which is the one called: that one is tried first, and
    ``validate``'s variants only when it does not match. Half the HMAC work per webhook.
    """
    validator = RequestValidator(auth_token)
    params = _params(fields)
    expected = str(validator.compute_signature(url, params))
    if hmac.compare_digest(expected.encode(), signature.encode()):
        return True
    return bool(validator.validate(url, params, signature))


def empty_messaging_response() -> bytes:
    """``<Response/>``: TwiML that tells Twilio to send no reply of its own."""
    return str(MessagingResponse()).encode()
