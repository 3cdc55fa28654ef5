"""Signed visitor and upload tokens, so a browser keeps its identity but cannot forge one."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from hub.domain.model import AttachmentRef

VISITOR_TOKEN_MAX_AGE_S = 180 * 24 * 3600
UPLOAD_TOKEN_MAX_AGE_S = 3600


@dataclass(frozen=True)
class Visitor:
    channel_id: int
    visitor_id: str


#: verified tokens remembered, so a chatty visitor's requests skip the signature check
_VERIFIED_MAX = 10_000
_VERIFIED_FOR_S = 300.0


class VisitorTokens:
    def __init__(self, secret_key: str) -> None:
        self._visitors = URLSafeTimedSerializer(secret_key, salt="kefu.webchat.visitor")
        self._uploads = URLSafeTimedSerializer(secret_key, salt="kefu.webchat.upload")
        self._verified: dict[str, tuple[float, Visitor]] = {}

    def new_visitor(self, channel_id: int) -> tuple[Visitor, str]:
        visitor = Visitor(channel_id, "v_" + secrets.token_urlsafe(16))
        return visitor, self.issue(visitor)

    def issue(self, visitor: Visitor) -> str:
        return self._visitors.dumps({"c": visitor.channel_id, "v": visitor.visitor_id})

    def verify(self, token: str, channel_id: int) -> Visitor | None:
        """The visitor a token names, or ``None`` when forged, expired or for another channel."""
        known = self._verified.get(token)
        if known is not None and known[0] > time.monotonic():
            return known[1] if known[1].channel_id == channel_id else None
        visitor = self._check(token, channel_id)
        if visitor is not None:
            if len(self._verified) >= _VERIFIED_MAX:
                self._verified.clear()
            self._verified[token] = (time.monotonic() + _VERIFIED_FOR_S, visitor)
        return visitor

    def _check(self, token: str, channel_id: int) -> Visitor | None:
        try:
            data = self._visitors.loads(token, max_age=VISITOR_TOKEN_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("c") != channel_id:
            return None
        visitor_id = data.get("v")
        return Visitor(channel_id, visitor_id) if isinstance(visitor_id, str) else None

    def issue_upload(self, visitor: Visitor, stored: AttachmentRef) -> str:
        """A token naming a stored upload, good for this visitor only."""
        return self._uploads.dumps(
            {"c": visitor.channel_id, "v": visitor.visitor_id, "f": stored.model_dump(mode="json")}
        )

    def verify_upload(self, token: str, visitor: Visitor) -> AttachmentRef | None:
        try:
            data = self._uploads.loads(token, max_age=UPLOAD_TOKEN_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        if data.get("c") != visitor.channel_id or data.get("v") != visitor.visitor_id:
            return None
        ref = AttachmentRef.model_validate(data.get("f"))
        return ref if ref.storage_key else None
