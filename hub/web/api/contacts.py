"""Contacts across channels, and what changed since a time (for a resync)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from adapters.db.queries import ConversationFilter
from hub.domain.errors import NotFound
from hub.services.views import conversation_fields, message_out
from hub.web import schemas as S
from hub.web.api.common import api, path_id, read_query
from hub.web.api.conversations import conversation_out
from hub.web.keys import hub_of


@api.route(
    "GET",
    "/contacts/{id}",
    summary="A contact with every conversation and the newest messages across channels",
    tag="contacts",
    response=S.ContactOut,
)
async def get_contact(request: web.Request) -> S.ContactOut:
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
    identities = await hub_.queries.contact_identities(contact_id)
    return S.ContactOut(
        id=contact.id,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        created_at=contact.created_at.isoformat(),
        identities=[S.IdentityOut.model_validate(i) for i in identities],
        conversations=[conversation_out(i) for i in page.items],
        timeline=[message_out(m, hub_.deps.file_url) for m in timeline],
    )


@api.route(
    "GET",
    "/sync",
    summary="What changed since a time: resync after a reconnect",
    tag="realtime",
    query=S.SyncQuery,
    response=S.SyncOut,
)
async def sync(request: web.Request) -> S.SyncOut:
    query = read_query(request, S.SyncQuery)
    hub_ = hub_of(request)
    now = datetime.now(UTC).isoformat()
    convs, msgs, truncated = await hub_.queries.changed_since(query.since)
    return S.SyncOut(
        conversations=[conversation_fields(c) for c in convs],
        messages=[message_out(m, hub_.deps.file_url) for m in msgs],
        truncated=truncated,
        now=now,
    )
