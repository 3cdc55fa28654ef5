"""Which conversation an item of a threaded channel (email) belongs to.

Most channels have one running conversation per customer. On a threaded channel a customer may
have several at once, one per thread, so an item says where it belongs (``Inbound.thread``):
the conversation of a message it answers (ours or the customer's), else the one whose token
the customer's client kept, else a new one. A thread found resolved opens again: the customer
answered it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hub.domain.model import Inbound
from hub.domain.ports import NewConversation, Unit
from hub.domain.records import Channel, Conversation, Identity


async def thread_sessions(
    uow: Unit,
    work: Sequence[tuple[Channel, Inbound]],
    identities: Mapping[tuple[int, str], Identity],
    teams: Mapping[str, int],
) -> dict[int, Conversation]:
    """Per position in ``work`` of a threaded item, its conversation (found or opened)."""
    found: dict[int, Conversation] = {}
    follows: dict[int, int] = {}  # an item answering an earlier item of this same batch
    needed: dict[int, NewConversation] = {}
    earlier: dict[tuple[int, str], int] = {}
    for index, (channel, item) in enumerate(work):
        thread = item.thread
        if thread is None:
            continue
        identity = identities[(channel.id, item.sender_id)]
        in_batch = [
            earlier[(channel.id, ref)] for ref in thread.replies_to if (channel.id, ref) in earlier
        ]
        conversation = await _of_thread(uow, channel, identity, item)
        if conversation is not None:
            found[index] = conversation
        elif in_batch:
            follows[index] = in_batch[-1]
        else:
            team_id = teams.get(item.team or "", channel.team_id)
            needed[index] = NewConversation(channel.id, identity.contact_id, identity.id, team_id)
        earlier[(channel.id, item.provider_message_id or item.provider_event_id)] = index
    if needed:
        opened = await uow.create_conversations(list(needed.values()))
        found.update(zip(needed, opened, strict=True))
    for index, leader in follows.items():
        found[index] = found[leader]
    return found


async def _of_thread(
    uow: Unit, channel: Channel, identity: Identity, item: Inbound
) -> Conversation | None:
    """The customer's own conversation this item answers, or whose token it kept."""
    assert item.thread is not None
    if item.thread.replies_to:
        answered = await uow.conversation_of_messages(channel.id, item.thread.replies_to)
        if answered is not None and answered.identity_id == identity.id:
            return answered
    token = item.thread.conversation_id
    if token is not None:
        named = await uow.get_conversation(token)
        if (
            named is not None
            and named.channel_id == channel.id
            and named.identity_id == identity.id
        ):
            return named
    return None
