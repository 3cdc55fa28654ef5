"""Texts a connector shows to people, in every language of the inbox (en and zh-CN)."""

from __future__ import annotations

from collections.abc import Mapping

#: the inbox's languages; every ``Text`` has all of them
LANGUAGES = ("en", "zh-CN")

#: one text by language tag: ``{"en": "WeChat", "zh-CN": "微信公众号"}``
Text = Mapping[str, str]


def text(en: str, zh: str) -> dict[str, str]:
    """A text in English and Simplified Chinese."""
    return {"en": en, "zh-CN": zh}


def missing_languages(value: object) -> list[str]:
    """The languages a would-be ``Text`` lacks (all of them when it is no mapping of str)."""
    if not isinstance(value, Mapping):
        return list(LANGUAGES)
    return [
        lang for lang in LANGUAGES if not isinstance(value.get(lang), str) or not value.get(lang)
    ]
