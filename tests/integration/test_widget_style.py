"""The web chat widget's style settings (风格设置) through the hub: a logo uploaded and served,
the widget told its corner, language, button text and form fields, and a phone number left
in the offline form reaching the contact."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.clients import VisitorSocket
from tests.integration.conftest import RunningHub

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


async def upload(hub: RunningHub, data: bytes, name: str, content_type: str) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type=content_type)
    async with hub.http.post(
        hub.base + "/api/v1/channel-files", data=form, headers=hub.auth()
    ) as response:
        return response.status, await response.json()


async def test_a_styled_widget_gets_its_logo_corner_language_and_form(hub: RunningHub) -> None:
    status, logo = await upload(hub, PNG, "莲记.png", "image/png")
    assert status == 201, logo
    assert logo["content_type"] == "image/png"
    # what is served to every visitor must be the picture its name says
    for data, name, kind in (
        (b"<svg onload=alert(1)></svg>", "x.png", "image/png"),
        (b"<html><script>x</script></html>", "x.png", "image/png"),
        (b"ID3\x04" + bytes(60), "x.png", "image/png"),  # a sound called a picture
    ):
        status, refused = await upload(hub, data, name, kind)
        assert status == 422, (name, refused)

    status, channel = await hub.api("GET", f"/channels/{hub.channel_id}")
    settings = {
        **channel["settings"],
        "position": "left",
        "language": "en",
        "launcher_text": "在线咨询",
        "logo": logo["key"],
        "agent_avatars": False,
        "offline_phone": True,
    }
    status, saved = await hub.api(
        "PATCH", f"/channels/{hub.channel_id}", json={"settings": settings}
    )
    assert status == 200, saved
    assert 'data-kefu-lang="en"' in saved["embed_html"]

    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    shown = visitor.hello["settings"]
    assert (shown["position"], shown["language"], shown["launcher_text"]) == (
        "left",
        "en",
        "在线咨询",
    )
    assert (shown["agent_avatars"], shown["offline_phone"]) == (False, True)
    assert shown["logo"] == f"/channel-files/{hub.channel_id}/{logo['key']}"
    async with hub.http.get(hub.base + shown["logo"]) as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        assert await response.read() == PNG

    # the offline form's phone number, as typed, reaches the contact
    await visitor.ws.send_json(
        {
            "type": "leave_message",
            "client_id": "leave-0001",
            "name": "赵六",
            "email": "zhao@customer.test",
            "phone": "138 0013 8000",
            "text": "请回电",
        }
    )
    await visitor.next("ack")
    await visitor.ws.send_json(
        {"type": "leave_message", "client_id": "leave-0002", "text": "x", "phone": "call me"}
    )
    assert "phone" in (await visitor.next("error"))["reason"]
    for _ in range(100):
        status, page = await hub.api("GET", f"/conversations?channel_id={hub.channel_id}")
        if page["items"]:
            break
        await asyncio.sleep(0.05)
    status, contact = await hub.api("GET", f"/contacts/{page['items'][0]['contact']['id']}")
    assert contact["phone"] == "138 0013 8000"
    await visitor.close()
