"""Security headers on every kind of answer, and a health check that tells strangers little."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.conftest import RunningHub, inprocess_hub, make_settings


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with inprocess_hub(make_settings(tmp_path)) as running:
        yield running


async def test_every_answer_has_its_security_headers(hub: RunningHub) -> None:
    for path in (
        "/",
        "/demo",
        "/api/v1/me",
        "/api/v1/openapi.json",
        "/api/v1/conversations/99999",
        "/assets/webchat/widget.js",
        "/static/inbox/app.js",
        "/no/such/page",
        "/healthz",
    ):
        async with hub.http.get(hub.base + path, headers=hub.auth()) as response:
            headers = response.headers
            assert headers["X-Content-Type-Options"] == "nosniff", path
            assert headers["Server"] == "Kefu Hub", path  # no framework or version
            assert "Strict-Transport-Security" not in headers  # the hub is on plain http here
            if path.startswith("/api/"):
                assert headers["Cache-Control"] == "no-store", path
            if response.content_type == "text/html":
                csp = headers["Content-Security-Policy"]
                assert "frame-ancestors 'none'" in csp, path
                assert "script-src 'self'" in csp, path
                assert headers["X-Frame-Options"] == "DENY", path


async def test_https_hubs_ask_browsers_to_stay_on_https(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, public_url="https://support.example.com")
    async with inprocess_hub(settings) as hub, hub.http.get(hub.base + "/demo") as response:
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_health_tells_strangers_only_up_or_down(hub: RunningHub) -> None:
    async with hub.http.get(hub.base + "/healthz") as response:
        assert (response.status, await response.json()) == (200, {"status": "ok"})
    async with hub.http.get(
        hub.base + "/healthz", headers={"Authorization": "Bearer kefu_forged"}
    ) as response:
        assert await response.json() == {"status": "ok"}
    async with hub.http.get(hub.base + "/healthz", headers=hub.auth()) as response:
        body = await response.json()
    assert body["failed_events"] == 0
    assert body["mode"] == "embedded"
