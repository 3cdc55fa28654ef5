"""A fast local fake of WeCom's API for ``bench/ingest.py``: ``gettoken`` and ``kf/sync_msg``.

Each pull answers ``--page`` new text messages. The callback's ``Token`` (which the hub passes
on to ``sync_msg``) names them: a Token ``ID|SENDER`` gives messages ``ID.0`` … ``ID.{page-1}``
from the customer ``SENDER``, each text starting with its id, so the bench can match every
message pushed to the agent with the callback that announced it.

    python bench/fake_wecom.py --port 8098 --page 1
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

from aiohttp import web
from channel_loads import TEXT


def create_app(page: int) -> web.Application:
    cursors = itertools.count(1)
    anonymous = itertools.count(1)

    async def token(request: web.Request) -> web.Response:
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": "bench-token", "expires_in": 7200}
        )

    async def sync_msg(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        ident, _, sender = str(body.get("token") or "").partition("|")
        if not ident:
            ident = f"anonymous{next(anonymous)}"
        now = int(time.time())
        messages = [
            {
                "msgid": f"{ident}.{k}",
                "open_kfid": body.get("open_kfid", ""),
                "external_userid": sender or "wmbench",
                "send_time": now,
                "origin": 3,
                "msgtype": "text",
                "text": {"content": f"{ident}.{k} {TEXT}"},
            }
            for k in range(page)
        ]
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "next_cursor": str(next(cursors)),
                "has_more": 0,
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
    parser.add_argument("--page", type=int, default=1, help="messages per pull")
    args = parser.parse_args()
    web.run_app(
        create_app(max(1, args.page)), host=args.host, port=args.port, print=None, access_log=None
    )


if __name__ == "__main__":
    main()
