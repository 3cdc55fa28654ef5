"""The baseline for ``bench/ingest.py``: a bare aiohttp handler for the visitor message route.

It does the least a real handler must: read the same body, parse it as JSON, check the visitor
token header is there, and answer 200 with a small JSON ack. No database, no queue, no logging.

    python bench/bare_server.py --port 8099
"""

from __future__ import annotations

import argparse
import json

from aiohttp import web


async def message(request: web.Request) -> web.Response:
    raw = await request.read()
    frame = json.loads(raw)
    if not request.headers.get("X-Visitor-Token") or not isinstance(frame, dict):
        return web.json_response({"type": "error"}, status=400)
    return web.json_response({"type": "ack", "client_id": frame.get("client_id")}, status=200)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/webchat/{key}/messages", message)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(create_app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
