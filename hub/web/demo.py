"""The demo shop at ``/demo``: a fake store with the first active embeddable channel's widget."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from aiohttp import web

from hub.domain.channels import Embeds
from hub.web.keys import hub_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PRODUCTS: list[tuple[str, str, str, str, str]] = [
    # (seal character, English name, Chinese name, price, colour class)
    ("茶", "Longjing green tea, 250 g", "西湖龙井绿茶 250 克", "¥168", "c1"),
    ("丝", "Silk scarf, Suzhou embroidery", "苏绣真丝围巾", "¥299", "c2"),
    ("筷", "Ebony chopsticks, set of 5", "乌木筷子五双装", "¥89", "c3"),
    ("灯", "Paper lantern, handmade", "手工纸灯笼", "¥59", "c4"),
    ("壶", "Yixing clay teapot", "宜兴紫砂壶", "¥458", "c5"),
    ("铃", "Wind chime, bamboo", "竹制风铃", "¥39", "c6"),
]

TEXT = {
    "en": {
        "title": "Lotus & Co. — Demo shop",
        "brand": "Lotus & Co.",
        "tagline": "Tea, silk and crafts, shipped from Hangzhou.",
        "hero": "Spring collection",
        "hero_sub": "Questions about sizes, shipping or an order? Chat with us — bottom right.",
        "buy": "Add to cart",
        "switch": "中文",
        "switch_to": "zh",
        "footer": "This is a demo page served by Kefu Hub. Nothing here is for sale.",
        "none": "No web chat channel yet: run `kefu demo` or create one in the admin pages.",
    },
    "zh": {
        "title": "莲记 — 演示商店",
        "brand": "莲记 Lotus & Co.",
        "tagline": "茶叶、丝绸与手工艺品，杭州直发。",
        "hero": "春季新品",
        "hero_sub": "尺码、物流或订单有疑问？点击右下角，在线咨询客服。",
        "buy": "加入购物车",
        "switch": "English",
        "switch_to": "en",
        "footer": "这是 Kefu Hub 提供的演示页面，商品均不出售。",
        "none": "还没有网页咨询渠道：请运行 `kefu demo`，或在管理页面中创建。",
    },
}


def _lang(request: web.Request) -> str:
    asked = request.query.get("lang", "")
    if asked in TEXT:
        return asked
    return "zh" if request.headers.get("Accept-Language", "").lower().startswith("zh") else "en"


def render(lang: str, embed_html: str | None) -> str:
    """The shop page; every value put into the HTML is escaped."""
    t = TEXT[lang]
    cards = "\n".join(
        f'<article class="card"><div class="pic {cls}"><span>{seal}</span></div>'
        f"<h3>{escape(zh if lang == 'zh' else en)}</h3>"
        f'<p class="price">{escape(price)}</p>'
        f'<button type="button">{escape(t["buy"])}</button></article>'
        for seal, en, zh, price, cls in PRODUCTS
    )
    script = embed_html or f'<p class="notice">{escape(t["none"])}</p>'
    html_lang = "zh-CN" if lang == "zh" else "en"
    return f"""<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t["title"])}</title>
<link rel="stylesheet" href="/static/demo/demo.css"></head>
<body>
<header class="top"><div class="wrap">
<span class="brand"><span class="seal">莲</span> {escape(t["brand"])}</span>
<nav><a href="?lang={t["switch_to"]}" class="lang">{escape(t["switch"])}</a></nav>
</div></header>
<section class="hero"><div class="wrap">
<p class="eyebrow">{escape(t["tagline"])}</p>
<h1>{escape(t["hero"])}</h1>
<p>{escape(t["hero_sub"])}</p>
</div></section>
<main class="wrap grid">
{cards}
</main>
<footer class="wrap foot">{escape(t["footer"])}</footer>
{script}
</body></html>
"""


async def demo_page(request: web.Request) -> web.Response:
    hub_ = hub_of(request)
    channels = await hub_.directory.list_channels()
    # The first active channel that embeds in a site (web chat's widget) is the shop's chat,
    # unless ?key= names one by its public key (to try another channel's widget).
    # It is loaded from the address the browser used, so the demo works behind a proxy.
    base = f"{request.scheme}://{request.host}"
    wanted = request.query.get("key")
    embed = None
    for channel in channels:
        connector = hub_.deps.connectors.get(channel.kind)
        if wanted and channel.public_key != wanted:
            continue
        if channel.active and isinstance(connector, Embeds):
            embed = connector.embed_html(channel, base)
            break
    body = render(_lang(request), embed)
    return web.Response(
        text=body,
        content_type="text/html",
        headers={
            "Cache-Control": "no-cache",
            "Vary": "Accept-Language",
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/demo", demo_page)
