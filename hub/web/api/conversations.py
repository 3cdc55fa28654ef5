"""Conversations, their messages, resending a failed reply, and files to attach."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from itsdangerous import URLSafeTimedSerializer

from adapters.db.queries import ConversationFilter, ConversationItem, decode_cursor, encode_cursor
from hub.domain.channels import LimitsReplies, ReplyWindow
from hub.domain.errors import NotFound
from hub.services import conversations, outbound, transfer
from hub.services.views import conversation_fields, iso, message_out
from hub.web import schemas as S
from hub.web.api.common import api, path_id, read_body, read_query
from hub.web.keys import agent_of, hub_of
from hub.web.uploads import receive_upload, signed_attachments


def conversation_out(
    item: ConversationItem, reply_window: S.ReplyWindowOut | None = None
) -> S.ConversationOut:
    conv = item.conversation
    return S.ConversationOut(
        **dict(conversation_fields(conv)),
        contact=S.ContactRef(id=conv.contact_id, name=item.contact_name),
        channel=S.ChannelRef(id=conv.channel_id, kind=item.channel_kind, name=item.channel_name),
        last_message=S.LastMessage(text=item.last_text, kind=item.last_kind),
        reply_window=reply_window,
        queue_position=item.queue_position,
    )


def reply_window_out(window: ReplyWindow) -> S.ReplyWindowOut:
    return S.ReplyWindowOut(
        remaining=window.remaining,
        limit=window.limit,
        closes_at=iso(window.closes_at),
        rule=getattr(window, "rule", None),
    )


def upload_tokens(request: web.Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(hub_of(request).secret, salt="kefu.agent.upload")


@api.route(
    "GET",
    "/conversations",
    summary="List conversations, newest activity first",
    tag="conversations",
    query=S.ConversationQuery,
    response=S.ConversationList,
)
async def list_conversations(request: web.Request) -> S.ConversationList:
    query = read_query(request, S.ConversationQuery)
    agent = agent_of(request)
    where = ConversationFilter(
        status=query.status.value if query.status else None,
        unassigned=query.assignee == "none",
        assignee_id=agent.id if query.assignee == "me" else _agent_id(query.assignee),
        channel_id=query.channel_id,
        contact_id=query.contact_id,
        team_id=query.team_id,
    )
    page = await hub_of(request).queries.conversations(
        where, cursor=query.cursor, limit=query.limit
    )
    return S.ConversationList(items=[conversation_out(i) for i in page.items], next=page.next)


def _agent_id(assignee: str | int | None) -> int | None:
    """The agent an ``assignee`` filter names by id; the words are handled by the caller."""
    return assignee if isinstance(assignee, int) else None


@api.route(
    "GET",
    "/conversations/{id}",
    summary="One conversation, with the channel's reply allowance where it has one",
    tag="conversations",
    response=S.ConversationOut,
)
async def get_conversation(request: web.Request) -> S.ConversationOut:
    hub_ = hub_of(request)
    item = await hub_.queries.conversation_item(path_id(request))
    if item is None:
        raise NotFound(f"conversation {request.match_info['id']}")
    connector = hub_.deps.connector(item.channel_kind)
    window = None
    if isinstance(connector, LimitsReplies):
        activity, replies = await hub_.queries.reply_activity(item.conversation.id)
        window = reply_window_out(connector.reply_window(activity, replies, datetime.now(UTC)))
    return conversation_out(item, window)


@api.route(
    "PATCH",
    "/conversations/{id}",
    summary="Assign, resolve, reopen or mark read",
    tag="conversations",
    body=S.ConversationPatch,
    response=S.ConversationOut,
)
async def patch_conversation(request: web.Request) -> S.ConversationOut:
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
    return conversation_out(item)


@api.route(
    "POST",
    "/conversations/{id}/take",
    summary="Take (接入) a conversation: it is assigned to me unless another agent has it (409)",
    tag="conversations",
    response=S.ConversationOut,
)
async def take_conversation(request: web.Request) -> S.ConversationOut:
    hub_ = hub_of(request)
    conversation_id = path_id(request)
    await conversations.take(hub_.deps, agent_of(request), conversation_id)
    item = await hub_.queries.conversation_item(conversation_id)
    assert item is not None
    return conversation_out(item)


@api.route(
    "POST",
    "/conversations/{id}/transfer",
    summary="Transfer (转接) a conversation to an agent or a team, with a note for them",
    tag="conversations",
    body=S.TransferIn,
    response=S.ConversationOut,
)
async def transfer_conversation(request: web.Request) -> S.ConversationOut:
    body = await read_body(request, S.TransferIn)
    hub_ = hub_of(request)
    conversation_id = path_id(request)
    await transfer.transfer(
        hub_.deps,
        agent_of(request),
        conversation_id,
        agent_id=body.agent_id,
        team_id=body.team_id,
        note=body.note,
        force=body.force,
    )
    item = await hub_.queries.conversation_item(conversation_id)
    assert item is not None
    return conversation_out(item)


@api.route(
    "GET",
    "/conversations/{id}/messages",
    summary="Messages, oldest first; page back with `before`",
    tag="conversations",
    query=S.MessageQuery,
    response=S.MessageList,
)
async def list_messages(request: web.Request) -> S.MessageList:
    query = read_query(request, S.MessageQuery)
    hub_ = hub_of(request)
    conversation_id = path_id(request)
    if await hub_.queries.conversation_item(conversation_id) is None:
        raise NotFound(f"conversation {conversation_id}")
    before = decode_cursor(query.before, int)[0] if query.before else None
    found, more = await hub_.queries.messages(
        [conversation_id], before_id=before, limit=query.limit
    )
    return S.MessageList(
        items=[message_out(m, hub_.deps.file_url) for m in found],
        next=encode_cursor(found[0].id) if more and found else None,
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
async def post_message(request: web.Request) -> S.MessageOut:
    body = await read_body(request, S.ReplyIn)
    hub_ = hub_of(request)
    files = signed_attachments(upload_tokens(request), body.attachments)
    message = await outbound.reply(
        hub_.deps,
        agent_of(request),
        path_id(request),
        body.text,
        private=body.private,
        attachments=files,
    )
    return message_out(message, hub_.deps.file_url)


@api.route(
    "POST",
    "/messages/{id}/resend",
    summary="Send a failed reply again, with a fresh series of attempts",
    tag="conversations",
    response=S.MessageOut,
)
async def resend_message(request: web.Request) -> S.MessageOut:
    hub_ = hub_of(request)
    message = await outbound.resend(hub_.deps, agent_of(request), path_id(request))
    return message_out(message, hub_.deps.file_url)


@api.route(
    "POST",
    "/uploads",
    summary="Upload a file to attach to a reply (multipart field 'file')",
    tag="conversations",
    upload="file",
    response=S.UploadOut,
    status=201,
)
async def upload(request: web.Request) -> S.UploadOut:
    hub_ = hub_of(request)
    stored = await receive_upload(
        request,
        hub_.deps.blobs,
        max_bytes=hub_.settings.max_upload_bytes,
        allowed_types=hub_.settings.upload_types,
    )
    token = upload_tokens(request).dumps({"k": stored.storage_key, "m": stored.meta()})
    return S.UploadOut(
        token=token,
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
    )
