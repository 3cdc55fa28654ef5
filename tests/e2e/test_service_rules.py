"""Service rules in a real browser: a resolved web chat asks for stars and the rating reaches
the agent's thread; outside business hours the widget offers to leave a message with the
out-of-hours text; an admin sets business hours and automatic messages on the page."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import WIDGET, Hub, login
from tests.e2e.test_widget_details import NO_PENDING, shop

pytestmark = pytest.mark.browser
__all__ = ["shop"]  # the fixture, used by these tests too

CLOSED_TEXT = "We're closed until Monday 9:00 — leave us a message!"


def channel(hub: Hub, name: str) -> dict[str, Any]:
    made: dict[str, Any] = hub.api("POST", "/channels", {"kind": "webchat", "name": name})
    return made


def open_shop(page: Any, shop: str, hub: Hub, key: str) -> None:
    query = urllib.parse.urlencode({"hub": hub.base, "key": key})
    page.goto(f"{shop}/?{query}")
    page.wait_for_selector(f"{WIDGET}[data-state=ready]", state="attached")
    page.click(f"{WIDGET} >> .launcher")
    page.wait_for_selector(f"{WIDGET} >> .panel.open")


def test_outside_business_hours_the_widget_offers_to_leave_a_message(
    hub: Hub, shop: str, new_page: Any
) -> None:
    closed = channel(hub, "After-hours chat")
    hub.api("PUT", f"/channels/{closed['id']}/business-hours", {"timezone": "UTC", "week": {}})
    hub.api(
        "PUT",
        f"/channels/{closed['id']}/service-rules",
        {"messages": {"out_of_hours": {"active": True, "texts": {"en": CLOSED_TEXT}}}},
    )
    # an agent is online: it is the business hours that close the chat
    agent = new_page()
    login(agent, hub)
    customer = new_page(locale="en-US")
    open_shop(customer, shop, hub, closed["public_key"])
    form = customer.locator(f"{WIDGET} >> form.leave")
    form.wait_for()
    assert customer.locator(f"{WIDGET} >> .leave-text").inner_text() == CLOSED_TEXT
    assert customer.locator(f"{WIDGET} >> .head .sub").inner_text() == "We're closed right now"
    left = "Please call me back tomorrow."
    name = f"Zhao Min {uuid.uuid4().hex[:6]}"
    customer.fill(f"{WIDGET} >> .leave input[name=name]", name)
    customer.fill(f"{WIDGET} >> .leave input[name=email]", "zhao.min@customer.test")
    customer.fill(f"{WIDGET} >> .leave textarea[name=message]", left)
    customer.click(f"{WIDGET} >> .leave button[type=submit]")
    customer.locator(f"{WIDGET} >> .leave [role=status]", has_text="Thanks").wait_for()
    # the left message reaches the inbox, marked as left offline, with the out-of-hours answer
    agent.locator(".conv", has_text=name).first.click()
    agent.locator(".msg.in .text", has_text=left).wait_for()
    agent.locator(".msg.in .note-tag.offline").first.wait_for()
    agent.locator(".msg.out .text", has_text=CLOSED_TEXT).wait_for()


def test_a_resolved_chat_shows_stars_and_the_rating_reaches_the_thread(
    hub: Hub, shop: str, new_page: Any
) -> None:
    rated = channel(hub, "Rated chat")
    hub.api(
        "PUT",
        f"/channels/{rated['id']}/service-rules",
        {"language": "en", "messages": {"rating_request": {"active": True}}},
    )
    agent = new_page()
    login(agent, hub)
    customer = new_page(locale="en-US")
    open_shop(customer, shop, hub, rated["public_key"])
    first = f"Where is parcel {uuid.uuid4().hex[:6]}?"
    customer.fill(f"{WIDGET} >> .composer textarea", first)
    customer.press(f"{WIDGET} >> .composer textarea", "Enter")
    customer.wait_for_function(NO_PENDING)

    agent.locator(".conv", has_text=first).first.click()
    agent.locator(".msg.in .text", has_text=first).wait_for()
    agent.fill(".reply-input", "It arrives tomorrow morning.")
    agent.press(".reply-input", "Enter")
    customer.locator(f"{WIDGET} >> .msg.out .bubble", has_text="tomorrow morning").wait_for()
    agent.click("[data-action=resolve]")

    card = customer.locator(f"{WIDGET} >> [data-testid=rating]")
    card.wait_for()
    assert "How did we do?" in card.inner_text()
    send = customer.locator(f"{WIDGET} >> [data-testid=rating] .btn")
    assert send.is_disabled()  # no stars chosen yet
    customer.click(f"{WIDGET} >> [data-testid=rating] .star[data-score='4']")
    assert customer.locator(f"{WIDGET} >> [data-testid=rating] .star.on").count() == 4
    customer.fill(f"{WIDGET} >> [data-testid=rating] textarea", "Quick and friendly 谢谢")
    send.click()
    customer.locator(
        f"{WIDGET} >> [data-testid=rating] [role=status]", has_text="Thank you"
    ).wait_for()

    # the agent sees the rating land in the thread, live
    line = agent.locator(".msg.event-line[data-event=rating]")
    line.wait_for()
    assert "Satisfaction rating" in line.inner_text()
    assert "★★★★☆ 4/5" in line.inner_text()
    assert "Quick and friendly 谢谢" in line.inner_text()
    conversation_id = int(line.get_attribute("data-id") or 0)
    assert conversation_id
    # and it stays there, on the conversation, after a reload
    agent.reload()
    agent.locator(".msg.event-line[data-event=rating]").wait_for()
    # a reloaded widget does not ask again
    customer.reload()
    customer.wait_for_selector(f"{WIDGET}[data-state=ready]", state="attached")
    customer.locator(f"{WIDGET} >> .msg .bubble", has_text="★★★★☆ 4/5").wait_for(state="attached")
    assert customer.locator(f"{WIDGET} >> [data-testid=rating]").is_hidden()


def test_an_admin_sets_business_hours_and_automatic_messages_on_the_page(
    hub: Hub, new_page: Any
) -> None:
    target = channel(hub, "Hours chat")
    admin = new_page(locale="en-US")
    login(admin, hub)
    admin.goto(f"{hub.base}/#/admin/service")
    admin.locator("h1", has_text="Service rules").wait_for()
    owner = f"channel:{target['id']}"
    admin.select_option("[data-testid=hours-owner]", owner)
    # the chosen channel's form, once read (the first owner's shows until then)
    form = admin.locator(f"[data-testid=hours-form][data-owner='{owner}']")
    form.locator("[data-testid=hours-status]", has_text="always open").wait_for()
    form.locator("[data-testid=hours-timezone]").fill("Asia/Shanghai")
    form.locator("input[name=hours-mon]").fill("09:00-12:00, 13:30-18:00")
    form.locator("input[name=hours-sat]").fill("10:00-16:00")
    form.locator("textarea[name=holidays]").fill("2026-10-01\n2026-10-02")
    form.locator("textarea[name=working_days]").fill("2026-09-27 09:00-18:00")
    # a wrong interval is explained, and nothing is saved
    form.locator("input[name=hours-tue]").fill("9 to 5")
    form.locator("[data-action=save-hours]").click()
    form.locator("[role=alert]", has_text="9 to 5").wait_for()
    # overlapping ones: the hub's reason is shown
    form.locator("input[name=hours-tue]").fill("09:00-13:00, 12:00-18:00")
    form.locator("[data-action=save-hours]").click()
    form.locator("[role=alert]", has_text="overlap").wait_for()
    form.locator("input[name=hours-tue]").fill("09:00-18:00")
    form.locator("[data-action=save-hours]").click()
    form.locator(".form-ok", has_text="Saved").wait_for()

    saved = hub.api("GET", f"/channels/{target['id']}/business-hours")
    assert saved["timezone"] == "Asia/Shanghai"
    assert saved["week"]["mon"] == [
        {"start": "09:00", "end": "12:00"},
        {"start": "13:30", "end": "18:00"},
    ]
    assert saved["week"]["sat"] == [{"start": "10:00", "end": "16:00"}]
    assert saved["holidays"] == ["2026-10-01", "2026-10-02"]
    assert saved["working_days"] == [
        {"date": "2026-09-27", "intervals": [{"start": "09:00", "end": "18:00"}]}
    ]

    # the channel's welcome message, in Chinese and English
    admin.select_option("[data-testid=rules-channel]", str(target["id"]))
    rules = admin.locator("[data-testid=rules-form]")
    welcome = rules.locator("fieldset[data-message=welcome]")
    welcome.locator("input[type=checkbox]").wait_for()
    welcome.locator("input[type=checkbox]").check()
    welcome.locator("textarea[name='welcome-zh-CN']").fill("您好，欢迎光临！")
    rules.locator("[data-action=save-rules]").click()
    rules.locator(".form-ok", has_text="Saved").wait_for()
    stored = hub.api("GET", f"/channels/{target['id']}/service-rules")
    assert stored["messages"]["welcome"]["active"] is True
    assert stored["messages"]["welcome"]["texts"]["zh-CN"] == "您好，欢迎光临！"

    # removed, the channel is always open again
    admin.reload()
    admin.select_option("[data-testid=hours-owner]", owner)
    form = admin.locator(f"[data-testid=hours-form][data-owner='{owner}']")
    form.locator("input[name=hours-mon]").wait_for()
    assert form.locator("input[name=hours-mon]").input_value() == "09:00-12:00, 13:30-18:00"
    form.locator("[data-action=remove-hours]").click()
    admin.locator(
        f"[data-testid=hours-form][data-owner='{owner}'] [data-testid=hours-status]",
        has_text="always open",
    ).wait_for()
    assert hub.api("GET", f"/channels/{target['id']}/service-status")["source"] == "none"
