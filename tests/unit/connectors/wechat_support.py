"""Helpers that build callbacks as WeChat and WeCom do: signed with the token, AES-encrypted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from wechatpy.utils import WeChatSigner

from hub.domain.channels import WebhookRequest
from hub.domain.records import Channel

REPO = Path(__file__).resolve().parents[3]
SHARED = (REPO / ".." / "shared" / "fixtures" / "wechat").resolve()
OWN = REPO / "tests" / "fixtures" / "wechat"

TOKEN = "kefuhubtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def shared_fixtures() -> Path:
    """The shared golden payloads beside the repository; the test is skipped loudly without them."""
    if not SHARED.is_dir():
        pytest.skip(
            f"SKIPPED: shared WeChat fixtures not found at {SHARED} (../shared beside the repo)"
        )
    return SHARED


def crypto_vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared_fixtures() / "crypto-vectors.json").read_text())
    return data


def sign(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce, *extra)
    return str(signer.signature)


def request(
    method: str, query: dict[str, str], body: bytes = b"", path: str = "/hooks/1/callback"
) -> WebhookRequest:
    return WebhookRequest(
        method=method,
        url=f"https://hub.example.com{path}?{urlencode(query)}",
        query=query,
        headers={"Content-Type": "text/xml"},
        body=body,
    )


def channel(kind: str, settings: dict[str, Any], channel_id: int = 1) -> Channel:
    return Channel(
        id=channel_id,
        kind=kind,
        name=f"{kind} test",
        public_key="pk",
        settings=settings,
        team_id=None,
        active=True,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
