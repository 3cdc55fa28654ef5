"""The page a rating link opens (满意度评价): pick 1-5 stars and write a comment, once.

Channels whose customers cannot answer in place (email) send a signed link to it. It works
without any script: a form of five choices posted back to the same address. A forged or
expired link, a second rating and a score outside 1-5 are refused with the reason.
"""

from __future__ import annotations

import secrets
from html import escape

from aiohttp import web

from hub.domain.errors import Conflict, HubError, InvalidInput, NotFound
from hub.domain.service_rules import DEFAULT_LANGUAGE, MAX_COMMENT, language_of, stars
from hub.services import ratings
from hub.web.errors import status_for
from hub.web.keys import hub_of

_TEXTS = {
    "en": {
        "title": "Rate our service",
        "ask": "How did we do?",
        "comment": "Anything you would like to tell us (optional)",
        "send": "Send rating",
        "thanks": "Thank you for your rating!",
        "rated": "This conversation is rated already. Thank you!",
        "refused": "This rating cannot be taken",
        "score": "{n} of 5",
    },
    "zh-CN": {
        "title": "服务评价",
        "ask": "请为本次服务评分",
        "comment": "您的意见或建议（选填）",
        "send": "提交评价",
        "thanks": "感谢您的评价！",
        "rated": "您已评价过本次服务，谢谢！",
        "refused": "无法提交本次评价",
        "score": "{n} 分（满分 5 分）",
    },
}

_CSS = """
body { font: 16px/1.5 -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif;
  margin: 0; background: #f5f6f8; color: #1c2024; }
main { max-width: 420px; margin: 10vh auto; background: #fff; border-radius: 16px;
  padding: 28px; box-shadow: 0 8px 32px rgba(0,0,0,.08); }
h1 { font-size: 20px; margin: 0 0 16px; }
.stars { display: flex; flex-direction: row-reverse; justify-content: flex-end; gap: 4px;
  border: 0; padding: 0; margin: 0 0 16px; }
.stars input { position: absolute; opacity: 0; }
.stars label { font-size: 36px; color: #c9ced6; cursor: pointer; }
.stars input:checked ~ label, .stars label:hover, .stars label:hover ~ label { color: #f5a623; }
.stars input:focus-visible + label { outline: 2px solid #1f6feb; }
textarea { width: 100%; box-sizing: border-box; min-height: 96px; border: 1px solid #dfe3e8;
  border-radius: 10px; padding: 10px; font: inherit; }
button { margin-top: 16px; border: 0; background: #1f6feb; color: #fff; border-radius: 10px;
  padding: 10px 16px; font: inherit; font-weight: 600; cursor: pointer; }
.result { font-size: 28px; color: #f5a623; }
.reason { color: #a8071a; }
"""


def _language(request: web.Request, fallback: str = DEFAULT_LANGUAGE) -> str:
    """The browser's language where the hub has texts in it, else the channel's."""
    said = request.query.get("lang") or request.headers.get("Accept-Language") or ""
    return language_of(said.split(",", 1)[0].split(";", 1)[0]) or fallback


async def _channel_language(request: web.Request, channel_id: int) -> str:
    found = await hub_of(request).deps.rules.rules_for([channel_id])
    return found[channel_id].language if channel_id in found else DEFAULT_LANGUAGE


def _page(lang: str, body: str, status: int = 200) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    texts = _TEXTS[lang]
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(texts['title'])}</title>"
        f'<style nonce="{nonce}">{_CSS}</style></head>'
        f"<body><main>{body}</main></body></html>"
    )
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        headers={
            "Content-Security-Policy": (
                f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
                "base-uri 'none'; frame-ancestors 'none'"
            ),
            "Cache-Control": "no-store",
            # the link is the customer's key to their rating: no other site learns it
            "Referrer-Policy": "no-referrer",
        },
    )


def _refusal(lang: str, exc: HubError) -> web.Response:
    texts = _TEXTS[lang]
    if isinstance(exc, Conflict) and "rated already" in str(exc):
        return _page(lang, f"<h1>{escape(texts['rated'])}</h1>", 409)
    body = (
        f'<h1>{escape(texts["refused"])}</h1><p class="reason" role="alert">{escape(str(exc))}</p>'
    )
    return _page(lang, body, status_for(exc))


def _form(lang: str, token: str) -> str:
    texts = _TEXTS[lang]
    choices = "".join(
        f'<input type="radio" name="score" id="score-{n}" value="{n}" required>'
        f'<label for="score-{n}" title="{escape(texts["score"].format(n=n))}">★</label>'
        for n in range(5, 0, -1)
    )
    return (
        f"<h1>{escape(texts['ask'])}</h1>"
        f'<form method="post" action="/rate/{escape(token)}">'
        f'<fieldset class="stars" aria-label="{escape(texts["ask"])}">{choices}</fieldset>'
        f"<label>{escape(texts['comment'])}"
        f'<textarea name="comment" maxlength="{MAX_COMMENT}"></textarea></label>'
        f'<button type="submit">{escape(texts["send"])}</button></form>'
    )


async def _conversation(request: web.Request) -> int:
    links = hub_of(request).deps.rating_links
    if links is None:
        raise NotFound("this hub sends no rating links")
    return links.conversation_of(request.match_info["token"])


async def show(request: web.Request) -> web.Response:
    lang = _language(request)
    try:
        conversation_id = await _conversation(request)
        conversation = await hub_of(request).deps.rules.conversation(conversation_id)
        if conversation is None:
            raise NotFound("this conversation is gone")
        lang = _language(request, await _channel_language(request, conversation.channel_id))
        if conversation.rated_at is not None:
            raise Conflict("this conversation is rated already")
    except HubError as exc:
        return _refusal(lang, exc)
    return _page(lang, _form(lang, request.match_info["token"]))


async def submit(request: web.Request) -> web.Response:
    lang = _language(request)
    try:
        conversation_id = await _conversation(request)
        form = await request.post()
        raw = str(form.get("score", "")).strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) < 3):
            raise InvalidInput("score: a rating is a whole number from 1 to 5")
        comment = str(form.get("comment", ""))
        rated = await ratings.rate(hub_of(request).deps, conversation_id, int(raw), comment)
        lang = _language(request, await _channel_language(request, rated.channel_id))
    except HubError as exc:
        return _refusal(lang, exc)
    score = rated.rating_score or 0
    body = (
        f"<h1>{escape(_TEXTS[lang]['thanks'])}</h1>"
        f'<p class="result" aria-label="{escape(_TEXTS[lang]["score"].format(n=score))}">'
        f"{stars(score)}</p>"
    )
    return _page(lang, body)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/rate/{token}", show)
    app.router.add_post("/rate/{token}", submit)
