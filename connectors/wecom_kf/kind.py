"""What the WeCom 微信客服 channel is: its name, settings, console guide, events and errcodes."""

from __future__ import annotations

from connectors.wechat.errors import Product
from connectors.wechat.kind import GREEN, OA_EVENTS
from connectors.wechat.settings import WeComKfSettings
from hub.domain.channels import ChannelKind, ConsoleGuide
from hub.domain.texts import text

KIND = "wecom_kf"

KF_EVENTS = {
    **OA_EVENTS,
    "enter_session": text("Entered the chat", "进入会话"),
    "sync_gap": text("Sync interrupted", "同步中断"),
    "msg_send_fail": text("Delivery failed", "消息发送失败"),
    "servicer_status_change": text("Servicer status changed", "接待人员状态变更"),
    "session_status_change": text("Session changed", "会话状态变更"),
    "servicer_message": text("Servicer replied in WeCom", "接待人员在企业微信中回复"),
    "user_recall_msg": text("Recalled a message", "撤回了一条消息"),
}

KF_REPLY_RULE = text(
    "WeCom accepts 5 messages within 48 hours of the customer's last message.",
    "企业微信规定：客户最后一条消息后 48 小时内最多发送 5 条消息。",
)

KF_PRODUCT = Product(
    namespace=KIND,
    name=text("WeCom", "企业微信"),
    reasons={
        95001: text(
            "WeCom allows at most 5 messages after each customer message; "
            "wait for the customer to write again",
            "企业微信限制每条客户消息后最多发送 5 条，请等待客户再次发消息",
        ),
        95002: text(
            "WeCom only allows messages within 48 hours of the customer's last message; "
            "wait for the customer to write again",
            "已超过企业微信 48 小时发送时限，请等待客户再次发消息",
        ),
        95000: text("the channel's open_kfid is invalid", "渠道的 open_kfid 无效"),
        95004: text("the channel's open_kfid does not exist", "渠道的 open_kfid 不存在"),
        95007: text(
            "the sync token from the callback is invalid or expired",
            "回调中的同步 token 无效或已过期",
        ),
        95013: text("the customer's session has already ended", "客户的会话已结束"),
        95016: text("this session state change is not allowed", "不允许此会话状态变更"),
        95017: text(
            "the WeChat Customer Service API is switched off for this app",
            "该应用的微信客服 API 已关闭",
        ),
        95018: text(
            "no servicer is available to receive this session", "没有可接待此会话的接待人员"
        ),
        40001: text("the channel's secret is wrong", "渠道的 Secret 有误"),
        40013: text("the channel's corp_id is wrong", "渠道的企业ID有误"),
        60020: text(
            "this server's IP address is not in the app's trusted IP list",
            "本服务器的 IP 不在应用的企业可信IP中",
        ),
    },
)

KF_GUIDE = ConsoleGuide(
    title=text("Connect it in the WeCom admin console", "在企业微信管理后台完成配置"),
    steps=(
        text(
            "Sign in to the WeCom admin console and open **应用管理 → 微信客服** (App "
            "Management → WeChat Customer Service). Copy its **Secret**; the **Corp ID** is "
            "under **我的企业 → 企业信息**.",
            "登录企业微信管理后台，进入 **应用管理 → 微信客服**，复制 **Secret**；**企业ID** 在 "
            "**我的企业 → 企业信息** 中。",
        ),
        text(
            "Generate a Token and an EncodingAESKey above, fill in the open_kfid (starts with "
            "wk) and save the channel here first: WeCom checks the URL when you save there.",
            "在上方随机生成 Token 和 EncodingAESKey，填写 open_kfid（以 wk 开头），"
            "并先在这里保存渠道：企业微信保存时会校验 URL。",
        ),
        text(
            "In **微信客服 → API → 回调配置** (API → callback settings), paste the **URL** "
            "below and the same **Token** and **EncodingAESKey**, then save. WeCom always "
            "encrypts; there is no mode to choose.",
            "在 **微信客服 → API → 回调配置** 中填写下方的 **URL**、相同的 **Token** 和 "
            "**EncodingAESKey**，然后保存。企业微信固定为加密模式，无需选择。",
        ),
        text(
            "**可调用接口的应用** (apps that may call the API): if you pick a self-built app "
            "there, use that app's Secret above. Let the API manage the customer-service "
            "account (**通过API管理微信客服账号**).",
            "**可调用接口的应用**：如果在此选择了自建应用，上方请填写该应用的 Secret；"
            "并将客服账号设置为 **通过API管理微信客服账号**。",
        ),
        text(
            "**企业可信IP** (trusted IPs): add the public IP address(es) this hub uses for "
            "outgoing traffic, otherwise calls fail (errcode 60020).",
            "**企业可信IP**：加入本服务器出网使用的公网 IP，否则接口调用会失败（错误码 60020）。",
        ),
    ),
    console_url="https://work.weixin.qq.com/wework_admin/frame",
    webhook="callback",
)

KF_INFO = ChannelKind(
    kind=KIND,
    title=text("WeCom customer service", "微信客服"),
    contact_label=text("WeChat user", "微信用户"),
    settings=WeComKfSettings,
    webhook_names=("callback",),
    guide=KF_GUIDE,
    events=KF_EVENTS,
    color=GREEN,
    rank=30,
)
