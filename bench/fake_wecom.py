"""A fast local fake of WeCom's API for ``bench/ingest.py``: ``gettoken`` and ``kf/sync_msg``.

A real queue, as WeCom keeps one per account: the load generator appends each customer's
message to the ``--queue`` file (a line ``MSGID<TAB>SENDER``) just before it sends the callback
that announces it, and ``sync_msg`` answers the lines after the cursor, which is a byte offset
into that file. Each text starts with its id, so the bench matches every message pushed to the
agent with the moment its callback was sent.

    python bench/fake_wecom.py --port 8098 --queue kf-queue.txt
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from aiohttp import web
from channel_loads import TEXT


def create_app(queue: Path) -> web.Application:
    queue.touch()

    async def token(request: web.Request) -> web.Response:
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": "bench-token", "expires_in": 7200}
        )

    async def sync_msg(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        start = int(body.get("cursor") or 0)
        limit = max(1, min(int(body.get("limit", 1000)), 1000))
        with queue.open("rb") as file:
            file.seek(start)
            data = file.read(256 * limit)
        # Only whole lines: the load generator may be writing the next one right now.
        lines = data[: data.rfind(b"\n") + 1].splitlines(keepends=True)[:limit]
        end = start + sum(len(line) for line in lines)
        now = int(time.time())
        messages = []
        for line in lines:
            msgid, _, sender = line.decode().rstrip("\n").partition("\t")
            messages.append(
                {
                    "msgid": msgid,
                    "open_kfid": body.get("open_kfid", ""),
                    "external_userid": sender or "wmbench",
                    "send_time": now,
                    "origin": 3,
                    "msgtype": "text",
                    "text": {"content": f"{msgid} {TEXT}"},
                }
            )
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "next_cursor": str(end),
                "has_more": 1 if len(lines) == limit else 0,
                "msg_list": messages,
            }
        )

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/cgi-bin/gettoken", token)
    app.router.add_post("/cgi-bin/kf/sync_msg", sync_msg)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--queue", type=Path, required=True, help="the messages, a line each")
    args = parser.parse_args()
    web.run_app(create_app(args.queue), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
