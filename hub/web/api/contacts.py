"""Contacts across channels, and what changed since a time (for a resync)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from aiohttp import web

from adapters.db.contact_directory import DirectoryEntry, DirectoryFilter, SqlContactDirectory
from adapters.db.queries import ConversationFilter
from hub.domain.errors import NotFound
from hub.services.views import conversation_fields, message_out
from hub.web import contact_schemas as C
from hub.web import schemas as S
from hub.web.api.common import api, path_id, read_query
from hub.web.api.conversations import conversation_out
from hub.web.keys import hub_of


def _entry(entry: DirectoryEntry) -> C.ContactEntryOut:
    return C.ContactEntryOut(
        id=entry.id,
        name=entry.name,
        email=entry.email,
        phone=entry.phone,
        created_at=entry.created_at.isoformat(),
        last_contact_at=C.iso(entry.last_contact_at),
        conversations=entry.conversations,
        channel_ids=list(entry.channel_ids),
    )


@api.route(
    "GET",
    "/contacts",
    summary="The contacts directory (客户管理): search, filter by channel and last contact, sort",
    tag="contacts",
    query=C.ContactQuery,
    response=C.ContactList,
)
async def list_contacts(request: web.Request) -> C.ContactList:
    query = read_query(request, C.ContactQuery)
    entries, next_cursor = await SqlContactDirectory(hub_of(request).engines).page(
        DirectoryFilter(
            q=query.q,
            channel_id=query.channel_id,
            contacted_after=query.contacted_after,
            contacted_before=query.contacted_before,
            sort=query.sort,
        ),
        query.cursor,
        query.limit,
    )
    return C.ContactList(items=[_entry(e) for e in entries], next=next_cursor)


@api.file_route(
    "GET",
    "/contacts/export",
    summary="The contacts directory as CSV (UTF-8 with a BOM, for Excel): name, email, phone, "
    "created_at, last_contact_at, conversations; formula-like cells start with '",
    tag="contacts",
    media_type="text/csv",
    query=C.ContactExportQuery,
)
async def export_contacts(request: web.Request) -> web.Response:
    query = read_query(request, C.ContactExportQuery)
    directory = SqlContactDirectory(hub_of(request).engines)
    where = DirectoryFilter(q=query.q, channel_id=query.channel_id, sort="created")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "phone", "created_at", "last_contact_at", "conversations"])
    cursor: str | None = None
    while True:
        entries, cursor = await directory.page(where, cursor, 500)
        for e in entries:
            writer.writerow(
                [
                    _safe_cell(e.name),
                    _safe_cell(e.email or ""),
                    _safe_cell(e.phone or ""),
                    e.created_at.isoformat(),
                    C.iso(e.last_contact_at) or "",
                    e.conversations,
                ]
            )
        if cursor is None:
            break
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="contacts.csv"'},
    )


def _safe_cell(value: str) -> str:
    """A cell a spreadsheet shows rather than runs (=, +, -, @ start a formula)."""
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


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
