"""Routing in a real browser: presence, automatic assignment live in "mine", transfer with a
note, the waiting queue (访客队列) in the inbox and a waiting visitor's place in the widget.

Each test makes its own team, agents and web chat channel (served on a page of its own), so the
package's shared hub and the other tests' conversations change nothing here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import WIDGET, Hub, login, open_widget
from tests.e2e.test_inbox_widget import send_in_widget

pytestmark = pytest.mark.browser

PASSWORD = "routing-pass-1"


def agent(hub: Hub, name: str) -> dict[str, Any]:
    email = f"{name.split()[0].lower()}.{uuid.uuid4().hex[:6]}@e2e.kefu"
    made: dict[str, Any] = hub.api(
        "POST", "/agents", {"email": email, "name": name, "password": PASSWORD}
    )
    return made


def team_and_shop(hub: Hub, team: dict[str, Any]) -> tuple[int, str]:
    """A team, and a web chat channel of that team: (channel id, the hub's demo shop with that
    channel's widget)."""
    suffix = uuid.uuid4().hex[:6]
    made = hub.api("POST", "/teams", {**team, "name": f"{team['name']} {suffix}"})
    channel = hub.api(
        "POST",
        "/channels",
        {
            "kind": "webchat",
            "name": f"Routing shop {suffix}",
            "team_id": made["id"],
            "settings": {"allowed_origins": [hub.base], "language": "en"},
        },
    )
    return channel["id"], f"{hub.base}/demo?lang=en&key={channel['public_key']}"


def eventually(check: Callable[[], Any], within_s: float = 15) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("not in time")
        time.sleep(0.2)


def conversations_of(hub: Hub, channel_id: int) -> list[dict[str, Any]]:
    page = hub.api("GET", f"/conversations?channel_id={channel_id}&limit=100")
    return sorted(page["items"], key=lambda c: c["id"])


def presence_of(hub: Hub, agent_id: int) -> str:
    [found] = [a for a in hub.api("GET", "/agents")["items"] if a["id"] == agent_id]
    return str(found["presence"])


def test_assigned_live_to_mine_then_transferred_with_a_note(hub: Hub, new_page: Any) -> None:
    zhao, qian = agent(hub, "Zhao Lei 赵磊"), agent(hub, "Qian Yu 钱雨")
    channel_id, url = team_and_shop(
        hub,
        {"name": "售后", "agent_ids": [zhao["id"], qian["id"]], "assignment_mode": "round_robin"},
    )
    pages = {}
    for person in (zhao, qian):
        page = new_page(locale="zh-CN", width=1440, height=880)
        login(page, hub, person["email"], PASSWORD)
        page.click(".tab[data-assignee=me]")
        pages[person["id"]] = page
    for person in (zhao, qian):
        eventually(lambda p=person: presence_of(hub, p["id"]) == "online")
    # each sees their own presence on their avatar
    assert pages[zhao["id"]].get_by_test_id("my-presence").get_attribute("data-presence") == (
        "online"
    )

    customer = new_page(locale="en-US")
    open_widget(customer, url)
    send_in_widget(customer, "My parcel arrived broken")
    [conv] = eventually(lambda: [c for c in conversations_of(hub, channel_id) if c["assignee_id"]])
    holder, other = (zhao, qian) if conv["assignee_id"] == zhao["id"] else (qian, zhao)
    # it appears live in the holder's "mine" view, and not in the other's
    held = pages[holder["id"]]
    held.locator(f".conv[data-id='{conv['id']}']").wait_for()
    assert pages[other["id"]].locator(f".conv[data-id='{conv['id']}']").count() == 0

    # the receiver is full: the transfer is refused with the reason until the holder forces it
    hub.api("PATCH", f"/agents/{other['id']}", {"capacity": 1})
    busy_customer = new_page(locale="en-US")
    open_widget(busy_customer, url + "&again=1")
    send_in_widget(busy_customer, "Where is my refund?")
    eventually(
        lambda: [c for c in conversations_of(hub, channel_id) if c["assignee_id"] == other["id"]]
    )
    held.locator(f".conv[data-id='{conv['id']}']").click()
    held.click("[data-action=transfer]")
    dialog = held.get_by_test_id("transfer-dialog")
    row = dialog.locator(f".transfer-agent[data-id='{other['id']}']")
    row.wait_for()
    assert "1 / 1" in row.inner_text()
    assert row.locator(".chip.full").count() == 1
    row.click()
    dialog.locator("textarea[name=note]").fill("客户要求退款，订单 2048，已核实破损照片")
    dialog.locator("[data-action=send-transfer]").click()
    refusal = dialog.get_by_test_id("transfer-error")
    refusal.wait_for()
    assert "is full: 1 of 1" in refusal.inner_text()
    dialog.locator("input[name=force]").check()
    dialog.locator("[data-action=send-transfer]").click()
    dialog.wait_for(state="detached")

    # the receiver is told live, the conversation joins their "mine", and the note heads the thread
    receiver = pages[other["id"]]
    receiver.get_by_test_id("transfer-notice").wait_for()
    receiver.locator(f".conv[data-id='{conv['id']}']").wait_for()
    receiver.get_by_test_id("transfer-notice").get_by_role("button", name="打开").click()
    handover = receiver.get_by_test_id("handover")
    handover.wait_for()
    assert "客户要求退款，订单 2048" in handover.inner_text()
    assert holder["name"] in handover.inner_text()
    # and it left the sender's "mine"
    held.locator(f".conv-list .conv[data-id='{conv['id']}']").wait_for(state="detached")


def test_presence_is_chosen_from_the_avatar_and_seen_live(hub: Hub, new_page: Any) -> None:
    sun = agent(hub, "Sun Li 孙丽")
    hub.api("POST", "/teams", {"name": f"售前 {uuid.uuid4().hex[:6]}", "agent_ids": [sun["id"]]})
    admin = new_page(locale="zh-CN")
    login(admin, hub)
    admin.goto(f"{hub.base}/#/admin/agents")
    mine = new_page(locale="zh-CN")
    login(mine, hub, sun["email"], PASSWORD)
    tag = admin.locator(f"[data-presence-of='{sun['id']}']")
    admin.reload()
    tag.wait_for()
    eventually(lambda: tag.get_attribute("data-presence") == "online")

    mine.click("[data-action=presence]")
    mine.locator(".presence-menu .menu-item[data-presence=away]").click()
    mine.locator("[data-testid=my-presence][data-presence=away]").wait_for()
    # the admin sees it change without a reload (agent.presence)
    admin.locator(f"[data-presence-of='{sun['id']}'][data-presence=away]").wait_for()
    assert "忙碌" in admin.locator(f"[data-presence-of='{sun['id']}']").inner_text()
    assert presence_of(hub, sun["id"]) == "away"

    mine.click("[data-action=presence]")
    mine.locator(".presence-menu .menu-item[data-presence=online]").click()
    admin.locator(f"[data-presence-of='{sun['id']}'][data-presence=online]").wait_for()


def test_a_waiting_visitor_sees_their_place_move_as_agents_take_from_the_queue(
    hub: Hub, new_page: Any
) -> None:
    channel_id, url = team_and_shop(hub, {"name": "技术"})
    # an agent has the inbox open, so the widget offers the chat (not the leave-a-message form)
    admin = new_page(locale="zh-CN")
    login(admin, hub)
    first = new_page(locale="en-US")
    open_widget(first, url)
    send_in_widget(first, "The app crashes at login")
    queue = f"{WIDGET} >> [data-testid=queue]"
    first.locator(queue, has_text="You are number 1 in the queue").wait_for()

    second = new_page(locale="en-US")
    open_widget(second, url)
    send_in_widget(second, "I cannot pay by card")
    second.locator(queue, has_text="You are number 2 in the queue").wait_for()
    older, newer = eventually(
        lambda: (found := conversations_of(hub, channel_id)) and len(found) == 2 and found
    )

    # the inbox's queue lists both, in order, with how long they wait, and a list shows places
    admin.goto(f"{hub.base}/#/queue")
    page = admin.get_by_test_id("queue-page")
    page.locator(f"tr[data-id='{older['id']}']").wait_for()
    assert "第 1 位" in page.locator(f"tr[data-id='{older['id']}'] .queue-pos").inner_text()
    assert "第 2 位" in page.locator(f"tr[data-id='{newer['id']}'] .queue-pos").inner_text()
    assert page.locator(f"tr[data-id='{older['id']}'] .queue-wait").inner_text().strip()

    # taken (接入) from the queue: the next visitor moves up, live
    page.locator(f"tr[data-id='{older['id']}'] [data-action=take]").click()
    admin.wait_for_url(f"**/#/inbox/{older['id']}")
    second.locator(queue, has_text="You are number 1 in the queue").wait_for()
    first.locator(queue).wait_for(state="hidden")

    # another agent clicks take on a conversation someone took a moment before: refused, and
    # told who has it (their queue is kept from refreshing, so the row is still there)
    zhou = agent(hub, "Zhou Ping 周平")
    late = new_page(locale="zh-CN")
    login(late, hub, zhou["email"], PASSWORD)
    late.goto(f"{hub.base}/#/queue")
    stale = late.locator(f"tr[data-id='{newer['id']}'] [data-action=take]")
    stale.wait_for()
    late.route("**/api/v1/conversations?*assignee=none*", lambda route: route.abort())
    hub.api("POST", f"/conversations/{newer['id']}/take")
    second.locator(queue).wait_for(state="hidden")
    stale.click()
    told = late.get_by_test_id("queue-status")
    told.wait_for()
    assert "王芳" in told.inner_text()
    assert "taken already" in told.inner_text()


def test_an_admin_sets_a_teams_routing_and_an_agents_capacity(hub: Hub, new_page: Any) -> None:
    zheng = agent(hub, "Zheng Yi 郑毅")
    name = f"售后 {uuid.uuid4().hex[:6]}"
    made = hub.api("POST", "/teams", {"name": name, "agent_ids": [zheng["id"]]})
    admin = new_page(locale="zh-CN", width=1440, height=880)
    login(admin, hub)
    admin.goto(f"{hub.base}/#/admin/teams")
    form = admin.locator("form.team").filter(has=admin.locator("h3", has_text=name))
    form.locator("select[name=assignment_mode]").select_option("least_busy")
    form.locator("input[name=agent_capacity]").fill("3")
    form.locator("input[name=answer_timeout_s]").fill("120")
    form.locator("input[name=queue_limit]").fill("20")
    form.get_by_role("button", name="保存").click()

    def saved() -> dict[str, Any] | None:
        [team] = [t for t in hub.api("GET", "/teams")["items"] if t["id"] == made["id"]]
        return team if team["assignment_mode"] == "least_busy" else None

    team = eventually(saved)
    assert (team["agent_capacity"], team["answer_timeout_s"], team["queue_limit"]) == (3, 120, 20)
    assert team["agent_ids"] == [zheng["id"]]

    admin.goto(f"{hub.base}/#/admin/agents")
    capacity = admin.locator(f"tr[data-id='{zheng['id']}'] input[name=capacity]")
    capacity.fill("2")
    capacity.press("Tab")
    eventually(lambda: capacity_of(hub, zheng["id"]) == 2)
    capacity.fill("")
    capacity.press("Tab")
    deadline = time.monotonic() + 10
    while capacity_of(hub, zheng["id"]) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert capacity_of(hub, zheng["id"]) is None


def capacity_of(hub: Hub, agent_id: int) -> Any:
    [found] = [a for a in hub.api("GET", "/agents")["items"] if a["id"] == agent_id]
    return found["capacity"]


def test_a_waiting_conversation_is_taken_from_its_thread(hub: Hub, new_page: Any) -> None:
    wu, he = agent(hub, "Wu Di 吴迪"), agent(hub, "He Jing 何静")
    channel_id, url = team_and_shop(hub, {"name": "售中", "agent_ids": [wu["id"], he["id"]]})
    pages = []
    for person in (wu, he):
        page = new_page(locale="zh-CN", width=1440, height=880)
        login(page, hub, person["email"], PASSWORD)
        pages.append(page)
    customer = new_page(locale="en-US")
    open_widget(customer, url)
    send_in_widget(customer, "Can I change the size?")
    [conv] = eventually(lambda: conversations_of(hub, channel_id))
    for page in pages:
        page.goto(f"{hub.base}/#/inbox/{conv['id']}")
        page.locator("[data-action=assign]", has_text="接入").wait_for()
    pages[0].click("[data-action=assign]")
    eventually(lambda: conversations_of(hub, channel_id)[0]["assignee_id"] == wu["id"])
    customer.locator(f"{WIDGET} >> [data-testid=queue]").wait_for(state="hidden")
    # the colleague's thread follows live: taken by Wu, so theirs offers to reassign it
    pages[1].locator(".thread-head", has_text="吴迪").wait_for()
    pages[1].locator("[data-action=assign]", has_text="分配给我").wait_for()


def test_a_transfer_to_a_teams_queue_tells_its_agents(hub: Hub, new_page: Any) -> None:
    ma = agent(hub, "Ma Jun 马骏")
    team = hub.api(
        "POST", "/teams", {"name": f"技术 {uuid.uuid4().hex[:6]}", "agent_ids": [ma["id"]]}
    )
    channel_id, url = team_and_shop(hub, {"name": "前台"})
    page = new_page(locale="zh-CN", width=1440, height=880)
    login(page, hub, ma["email"], PASSWORD)
    page.goto(f"{hub.base}/#/queue")
    customer = new_page(locale="en-US")
    open_widget(customer, url)
    send_in_widget(customer, "The invoice is wrong")
    [conv] = eventually(lambda: conversations_of(hub, channel_id))
    hub.api(
        "POST",
        f"/conversations/{conv['id']}/transfer",
        {"team_id": team["id"], "note": "发票抬头写错了，请技术组处理"},
    )
    notice = page.get_by_test_id("transfer-notice")
    notice.wait_for()
    assert f"#{conv['id']}" in notice.inner_text()
    assert team["name"] in notice.inner_text()
    page.locator(f"tr[data-id='{conv['id']}'] .queue-pos", has_text="第 1 位").wait_for()
    customer.locator(f"{WIDGET} >> [data-testid=queue]", has_text="number 1").wait_for()
