"""The contract between the hub and a channel connector.

A connector is a pure translator: it verifies a provider's request, parses it into normalised
values, says what to answer, and sends outbound messages. It never sees the database. What a
channel is (its name, settings, console guide, event names) is declared once in its
``ChannelKind``; what it can do beyond the basics is declared by implementing the optional
protocols below, which the hub checks with ``isinstance``. ``docs/connectors.md`` explains it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from hub.domain.model import AttachmentRef, Inbound, Outbound, SendReceipt, StatusUpdate
from hub.domain.ports import BlobStorage, Publish
from hub.domain.records import Channel
from hub.domain.service_rules import RatingWay
from hub.domain.settings import secret_names
from hub.domain.texts import Text


@dataclass(frozen=True)
class WebhookRequest:
    """A provider's HTTP request without any web framework around it.

    ``url`` is the address the provider called, as the hub's public URL says (what a provider
    signs), not the address a reverse proxy forwarded to.
    """

    method: str
    url: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class WebhookResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Wake:
    """Asks the channel's poller to read now: a callback announced news kept at the provider.

    For providers whose callbacks carry no message, only "there is something new" (WeCom's
    ``kf_msg_or_event``, a mailbox's IDLE): the callback is answered at once and the one
    process that runs the poller pulls, so concurrent callbacks share one pull.
    """

    #: the ``Poller.name`` to wake
    poller: str
    #: passed to the poller with the wake (a short-lived pull token the callback carried)
    hint: str = ""


@dataclass(frozen=True)
class WebhookResult:
    response: WebhookResponse = field(default_factory=WebhookResponse)
    inbound: tuple[Inbound, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
    wake: tuple[Wake, ...] = ()


class ChannelState(Protocol):
    """Small per-channel values shared by every process: access tokens, sync cursors."""

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, expires_at: datetime | None = None) -> None: ...


@dataclass(frozen=True)
class AgentPhone:
    agent_id: int
    name: str
    #: E.164
    phone: str


class Phones(Protocol):
    """Whom a phone channel may ring: what a connector answering a call asks of the hub."""

    async def reachable(self, channel: Channel, team: str | None) -> list[AgentPhone]:
        """Active agents online in the inbox now who have a phone number: of the team with
        this name, else of the channel's team, else every such agent."""
        ...


class Leases(Protocol):
    """Per-channel leases: which one process owns a piece of work (a poller) for a while."""

    async def claim(self, key: str, owner: str, ttl_s: float) -> bool:
        """Take or renew ``key`` for ``owner``; false while another owner holds it."""
        ...

    async def release(self, key: str, owner: str) -> None: ...


@dataclass(frozen=True)
class SendContext:
    blobs: BlobStorage
    publish: Publish
    state: ChannelState


@dataclass(frozen=True)
class FetchedMedia:
    data: bytes
    content_type: str
    filename: str


@dataclass(frozen=True)
class ConsoleGuide:
    """Where an admin pastes the channel's URLs and secrets in the provider's console."""

    title: Text
    #: short steps; ``**…**`` marks a console path or button, shown in bold
    steps: tuple[Text, ...]
    console_url: str
    #: the webhook whose URL the guide shows with the steps (``None``: it shows every webhook)
    webhook: str | None = None


@dataclass(frozen=True)
class Outreach:
    """How an agent writes to a customer first on a kind (a new email): what the form asks.

    A kind that declares it implements ``StartsConversations``.
    """

    #: the label of the customer's address on the channel ("Email address")
    recipient: Text
    placeholder: str = ""
    #: the conversation has a title the customer sees (an email's subject)
    titled: bool = False


@dataclass(frozen=True)
class ChannelKind:
    """What a kind of channel is: everything the hub and the admin page know of it."""

    #: lowercase letters, digits and ``_``; stored with each channel, so never renamed
    kind: str
    title: Text
    #: how a customer of this channel is named until they give their name ("WeChat user")
    contact_label: Text
    #: the settings as a pydantic model whose fields are made with ``hub.domain.settings.setting``
    settings: type[BaseModel]
    #: the names of the webhooks this kind exposes at ``/hooks/{channel_id}/{name}``
    webhook_names: tuple[str, ...] = ()
    guide: ConsoleGuide | None = None
    #: labels of the ``data["event"]`` names its inbound events carry, for the thread
    events: Mapping[str, Text] = field(default_factory=dict)
    #: the colour of the channel's chip in the inbox (``#rrggbb``)
    color: str = "#5f6368"
    #: a folder of static files served at ``/assets/{kind}/`` (a widget script, icons)
    assets: Path | None = None
    #: where the kind is listed among the others, lowest first (the hub's own: 10, 20, …)
    rank: int = 100
    #: replies go out as SMS, split into segments that are each billed: the reply box counts
    #: them as the agent types (GSM-7: 160 characters, 153 when split; else UCS-2: 70 and 67)
    sms_segments: bool = False
    #: agents may start a conversation on this kind (see ``Outreach``)
    outreach: Outreach | None = None
    #: how a resolved conversation asks the customer for a rating (满意度评价): by a "reply
    #: 1-5" message, by a link, or in the customer's own client; ``None``: never
    rating: RatingWay | None = RatingWay.REPLY

    @property
    def secret_settings(self) -> frozenset[str]:
        return secret_names(self.settings)


class Connector(Protocol):
    info: ChannelKind

    async def handle_webhook(
        self, channel: Channel, name: str, request: WebhookRequest
    ) -> WebhookResult:
        """Verify and parse one provider request: raise ``InvalidSignature`` (403) or
        ``MalformedPayload`` (400) and nothing is stored."""
        ...

    async def send(self, channel: Channel, out: Outbound, ctx: SendContext) -> SendReceipt:
        """Send one message; raise ``TransientSendError`` to be retried with backoff, or
        ``PermanentSendError`` with a reason code in the connector's namespace
        (``wechat.45015``) and its texts."""
        ...

    async def fetch_media(
        self, channel: Channel, ref: AttachmentRef, ctx: SendContext
    ) -> FetchedMedia:
        """Download a file the provider keeps; ``TransientSendError`` is retried."""
        ...


# -- optional capabilities ------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyWindow:
    """How many replies a channel still allows, and until when (WeChat's 48-hour rule)."""

    remaining: int
    limit: int
    closes_at: datetime | None
    #: the provider's rule, for the agent
    rule: Text | None = None


@runtime_checkable
class LimitsReplies(Protocol):
    """A connector whose provider caps replies after the customer's last message."""

    def reply_window(
        self,
        customer_activity: list[tuple[datetime, str | None]],
        replies: list[datetime],
        now: datetime,
    ) -> ReplyWindow:
        """``customer_activity``: the customer's recent messages, newest first, each with its
        normalised event name (``None`` for an ordinary message); ``replies``: when recent
        replies were sent."""
        ...


@runtime_checkable
class EndsSessions(Protocol):
    """A connector whose provider keeps a session state the hub should close on resolve."""

    async def end_session(self, channel: Channel, external_id: str, ctx: SendContext) -> None: ...


@dataclass(frozen=True)
class AutoReply:
    """A message the hub sends by itself in answer to an inbound event (a welcome)."""

    text: str
    #: passed to ``send`` in ``Outbound.data`` (e.g. the code a WeCom welcome must quote)
    data: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class AutoReplies(Protocol):
    """A connector some of whose inbound events deserve an automatic answer (关注回复, 欢迎语)."""

    def auto_reply(self, channel: Channel, item: Inbound) -> AutoReply | None: ...


@runtime_checkable
class Embeds(Protocol):
    """A connector whose channel is placed on the business's own pages (a widget)."""

    def embed_html(self, channel: Channel, public_url: str) -> str: ...


@dataclass(frozen=True)
class Recipient:
    """A customer an agent writes to first, as the channel knows them."""

    #: the customer's id on the channel, as inbound items name the sender
    external_id: str
    email: str | None = None
    phone: str | None = None


@runtime_checkable
class StartsConversations(Protocol):
    """A connector on which agents may write first (its kind declares an ``Outreach``)."""

    def recipient(self, channel: Channel, address: str) -> Recipient:
        """The customer at ``address``, or ``InvalidInput`` saying why it is none."""
        ...


async def _unreported(problem: Text | None) -> None:
    return None


@dataclass(frozen=True)
class PollContext:
    """What a poller may do: keep state, store files, and hand what it read to the hub."""

    state: ChannelState
    blobs: BlobStorage
    #: store inbound events durably; returns once they are committed (the dedupe applies)
    accept: Callable[[Sequence[Inbound]], Awaitable[None]]
    apply_statuses: Callable[[Sequence[StatusUpdate]], Awaitable[None]]
    #: wait up to the given seconds for a ``Wake`` of this poller; gives the hints of the
    #: wakes since the last call (``[]`` when the time ran out; wakes close together may be
    #: merged, keeping the newest hint). A wake is a hint, not a promise: one can be lost
    #: (another process, a cut connection), so a poller also reads on its own every so often.
    woken: Callable[[float], Awaitable[list[str]]]
    #: say what keeps the poller from reading now (a refused login), for the admin's channel
    #: page, or ``None`` once it reads again; cheap to call after every read
    report: Callable[[Text | None], Awaitable[None]] = _unreported


class Poller(Protocol):
    """A background reader of one channel (a mailbox, a provider's sync API).

    The hub runs exactly one ``run`` per channel and poller name across all processes, in the
    worker (or the embedded web process), and restarts it after a pause when it raises or when
    the channel's settings change.
    """

    name: str

    async def run(self, channel: Channel, ctx: PollContext) -> None:
        """Read until cancelled; an exception is logged and ``run`` starts again later."""
        ...


@runtime_checkable
class Polls(Protocol):
    def pollers(self, channel: Channel) -> Sequence[Poller]: ...
