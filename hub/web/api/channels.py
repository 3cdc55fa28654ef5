"""Channels and the kinds of channel this hub can connect."""

from __future__ import annotations

from aiohttp import web

from hub.domain.channels import (
    AutoReplies,
    Connector,
    Embeds,
    EndsSessions,
    LimitsReplies,
    Polls,
    StartsConversations,
)
from hub.domain.errors import InvalidInput
from hub.domain.model import Role
from hub.domain.ports import BlobStorage
from hub.domain.records import Channel
from hub.domain.settings import settings_schema
from hub.domain.transports import ServesCustomers
from hub.services.channel_settings import saved_settings
from hub.services.polling import look_at_pollers, reader_problems
from hub.web import schemas as S
from hub.web.api.common import MASK, api, changes_of, path_id, read_body
from hub.web.keys import agent_of, hub_of
from hub.web.uploads import CHANNEL_FILE_TYPES, channel_file_type, receive_upload


async def channel_out(request: web.Request, channel: Channel) -> S.ChannelOut:
    hub_ = hub_of(request)
    problems = await reader_problems(hub_.deps, channel)
    base = hub_.settings.public_url.rstrip("/")
    connector = hub_.deps.connectors.get(channel.kind)
    if connector is None:
        # Its package is not installed (any more): still listed, so an admin can see and
        # deactivate it; which settings are secret is unknown, so every one is masked.
        settings = {key: MASK if value else value for key, value in channel.settings.items()}
        webhook_names: tuple[str, ...] = ()
        embed_html = None
    else:
        secrets = connector.info.secret_settings
        settings = {
            key: (MASK if key in secrets and value else value)
            for key, value in channel.settings.items()
        }
        webhook_names = connector.info.webhook_names
        embed_html = connector.embed_html(channel, base) if isinstance(connector, Embeds) else None
    return S.ChannelOut(
        id=channel.id,
        kind=channel.kind,
        name=channel.name,
        active=channel.active,
        team_id=channel.team_id,
        public_key=channel.public_key,
        settings=settings,
        webhook_urls={name: f"{base}/hooks/{channel.id}/{name}" for name in webhook_names},
        embed_html=embed_html,
        created_at=channel.created_at.isoformat(),
        problems=[
            S.ReaderProblemOut(reader=p.poller, text=dict(p.text), since=p.since.isoformat())
            for p in problems
        ],
    )


@api.route("GET", "/channels", summary="List channels", tag="channels", response=S.ChannelList)
async def list_channels(request: web.Request) -> S.ChannelList:
    channels = await hub_of(request).directory.list_channels()
    return S.ChannelList(items=[await channel_out(request, c) for c in channels])


@api.route(
    "POST",
    "/channels",
    summary="Connect a channel",
    tag="channels",
    body=S.ChannelIn,
    response=S.ChannelOut,
    status=201,
    admin=True,
)
async def create_channel(request: web.Request) -> S.ChannelOut:
    body = await read_body(request, S.ChannelIn)
    hub_ = hub_of(request)
    if body.kind not in hub_.deps.connectors:
        kinds = ", ".join(sorted(hub_.deps.connectors))
        raise InvalidInput(f"unknown channel kind {body.kind!r}; known kinds: {kinds}")
    info = hub_.deps.connector(body.kind).info
    settings = saved_settings(
        info.settings, body.settings, allow_private=hub_.settings.allow_private_networks
    )
    await _check_team(request, body.team_id)
    channel = await hub_.directory.create_channel(body.kind, body.name, settings, body.team_id)
    await look_at_pollers(hub_.deps, channel)
    return await channel_out(request, channel)


async def _check_team(request: web.Request, team_id: int | None) -> None:
    """A channel's team exists (the database would refuse it too, less clearly)."""
    if team_id is None:
        return
    teams = await hub_of(request).directory.list_teams()
    if all(team.id != team_id for team in teams):
        raise InvalidInput(f"team_id: there is no team {team_id}")


@api.route(
    "POST",
    "/channel-files",
    summary="Upload a file for a channel setting (multipart field 'file'): a sound (MP3 or "
    "WAV) or a picture (PNG, JPEG, WebP or GIF)",
    tag="channels",
    upload="file",
    response=S.ChannelFileOut,
    status=201,
    admin=True,
)
async def upload_channel_file(request: web.Request) -> S.ChannelFileOut:
    hub_ = hub_of(request)
    blobs = hub_.deps.blobs
    stored = await receive_upload(
        request,
        _Checked(blobs),
        max_bytes=hub_.settings.max_upload_bytes,
        allowed_types=CHANNEL_FILE_TYPES,
    )
    return S.ChannelFileOut(
        key=stored.storage_key, content_type=stored.content_type, size=stored.size
    )


