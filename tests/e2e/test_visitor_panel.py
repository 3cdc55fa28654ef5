"""The live visitor panel in a real browser: a customer browses the demo shop, and the agent's
panel shows them, their page and their trail, and follows them live."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import WIDGET, Hub, login

pytestmark = pytest.mark.browser


def test_the_agent_sees_a_visitor_browse_the_shop_live(hub: Hub, new_page: Any) -> None:
    agent = new_page(locale="zh-CN", width=1440, height=900)
    login(agent, hub)
    agent.goto(f"{hub.base}/#/visitors")
    panel = agent.get_by_test_id("visitors")
    panel.wait_for()

    customer = new_page(locale="zh-CN")
    customer.goto(f"{hub.base}/demo?lang=zh&campaign=browse")
    # this customer's row (visitors of other tests may still be on the board a moment)
    row = panel.locator("tr.visitor", has=agent.locator(".visitor-page[title*='campaign=browse']"))
    row.wait_for()
    assert "演示商店" in row.locator(".visitor-page").inner_text()
    assert "直接访问" in row.inner_text()  # no referrer
    on_site = panel.locator("tr.visitor").count()
    assert agent.get_by_test_id("badge-visitors").inner_text() == str(on_site)

    # the customer moves on within the shop: the panel follows, and the row opens the trail
    customer.evaluate("location.hash = '#kettles'")
    agent.wait_for_function(
        "() => [...document.querySelectorAll('.visitor-page')]"
        ".some((a) => a.title.endsWith('campaign=browse#kettles'))"
    )
    row.locator("td").nth(4).click()  # the visits cell: not a link
    trail = panel.locator("ol.trail li")
    trail.nth(1).wait_for()
    assert trail.count() == 2
    assert panel.locator("ol.trail").get_attribute("aria-label") == "本次访问的页面（足迹）"


def test_an_invitation_opens_the_widget_and_accepting_starts_the_chat(
    hub: Hub, new_page: Any
) -> None:
    agent = new_page(locale="zh-CN", width=1440, height=900)
    login(agent, hub)
    agent.goto(f"{hub.base}/#/visitors")
    customer = new_page(locale="zh-CN")
    customer.goto(f"{hub.base}/demo?lang=zh&campaign=invite")
    # this customer's row (a visitor of another test may still be on the board a moment)
    row = agent.get_by_test_id("visitors").locator(
        "tr.visitor", has=agent.locator(".visitor-page[title*='campaign=invite']")
    )
    row.wait_for()
    row.get_by_role("button", name="邀请").click()
    dialog = agent.get_by_test_id("invite-dialog")
    dialog.locator("textarea").fill("您好，新到的明前龙井要看看吗？")
    dialog.get_by_role("button", name="发送邀请").click()
    dialog.wait_for(state="detached")

    # the widget opens by itself with the agent's words, and the customer accepts
    card = customer.locator(f"{WIDGET} >> .invite")
    card.wait_for()
    row.locator(".invite-tag[data-outcome=sent]").wait_for()
    assert "新到的明前龙井" in card.inner_text()
    customer.locator(f"{WIDGET} >> .invite button.accept").click()
    customer.locator(f"{WIDGET} >> .msg.out .bubble", has_text="新到的明前龙井").wait_for()
    row.locator(".invite-tag[data-outcome=accepted]").wait_for()
    row.get_by_role("link", name="对话中").click()
    agent.locator(".msg.out", has_text="新到的明前龙井").wait_for()


def test_the_admin_adds_an_invitation_rule_and_sees_its_counts(hub: Hub, new_page: Any) -> None:
    admin = new_page(locale="zh-CN", width=1440, height=1000)
    login(admin, hub)
    admin.goto(f"{hub.base}/#/admin/channels")
    admin.locator(f".card[data-id='{hub.channel_id}']").click()
    rules = admin.get_by_test_id("invitation-rules")
    rules.wait_for()
    admin.fill("input[name=rule_name]", "结账犹豫")
    admin.fill("input[name=rule_page]", "/checkout*")
    admin.fill("input[name=rule_delay]", "20")
    admin.fill("textarea[name=rule_message]", "结账遇到问题了吗？")
    admin.get_by_role("button", name="添加规则").click()
    rule = rules.locator(".rule", has_text="结账犹豫")
    rule.wait_for()
    assert "页面 /checkout* · 停留 20 秒后" in rule.inner_text()
    assert "已发送 0 · 接受 0 · 拒绝 0 · 未回应 0" in rule.inner_text()
    saved = hub.api("GET", f"/invitation-rules?channel_id={hub.channel_id}")["items"]
    assert [(r["name"], r["page"], r["delay_s"], r["cooldown_s"]) for r in saved] == [
        ("结账犹豫", "/checkout*", 20, 86400)
    ]
    # switching it off is saved at once
    rule.locator("input[type=checkbox]").uncheck()
    for _ in range(50):
        if not hub.api("GET", f"/invitation-rules?channel_id={hub.channel_id}")["items"][0][
            "active"
        ]:
            break
        admin.wait_for_timeout(100)
    else:
        raise AssertionError("the rule stayed on")
    hub.api("DELETE", f"/invitation-rules/{saved[0]['id']}")


def test_the_admin_styles_the_widget_with_a_live_preview(
    hub: Hub, new_page: Any, tmp_path: Any
) -> None:
    admin = new_page(locale="zh-CN", width=1440, height=1200)
    login(admin, hub)
    admin.goto(f"{hub.base}/#/admin/channels")
    admin.locator(f".card[data-id='{hub.channel_id}']").click()
    preview = admin.get_by_test_id("widget-preview")
    preview.wait_for()
    admin.fill("input[name=launcher_text]", "在线咨询")
    admin.select_option("select[name=position]", "left")
    assert admin.get_by_test_id("preview-launcher").inner_text().strip().endswith("在线咨询")
    assert "left" in (preview.get_attribute("class") or "")
    # a pale colour warns that white text on it is hard to read
    admin.locator("input[name=color]").fill("#ffee58")
    admin.get_by_test_id("contrast-color").wait_for()
    admin.locator("input[name=color]").fill("#0b5cad")
    admin.get_by_test_id("contrast-color").wait_for(state="hidden")
    logo = tmp_path / "logo.png"
    logo.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360f80f0000010101005f0d0a2d0000000049454e44ae426082"
        )
    )
    admin.locator("input[name=logo]").set_input_files(str(logo))
    preview.locator(".wp-logo").wait_for()
    admin.get_by_role("button", name="保存", exact=True).click()
    for _ in range(50):
        saved = hub.api("GET", f"/channels/{hub.channel_id}")["settings"]
        if saved["launcher_text"] == "在线咨询":
            break
        admin.wait_for_timeout(100)
    assert (saved["position"], saved["color"]) == ("left", "#0b5cad")
    assert saved["logo"]

    customer = new_page(locale="zh-CN")
    customer.goto(f"{hub.base}/demo?lang=zh&campaign=style")
    launcher = customer.locator(f"{WIDGET} >> .launcher")
    launcher.wait_for()
    customer.wait_for_function(
        "() => document.querySelector('#kefu-hub-widget').shadowRoot"
        ".querySelector('.launcher-text')?.textContent === '在线咨询'"
    )
    box = launcher.bounding_box()
    assert box is not None
    assert box["x"] < 200  # the left corner
    # a closed panel is out of reach of the keyboard and screen readers
    assert customer.evaluate(
        "() => document.querySelector('#kefu-hub-widget').shadowRoot.querySelector('.panel').inert"
    )
    launcher.click()
    customer.locator(f"{WIDGET} >> .head img.logo").wait_for()
    channel = hub.api("GET", f"/channels/{hub.channel_id}")
    hub.api(
        "PATCH",
        f"/channels/{hub.channel_id}",
        {
            "settings": {
                **channel["settings"],
                "position": "right",
                "launcher_text": "",
                "logo": None,
            }
        },
    )
