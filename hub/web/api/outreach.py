"""Starting a conversation: an agent writes to a customer first (a new email)."""

from __future__ import annotations

from aiohttp import web

from hub.domain.errors import NotFound
from hub.services.outreach import start_conversation
from hub.web import schemas as S
from hub.web.api.common import api, read_body
from hub.web.api.conversations import conversation_out, upload_tokens
from hub.web.keys import agent_of, hub_of
from hub.web.uploads import signed_attachments


@api.route(
    "POST",
    "/conversations",
    summary="Start a conversation: write to a customer first on a channel that allows it",
    tag="conversations",
    body=S.ConversationStart,
    response=S.ConversationOut,
    status=201,
)
async def start(request: web.Request) -> S.ConversationOut:
    body = await read_body(request, S.ConversationStart)
    hub_ = hub_of(request)
    files = signed_attachments(upload_tokens(request), body.attachments)
    conversation, _ = await start_conversation(
        hub_.deps,
        agent_of(request),
        body.channel_id,
        body.to,
        body.text,
        title=body.title,
        attachments=files,
    )
    item = await hub_.queries.conversation_item(conversation.id)
    if item is None:
        raise NotFound(f"conversation {conversation.id}")
    return conversation_out(item)
