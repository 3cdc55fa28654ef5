"""The parts of the ``twilio`` package this connector uses, behind typed functions.

The package ships no type information, so its untyped calls stay in this one module:
webhook signatures (https://www.twilio.com/docs/usage/security#validating-requests) and TwiML
(https://www.twilio.com/docs/messaging/twiml).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from typing import Any

from multidict import MultiDict
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]
from twilio.twiml.messaging_response import MessagingResponse  # type: ignore[import-untyped]
from twilio.twiml.voice_response import (  # type: ignore[import-untyped]
    Dial,
    Gather,
    VoiceResponse,
)

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


# -- TwiML for calls (https://www.twilio.com/docs/voice/twiml) -----------------------------


def _twiml(response: Any) -> bytes:
    return str(response).encode()


def answer(
    *,
    language: str,
    greeting: str,
    greeting_audio: str | None,
    menu_prompt: str,
    menu_action: str,
    then: str,
) -> bytes:
    """Greet the caller, offer the menu (one digit, posted to ``menu_action``) and, when no
    digit comes, go on at ``then``. Without a menu prompt: greet and go on at once."""
    response = VoiceResponse()
    if greeting_audio:
        response.play(greeting_audio)
    elif greeting:
        response.say(greeting, language=language)
    if menu_prompt:
        gather = Gather(num_digits=1, action=menu_action, method="POST", timeout=6)
        gather.say(menu_prompt, language=language)
        response.append(gather)
    response.redirect(then, method="POST")
    return _twiml(response)


def ring(numbers: Sequence[tuple[str, str]], *, timeout_s: int, action: str) -> bytes:
    """Ring these (number, URL fetched when it answers) at once; the first to answer gets the
    call, and Twilio posts the outcome to ``action``."""
    response = VoiceResponse()
    dial = Dial(timeout=timeout_s, action=action, method="POST")
    for number, answered in numbers:
        dial.number(number, url=answered, method="POST")
    response.append(dial)
    return _twiml(response)


def voicemail(
    *,
    language: str,
    prompt: str,
    max_s: int,
    action: str,
    recording_status: str,
    transcription: str,
) -> bytes:
    """Ask for a message after the tone and record it, with a transcript."""
    response = VoiceResponse()
    if prompt:
        response.say(prompt, language=language)
    response.record(
        max_length=max_s,
        play_beep=True,
        action=action,
        method="POST",
        transcribe=True,
        transcribe_callback=transcription,
        recording_status_callback=recording_status,
        recording_status_callback_event="completed",
    )
    return _twiml(response)


def goodbye(*, language: str, words: str) -> bytes:
    response = VoiceResponse()
    if words:
        response.say(words, language=language)
    response.hangup()
    return _twiml(response)


def connect() -> bytes:
    """The answer to "an agent picked up": nothing to play, put them through."""
    return _twiml(VoiceResponse())
