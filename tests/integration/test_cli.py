"""The ``kefu`` command line, run as a user would."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("command", [("listen", "smtp"), ("smtp",)])
async def test_listen_smtp_receives_mail_alone(tmp_path: Path, command: tuple[str, ...]) -> None:
    """``kefu listen smtp`` (or ``kefu smtp``): the SMTP receiver without the web process."""
    import socket
    from email.message import EmailMessage

    import aiosmtplib

    from adapters.db.directory import SqlDirectory
    from adapters.db.engine import create_engines
    from adapters.db.secretbox import SecretBox

    settings = make_settings(tmp_path)
    await cli(["migrate"], settings)
    engines = create_engines(settings.database_url)
    directory = SqlDirectory(engines, SecretBox(settings.resolved_secret_key()))
    channel = await directory.create_channel(
        "email",
        "mail",
        {"address": "support@shop.test", "smtp_host": "127.0.0.1", "smtp_port": 9,
         "smtp_security": "none"},
    )  # fmt: skip
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    process = await asyncio.create_subprocess_exec(
        KEFU, *command, "--port", str(port),
        env=hub_env(settings), stdout=asyncio.subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert f"smtp on 127.0.0.1:{port}" in line.decode()
        mail = EmailMessage()
        mail["From"] = "wang@customer.test"
        mail["To"] = "support@shop.test"
        mail["Subject"] = "你好"
        mail["Message-ID"] = "<cli-1@customer.test>"
        mail.set_content("从命令行收到的邮件")
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=port, timeout=10)
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await aiosmtplib.send(
                mail, hostname="127.0.0.1", port=port, recipients=["x@shop.test"], timeout=10
            )
    finally:
        process.terminate()
        await process.wait()
    from adapters.db.queries import SqlQueries

    for _ in range(50):  # stored before the 250; processed by the listener's own queue
        found, _more = await SqlQueries(engines).identity_history(channel.id, "wang@customer.test")
        if found:
            break
        await asyncio.sleep(0.1)
    await engines.dispose()
    assert [m.text for m in found] == ["从命令行收到的邮件"]
