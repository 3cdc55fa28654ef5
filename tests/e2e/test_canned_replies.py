"""Canned replies (常用语) in a real browser: the "/" picker of the reply box, and the page where
an agent keeps their own and imports and exports CSV."""

from __future__ import annotations

import http.client
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import AGENT_EMAIL, AGENT_PASSWORD, WIDGET, Hub, login, open_widget

pytestmark = pytest.mark.browser

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f80f0000010101005f0d0a2d0000000049454e44ae426082"
)
NO_PENDING = (
    "() => !document.querySelector('#kefu-hub-widget').shadowRoot.querySelector('.msg.pending')"
)


def upload(hub: Hub, name: str, content_type: str, data: bytes) -> dict[str, Any]:
    """A file stored with POST /uploads, as the admin."""
    boundary = "kefu-e2e-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/api/v1/uploads",
            body=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Authorization": f"Bearer {hub.admin_token}",
            },
        )
        response = conn.getresponse()
        assert response.status == 201
        answer: dict[str, Any] = json.loads(response.read())
        return answer
    finally:
        conn.close()


def customer_writes(new_page: Any, hub: Hub, text: str) -> Any:
    customer = new_page()
    open_widget(customer, f"{hub.base}/demo?lang=zh")
    if customer.locator(f"{WIDGET} >> .leave").is_visible():
        customer.click(f"{WIDGET} >> .leave .btn.ghost")
    customer.fill(f"{WIDGET} >> textarea", text)
    customer.press(f"{WIDGET} >> textarea", "Enter")
    customer.wait_for_function(NO_PENDING)
    return customer


def open_conversation(agent: Any, hub: Hub, text: str) -> dict[str, Any]:
    """Opens the conversation whose message is ``text``; the conversation, from the API."""
    agent.locator(".conv", has_text=text).first.click()
    agent.locator(".msg.in .text", has_text=text).wait_for()
    conversation_id = int(agent.evaluate("() => location.hash").rsplit("/", 1)[-1])
    conversation: dict[str, Any] = hub.api("GET", f"/conversations/{conversation_id}")
    return conversation


