"""Saving a channel's settings: masked secrets are kept, unless they would go somewhere new."""

from __future__ import annotations

import pytest

from connectors.wechat.settings import OfficialAccountSettings
from hub.domain.errors import InvalidInput
from hub.services.channel_settings import MASK, saved_settings

STORED = {
    "app_id": "wx0123456789abcdef",
    "app_secret": "the-real-app-secret",
    "token": "kefuhubtoken",
    "encoding_aes_key": None,
    "subscribe_reply": None,
    "api_base_url": "https://api.weixin.qq.com",
}
FORM = {**STORED, "app_secret": MASK, "token": MASK}


def save(given: dict[str, object], *, allow_private: bool = False) -> dict[str, object]:
    return saved_settings(OfficialAccountSettings, given, STORED, allow_private=allow_private)


def test_masked_secrets_are_kept_while_the_address_stays() -> None:
    saved = save({**FORM, "subscribe_reply": "欢迎关注"})
    assert saved["app_secret"] == "the-real-app-secret"
    assert saved["token"] == "kefuhubtoken"
    assert saved["subscribe_reply"] == "欢迎关注"


def test_a_new_address_needs_the_secrets_typed_again() -> None:
    with pytest.raises(InvalidInput, match=r"api_base_url changed: enter app_secret, token again"):
        save({**FORM, "api_base_url": "https://evil.example.com"})
    saved = save(
        {
            **FORM,
            "api_base_url": "https://wechat-gateway.example.com",
            "app_secret": "typed-again",
            "token": "typedagain1",
        }
    )
    assert saved["api_base_url"] == "https://wechat-gateway.example.com"
    assert saved["app_secret"] == "typed-again"


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest", "http://127.0.0.1:9000", "http://10.0.0.8"]
)
def test_an_address_the_hub_may_not_call_is_refused(url: str) -> None:
    given = {**STORED, "api_base_url": url}
    with pytest.raises(InvalidInput, match=r"settings\.api_base_url"):
        save(given)


def test_private_addresses_when_the_operator_allows_them() -> None:
    given = {**STORED, "api_base_url": "http://127.0.0.1:9000"}
    assert save(given, allow_private=True)["api_base_url"] == "http://127.0.0.1:9000"
    with pytest.raises(InvalidInput):
        save({**STORED, "api_base_url": "http://169.254.169.254"}, allow_private=True)


def test_a_mail_server_changed_needs_again_only_the_password_that_goes_to_it() -> None:
    from connectors.email.settings import EmailSettings

    stored = saved_settings(
        EmailSettings,
        {
            "address": "support@shop.example",
            "smtp_host": "smtp.shop.example",
            "smtp_password": "smtp secret",
        },
        allow_private=False,
    )
    form = {**stored, "smtp_password": MASK, "imap_password": MASK}
    # adding a mailbox to read sends it the IMAP password only: the SMTP one stays masked
    saved = saved_settings(
        EmailSettings,
        {**form, "imap_host": "imap.shop.example", "imap_password": "imap secret"},
        stored,
        allow_private=False,
    )
    assert saved["smtp_password"] == "smtp secret"
    assert saved["imap_password"] == "imap secret"
    # a new SMTP server would get the SMTP password: it must be typed again
    with pytest.raises(InvalidInput, match=r"smtp_host changed: enter smtp_password again"):
        saved_settings(
            EmailSettings, {**form, "smtp_host": "smtp.evil.example"}, stored, allow_private=False
        )
    # a new IMAP server with the IMAP password kept masked: refused the same way
    with pytest.raises(InvalidInput, match=r"imap_host changed: enter imap_password again"):
        saved_settings(
            EmailSettings,
            {
                **saved,
                "smtp_password": MASK,
                "imap_password": MASK,
                "imap_host": "imap.evil.example",
            },
            saved,
            allow_private=False,
        )
