"""Signed visitor and upload tokens, so a browser keeps its identity but cannot forge one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

VISITOR_TOKEN_MAX_AGE_S = 180 * 24 * 3600
UPLOAD_TOKEN_MAX_AGE_S = 3600


@dataclass(frozen=True)
class Visitor:
    channel_id: int
    visitor_id: str


class VisitorTokens:
    def __init__(self, secret_key: str) -> None:
        self._visitors = URLSafeTimedSerializer(secret_key, salt="kefu.webchat.visitor")
        self._uploads = URLSafeTimedSerializer(secret_key, salt="kefu.webchat.upload")

    def new_visitor(self, channel_id: int) -> tuple[Visitor, str]:
        visitor = Visitor(channel_id, "v_" + secrets.token_urlsafe(16))
        return visitor, self.issue(visitor)

    def issue(self, visitor: Visitor) -> str:
        return self._visitors.dumps({"c": visitor.channel_id, "v": visitor.visitor_id})

    def verify(self, token: str, channel_id: int) -> Visitor | None:
        """The visitor a token names, or ``None`` when forged, expired or for another channel."""
        try:
            data = self._visitors.loads(token, max_age=VISITOR_TOKEN_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("c") != channel_id:
            return None
        visitor_id = data.get("v")
        return Visitor(channel_id, visitor_id) if isinstance(visitor_id, str) else None

    def issue_upload(self, visitor: Visitor, storage_key: str, meta: dict[str, object]) -> str:
        return self._uploads.dumps(
            {"c": visitor.channel_id, "v": visitor.visitor_id, "k": storage_key, "m": meta}
        )

    def verify_upload(self, token: str, visitor: Visitor) -> tuple[str, dict[str, object]] | None:
        try:
            data = self._uploads.loads(token, max_age=UPLOAD_TOKEN_MAX_AGE_S)
        except BadSignature:
            return None
        if data.get("c") != visitor.channel_id or data.get("v") != visitor.visitor_id:
            return None
        return str(data["k"]), dict(data["m"])