def test_an_agent_types_slash_and_sends_a_filled_in_canned_reply(
    hub: Hub, new_page: Any, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    saved = upload(hub, "退货单.png", "image/png", PNG)
    template = "{{contact.name}}您好！退货流程：请在 7 天内寄回商品，运单号发给我们即可。{{oops}}"
    returns = hub.api(
        "POST",
        "/canned-replies",
        {
            "short_code": f"th{tag}",
            "title": "退货流程",
            "text": template,
            "scope": "global",
            "attachments": [saved["token"]],
        },
    )
    # a second match, listed first (its short code sorts before), to choose past with ↓
    hub.api(
        "POST",
        "/canned-replies",
        {
            "short_code": f"a{tag}",
            "title": "退款说明",
            "text": "退款 3-5 个工作日到账。",
            "scope": "global",
        },
    )
    question = f"我想退货，订单 {tag}"
    customer = customer_writes(new_page, hub, question)

    agent = new_page(locale="zh-CN", width=1440, height=880)
    login(agent, hub, AGENT_EMAIL, AGENT_PASSWORD)
    conversation = open_conversation(agent, hub, question)
    name = conversation["contact"]["name"]

    box = agent.locator(".reply-input")
    box.click()
    box.press_sequentially("/退")
    picker = agent.locator("[data-testid=canned-picker]")
    picker.wait_for()
    options = picker.locator(".canned-option")
    options.nth(1).wait_for()
    assert options.count() == 2
    assert "退款说明" in options.nth(0).inner_text()
    assert "退货流程" in options.nth(1).inner_text()
    assert options.nth(0).get_attribute("aria-selected") == "true"
    # Esc closes it and keeps what was typed; typing on opens it again
    box.press("Escape")
    picker.wait_for(state="hidden")
    assert box.input_value() == "/退"
    box.press_sequentially("货")
    options.first.wait_for()
    assert options.count() == 1
    box.press("Backspace")
    options.nth(1).wait_for()

    box.press("ArrowDown")
    assert options.nth(1).get_attribute("aria-selected") == "true"
    agent.screenshot(path=str(tmp_path / "canned-picker-open.png"))
    box.press("Enter")
    filled = f"{name}您好！退货流程：请在 7 天内寄回商品，运单号发给我们即可。"
    for _ in range(100):  # the inbox's CSP forbids wait_for_function's eval: poll instead
        if box.input_value() == filled:
            break
        agent.wait_for_timeout(50)
    assert box.input_value() == filled
    assert picker.is_hidden()
    agent.locator(".file-chip[data-name='退货单.png']").wait_for()
    assert agent.locator(".msg.out .text", has_text="运单号").count() == 0, "sent before edited"

    # the agent edits it, then sends it with the saved file
    box.press("End")
    box.press_sequentially(f" 订单 {tag} 已登记。")
    box.press("Enter")
    sent = f"{filled} 订单 {tag} 已登记。"
    agent.locator(".msg.out .text", has_text=sent).wait_for()
    customer.locator(f"{WIDGET} >> .msg.out .bubble", has_text=sent).wait_for()
    customer.locator(f"{WIDGET} >> .msg.out img[alt='退货单.png']").wait_for()
    assert box.input_value() == ""

    # Tab chooses too; the use is counted each time
    box.press_sequentially(f"谢谢 /th{tag}")
    options.first.wait_for()
    box.press("Tab")
    for _ in range(100):
        if box.input_value() == f"谢谢 {filled}":
            break
        agent.wait_for_timeout(50)
    assert box.input_value() == f"谢谢 {filled}"
    agent.screenshot(path=str(tmp_path / "canned-picker.png"))
    listed = hub.api("GET", f"/canned-replies?q=th{tag}")["items"]
    assert [(i["id"], i["uses"]) for i in listed] == [(returns["id"], 2)]


def test_an_agent_keeps_their_own_and_imports_and_exports_csv(
    hub: Hub, new_page: Any, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    hub.api(
        "POST",
        "/canned-replies",
        {"short_code": f"g{tag}", "title": "全局问候", "text": "您好！", "scope": "global"},
    )
    agent = new_page(locale="zh-CN")
    login(agent, hub, AGENT_EMAIL, AGENT_PASSWORD)
    agent.click("[data-link=canned]")
    page = agent.locator(".canned-page")
    page.locator(f"tr[data-code=g{tag}]").wait_for()
    # a global one is the admins' to change
    assert page.locator(f"tr[data-code=g{tag}] [data-action=edit]").count() == 0

    agent.click("[data-action=new-canned]")
    editor = agent.locator("[data-testid=canned-editor]")
    editor.wait_for()
    assert editor.locator("select[name=scope]").is_disabled()
    editor.locator("input[name=short_code]").fill(f"/hi{tag}")
    editor.locator("input[name=title]").fill("问候")
    editor.locator("textarea[name=text]").fill("您好，")
    editor.locator("textarea[name=text]").press("End")
    editor.locator("[data-variable='contact.name']").click()
    editor.locator("[data-testid=canned-file]").set_input_files(
        files=[{"name": "价目表.png", "mimeType": "image/png", "buffer": PNG}]
    )
    # uploaded once the chip shows the size
    editor.locator(".file-chip[data-name='价目表.png']", has_text=" B").wait_for()
    editor.locator("button[type=submit]").click()
    editor.wait_for(state="detached")
    row = page.locator(f"tr[data-code=hi{tag}]")
    row.wait_for()
    assert "您好，{{contact.name}}" in row.inner_text()
    assert "价目表.png" in row.inner_text()
    assert "个人" in row.inner_text()
    admins = [i["short_code"] for i in hub.api("GET", "/canned-replies")["items"]]
    assert f"hi{tag}" not in admins, "an agent's personal canned reply showed to the admin"

    with agent.expect_download() as download:
        page.locator("[data-action=export]").click()
    exported = Path(download.value.path()).read_bytes()
    assert exported.startswith(b"\xef\xbb\xbf")
    lines = exported.decode("utf-8-sig").splitlines()
    assert lines[0] == "short_code,title,text,scope,team"
    assert f"hi{tag},问候,您好，{{{{contact.name}}}},personal," in lines

    csv_file = tmp_path / "导入.csv"
    csv_file.write_bytes(
        (
            "\ufeffshort_code,title,text,scope,team\r\n"
            f"imp{tag},导入的,从 Excel 导入的常用语,,\r\n"
            f'bad{tag},公式,=HYPERLINK("http://evil.test"),,\r\n'
            f"team{tag},技能组,x,team,Nobody\r\n"
        ).encode()
    )
    page.locator("[data-testid=import-file]").set_input_files(str(csv_file))
    report = page.locator("[data-testid=import-report]")
    report.wait_for()
    assert "新增 1 条，更新 0 条，拒绝 2 条" in report.inner_text()
    assert "text starts with '='" in report.locator("tr[data-row='3']").inner_text()
    assert "only an admin" in report.locator("tr[data-row='4']").inner_text()
    page.locator(f"tr[data-code=imp{tag}]").wait_for()
    agent.screenshot(path=str(tmp_path / "canned-page.png"), full_page=True)

    # a file that is not UTF-8 is refused whole, saying how to save it
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("short_code,title,text\r\n退货,退货流程,请寄回\r\n".encode("gbk"))
    page.locator("[data-testid=import-file]").set_input_files(str(gbk))
    page.locator(".form-error", has_text="CSV UTF-8").wait_for()

    # the search filters the page
    page.locator(".canned-search").fill("Excel")
    page.locator(f"tr[data-code=hi{tag}]").wait_for(state="detached")
    assert page.locator(f"tr[data-code=imp{tag}]").is_visible()
