"""Where the hub may send a channel's secrets: public hosts only, unless told otherwise."""

from __future__ import annotations

import pytest

from hub.domain.destinations import address_problem, url_problem


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
        "http://[fe80::1]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://0.0.0.0/",
        "http://[::ffff:169.254.169.254]/",
        "ftp://api.weixin.qq.com/",
        "https:///no-host",
    ],
)
def test_never_allowed(url: str) -> None:
    assert url_problem(url, allow_private=True) is not None


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/", "http://10.1.2.3/", "http://[::1]/", "http://localhost/"],
)
def test_private_and_loopback_only_when_allowed(url: str) -> None:
    assert url_problem(url, allow_private=False) is not None
    assert url_problem(url, allow_private=True) is None


def test_public_hosts_and_names_are_fine() -> None:
    assert url_problem("https://api.weixin.qq.com", allow_private=False) is None
    assert url_problem("https://1.1.1.1/", allow_private=False) is None
    assert address_problem("192.168.1.5", allow_private=False) is not None
    assert address_problem("not-an-ip", allow_private=True) is not None
