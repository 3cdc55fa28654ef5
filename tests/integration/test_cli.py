"""The ``kefu`` command line, run as a user would."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from tests.integration.conftest import KEFU, cli, hub_env, make_settings


def test_help_lists_every_command() -> None:
    out = subprocess.run([KEFU, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("serve", "worker", "migrate", "demo", "user", "token"):
        assert command in out


async def test_migrate_demo_user_and_token(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert "up to date" in await cli(["migrate"], settings)
    assert "up to date" in await cli(["migrate"], settings)
    first = await cli(["demo"], settings)
    assert "admin@demo.kefu" in first
    assert "shown only now" in first
    second = await cli(["demo"], settings)
    assert "already seeded" in second
    out = await cli(
        ["user", "add", "wang@shop.test", "--name", "王芳", "--role", "agent"],
        settings,
        stdin=b"a-long-password\n",
    )
    assert "created agent wang@shop.test" in out
    token = (await cli(["token", "create", "wang@shop.test"], settings)).strip()
    assert token.startswith("kefu_")
    process = await asyncio.create_subprocess_exec(
        KEFU,
        "token",
        "create",
        "nobody@shop.test",
        env=hub_env(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    _, err = await process.communicate()
    assert process.returncode == 1
    assert b"no agent with the email nobody@shop.test" in err
    process = await asyncio.create_subprocess_exec(
        KEFU,
        "user",
        "add",
        "wang@shop.test",
        "--name",
        "again",
        "--password",
        "another-password",
        env=hub_env(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    _, err = await process.communicate()
    assert process.returncode == 1
    assert b"exists" in err
