"""A conversation's transcript (聊天记录下载) through the API: JSON, HTML and CSV, with the private
notes only in the internal version, and a customer's text safe in every format."""

from __future__ import annotations

import csv
import io

from tests.clients import AgentSocket, VisitorSocket
from tests.integration.conftest import RunningHub

HOSTILE = '=HYPERLINK("http://evil.example","点我") <script>alert(1)</script>'


async def test_a_transcript_in_every_format(hub: RunningHub) -> None:
    agent = await AgentSocket.connect(hub.http, hub.base, hub.token)
    visitor = await VisitorSocket.connect(hub.http, hub.base, hub.channel_key)
    await visitor.say("我想退货，订单 1024")
    created = await agent.message_created("我想退货，订单 1024")
    conversation_id = created["conversation_id"]
    await visitor.say(HOSTILE)
    await agent.message_created(HOSTILE)
    for body in ({"text": "好的，已为您办理。"}, {"text": "客户很着急", "private": True}):
        status, _ = await hub.api("POST", f"/conversations/{conversation_id}/messages", json=body)
        assert status == 201

    status, public = await hub.api("GET", f"/conversations/{conversation_id}/transcript")
    assert status == 200, public
    assert public["internal"] is False
    assert [(line["who"], line["text"]) for line in public["lines"]] == [
        ("customer", "我想退货，订单 1024"),
        ("customer", HOSTILE),
        ("agent", "好的，已为您办理。"),
    ]
    assert public["lines"][2]["name"] == "Admin 管理员"
    status, internal = await hub.api(
        "GET", f"/conversations/{conversation_id}/transcript?internal=true"
    )
    assert [line["who"] for line in internal["lines"]][-1] == "note"

    async with hub.http.get(
        f"{hub.base}/api/v1/conversations/{conversation_id}/transcript.html", headers=hub.auth()
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="conversation-{conversation_id}.html"'
        )
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        page = await response.text()
    assert "我想退货，订单 1024" in page
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "客户很着急" not in page  # no private note in the version for the customer

    async with hub.http.get(
        f"{hub.base}/api/v1/conversations/{conversation_id}/transcript.csv?internal=true",
        headers=hub.auth(),
    ) as response:
        assert response.status == 200
        data = await response.read()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["time", "who", "name", "text", "files"]
    texts = [row[3] for row in rows[1:]]
    assert texts[1] == "'" + HOSTILE  # a spreadsheet shows it, never runs it
    assert texts[-1] == "客户很着急"

    status, _ = await hub.api("GET", "/conversations/999999/transcript")
    assert status == 404
    await visitor.close()
    await agent.close()
