"""What the email channel is: its name, settings, console guide and event labels."""

from __future__ import annotations

from connectors.email.settings import EmailSettings
from hub.domain.channels import ChannelKind, ConsoleGuide, Outreach
from hub.domain.service_rules import RatingWay
from hub.domain.texts import text

KIND = "email"
BLUE = "#1a73e8"

GUIDE = ConsoleGuide(
    title=text("Connect a support mailbox", "接入客服邮箱"),
    steps=(
        text(
            "There are two ways in; use either or both. **Read a mailbox (IMAP)**: fill in the "
            "incoming server below and the hub reads new mail from that folder, with IDLE "
            "where the server offers it (at once), else every minute. It only reads: your own "
            "mail client sees the mailbox as before. A new channel starts with the mail of the "
            "last 7 days.",
            "邮件有两种进入方式，可任选其一或同时使用。**读取邮箱（IMAP）**：在下方填写收信服务器，"
            "本系统即从该文件夹读取新邮件；服务器支持 IDLE 时即时读取，否则每分钟读取一次。本系统"
            "只读取，不改动邮箱，您自己的邮件客户端照常使用。新渠道从最近 7 天的邮件开始读取。",
        ),
        text(
            "**Receive by SMTP**: mail comes in through the hub's SMTP receiver: run the hub "
            "with KEFU_SMTP_PORT (e.g. 2525) and KEFU_LISTEN_HOST set, then have your mail "
            "server forward or route mail for the support address to that host and port (a "
            "forwarding rule, a transport map, or the domain's MX record pointing at the hub).",
            "**SMTP 接收**：邮件经由本系统的 SMTP 接收器进入：设置 KEFU_SMTP_PORT（如 2525）"
            "和 KEFU_LISTEN_HOST 运行本系统，再让邮件服务器把发往客服地址的邮件转发或路由到"
            "该主机和端口（转发规则、"
            "transport 映射，或把域名的 MX 记录指向本系统）。",
        ),
        text(
            "The receiver answers a mail only once it is stored, and refuses addresses no "
            "channel has (550), so a sending server keeps and retries what it could not hand "
            "over.",
            "接收器在邮件保存后才应答，并拒收不属于任何渠道的地址（550），因此发信服务器会保留并重试"
            "未能投递的邮件。",
        ),
        text(
            "Replies go out through your provider's SMTP server with the settings above: "
            "STARTTLS on port 587 or SSL on 465, logging in with the mailbox's password or app "
            "password (授权码 at QQ Mail and NetEase).",
            "回复通过上方设置的服务商 SMTP 服务器发出：587 端口用 STARTTLS，465 端口用 SSL，"
            "使用邮箱密码或客户端授权码（QQ 邮箱、网易邮箱）登录。",
        ),
        text(
            "Each conversation is one thread: a customer's reply joins it by its In-Reply-To "
            "and References headers, or by the [#1234] token the hub puts in the subject.",
            "每个会话是一个邮件线程：客户的回复按 In-Reply-To 和 References 头，或主题中的 [#1234] "
            "标记归入原会话。",
        ),
    ),
    console_url="https://en.wikipedia.org/wiki/Mail_forwarding",
)

INFO = ChannelKind(
    kind=KIND,
    title=text("Email", "邮件"),
    contact_label=text("Email sender", "邮件联系人"),
    settings=EmailSettings,
    guide=GUIDE,
    events={
        "auto_reply": text("Automatic reply (out of office)", "自动回复（外出）"),
        "too_large": text("Mail too large to bring in", "邮件过大，未能接收"),
    },
    color=BLUE,
    rank=50,
    outreach=Outreach(
        recipient=text("Customer's email address", "客户邮箱地址"),
        placeholder="name@example.com",
        titled=True,
    ),
    # a mail asks with a signed link to a page of the hub: a reply would be a new thread
    rating=RatingWay.LINK,
)
