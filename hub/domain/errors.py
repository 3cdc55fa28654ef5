"""The one error tree; the web layer and the job runner each map it once."""

from __future__ import annotations

from collections.abc import Mapping


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class NotFound(HubError):
    pass


class Forbidden(HubError):
    pass


class Unauthorized(HubError):
    pass


class Conflict(HubError):
    pass


class InvalidSignature(HubError):
    """A provider request whose signature does not check: answered 403, nothing stored."""


class MalformedPayload(HubError):
    """A body that cannot be parsed: answered 400 with the reason, nothing stored."""


class PayloadTooLarge(HubError):
    pass


class TooManyRequests(HubError):
    """A caller over its limit: answered 429 with ``Retry-After``."""

    def __init__(self, reason: str, retry_after_s: float) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class InvalidInput(HubError):
    """A request that parses but asks for something impossible: answered 422."""


class TransientSendError(HubError):
    """The provider may accept the message later: the delivery job retries with backoff."""


class PermanentSendError(HubError):
    """The provider refused the message for good: it is marked failed with this reason.

    ``code`` is in the connector's namespace (``wechat.45015``); ``texts`` say the reason to
    the agent in every language of the inbox (the English ``reason`` when absent).
    ``opted_out``: the provider says the customer unsubscribed (Twilio's 21610), which the hub
    then records as if it had seen their STOP.
    """

    def __init__(
        self,
        reason: str,
        code: str | None = None,
        texts: Mapping[str, str] | None = None,
        *,
        opted_out: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.texts = dict(texts) if texts else {"en": reason, "zh-CN": reason}
        self.opted_out = opted_out
