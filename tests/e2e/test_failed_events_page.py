"""The admin's page of failed events, in a real browser: see why, retry into the inbox, dismiss.

The failed events are written by the hub's own store into the running hub's SQLite database,
as a processing failure would leave them; the page and the retry are the real ones.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import pytest

from adapters.db.engine import create_engines
from adapters.db.secretbox import SecretBox
from adapters.db.store import SqlStore
from hub.domain.model import Inbound
from tests.e2e.conftest import Hub, login

pytestmark = pytest.mark.browser

LOST = "退货地址是哪里？ Where do I send the return?"
JUNK = "spam spam spam"


async def _fail(hub: Hub, items: list[Inbound]) -> list[int]:
    engines = create_engines(f"sqlite+aiosqlite:///{hub.data_dir}/kefu.db")
    try:
        # The box only opens channel settings, which accepting and failing never read.
        store = SqlStore(engines, SecretBox("unused"))
        accepted = await store.accept_events(hub.channel_id, items)
        async with store.unit() as uow:
            for result in accepted:
                reason = "IntegrityError: a bug fixed since"
                await uow.record_event_failure(result.event_id, reason, 1)
            await uow.commit()
        await store.close()
        return [r.event_id for r in accepted]
    finally:
        await engines.dispose()


def fail_events(hub: Hub, items: list[Inbound]) -> list[int]:
    """Runs in a thread of its own: Playwright's sync API owns this thread's event loop."""
    result: list[list[int]] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(_fail(hub, items))))
    thread.start()
    thread.join(30)
    return result[0]


def test_an_admin_sees_why_retries_into_the_inbox_and_dismisses(hub: Hub, new_page: Any) -> None:
    lost, junk = fail_events(
        hub,
        [
            Inbound(
                provider_event_id="e2e-lost", sender_id="v-lost", sender_name="周杰", text=LOST
            ),
            Inbound(provider_event_id="e2e-junk", sender_id="v-junk", text=JUNK),
        ],
    )
    page = new_page()
    login(page, hub)
    assert page.get_by_test_id("badge-warn").inner_text() == "2"
    # another admin, in the inbox meanwhile: the count on the rail follows live
    zh = new_page(locale="zh-CN")
    login(zh, hub)
    assert zh.get_by_test_id("badge-warn").inner_text() == "2"
    page.click("a[data-link=warn]")
    page.wait_for_selector("h1:has-text('Failed events')")
    row = page.locator(f"tr[data-id='{lost}']")
    assert "IntegrityError: a bug fixed since" in row.locator(".reason").inner_text()
    assert "周杰" in row.inner_text()
    assert LOST in row.inner_text()
    assert "Shop web chat" in row.inner_text()
    row.locator("summary").click()
    assert '"provider_event_id": "e2e-lost"' in row.locator("pre").inner_text()

    page.locator(f"tr[data-id='{junk}'] [data-action=dismiss]").click()
    page.locator(f"tr[data-id='{junk}']").wait_for(state="detached")
    # the count follows once the hub has answered (after the row is gone)
    page.locator("[data-testid=badge-warn]", has_text=re.compile(r"^1$")).wait_for()
    zh.locator("[data-testid=badge-warn]", has_text=re.compile(r"^1$")).wait_for()
    zh.goto(f"{hub.base}/#/admin/failed")
    zh.wait_for_selector("h1:has-text('处理失败的消息')")
    zh.locator(f"tr[data-id='{lost}']").wait_for()
    row.locator("[data-action=retry]").click()
    row.wait_for(state="detached")
    assert page.locator(".form-ok").inner_text().startswith("Retrying 1")
    page.get_by_test_id("failed-empty").wait_for()
    page.get_by_test_id("badge-warn").wait_for(state="detached")
    zh.get_by_test_id("badge-warn").wait_for(state="detached")
    zh.get_by_test_id("failed-empty").wait_for()  # the other admin's page followed live

    # The retried message is in the inbox now, as if it had just arrived.
    page.click("a[data-link=inbox]")
    page.locator(".conv", has_text="Where do I send the return?").first.click()
    page.locator(".msg.in .text", has_text="退货地址是哪里").wait_for()

    # The dismissed one is kept, with its reason, in the other view; in Chinese too.
    zh.select_option(".admin-head select", "dismissed")
    dismissed = zh.locator(f"tr[data-id='{junk}']")
    dismissed.wait_for()
    assert JUNK in dismissed.inner_text()
    assert dismissed.locator("[data-action=retry]").count() == 0
