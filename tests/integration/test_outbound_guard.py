"""The providers' HTTP client refuses the addresses a channel's API address may not have."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.http.guarded import guarded_session
from hub.domain.errors import PermanentSendError


async def test_loopback_is_refused_unless_private_networks_are_allowed() -> None:
    async def token(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/cgi-bin/token", token)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/cgi-bin/token"))
    try:
        async with guarded_session(allow_private=False) as http:
            with pytest.raises(PermanentSendError) as refused:
                await http.get(url)
            assert refused.value.code == "hub.blocked_address"
            assert "127.0.0.1" in refused.value.texts["zh-CN"]
            # a name that resolves to the loopback is refused the same way
            with pytest.raises(PermanentSendError):
                await http.get(url.replace("127.0.0.1", "localhost"))
        async with guarded_session(allow_private=True) as http, http.get(url) as response:
            assert response.status == 200
            # the metadata service stays out of reach even then
            with pytest.raises(PermanentSendError):
                await http.get("http://169.254.169.254/latest/meta-data/")
    finally:
        await server.close()