class _Checked:
    """Stores a channel's file only if its bytes are a sound or a picture: it is served to
    the public, so a page or a script named greeting.mp3 or logo.png must not get in."""

    def __init__(self, blobs: BlobStorage) -> None:
        self._blobs = blobs

    async def put(self, data: bytes, *, filename: str, content_type: str) -> str:
        found = channel_file_type(data)
        if found is None:
            raise InvalidInput("the file is not an MP3 or WAV sound, nor a PNG, JPEG, WebP or GIF")
        if found.split("/")[0] != content_type.split("/")[0]:
            raise InvalidInput(f"the file is a {found}, not the {content_type} its name says")
        return await self._blobs.put(data, filename=filename, content_type=content_type)

    async def get(self, key: str) -> bytes:
        return await self._blobs.get(key)


@api.route(
    "GET",
    "/channel-kinds",
    summary="The kinds of channel this hub can connect",
    tag="channels",
    response=S.ChannelKindList,
)
async def channel_kinds(request: web.Request) -> S.ChannelKindList:
    hub_ = hub_of(request)
    problems = []
    if agent_of(request).role == Role.ADMIN:
        problems = [
            S.ConnectorProblemOut(source=p.source, reason=p.reason) for p in hub_.connector_problems
        ]
    return S.ChannelKindList(
        items=[kind_out(c) for c in hub_.deps.connectors.values()], problems=problems
    )


def kind_out(connector: Connector) -> S.ChannelKindOut:
    """Everything the inbox page needs to show a kind of channel, from its connector."""
    info = connector.info
    guide = info.guide
    return S.ChannelKindOut(
        kind=info.kind,
        title=dict(info.title),
        contact_label=dict(info.contact_label),
        color=info.color,
        webhook_names=list(info.webhook_names),
        secret_settings=sorted(info.secret_settings),
        settings_schema=settings_schema(info.settings),
        guide=None
        if guide is None
        else S.ConsoleGuideOut(
            title=dict(guide.title),
            steps=[dict(step) for step in guide.steps],
            console_url=guide.console_url,
            webhook=guide.webhook,
        ),
        events={name: dict(label) for name, label in info.events.items()},
        capabilities=S.CapabilitiesOut(
            reply_window=isinstance(connector, LimitsReplies),
            ends_sessions=isinstance(connector, EndsSessions),
            auto_replies=isinstance(connector, AutoReplies),
            embeds=isinstance(connector, Embeds),
            transport=isinstance(connector, ServesCustomers),
            polls=isinstance(connector, Polls),
            sms_segments=info.sms_segments,
        ),
        outreach=None
        if info.outreach is None or not isinstance(connector, StartsConversations)
        else S.OutreachOut(
            recipient=dict(info.outreach.recipient),
            placeholder=info.outreach.placeholder,
            titled=info.outreach.titled,
        ),
    )


@api.route(
    "GET",
    "/channels/{id}",
    summary="One channel, with its webhook URLs",
    tag="channels",
    response=S.ChannelOut,
)
async def get_channel(request: web.Request) -> S.ChannelOut:
    channel = await hub_of(request).directory.get_channel(path_id(request))
    return await channel_out(request, channel)


@api.route(
    "PATCH",
    "/channels/{id}",
    summary="Change a channel; masked secrets stay as they are",
    tag="channels",
    body=S.ChannelPatch,
    response=S.ChannelOut,
    admin=True,
)
async def patch_channel(request: web.Request) -> S.ChannelOut:
    body = await read_body(request, S.ChannelPatch)
    hub_ = hub_of(request)
    channel = await hub_.directory.get_channel(path_id(request))
    changes = changes_of(body, not_null=("name", "active", "settings"))
    await _check_team(request, body.team_id)
    if body.settings is not None:
        info = hub_.deps.connector(channel.kind).info
        changes["settings"] = saved_settings(
            info.settings,
            body.settings,
            channel.settings,
            allow_private=hub_.settings.allow_private_networks,
        )
    channel = await hub_.directory.update_channel(channel.id, **changes)
    await look_at_pollers(hub_.deps, channel)
    return await channel_out(request, channel)
