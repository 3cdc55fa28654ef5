"""The REST API under ``/api/v1``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, ValidationError

import hub
from adapters.db.queries import (
    MAX_ID,
    ConversationFilter,
    ConversationItem,
    EventItem,
    decode_cursor,
    encode_cursor,
)
from hub.domain.channels import LimitsReplies
from hub.domain.errors import (
    Forbidden,
    InvalidInput,
    MalformedPayload,
    NotFound,
    Unauthorized,
)
from hub.domain.model import AttachmentRef
from hub.domain.records import Agent, Channel
from hub.services import conversations, failed_events, outbound
from hub.services.views import conversation_view, iso, message_view
from hub.web import schemas as S
from hub.web.auth import bearer_token, check_password, hash_password
from hub.web.bodies import read_limited
from hub.web.keys import agent_of, hub_of
from hub.web.openapi import Api
from hub.web.uploads import attachment_ref, receive_upload

api = Api("/api/v1", "Kefu Hub API", hub.__version__)
Model = TypeVar("Model", bound=BaseModel)
MASK = "********"


async def read_body(request: web.Request, model: type[Model]) -> Model:
    raw = await read_limited(request, hub_of(request).settings.max_body_bytes)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        raise MalformedPayload("the body is not valid JSON") from None
    return model.model_validate(data)


def read_query(request: web.Request, model: type[Model]) -> Model:
    return model.model_validate(dict(request.query))


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    try:
        value = int(raw)
    except ValueError:
        raise NotFound(f"no {name} {raw!r}") from None
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"no {name} {raw!r}")
    return value


def agent_out(agent: Agent, online: set[int] | None = None) -> dict[str, Any]:
    return {
        "id": agent.id,
        "email": agent.email,
        "name": agent.name,
        "role": agent.role.value,
        "active": agent.active,
        "locale": agent.locale,
        "online": agent.id in (online or set()),
    }


def channel_out(request: web.Request, channel: Channel) -> dict[str, Any]:
    hub_ = hub_of(request)
    connector = hub_.deps.connector(channel.kind)
    base = hub_.settings.public_url.rstrip("/")
    settings = {
        key: (MASK if key in connector.secret_settings and value else value)
        for key, value in channel.settings.items()
    }
    out: dict[str, Any] = {
        "id": channel.id,
        "kind": channel.kind,
        "name": channel.name,
        "active": channel.active,
        "team_id": channel.team_id,
        "public_key": channel.public_key,
        "settings": settings,
        "webhook_urls": {
            name: f"{base}/hooks/{channel.id}/{name}" for name in connector.webhook_names
        },
        "embed_html": None,
        "created_at": iso(channel.created_at),
    }
    if channel.kind == "webchat":
        out["embed_html"] = (
            f'<script src="{base}/widget.js" data-kefu-key="{channel.public_key}" async></script>'
        )
    return out


def conversation_out(item: ConversationItem) -> dict[str, Any]:
    conv = item.conversation
    return {
        **conversation_view(conv),
        "contact": {"id": conv.contact_id, "name": item.contact_name},
        "channel": {"id": conv.channel_id, "kind": item.channel_kind, "name": item.channel_name},
        "last_message": {"text": item.last_text, "kind": item.last_kind},
    }


def upload_tokens(request: web.Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(hub_of(request).secret, salt="kefu.agent.upload")


# -- auth -------------------------------------------------------------------------------------


@api.route(
    "POST",
    "/auth/login",
    summary="Log in; returns a bearer token",
    tag="auth",
    body=S.LoginIn,
    response=S.LoginOut,
    auth=False,
)
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, S.LoginIn)
    hub_ = hub_of(request)
    found = await hub_.directory.agent_with_hash(body.email)
    # Hash even for unknown emails, so timing does not tell which emails exist.
    password_hash = found[1] if found else _DUMMY_HASH
    ok = await asyncio.to_thread(check_password, password_hash, body.password)
    if not found or not ok or not found[0].active:
        raise Unauthorized("wrong email or password")
    agent = found[0]
    ttl = timedelta(hours=hub_.settings.session_hours)
    token = await hub_.directory.create_token(agent.id, "login", ttl)
    return web.json_response(
        {
            "token": token,
            "expires_at": (datetime.now(UTC) + ttl).isoformat(),
            "agent": agent_out(agent),
        }
    )


_DUMMY_HASH = hash_password("not a real password, only for timing")


@api.route(
    "POST", "/auth/logout", summary="Revoke the token of this request", tag="auth", status=204
)
async def logout(request: web.Request) -> web.Response:
    token = bearer_token(request)
    if token:
        await hub_of(request).directory.revoke_token(token)
    return web.Response(status=204)


@api.route("GET", "/me", summary="The agent this token belongs to", tag="auth", response=S.AgentOut)
async def me(request: web.Request) -> web.Response:
    return web.json_response(agent_out(agent_of(request)))


# -- agents and teams -------------------------------------------------------------------------


@api.route("GET", "/agents", summary="List agents", tag="agents")
async def list_agents(request: web.Request) -> web.Response:
    hub_ = hub_of(request)
    online = await hub_.presence.online()
    agents = await hub_.directory.list_agents()
    return web.json_response({"items": [agent_out(a, online) for a in agents], "next": None})


@api.route(
    "POST",
    "/agents",
    summary="Invite an agent",
    tag="agents",
    body=S.AgentIn,
    response=S.AgentOut,
    status=201,
    admin=True,
)
async def create_agent(request: web.Request) -> web.Response:
    body = await read_body(request, S.AgentIn)
    password_hash = await asyncio.to_thread(hash_password, body.password)
    agent = await hub_of(request).directory.create_agent(
        body.email, body.name, body.role, password_hash
    )
    return web.json_response(agent_out(agent), status=201)


@api.route(
    "PATCH",
    "/agents/{id}",
    summary="Change an agent's name, role, password or state",
    tag="agents",
    body=S.AgentPatch,
    response=S.AgentOut,
)
async def patch_agent(request: web.Request) -> web.Response:
    body = await read_body(request, S.AgentPatch)
    actor = agent_of(request)
    agent_id = path_id(request)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"password"})
    if actor.id != agent_id and actor.role.value != "admin":
        raise Forbidden("only an admin may change another agent")
    if actor.role.value != "admin" and ({"role", "active"} & changes.keys()):
        raise Forbidden("only an admin may change roles or deactivate agents")
    if body.password:
        changes["password_hash"] = await asyncio.to_thread(hash_password, body.password)
    agent = await hub_of(request).directory.update_agent(agent_id, **changes)
    return web.json_response(agent_out(agent))


@api.route("GET", "/teams", summary="List teams", tag="agents")
async def list_teams(request: web.Request) -> web.Response:
    teams = await hub_of(request).directory.list_teams()
    items = [{"id": t.id, "name": t.name, "agent_ids": list(t.agent_ids)} for t in teams]
    return web.json_response({"items": items, "next": None})


@api.route(
    "POST",
    "/teams",
    summary="Create a team",
    tag="agents",
    body=S.TeamIn,
    response=S.TeamOut,
    status=201,
    admin=True,
)
async def create_team(request: web.Request) -> web.Response:
    body = await read_body(request, S.TeamIn)
    team = await hub_of(request).directory.create_team(body.name, body.agent_ids)
    return web.json_response(
        {"id": team.id, "name": team.name, "agent_ids": list(team.agent_ids)}, status=201
    )


@api.route(
    "PUT",
    "/teams/{id}",
    summary="Rename a team and set its members",
    tag="agents",
    body=S.TeamIn,
    response=S.TeamOut,
    admin=True,
)
async def put_team(request: web.Request) -> web.Response:
    body = await read_body(request, S.TeamIn)
    team = await hub_of(request).directory.set_team(path_id(request), body.name, body.agent_ids)
    return web.json_response({"id": team.id, "name": team.name, "agent_ids": list(team.agent_ids)})


# -- channels ---------------------------------------------------------------------------------


@api.route("GET", "/channels", summary="List channels", tag="channels")
async def list_channels(request: web.Request) -> web.Response:
    channels = await hub_of(request).directory.list_channels()
    return web.json_response({"items": [channel_out(request, c) for c in channels], "next": None})


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
async def create_channel(request: web.Request) -> web.Response:
    body = await read_body(request, S.ChannelIn)
    hub_ = hub_of(request)
    if body.kind not in hub_.deps.connectors:
        kinds = ", ".join(sorted(hub_.deps.connectors))
        raise InvalidInput(f"unknown channel kind {body.kind!r}; known kinds: {kinds}")
    settings = hub_.deps.connector(body.kind).validate_settings(body.settings)
    channel = await hub_.directory.create_channel(body.kind, body.name, settings, body.team_id)
    return web.json_response(channel_out(request, channel), status=201)


@api.route(
    "GET", "/channel-kinds", summary="The kinds of channel this hub can connect", tag="channels"
)
async def channel_kinds(request: web.Request) -> web.Response:
    connectors = hub_of(request).deps.connectors
    items = [
        {
            "kind": c.kind,
            "webhook_names": list(c.webhook_names),
            "secret_settings": sorted(c.secret_settings),
        }
        for c in connectors.values()
    ]
    return web.json_response({"items": items, "next": None})


@api.route(
    "GET",
    "/channels/{id}",
    summary="One channel, with its webhook URLs",
    tag="channels",
    response=S.ChannelOut,
)
async def get_channel(request: web.Request) -> web.Response:
    channel = await hub_of(request).directory.get_channel(path_id(request))
    return web.json_response(channel_out(request, channel))


@api.route(
    "PATCH",
    "/channels/{id}",
    summary="Change a channel; masked secrets stay as they are",
    tag="channels",
    body=S.ChannelPatch,
    response=S.ChannelOut,
    admin=True,
)
async def patch_channel(request: web.Request) -> web.Response:
    body = await read_body(request, S.ChannelPatch)
    hub_ = hub_of(request)
    channel = await hub_.directory.get_channel(path_id(request))
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if body.settings is not None:
        merged = {
            key: (channel.settings.get(key) if value == MASK else value)
            for key, value in body.settings.items()
        }
        changes["settings"] = hub_.deps.connector(channel.kind).validate_settings(merged)
    channel = await hub_.directory.update_channel(channel.id, **changes)
    return web.json_response(channel_out(request, channel))


# -- conversations and messages ---------------------------------------------------------------


@api.route(
    "GET",
    "/conversations",
    summary="List conversations, newest activity first",
    tag="conversations",
    query=S.ConversationQuery,
    response=S.ConversationList,
)
async def list_conversations(request: web.Request) -> web.Response:
    query = read_query(request, S.ConversationQuery)
    agent = agent_of(request)
    where = ConversationFilter(
        status=query.status.value if query.status else None,
        unassigned=query.assignee == "none",
        assignee_id=agent.id if query.assignee == "me" else _assignee_id(query.assignee),
        channel_id=query.channel_id,
        contact_id=query.contact_id,
        team_id=query.team_id,
    )
    page = await hub_of(request).queries.conversations(
        where, cursor=query.cursor, limit=query.limit
    )
    return web.json_response(
        {"items": [conversation_out(i) for i in page.items], "next": page.next}
    )


def _assignee_id(value: str | None) -> int | None:
    if value in (None, "", "me", "none", "all"):
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput("assignee is 'me', 'none' or an agent id") from None


@api.route(
    "GET",
    "/conversations/{id}",
    summary="One conversation, with the channel's reply allowance where it has one",
    tag="conversations",
    response=S.ConversationOut,
)
async def get_conversation(request: web.Request) -> web.Response:
    hub_ = hub_of(request)
    item = await hub_.queries.conversation_item(path_id(request))
    if item is None:
        raise NotFound(f"conversation {request.match_info['id']}")
    out = conversation_out(item)
    connector = hub_.deps.connector(item.channel_kind)
    if isinstance(connector, LimitsReplies):
        activity, replies = await hub_.queries.reply_activity(item.conversation.id)
        window = connector.reply_window(activity, replies, datetime.now(UTC))
        out["reply_window"] = {
            "remaining": window.remaining,
            "limit": window.limit,
            "closes_at": iso(window.closes_at),
        }
    return web.json_response(out)


@api.route(
    "PATCH",
    "/conversations/{id}",
    summary="Assign, resolve, reopen or mark read",
    tag="conversations",
    body=S.ConversationPatch,
    response=S.ConversationOut,
)
async def patch_conversation(request: web.Request) -> web.Response:
    body = await read_body(request, S.ConversationPatch)
    hub_ = hub_of(request)
    conversation_id = path_id(request)
    await conversations.update(
        hub_.deps,
        agent_of(request),
        conversation_id,
        status=body.status,
        assignee_id=body.assignee_id
        if "assignee_id" in body.model_fields_set
        else conversations.UNSET,
        read=body.read,
    )
    item = await hub_.queries.conversation_item(conversation_id)
    assert item is not None
    return web.json_response(conversation_out(item))


@api.route(
    "GET",
    "/conversations/{id}/messages",
    summary="Messages, oldest first; page back with `before`",
    tag="conversations",
    query=S.MessageQuery,
    response=S.MessageList,
)
async def list_messages(request: web.Request) -> web.Response:
    query = read_query(request, S.MessageQuery)
    hub_ = hub_of(request)
    conversation_id = path_id(request)
    if await hub_.queries.conversation_item(conversation_id) is None:
        raise NotFound(f"conversation {conversation_id}")
    before = decode_cursor(query.before, int)[0] if query.before else None
    found, more = await hub_.queries.messages(
        [conversation_id], before_id=before, limit=query.limit
    )
    next_cursor = encode_cursor(found[0].id) if more and found else None
    return web.json_response(
        {"items": [message_view(m, hub_.deps.file_url) for m in found], "next": next_cursor}
    )


@api.route(
    "POST",
    "/conversations/{id}/messages",
    summary="Reply to the customer, or add a private note",
    tag="conversations",
    body=S.ReplyIn,
    response=S.MessageOut,
    status=201,
)
async def post_message(request: web.Request) -> web.Response:
    body = await read_body(request, S.ReplyIn)
    hub_ = hub_of(request)
    files: list[AttachmentRef] = []
    signer = upload_tokens(request)
    for token in body.attachments:
        try:
            data = signer.loads(token, max_age=24 * 3600)
        except BadSignature:
            raise InvalidInput("an attachment token is invalid or expired; upload again") from None
        files.append(attachment_ref(data["k"], data["m"]))
    message = await outbound.reply(
        hub_.deps,
        agent_of(request),
        path_id(request),
        body.text,
        private=body.private,
        attachments=files,
    )
    return web.json_response(message_view(message, hub_.deps.file_url), status=201)


@api.route(
    "POST",
    "/messages/{id}/resend",
    summary="Send a failed reply again, with a fresh series of attempts",
    tag="conversations",
    response=S.MessageOut,
)
async def resend_message(request: web.Request) -> web.Response:
    hub_ = hub_of(request)
    message = await outbound.resend(hub_.deps, agent_of(request), path_id(request))
    return web.json_response(message_view(message, hub_.deps.file_url))


@api.route(
    "POST",
    "/uploads",
    summary="Upload a file to attach to a reply (multipart field 'file')",
    tag="conversations",
    response=S.UploadOut,
    status=201,
)
async def upload(request: web.Request) -> web.Response:
    hub_ = hub_of(request)
    stored = await receive_upload(
        request,
        hub_.deps.blobs,
        max_bytes=hub_.settings.max_upload_bytes,
        allowed_types=hub_.settings.upload_types,
    )
    token = upload_tokens(request).dumps({"k": stored.storage_key, "m": stored.meta()})
    return web.json_response(
        {
            "token": token,
            "filename": stored.filename,
            "content_type": stored.content_type,
            "size": stored.size,
        },
        status=201,
    )


# -- contacts and resync ----------------------------------------------------------------------


@api.route(
    "GET",
    "/contacts/{id}",
    summary="A contact with every conversation and the newest messages across channels",
    tag="contacts",
    response=S.ContactOut,
)
async def get_contact(request: web.Request) -> web.Response:
    hub_ = hub_of(request)
    contact_id = path_id(request)
    contact = await hub_.queries.contact(contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id}")
    page = await hub_.queries.conversations(
        ConversationFilter(contact_id=contact_id), cursor=None, limit=100
    )
    ids = [i.conversation.id for i in page.items]
    timeline, _ = await hub_.queries.messages(ids, limit=200) if ids else ([], False)
    return web.json_response(
        {
            "id": contact.id,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "created_at": iso(contact.created_at),
            "identities": await hub_.queries.contact_identities(contact_id),
            "conversations": [conversation_out(i) for i in page.items],
            "timeline": [message_view(m, hub_.deps.file_url) for m in timeline],
        }
    )


class SyncQuery(S.In):
    since: datetime


@api.route(
    "GET",
    "/sync",
    summary="What changed since a time: resync after a reconnect",
    tag="realtime",
    query=SyncQuery,
    response=S.SyncOut,
)
async def sync(request: web.Request) -> web.Response:
    try:
        query = read_query(request, SyncQuery)
    except ValidationError:
        raise InvalidInput("since must be an ISO 8601 time with a timezone") from None
    since = query.since if query.since.tzinfo else query.since.replace(tzinfo=UTC)
    hub_ = hub_of(request)
    now = datetime.now(UTC).isoformat()
    convs, msgs, truncated = await hub_.queries.changed_since(since)
    return web.json_response(
        {
            "conversations": [conversation_view(c) for c in convs],
            "messages": [message_view(m, hub_.deps.file_url) for m in msgs],
            "truncated": truncated,
            "now": now,
        }
    )


# -- failed inbound events --------------------------------------------------------------------


def event_out(item: EventItem) -> dict[str, Any]:
    event = item.event
    payload = event.payload

    def text(key: str, limit: int = 255) -> str | None:
        value = payload.get(key)
        return value[:limit] if isinstance(value, str) else None

    return {
        "id": event.id,
        "channel": {"id": event.channel_id, "kind": item.channel_kind, "name": item.channel_name},
        "provider_event_id": event.provider_event_id,
        "status": event.status.value,
        "attempts": event.attempts,
        "error": item.error,
        "received_at": iso(event.received_at),
        "summary": {
            "sender_id": text("sender_id"),
            "sender_name": text("sender_name"),
            "kind": text("kind"),
            "text": text("text", 500),
        },
        "payload": payload,
    }


@api.route(
    "GET",
    "/inbound-events",
    summary="Accepted events whose processing failed for good (or that were dismissed)",
    tag="events",
    query=S.EventQuery,
    response=S.EventList,
    admin=True,
)
async def list_events(request: web.Request) -> web.Response:
    query = read_query(request, S.EventQuery)
    page = await hub_of(request).queries.inbound_events(
        query.status, channel_id=query.channel_id, cursor=query.cursor, limit=query.limit
    )
    return web.json_response({"items": [event_out(i) for i in page.items], "next": page.next})


@api.route(
    "POST",
    "/inbound-events/retry",
    summary="Process failed events again, as if they had just arrived",
    tag="events",
    body=S.EventIdsIn,
    response=S.EventIdsOut,
    admin=True,
)
async def retry_events(request: web.Request) -> web.Response:
    body = await read_body(request, S.EventIdsIn)
    if body.all == bool(body.ids):
        raise InvalidInput("give either ids or all: true")
    ids = await failed_events.retry(hub_of(request).deps, None if body.all else body.ids)
    return web.json_response({"ids": ids})


@api.route(
    "POST",
    "/inbound-events/dismiss",
    summary="Set failed events aside for good; they stay stored",
    tag="events",
    body=S.EventIdsIn,
    response=S.EventIdsOut,
    admin=True,
)
async def dismiss_events(request: web.Request) -> web.Response:
    body = await read_body(request, S.EventIdsIn)
    if body.all or not body.ids:
        raise InvalidInput("give the ids of the events to dismiss")
    ids = await failed_events.dismiss(hub_of(request).deps, body.ids)
    return web.json_response({"ids": ids})


@api.route("GET", "/openapi.json", summary="This document", tag="meta", auth=False)
async def openapi(request: web.Request) -> web.Response:
    base = hub_of(request).settings.public_url.rstrip("/")
    return web.json_response(api.document(base + api.prefix))
