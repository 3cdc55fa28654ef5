"""What the Twilio SMS channel is: its name, settings, webhooks and console guide."""

from __future__ import annotations

from connectors.twilio.settings import TwilioSettings
from hub.domain.channels import ChannelKind, ConsoleGuide
from hub.domain.texts import text

KIND = "twilio"
#: Twilio's red
RED = "#f22f46"

#: customers' messages (the number's "A message comes in" webhook)
SMS_WEBHOOK = "sms"
#: delivery reports, asked for with each reply as its ``StatusCallback``
SMS_STATUS_WEBHOOK = "sms_status"
#: calls (the number's "A call comes in"), and each step of a call (``?step=…``)
VOICE_WEBHOOK = "voice"
#: the end of a call (the number's "Call status changes")
VOICE_STATUS_WEBHOOK = "voice_status"
#: a voicemail's recording is ready (asked for by the hub's ``<Record>``)
RECORDING_STATUS_WEBHOOK = "recording_status"

#: labels of the events a Twilio channel's thread shows
EVENTS = {
    "opted_out": text(
        "Unsubscribed from texts: replies are not sent until they subscribe again",
        "已退订短信：在客户重新订阅之前，回复不会发送",
    ),
    "opted_in": text("Subscribed to texts again", "已重新订阅短信"),
}

VOICE_STEPS = (
    text(
        "Calls: under **Voice Configuration → A call comes in** choose **Webhook**, paste the "
        "**voice** URL below (HTTP POST); under **Call status changes** paste the "
        "**voice_status** URL. The greeting, the menu and the voicemail prompt are set above.",
        "来电：在 **Voice Configuration → A call comes in** 中选择 **Webhook**，粘贴下方的 "
        "**voice** URL（HTTP POST）；在 **Call status changes** 中粘贴 **voice_status** URL。"
        "欢迎语、语音菜单和留言提示在上方设置。",
    ),
    text(
        "A call rings, at once, the agents of the chosen team who are online in the inbox and "
        "have a phone number in their account; when nobody answers, the caller leaves a "
        "voicemail, which arrives in the inbox with its recording. Twilio transcribes "
        "voicemails in English only.",
        "来电会同时呼叫所选团队中在收件箱在线、且在账户中填写了电话号码的客服；无人接听时，"
        "来电者可以留言，留言连同录音进入收件箱。Twilio 仅能转写英文留言。",
    ),
)

GUIDE = ConsoleGuide(
    title=text("Connect it in the Twilio Console", "在 Twilio 控制台完成配置"),
    steps=(
        text(
            "Sign in to the Twilio Console. On the home page, under **Account Info**, copy the "
            "**Account SID** and **Auth Token** into the fields above.",
            "登录 Twilio 控制台，在首页的 **Account Info** 中复制 **Account SID** 和 "
            "**Auth Token**，填入上方。",
        ),
        text(
            "Type the number customers text in E.164 form (+14155550100), or the SID of a "
            "**Messaging Service** (MG…) to reply through its sender pool, and save the channel.",
            "填写客户发短信的号码（E.164 格式，如 +14155550100），或填写 **Messaging Service** "
            "的 SID（MG…）以经由其号码池回复，然后保存渠道。",
        ),
        text(
            "Open **Phone Numbers → Manage → Active numbers**, choose the number, and under "
            "**Messaging Configuration → A message comes in** choose **Webhook**, paste the "
            "**URL** below and keep **HTTP POST**. (With a Messaging Service: its "
            "**Integration → Send a webhook**.)",
            "进入 **Phone Numbers → Manage → Active numbers**，选择该号码，在 "
            "**Messaging Configuration → A message comes in** 中选择 **Webhook**，粘贴下方的 "
            "**URL**，方法保持 **HTTP POST**。（使用 Messaging Service 时：在其 "
            "**Integration → Send a webhook** 中填写。）",
        ),
        text(
            "Delivery reports need no setting: the hub asks for them with each reply "
            "(StatusCallback), at this channel's sms_status address.",
            "送达回执无需配置：中心在每条回复中通过 StatusCallback 指定本渠道的 sms_status 地址。",
        ),
        text(
            "Twilio signs each request for the exact address it calls, so the hub's public "
            "address (KEFU_PUBLIC_URL) must be the one in the URL, reachable from the internet. "
            "Files agents send go out as MMS, which Twilio fetches from that address too.",
            "Twilio 按其请求的完整地址签名，因此中心的公网地址（KEFU_PUBLIC_URL）必须与 URL "
            "中的一致，并可从公网访问。客服发送的文件以彩信发出，Twilio 同样从该地址获取。",
        ),
        *VOICE_STEPS,
        text(
            "Customers who reply STOP (or 退订) are unsubscribed: Twilio and the hub send them "
            "nothing more until they reply START (or 订阅). The thread shows both.",
            "回复 STOP（或 退订）的客户即退订：在其回复 START（或 订阅）之前，Twilio 和中心都不再"
            "向其发送。对话中会显示退订和重新订阅。",
        ),
    ),
    console_url="https://console.twilio.com/",
    webhook=SMS_WEBHOOK,
)

INFO = ChannelKind(
    kind=KIND,
    title=text("SMS and calls (Twilio)", "短信和电话（Twilio）"),
    contact_label=text("Phone user", "手机用户"),
    settings=TwilioSettings,
    webhook_names=(
        SMS_WEBHOOK,
        SMS_STATUS_WEBHOOK,
        VOICE_WEBHOOK,
        VOICE_STATUS_WEBHOOK,
        RECORDING_STATUS_WEBHOOK,
    ),
    guide=GUIDE,
    events=EVENTS,
    color=RED,
    sms_segments=True,
    rank=40,
)
