"""The live visitor panel in a real browser: a customer browses the demo shop, and the agent's
panel shows them, their page and their trail, and follows them live."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Hub, login

pytestmark = pytest.mark.browser


def test_the_agent_sees_a_visitor_browse_the_shop_live(hub: Hub, new_page: Any) -> None:
    agent = new_page(locale="zh-CN", width=1440, height=900)
    login(agent, hub)
    agent.goto(f"{hub.base}/#/visitors")
    panel = agent.get_by_test_id("visitors")
    panel.wait_for()
    assert "现在没有访客在网站上" in panel.inner_text()

    customer = new_page(locale="zh-CN")
    customer.goto(f"{hub.base}/demo?lang=zh")
    row = panel.locator("tr.visitor")
    row.wait_for()
    assert "演示商店" in row.locator(".visitor-page").inner_text()
    assert "直接访问" in row.inner_text()  # no referrer
    assert agent.get_by_test_id("badge-visitors").inner_text() == "1"

    # the customer moves on within the shop: the panel follows, and the row opens the trail
    customer.evaluate("location.hash = '#kettles'")
    agent.wait_for_function(
        "() => document.querySelector('.visitor-page')?.title.endsWith('#kettles')"
    )
    row.locator("td").nth(4).click()  # the visits cell: not a link
    trail = panel.locator("ol.trail li")
    trail.nth(1).wait_for()
    assert trail.count() == 2
    assert panel.locator("ol.trail").get_attribute("aria-label") == "本次访问的页面（足迹）"
