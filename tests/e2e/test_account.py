"""An agent changes their password in the inbox: the current one is asked for, and every other
session of theirs ends."""

from __future__ import annotations

import urllib.error
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import Hub, api_call, login

pytestmark = pytest.mark.browser


def test_changing_ones_password_signs_out_the_other_sessions(hub: Hub, new_page: Any) -> None:
    email = f"zhou.{uuid.uuid4().hex[:6]}@e2e.kefu"
    hub.api(
        "POST", "/agents", {"email": email, "name": "Zhou Ting 周婷", "password": "first-pass-1"}
    )
    other = api_call(hub.base, "POST", "/auth/login", {"email": email, "password": "first-pass-1"})

    page = new_page(locale="zh-CN")
    login(page, hub, email, "first-pass-1")
    # the avatar on the rail opens the presence menu, which leads to the account
    page.click("[data-action=presence]")
    page.click("[data-action=account]")
    dialog = page.get_by_test_id("account-dialog")
    dialog.wait_for()
    dialog.locator("input[name=current_password]").fill("not-my-password")
    dialog.locator("input[name=new_password]").fill("second-pass-2")
    dialog.locator("input[name=new_password_again]").fill("second-pass-2")
    dialog.get_by_role("button", name="修改密码").click()
    dialog.locator(".form-error", has_text="当前密码错误").wait_for()

    dialog.locator("input[name=current_password]").fill("first-pass-1")
    dialog.locator("input[name=new_password]").fill("second-pass-2")
    dialog.locator("input[name=new_password_again]").fill("second-pass-2")
    dialog.get_by_role("button", name="修改密码").click()
    dialog.locator(".form-ok", has_text="已退出其他登录：1 个").wait_for()
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")

    # the session in the other browser is over; this one goes on
    with pytest.raises(urllib.error.HTTPError) as gone:
        api_call(hub.base, "GET", "/me", token=other["token"])
    assert gone.value.code == 401
    gone.value.close()
    page.reload()
    page.wait_for_selector(".list-pane")
    relogin = api_call(
        hub.base, "POST", "/auth/login", {"email": email, "password": "second-pass-2"}
    )
    assert relogin["agent"]["email"] == email


def test_a_guessed_account_is_told_how_long_to_wait(hub: Hub, new_page: Any) -> None:
    page = new_page(locale="zh-CN")
    page.goto(f"{hub.base}/")
    guessed = f"nobody.{uuid.uuid4().hex[:6]}@e2e.kefu"  # never a real agent's account
    for _ in range(5):
        page.fill("input[name=email]", guessed)
        page.fill("input[name=password]", "guess-guess")
        page.click("button[type=submit]")
        page.locator(".form-error", has_text="邮箱或密码错误").wait_for()
        page.evaluate("document.querySelector('.form-error').hidden = true")
    page.click("button[type=submit]")
    refused = page.locator(".form-error", has_text="登录失败次数过多")
    refused.wait_for()
    assert "秒后再试" in refused.inner_text()
