"""Reaching the machine's PostgreSQL and Redis from tests: fresh databases, loud skips."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

PG_HOST = os.environ.get("KEFU_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("KEFU_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("KEFU_TEST_PG_USER", "postgres")
REDIS_URL = os.environ.get("KEFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(service: str, host: str, port: int) -> None:
    """Skip loudly where the service cannot be had; in CI its absence is a failure."""
    if reachable(host, port):
        return
    message = f"{service} is not reachable at {host}:{port}"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; .ci/run should have started it")
    pytest.skip(f"SKIPPED LOUDLY: {message}; these tests need a real {service}")


async def create_pg_database() -> str:
    """A new empty database for one test module; returns its SQLAlchemy URL."""
    import asyncpg

    require("PostgreSQL", PG_HOST, PG_PORT)
    name = f"kefu_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


async def drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def drop_pg_connections(url: str) -> int:
    """Close every connection to this database from the server side, as a restart does."""
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        dropped = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
    finally:
        await conn.close()
    return len(dropped)


def require_redis() -> str:
    host_port = REDIS_URL.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    require("Redis", host, int(port or 6379))
    return REDIS_URL
