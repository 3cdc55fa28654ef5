"""An agent writes to a customer first: a new conversation on a channel whose kind allows it.

The customer is found by their address on the channel (or made a contact), the conversation is
opened assigned to the agent, and the first message goes out as any reply does. Each start is
a conversation of its own: on a threaded channel (email) it is a new thread with its title.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hub.domain.channels import StartsConversations
from hub.domain.errors import InvalidInput, NotFound
from hub.domain.model import THREAD_TITLE, AttachmentRef, ConversationStatus
from hub.domain.ports import NewContact, NewConversation
from hub.domain.records import Agent, Channel, Conversation, Message
from hub.services.deps import Deps
from hub.services.outbound import MAX_TEXT, reply

log = logging.getLogger(__name__)

#: a conversation's title (an email's subject) is at most this long
MAX_TITLE = 300


async def start_conversation(
    deps: Deps,
    agent: Agent,
    channel_id: int,
    to: str,
    text: str,
    *,
    title: str = "",
    attachments: Sequence[AttachmentRef] = (),
) -> tuple[Conversation, Message]:
    title = " ".join(title.split())
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"title: at most {MAX_TITLE} characters")
    if not text.strip() and not attachments:
        raise InvalidInput("text: the first message needs text or an attachment")
    if len(text.strip()) > MAX_TEXT:
        raise InvalidInput(f"text: at most {MAX_TEXT} characters")
    async with deps.store.unit() as uow:
        channel = await uow.get_channel(channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id}")
    if not channel.active:
        raise InvalidInput(f"channel_id: channel {channel_id} is switched off")
    connector = deps.connectors.get(channel.kind)
    outreach = connector.info.outreach if connector is not None else None
    if outreach is None or not isinstance(connector, StartsConversations):
        raise InvalidInput(
            f"channel_id: on a {channel.kind} channel the customer writes first; agents answer"
        )
    if outreach.titled and not title:
        raise InvalidInput("title: a conversation on this channel needs a title (a subject)")
    recipient = connector.recipient(channel, to)
    contact = NewContact(name=to.strip(), email=recipient.email, phone=recipient.phone)
    return await open_conversation(
        deps,
        agent,
        channel,
        recipient.external_id,
        contact,
        text,
        title=title,
        attachments=attachments,
        fresh=True,
    )


async def open_conversation(
    deps: Deps,
    agent: Agent,
    channel: Channel,
    external_id: str,
    contact: NewContact,
    text: str,
    *,
    title: str = "",
    attachments: Sequence[AttachmentRef] = (),
    fresh: bool,
) -> tuple[Conversation, Message]:
    """The agent writes to the customer ``external_id`` of the channel (made a contact when
    new): in a new conversation (``fresh``: a thread of its own) or the customer's open one,
    which the agent takes when nobody has it."""
    conversation = await customer_conversation(
        deps, channel, external_id, contact, fresh=fresh, assignee_id=agent.id
    )
    log.info(
        "conversation opened by an agent",
        extra={"channel_id": channel.id, "conversation_id": conversation.id},
    )
    message = await reply(
        deps,
        agent,
        conversation.id,
        text,
        attachments=attachments,
        data={THREAD_TITLE: title} if title else None,
    )
    async with deps.store.unit() as uow:
        opened = await uow.get_conversation(conversation.id)
    assert opened is not None
    return opened, message


async def customer_conversation(
    deps: Deps,
    channel: Channel,
    external_id: str,
    contact: NewContact,
    *,
    fresh: bool,
    assignee_id: int | None,
) -> Conversation:
    """The customer's open conversation on the channel, or a new one (always with ``fresh``);
    the customer is made a contact when new, and the conversation goes to ``assignee_id``
    when nobody has it."""
    key = (channel.id, external_id)
    async with deps.store.unit() as uow:
        found = await uow.find_customers([key])
        if key in found:
            identity, latest = found[key]
            open_one = latest if latest and latest.status == ConversationStatus.OPEN else None
        else:
            identity, open_one = (await uow.create_customers({key: contact}))[key], None
        if open_one is None or fresh:
            (conversation,) = await uow.create_conversations(
                [NewConversation(channel.id, identity.contact_id, identity.id, channel.team_id)]
            )
        else:
            conversation = open_one
        if conversation.assignee_id is None and assignee_id is not None:
            conversation = await uow.update_conversation(conversation.id, assignee_id=assignee_id)
        await uow.commit()
    return conversation
