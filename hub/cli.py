"""The ``kefu`` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import secrets
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from hub.config import Settings
from hub.domain.errors import Conflict, HubError
from hub.domain.model import Role
from hub.domain.settings import validate_settings


def _settings() -> Settings:
    return Settings()


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from hub import logs
    from hub.web.app import create_app

    settings = _settings()
    logs.configure(settings.log_level, settings.log_format)
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"Kefu Hub on http://{host}:{port}/ ({'embedded' if settings.embedded else 'redis'})")
    web.run_app(create_app(settings), host=host, port=port, print=None, access_log=None)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from hub import logs
    from hub.worker import create_worker

    settings = _settings()
    logs.configure(settings.log_level, settings.log_format)
    create_worker(settings, burst=args.burst).run()
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    """One connector listener alone (an SMTP receiver), until interrupted."""
    from hub import logs
    from hub.bootstrap import build_hub, settle_heap
    from hub.listening import listener_ports, start_listeners, stop_listeners

    settings = _settings()
    logs.configure(settings.log_level, settings.log_format)
    ports = listener_ports(settings)
    if args.port:
        ports[args.name] = args.port
    if args.name not in ports:
        print(f"no port for {args.name}: set KEFU_{args.name.upper()}_PORT or pass --port")
        return 2

    async def run() -> None:
        async with build_hub(settings) as hub_:
            started = await start_listeners(hub_, ports, only=args.name)
            if not started:
                raise SystemExit(f"no installed channel kind listens as {args.name!r}")
            settle_heap()
            print(f"{args.name} on {settings.listen_host}:{ports[args.name]}")
            try:
                await asyncio.Event().wait()
            finally:
                await stop_listeners(started)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from adapters.db.migrate import upgrade

    upgrade(_settings().database_url)
    print("database schema is up to date")
    return 0


def _run(coro: Coroutine[Any, Any, None]) -> int:
    try:
        asyncio.run(coro)
    except HubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


async def _user_add(email: str, name: str, role: Role, password: str) -> None:
    from hub.bootstrap import build_hub
    from hub.web.auth import hash_password

    async with build_hub(_settings()) as hub_:
        agent = await hub_.directory.create_agent(email, name, role, hash_password(password))
        print(f"created {agent.role.value} {agent.email} (id {agent.id})")


def cmd_user_add(args: argparse.Namespace) -> int:
    password = args.password
    if password is None:
        password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline()
        password = password.rstrip("\n")
    if len(password) < 8:
        print("error: a password has at least 8 characters", file=sys.stderr)
        return 2
    return _run(_user_add(args.email, args.name, Role(args.role), password))


async def _token_create(email: str, name: str) -> None:
    from hub.bootstrap import build_hub

    async with build_hub(_settings()) as hub_:
        found = await hub_.directory.agent_with_hash(email)
        if found is None:
            raise HubError(f"no agent with the email {email}")
        print(await hub_.directory.create_token(found[0].id, name, None))


def cmd_token_create(args: argparse.Namespace) -> int:
    return _run(_token_create(args.email, args.name))


async def _demo() -> None:
    from hub.bootstrap import build_hub
    from hub.web.auth import hash_password

    settings = _settings()
    people = [
        ("admin@demo.kefu", "Demo Admin 管理员", Role.ADMIN),
        ("li.na@demo.kefu", "Li Na 李娜", Role.AGENT),
        ("sam@demo.kefu", "Sam Carter", Role.AGENT),
    ]
    async with build_hub(settings) as hub_:
        created = []
        for email, name, role in people:
            password = secrets.token_urlsafe(9)
            try:
                await hub_.directory.create_agent(email, name, role, hash_password(password))
            except Conflict:
                continue
            created.append((email, password, role))
        channels = await hub_.directory.list_channels()
        webchat = next((c for c in channels if c.kind == "webchat"), None)
        if webchat is None:
            settings_ = validate_settings(
                hub_.deps.connector("webchat").info.settings,
                {
                    "title": "Demo Shop 演示商店",
                    "welcome_text": "Hi! How can we help? 您好，有什么可以帮您？",
                },
            )
            webchat = await hub_.directory.create_channel(
                "webchat", "Demo shop web chat", settings_
            )
    base = settings.public_url.rstrip("/")
    if created:
        print("Demo logins (these passwords are shown only now):")
        for email, password, role in created:
            print(f"  {role.value:6} {email:20} {password}")
    else:
        print("The demo is already seeded; reset a password with: kefu user password EMAIL")
    print(f"Inbox:      {base}/")
    print(f"Demo shop:  {base}/demo")
    print(f"Web chat key: {webchat.public_key}")


def cmd_demo(args: argparse.Namespace) -> int:
    return _run(_demo())


async def _user_password(email: str, password: str) -> None:
    from hub.bootstrap import build_hub
    from hub.web.auth import hash_password

    async with build_hub(_settings()) as hub_:
        found = await hub_.directory.agent_with_hash(email)
        if found is None:
            raise HubError(f"no agent with the email {email}")
        await hub_.directory.update_agent(found[0].id, password_hash=hash_password(password))
        print(f"password changed for {email}")


def cmd_user_password(args: argparse.Namespace) -> int:
    password = args.password or getpass.getpass("new password: ")
    if len(password) < 8:
        print("error: a password has at least 8 characters", file=sys.stderr)
        return 2
    return _run(_user_password(args.email, password))


async def _events_list(status: str, limit: int) -> None:
    from hub.bootstrap import build_hub

    async with build_hub(_settings()) as hub_:
        page = await hub_.queries.inbound_events(status, channel_id=None, cursor=None, limit=limit)
        total = await hub_.queries.count_events(status)
    if not page.items:
        print(f"no {status} events")
        return
    for item in page.items:
        event = item.event
        sender = event.payload.get("sender_name") or event.payload.get("sender_id")
        print(
            f"{event.id:>8}  {event.received_at:%Y-%m-%d %H:%M:%S}  {_shown(item.channel_name)}"
            f" ({item.channel_kind})  from {_shown(sender)}  attempts {event.attempts}"
        )
        print(f"          {_shown(item.error or '(no reason recorded)')}")
    if total > len(page.items):
        print(f"... and {total - len(page.items)} more")


def _shown(value: object) -> str:
    """Customers' text with control characters escaped: it must not drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def cmd_events_list(args: argparse.Namespace) -> int:
    return _run(_events_list(args.status, args.limit))


