"""The demo shop: the first active web chat channel's widget, or the one its key names."""

from __future__ import annotations

from tests.integration.conftest import RunningHub


async def demo(hub: RunningHub, query: str = "") -> str:
    async with hub.http.get(hub.base + "/demo" + query) as response:
        assert response.status == 200
        return await response.text()


async def test_the_demo_shows_the_channel_its_key_names(hub: RunningHub) -> None:
    status, other = await hub.api(
        "POST", "/channels", json={"kind": "webchat", "name": "Second shop"}
    )
    assert status == 201, other
    assert f'data-kefu-key="{hub.channel_key}"' in await demo(hub)
    named = await demo(hub, f"?key={other['public_key']}")
    assert f'data-kefu-key="{other["public_key"]}"' in named
    assert hub.channel_key not in named
    # an unknown key or an inactive channel's shows the shop without a chat
    assert "data-kefu-key" not in await demo(hub, "?key=pk_nobody")
    status, _ = await hub.api("PATCH", f"/channels/{other['id']}", json={"active": False})
    assert status == 200
    assert "data-kefu-key" not in await demo(hub, f"?key={other['public_key']}")
