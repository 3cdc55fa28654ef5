"""The Twilio connector: verify Twilio's webhooks, read them, send replies by SMS, answer calls.

Inbound messages arrive at the ``sms`` webhook (the number's "A message comes in"); each reply
asks for delivery reports at the ``sms_status`` webhook with its ``StatusCallback``
(https://www.twilio.com/docs/messaging/guides/track-outbound-message-status). Calls come to the
``voice`` webhook and are answered step by step (``connectors.twilio.voice``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import aiohttp

from connectors.twilio import api
from connectors.twilio.kind import (
    INFO,
    RECORDING_STATUS_WEBHOOK,
    SMS_STATUS_WEBHOOK,
    SMS_WEBHOOK,
    VOICE_STATUS_WEBHOOK,
    VOICE_WEBHOOK,
)
from connectors.twilio.parse import inbound_from_fields, signed_fields, status_from_fields
from connectors.twilio.sdk import empty_messaging_response
from connectors.twilio.voice import CallDesk
from hub.domain.channels import (
    ChannelState,
    FetchedMedia,
    Phones,
    SendContext,
    WebhookRequest,
    WebhookResponse,
    WebhookResult,
)
from hub.domain.errors import HubError, NotFound
from hub.domain.model import AttachmentRef, Outbound, SendReceipt
from hub.domain.records import Channel

log = logging.getLogger(__name__)

#: the answer to an incoming message: TwiML that sends nothing (agents reply later, by API)
EMPTY_TWIML = empty_messaging_response()


class TwilioConnector:
    """Connector for kind ``twilio``: one Twilio account and number (or Messaging Service)."""

    info = INFO

    def __init__(
        self,
        http: aiohttp.ClientSession,
        public_url: str,
        *,
        phones: Phones | None = None,
        state_for: Callable[[int], ChannelState] | None = None,
    ) -> None:
        self._http = http
        self._public_url = public_url.rstrip("/")
        #: whom calls ring, and where a call's steps are remembered (without them: voicemail,
        #: and a call's outcome is told from its last callback alone)
        self._phones = phones
        self._state_for = state_for

    def _desk(self, channel: Channel) -> CallDesk:
        state = self._state_for(channel.id) if self._state_for else _Forgetful()
        return CallDesk(self._phones, state, self._public_url)

    def status_callback(self, channel: Channel) -> str:
        """The ``sms_status`` webhook's address, where Twilio reports on a reply."""
        return f"{self._public_url}/hooks/{channel.id}/{SMS_STATUS_WEBHOOK}"

    async def handle_webhook(
        self, channel: Channel, name: str, request: WebhookRequest
    ) -> WebhookResult:
        if name not in self.info.webhook_names:
            raise NotFound(f"no webhook {name!r} for Twilio channels")
        if request.method.upper() not in ("GET", "POST"):
            return WebhookResult(response=WebhookResponse(status=405, body=b"method not allowed"))
        fields = signed_fields(str(channel.settings["auth_token"]), request)
        if name in (VOICE_WEBHOOK, VOICE_STATUS_WEBHOOK, RECORDING_STATUS_WEBHOOK):
            desk = self._desk(channel)
            if name == VOICE_WEBHOOK:
                return await desk.handle(channel, fields, request.query)
            if name == VOICE_STATUS_WEBHOOK:
                return await desk.ended(channel, fields)
            return await desk.recording(channel, fields)
        if name == SMS_WEBHOOK:
            item = inbound_from_fields(fields)
            log.info(
                "twilio message accepted",
                extra={
                    "channel_id": channel.id,
                    "provider_event_id": item.provider_event_id,
                    "media": len(item.attachments),
                },
            )
            return WebhookResult(
                response=WebhookResponse(body=EMPTY_TWIML, content_type="text/xml"),
                inbound=(item,),
            )
        update = status_from_fields(fields)
        log.info(
            "twilio status callback",
            extra={
                "channel_id": channel.id,
                "provider_message_id": update.provider_message_id if update else None,
                "status": update.status.value if update else None,
            },
        )
        return WebhookResult(statuses=(update,) if update else ())

    async def send(self, channel: Channel, out: Outbound, ctx: SendContext) -> SendReceipt:
        """Send the reply by SMS, or MMS with files; see ``api.message_form``."""
        form = api.message_form(channel.settings, out, self.status_callback(channel))
        status, body = await api.post_message(self._http, channel.settings, form)
        try:
            receipt = api.send_outcome(status, body)
        except HubError:
            log.warning(
                "twilio send refused",
                extra={"channel_id": channel.id, "message_id": out.message_id, "status": status},
            )
            raise
        log.info(
            "twilio message sent",
            extra={
                "channel_id": channel.id,
                "message_id": out.message_id,
                "provider_message_id": receipt.provider_message_id,
            },
        )
        return receipt

    async def fetch_media(
        self, channel: Channel, ref: AttachmentRef, ctx: SendContext
    ) -> FetchedMedia:
        return await api.fetch_media(self._http, channel.settings, ref)


class _Forgetful:
    """A channel state that keeps nothing (a connector built without ``state_for``)."""

    async def get(self, key: str) -> str | None:
        return None

    async def set(self, key: str, value: str, expires_at: datetime | None = None) -> None:
        return None