async def _events_change(action: str, ids: list[int] | None) -> None:
    from hub.bootstrap import build_hub
    from hub.services import failed_events

    settings = _settings()
    async with build_hub(settings) as hub_:
        if action == "retry":
            # Embedded: this process's own queue ends with it; the hub's sweeper queues them.
            changed = await failed_events.retry(hub_.deps, ids, enqueue=not settings.embedded)
        else:
            changed = await failed_events.dismiss(hub_.deps, ids or [])
    if not changed:
        print(f"nothing to {action}: no such failed events")
        return
    print(f"{action}: {len(changed)} event(s): {', '.join(map(str, changed))}")
    if action == "retry" and settings.embedded:
        print(f"the running hub processes them within {settings.sweep_every_s:g} s")


def cmd_events_retry(args: argparse.Namespace) -> int:
    if bool(args.ids) == args.all:
        print("error: give event ids or --all", file=sys.stderr)
        return 2
    return _run(_events_change("retry", None if args.all else args.ids))


def cmd_events_dismiss(args: argparse.Namespace) -> int:
    return _run(_events_change("dismiss", args.ids))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="kefu",
        description="Kefu Hub: WeChat, SMS/voice, email and web chat in one inbox. "
        "Settings come from config/kefu.toml and KEFU_* environment variables.",
    )
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the inbox, API, webhooks and widget")
    serve.add_argument("--host", default=None, help="address to listen on (default: settings)")
    serve.add_argument("--port", type=int, default=None, help="port (default: settings)")
    serve.set_defaults(run=cmd_serve)

    listen = sub.add_parser("listen", help="run one channel listener alone (smtp: receive mail)")
    listen.add_argument("name", choices=["smtp"], help="which listener")
    listen.add_argument("--port", type=int, default=None, help="port (default: settings)")
    listen.set_defaults(run=cmd_listen)
    smtp = sub.add_parser("smtp", help="run the SMTP receiver alone (the same as: listen smtp)")
    smtp.add_argument("--port", type=int, default=None, help="port (default: KEFU_SMTP_PORT)")
    smtp.set_defaults(run=cmd_listen, name="smtp")

    worker = sub.add_parser("worker", help="run background jobs from Redis (production mode)")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(run=cmd_worker)

    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(
        run=cmd_migrate
    )
    sub.add_parser("demo", help="seed demo agents and a web chat channel").set_defaults(
        run=cmd_demo
    )

    user = sub.add_parser("user", help="manage agents").add_subparsers(
        dest="user_command", required=True, metavar="ACTION"
    )
    add = user.add_parser("add", help="add an agent; the password comes from --password or stdin")
    add.add_argument("email")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
    add.add_argument("--password", default=None)
    add.set_defaults(run=cmd_user_add)
    password = user.add_parser("password", help="set an agent's password")
    password.add_argument("email")
    password.add_argument("--password", default=None)
    password.set_defaults(run=cmd_user_password)

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(
        dest="token_command", required=True, metavar="ACTION"
    )
    create = token.add_parser("create", help="print a new API token for an agent")
    create.add_argument("email")
    create.add_argument("--name", default="cli", help="a label for the token")
    create.set_defaults(run=cmd_token_create)

    events = sub.add_parser(
        "events", help="review accepted events whose processing failed"
    ).add_subparsers(dest="events_command", required=True, metavar="ACTION")
    listing = events.add_parser("list", help="failed events, newest first, with their reasons")
    listing.add_argument("--status", choices=["failed", "dismissed"], default="failed")
    listing.add_argument("--limit", type=_positive, default=50)
    listing.set_defaults(run=cmd_events_list)
    retry = events.add_parser("retry", help="process failed events again")
    retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    retry.add_argument("--all", action="store_true", help="every failed event (up to 1,000)")
    retry.set_defaults(run=cmd_events_retry)
    dismiss = events.add_parser("dismiss", help="set failed events aside; they stay stored")
    dismiss.add_argument("ids", nargs="+", type=int, metavar="ID")
    dismiss.set_defaults(run=cmd_events_dismiss)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
