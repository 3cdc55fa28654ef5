"""A parsed mail as the hub's items: a customer's message in its thread, or a bounce report."""

from __future__ import annotations

import re
from collections.abc import Sequence

from connectors.email.parse import ParsedMail, conversation_token
from hub.domain.message_data import WHOLE_HTML, WHOLE_TEXT
from hub.domain.model import AttachmentRef, Failure, Inbound, MessageStatus, StatusUpdate, Thread
from hub.domain.texts import text

#: what mail clients put before a subject they answer or forward, in several languages
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)
_TOKEN = re.compile(r"\s*\[#\d+\]\s*")

#: the largest mail the hub takes in (SMTP refuses a bigger one with 552; IMAP leaves it in
#: the mailbox and tells the agent)
MAX_MAIL_BYTES = 25 * 1024 * 1024

#: a mail's ids are at most this long in the database; longer ones are cut (they stay unique
#: enough: a hash fallback is far shorter)
MAX_ID = 255


def thread_title(subject: str) -> str:
    """The subject without "Re:" prefixes and the hub's token: what the thread is about."""
    return _TOKEN.sub(" ", _REPLY_PREFIX.sub("", subject)).strip()


def inbound_from_mail(
    mail: ParsedMail, raw_key: str, stored: Sequence[tuple[str, AttachmentRef]]
) -> Inbound:
    """The customer's mail as a message of its thread; ``stored``: each attachment's key."""
    references = tuple(dict.fromkeys((*mail.references, *mail.in_reply_to)))[-100:]
    return Inbound(
        provider_event_id=mail.message_id[:MAX_ID],
        provider_message_id=mail.message_id[:MAX_ID],
        sender_id=mail.from_address,
        sender_name=mail.from_name or None,
        sender_email=mail.from_address,
        text=mail.text or mail.full_text,
        attachments=tuple(ref for _, ref in stored),
        thread=Thread(
            replies_to=tuple(r[:MAX_ID] for r in references),
            conversation_id=conversation_token(mail.subject),
            title=thread_title(mail.subject)[:998],
        ),
        data={
            "subject": mail.subject,
            "to": list(mail.to),
            "cc": list(mail.cc),
            WHOLE_TEXT: mail.full_text,
            WHOLE_HTML: mail.html,
            "raw_key": raw_key,
            **({"event": "auto_reply", "auto_reply": True} if mail.auto_reply else {}),
        },
        occurred_at=mail.date,
    )


def bounce_update(mail: ParsedMail) -> StatusUpdate | None:
    """A delivery failure report as the failure of the reply it reports on."""
    bounce = mail.bounce
    if bounce is None or not bounce.original_message_id:
        return None
    reason = bounce.reason.strip() or "the receiving mail server refused the message"
    status = f" ({bounce.status})" if bounce.status else ""
    return StatusUpdate(
        provider_message_id=bounce.original_message_id[:MAX_ID],
        status=MessageStatus.FAILED,
        error=f"bounced{status}: {reason}"[:1000],
        failure=Failure(
            code="email.bounced",
            text=text(
                f"The customer's mail server returned the reply{status}: {reason}"[:500],
                f"客户的邮件服务器退回了这封回复{status}：{reason}"[:500],
            ),
        ),
    )


def too_large_notice(headers: ParsedMail, size: int) -> Inbound:
    """A mailbox's mail too large to bring in, from its header alone: the agent sees who wrote
    and what about, in its thread, and reads the rest in the mailbox."""
    item = inbound_from_mail(headers, "", ())
    mb, limit = f"{size / 1048576:.1f}", MAX_MAIL_BYTES // 1048576
    data = {k: v for k, v in item.data.items() if k not in ("raw_key", WHOLE_TEXT, WHOLE_HTML)}
    return item.model_copy(
        update={
            "text": (
                f"This mail ({mb} MB) is larger than the hub takes in ({limit} MB): read it "
                f"in the mailbox. 该邮件（{mb} MB）超过本系统可接收的大小（{limit} MB），"
                "请在邮箱中查看。"
            ),
            "data": {**data, "event": "too_large", "size": size},
        }
    )
