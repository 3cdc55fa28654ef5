"""Bearer tokens for agents, and password hashing with Argon2."""

from __future__ import annotations

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.domain.errors import Unauthorized
from hub.domain.records import Agent
from hub.web.keys import hub_of

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def authenticate(request: web.Request, token: str | None = None) -> Agent:
    token = token or bearer_token(request)
    if not token:
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    if not token.isascii():
        # The hub's tokens are ASCII; anything else (raw bytes, lone surrogates) is no token.
        raise Unauthorized("the token is unknown, expired or revoked")
    agent = await hub_of(request).directory.agent_for_token(token)
    if agent is None:
        raise Unauthorized("the token is unknown, expired or revoked")
    return agent
