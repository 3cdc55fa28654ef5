"""The contacts directory (客户管理) in a real browser: search and open a customer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Hub, login, open_widget
from tests.e2e.test_inbox_widget import send_in_widget

pytestmark = pytest.mark.browser


def test_the_agent_finds_a_customer_and_opens_their_conversation(hub: Hub, new_page: Any) -> None:
    agent = new_page(locale="zh-CN", width=1440, height=900)
    login(agent, hub)
    customer = new_page(locale="zh-CN")
    open_widget(customer, f"{hub.base}/demo?lang=zh&campaign=contacts")
    send_in_widget(customer, "想问一下会员积分怎么用")
    agent.locator(".conv", has_text="想问一下会员积分").first.wait_for()

    agent.goto(f"{hub.base}/#/contacts")
    directory = agent.get_by_test_id("contacts")
    directory.wait_for()
    first = directory.locator("tbody tr").first
    first.wait_for()
    name = first.locator("td a").inner_text()
    agent.fill("input[name=q]", name[-6:])  # the "#a1b2c3" the hub names a visitor with
    # the search answers a moment later: until then the table still lists everyone
    agent.wait_for_function(
        "() => document.querySelectorAll('[data-testid=contacts] tbody tr').length === 1"
    )
    directory.locator("tbody tr td a").first.click()
    agent.locator(".msg.in", has_text="想问一下会员积分怎么用").wait_for()
