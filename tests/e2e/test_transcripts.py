"""Downloading a conversation's transcript from the thread, in a real browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Hub, login, open_widget
from tests.e2e.test_inbox_widget import send_in_widget

pytestmark = pytest.mark.browser


def test_the_agent_downloads_the_transcript_as_a_spreadsheet(hub: Hub, new_page: Any) -> None:
    agent = new_page(locale="zh-CN", width=1440, height=900)
    login(agent, hub)  # an agent online: the widget offers the chat, not the offline form
    customer = new_page(locale="zh-CN")
    open_widget(customer, f"{hub.base}/demo?lang=zh&campaign=transcript")
    send_in_widget(customer, "发票抬头写错了，能重开吗？")
    agent.locator(".conv", has_text="发票抬头写错了").first.click()
    agent.locator(".msg.in", has_text="发票抬头写错了").wait_for()
    with agent.expect_download() as download:
        agent.select_option("select.transcript-menu", label="下载为表格（CSV）")
    saved = download.value
    assert saved.suggested_filename.startswith("conversation-")
    assert saved.suggested_filename.endswith(".csv")
    content = Path(saved.path()).read_text(encoding="utf-8-sig")
    assert "发票抬头写错了，能重开吗？" in content
