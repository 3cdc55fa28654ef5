"""What the WeChat Official Account channel is: its name, settings, console guide and events."""

from __future__ import annotations

from connectors.wechat.errors import Product
from connectors.wechat.settings import OfficialAccountSettings
from hub.domain.channels import ChannelKind, ConsoleGuide
from hub.domain.texts import text

KIND = "wechat"
GREEN = "#137333"

#: what a customer did, as the thread shows it (``Inbound.data["event"]``)
OA_EVENTS = {
    "subscribe": text("Followed the account", "关注了公众号"),
    "unsubscribe": text("Unfollowed", "取消关注"),
    "scan": text("Scanned a QR code", "扫码"),
    "click": text("Clicked a menu", "点击菜单"),
    "view": text("Opened a menu link", "点击菜单链接"),
    "scancode_push": text("Scanned via the menu", "菜单扫码"),
    "scancode_waitmsg": text("Scanned via the menu", "菜单扫码"),
    "location": text("Reported their location", "上报地理位置"),
    "location_select": text("Sent a location via the menu", "菜单发送位置"),
    "pic_sysphoto": text("Took a photo via the menu", "菜单拍照"),
    "pic_photo_or_album": text("Sent a photo via the menu", "菜单发图"),
    "pic_weixin": text("Sent a photo via the menu", "菜单发图"),
    "kf_create_session": text("Session started", "会话已接入"),
    "kf_close_session": text("Session closed", "会话已关闭"),
    "kf_switch_session": text("Session transferred", "会话已转接"),
    "unknown_message": text("Unsupported message", "暂不支持的消息"),
}

OA_REPLY_RULE = text(
    "WeChat accepts 5 replies within 48 hours of the customer's last message "
    "(3 within 1 minute after a menu click or follow).",
    "微信规定：客户最后一条消息后 48 小时内最多回复 5 条（点击菜单或关注后 1 分钟内最多 3 条）。",
)

OA_PRODUCT = Product(
    namespace=KIND,
    name=text("WeChat", "微信"),
    reasons={
        45015: text(
            "WeChat only allows replies within 48 hours of the customer's last message; "
            "wait for the customer to write again",
            "已超过微信 48 小时回复时限，请等待客户再次发消息",
        ),
        45047: text(
            "WeChat allows at most 5 replies per customer message (3 after a menu click or "
            "follow); wait for the customer to write again",
            "回复条数超过微信上限（每条客户消息后最多 5 条，点击菜单或关注后 3 条），"
            "请等待客户再次发消息",
        ),
        43004: text("the customer no longer follows the account", "客户已取消关注公众号"),
        40003: text(
            "this customer's openid does not belong to the account",
            "该客户的 openid 不属于本公众号",
        ),
        48001: text(
            "the account is not authorised for the customer-service API (is it verified?)",
            "公众号没有客服消息接口权限（是否已认证？）",
        ),
        40125: text("the channel's AppSecret is wrong", "渠道的 AppSecret 有误"),
        40013: text("the channel's AppID is wrong", "渠道的 AppID 有误"),
    },
)

OA_GUIDE = ConsoleGuide(
    title=text("Connect it in the WeChat Official Accounts Platform", "在微信公众平台完成配置"),
    steps=(
        text(
            "Sign in to the Official Accounts Platform and open **设置与开发 → 基本配置** "
            "(Settings & Development → Basic configuration). Copy the **AppID** and "
            "**AppSecret** into the fields above.",
            "登录微信公众平台，进入 **设置与开发 → 基本配置**，把 **AppID** 和 **AppSecret** "
            "填入上方。",
        ),
        text(
            "Generate a Token and an EncodingAESKey above and save the channel here first: "
            "WeChat checks the URL when you submit.",
            "在上方随机生成 Token 和 EncodingAESKey，并先在这里保存渠道："
            "公众平台提交时会校验 URL。",
        ),
        text(
            "In **服务器配置 → 修改配置** (Server configuration → Modify), paste the **URL** "
            "below, the same **Token** and **EncodingAESKey**, and choose "
            "**消息加解密方式: 安全模式** (safe mode, recommended; compatible and plaintext "
            "modes also work).",
            "在 **服务器配置 → 修改配置** 中填写下方的 **URL**、相同的 **Token** 和 "
            "**EncodingAESKey**，**消息加解密方式推荐选择“安全模式”**（兼容模式、明文模式也可用）。",
        ),
        text(
            "Submit, then press **启用** (Enable). WeChat calls the URL and the hub answers "
            "only if the Token matches.",
            "提交后点击 **启用**。微信会请求该 URL，Token 一致才会通过校验。",
        ),
        text(
            "**IP 白名单** (IP whitelist): add the public IP address(es) this hub uses for "
            "outgoing traffic, otherwise replies fail (errcode 40164).",
            "**IP 白名单**：加入本服务器出网使用的公网 IP，否则发送回复会失败（错误码 40164）。",
        ),
    ),
    console_url="https://mp.weixin.qq.com/",
    webhook="callback",
)

OA_INFO = ChannelKind(
    kind=KIND,
    title=text("WeChat", "微信公众号"),
    contact_label=text("WeChat user", "微信用户"),
    settings=OfficialAccountSettings,
    webhook_names=("callback",),
    guide=OA_GUIDE,
    events=OA_EVENTS,
    color=GREEN,
    rank=20,
)
