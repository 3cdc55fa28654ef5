"""The baseline for ``bench/visitors.py``: a bare aiohttp websocket server for the widget's
route that does the least a real one must per page view: accept the connection, send a small
hello, parse the page frame as JSON, and keep the socket until the page closes. No database,
no board, no agents.

    python bench/bare_visitors.py --port 8098
"""

from __future__ import annotations

import argparse
import json

from aiohttp import WSMsgType, web


async def socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_str(json.dumps({"type": "hello", "visitor_id": "v_bare", "history": []}))
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            frame = json.loads(msg.data)
            if not isinstance(frame, dict) or "type" not in frame:
                await ws.send_str('{"type":"error"}')
    return ws


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_get("/webchat/{key}/ws", socket)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
