// The inbox's two languages: 简体中文 and English; the browser's by default, the choice remembered.

const STRINGS = {
  en: {
    appName: "Kefu Hub",
    "login.title": "Sign in to your inbox",
    "login.sub": "Every channel, one inbox.",
    "login.email": "Email",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.failed": "Wrong email or password.",
    "login.tooMany": "Too many failed sign-ins. Try again in {n} s.",
    "nav.inbox": "Inbox",
    "nav.visitors": "Visitors",
    "visitors.title": "On the site now",
    "visitors.channel": "Channel",
    "visitors.who": "Visitor",
    "visitors.page": "Page",
    "visitors.from": "Came from",
    "visitors.onSite": "On the site",
    "visitors.visits": "Visits",
    "visitors.chatting": "Chatting",
    "visitors.direct": "Direct",
    "visitors.unknown": "Somewhere",
    "visitors.trail": "Pages of this visit",
    "visitors.empty": "Nobody is on the site now.",
    "visitors.device.mobile": "Phone",
    "visitors.device.tablet": "Tablet",
    "visitors.device.desktop": "Computer",
    "nav.channels": "Channels",
    "nav.agents": "Agents",
    "nav.teams": "Teams",
    "nav.failed": "Failed",
    "failed.title": "Failed events",
    "failed.intro": "Messages and events the hub accepted but could not process, after 5 attempts. They are kept, not lost: fix the cause (a channel's settings, an upgrade), then retry them and they reach the inbox as if they had just arrived. Dismiss what you never want processed; it stays stored.",
    "failed.introDismissed": "Events an admin dismissed. They stay stored for reference.",
    "failed.none": "Nothing failed: every accepted message reached the inbox.",
    "failed.noneDismissed": "No dismissed events.",
    "failed.show": "Show",
    "failed.view.failed": "Failed",
    "failed.view.dismissed": "Dismissed",
    "failed.col.received": "Received",
    "failed.col.channel": "Channel",
    "failed.col.customer": "Customer",
    "failed.col.reason": "Reason",
    "failed.col.attempts": "Attempts",
    "failed.noReason": "(no reason recorded)",
    "failed.payload": "Event as received",
    "failed.retry": "Retry",
    "failed.retryAll": "Retry all",
    "failed.dismiss": "Dismiss",
    "failed.retryDone": "Retrying {n}: they appear in the inbox once processed.",
    "failed.dismissDone": "Dismissed {n}.",
    "nav.logout": "Sign out",
    "account.title": "My account: change password",
    "account.current": "Current password",
    "account.new": "New password (8+ characters)",
    "account.again": "New password again",
    "account.change": "Change password",
    "account.hint": "Changing it signs you out on every other browser and revokes your API tokens.",
    "account.phoneTitle": "Calls",
    "account.phone": "My phone number",
    "account.phoneHint": "Customers' calls to a phone channel ring this number while you are online in the inbox. Leave it empty to get none.",
    "account.phoneSave": "Save number",
    "account.phoneSaved": "Saved.",
    "account.phoneInvalid": "Type the number with + and the country code, e.g. +8613800138000.",
    "account.mismatch": "The two new passwords differ.",
    "account.wrongCurrent": "The current password is wrong.",
    "account.changed": "Password changed. Other sessions signed out: {n}.",
    "nav.language": "中文",
    "filter.mine": "Mine",
    "filter.unassigned": "Unassigned",
    "filter.all": "All",
    "status.open": "Open",
    "status.pending": "Pending",
    "status.resolved": "Resolved",
    "filter.allChannels": "All channels",
    "list.search": "Search conversations  /",
    "list.empty": "No conversations here.",
    "list.more": "Load more",
    "list.noText": "(attachment)",
    "compose.new": "New",
    "compose.title": "New conversation",
    "compose.channel": "Channel",
    "compose.subject": "Subject",
    "compose.message": "Message",
    "compose.send": "Send",
    "compose.needText": "Write the message first.",
    "thread.pick": "Pick a conversation on the left.",
    "thread.pickHint": "Use j / k or ↑ / ↓ to move, / to search or reply.",
    "thread.assignMe": "Assign to me",
    "thread.assignedTo": "Assigned to {name}",
    "thread.unassigned": "Unassigned",
    "thread.resolve": "Resolve",
    "thread.reopen": "Reopen",
    "thread.earlier": "Load earlier messages",
    "thread.conversation": "Conversation #{id} · {channel}",
    "thread.typing": "{name} is typing…",
    "thread.visitor": "Visitor",
    "thread.note": "Internal note",
    "thread.leftOffline": "Left as an offline message",
    "reply.reply": "Reply",
    "reply.note": "Private note",
    "reply.placeholder": "Write a reply… (Enter to send, Shift+Enter for a new line)",
    "reply.notePlaceholder": "Write a note only agents can see…",
    "reply.send": "Send",
    "reply.smsSegments": "{length} characters · {count} SMS",
    "reply.smsSegmentsUnicode": "{length} characters (Unicode) · {count} SMS",
    "reply.addNote": "Add note",
    "reply.attach": "Attach files",
    "reply.uploading": "Uploading {name}…",
    "reply.failed": "Could not send: {reason}",
    "delivery.queued": "Queued",
    "delivery.sent": "Sent",
    "delivery.delivered": "Delivered",
    "delivery.read": "Read",
    "delivery.failed": "Failed",
    "thread.resend": "Resend",
    "contact.details": "Contact",
    "contact.email": "Email",
    "contact.phone": "Phone",
    "contact.since": "First seen",
    "contact.channels": "Channels",
    "contact.optedOut": "Unsubscribed",
    "contact.conversations": "Conversations",
    "live.reconnecting": "Connection lost — reconnecting…",
    "live.online": "Live",
    "admin.channels": "Channels",
    "admin.agents": "Agents",
    "admin.teams": "Teams",
    "admin.newChannel": "New channel",
    "admin.kind": "Type",
    "admin.name": "Name",
    "admin.active": "Active",
    "admin.inactive": "Inactive",
    "admin.save": "Save",
    "admin.saved": "Saved.",
    "admin.create": "Create",
    "admin.cancel": "Cancel",
    "admin.readerProblem": "The hub cannot read this channel now",
    "admin.readerSince": "since {when}; it keeps trying",
    "admin.edit": "Edit",
    "admin.copy": "Copy",
    "admin.copied": "Copied!",
    "admin.webhooks": "Webhook URLs",
    "admin.noWebhooks": "This channel needs no webhooks.",
    "admin.embed": "Embed code — paste before </body> on your site",
    "admin.settingsJson": "Settings (JSON)",
    "admin.team": "Team",
    "admin.noTeam": "No team",
    "admin.inviteAgent": "Invite an agent",
    "admin.email": "Email",
    "admin.password": "Initial password (8+ characters)",
    "admin.role": "Role",
    "role.admin": "Admin",
    "role.agent": "Agent",
    "admin.deactivate": "Deactivate",
    "admin.activate": "Activate",
    "admin.online": "Online",
    "admin.offline": "Offline",
    "admin.newTeam": "New team",
    "admin.members": "Members",
    "admin.empty": "Nothing here yet.",
    "admin.adminOnly": "Only admins can see this page.",
    "time.now": "now",
    "error.generic": "Something went wrong: {reason}",
    "admin.kindsFailed": "Could not load the channel types: {reason}",
    "admin.generate": "Generate",
    "admin.required": "{field} is required.",
    "admin.hint.secret": "Saved secrets show as ******** and stay as they are unless you type a new value.",
    "admin.revealed": "Shown in full until you leave this page: copy it into the console now. Afterwards it is masked.",
    "admin.console": "Console",
    "admin.badFormat": "{field} is not in the expected format.",
    "admin.tooLong": "{field} is longer than {n} characters.",
    "admin.tooMany": "{field} has more than {n} entries.",
    "admin.badNumber": "{field} must be a number.",
    "admin.badInteger": "{field} must be a whole number.",
    "admin.outOfRange": "{field} must be {range}.",
    "admin.badJson": "{field} is not valid JSON: {reason}",
    "admin.choose": "(not set)",
    "admin.guideUrl": "Callback URL (paste it into the console)",
    "admin.guideUrlLater": "The callback URL appears here once the channel is created.",
    "admin.kindProblems": "Some channel types are not available: the hub left out these connector packages.",
    "admin.noSchema": "This hub does not describe the settings of this channel type; edit them as JSON.",
    "window.used": "No replies left: the channel will refuse replies until the customer writes again.",
    "window.closed": "The reply window has closed: the channel will refuse replies until the customer writes again.",
    "window.rule": "The channel limits how many replies it accepts after the customer's last message.",
    "event.other": "Event",
    "call.in": "Incoming call",
    "call.out": "Outgoing call",
    "call.missed": "Missed call",
    "call.noAnswer": "No answer",
    "call.ringing": "ringing",
    "call.inProgress": "in progress",
    "call.busy": "busy",
    "call.failed": "failed",
    "call.voicemail": "Voicemail",
    "call.from": "from {number}",
    "call.to": "to {number}",
    "dur.h": "{n} h",
    "dur.min": "{n} min",
    "dur.s": "{n} s",
    "window.left": "{n} replies left until {time}",
    "window.leftOne": "1 reply left until {time}",
    "att.amr": "AMR voice: the browser cannot play it, download to listen",
    "att.download": "Download",
    "admin.audioNone": "No file: the text is read aloud.",
    "admin.audioSet": "A recording is set.",
    "admin.audioUploaded": "{name} uploaded; save the channel to use it.",
    "admin.audioFailed": "The file was not accepted: {reason}",
    "admin.audioUploading": "{field}: wait until the file is uploaded.",
    "admin.audioRemove": "Remove",
    "att.pending": "Fetching the file from the provider…",
    "att.failed": "The file could not be fetched: {reason}",
    "loc.title": "Location",
    "loc.map": "Open in map",
    "mail.to": "to {list}",
    "mail.cc": "cc {list}",
    "mail.original": "Original",
    "mail.originalHint": "The whole mail as it arrived, with the quoted history",
    "mail.title": "Original mail",
    "mail.noSubject": "(no subject)",
    "mail.from": "From",
    "mail.toLabel": "To",
    "mail.ccLabel": "Cc",
    "mail.date": "Date",
    "mail.loading": "Loading the mail…",
    "mail.remoteImages": "This mail has remote images ({n}). They are not loaded: loading them tells the sender the mail was read.",
    "mail.showImages": "Show images",
    "mail.imagesShown": "Remote images are shown.",
    "mail.download": "Download .eml",
    "mail.close": "Close",
  },
  zh: {
    appName: "Kefu Hub 客服中心",
    "login.title": "登录客服工作台",
    "login.sub": "所有渠道，一个收件箱。",
    "login.email": "邮箱",
    "login.password": "密码",
    "login.submit": "登录",
    "login.failed": "邮箱或密码错误。",
    "login.tooMany": "登录失败次数过多，请 {n} 秒后再试。",
    "nav.inbox": "会话",
    "nav.visitors": "访客",
    "visitors.title": "正在访问网站的访客",
    "visitors.channel": "渠道",
    "visitors.who": "访客",
    "visitors.page": "当前页面",
    "visitors.from": "来源",
    "visitors.onSite": "停留时长",
    "visitors.visits": "访问次数",
    "visitors.chatting": "对话中",
    "visitors.direct": "直接访问",
    "visitors.unknown": "未知地区",
    "visitors.trail": "本次访问的页面（足迹）",
    "visitors.empty": "现在没有访客在网站上。",
    "visitors.device.mobile": "手机",
    "visitors.device.tablet": "平板",
    "visitors.device.desktop": "电脑",
    "nav.channels": "渠道",
    "nav.agents": "客服",
    "nav.teams": "技能组",
    "nav.failed": "处理失败",
    "failed.title": "处理失败的消息",
    "failed.intro": "系统已接收、但重试 5 次仍未能处理的消息和事件。它们已保存，不会丢失：排除原因（渠道设置、系统升级）后点击重试，即会像刚收到一样进入会话。不需要处理的可以忽略，记录仍会保留。",
    "failed.introDismissed": "已被管理员忽略的事件，记录仍保留备查。",
    "failed.none": "没有处理失败的消息：所有已接收的消息都已进入会话。",
    "failed.noneDismissed": "没有已忽略的事件。",
    "failed.show": "显示",
    "failed.view.failed": "处理失败",
    "failed.view.dismissed": "已忽略",
    "failed.col.received": "接收时间",
    "failed.col.channel": "渠道",
    "failed.col.customer": "客户",
    "failed.col.reason": "失败原因",
    "failed.col.attempts": "尝试次数",
    "failed.noReason": "（未记录原因）",
    "failed.payload": "原始事件",
    "failed.retry": "重试",
    "failed.retryAll": "全部重试",
    "failed.dismiss": "忽略",
    "failed.retryDone": "正在重试 {n} 条：处理完成后将出现在会话中。",
    "failed.dismissDone": "已忽略 {n} 条。",
    "nav.logout": "退出登录",
    "account.title": "我的账号：修改密码",
    "account.current": "当前密码",
    "account.new": "新密码（至少 8 位）",
    "account.again": "再次输入新密码",
    "account.change": "修改密码",
    "account.hint": "修改后，其他浏览器上的登录都会退出，你的 API 令牌也会失效。",
    "account.phoneTitle": "来电",
    "account.phone": "我的电话号码",
    "account.phoneHint": "你在收件箱在线时，客户拨打电话渠道会呼叫这个号码。留空则不接听来电。",
    "account.phoneSave": "保存号码",
    "account.phoneSaved": "已保存。",
    "account.phoneInvalid": "请填写带 + 和国家代码的号码，例如 +8613800138000。",
    "account.mismatch": "两次输入的新密码不一致。",
    "account.wrongCurrent": "当前密码错误。",
    "account.changed": "密码已修改。已退出其他登录：{n} 个。",
    "nav.language": "English",
    "filter.mine": "我的",
    "filter.unassigned": "未分配",
    "filter.all": "全部",
    "status.open": "进行中",
    "status.pending": "待处理",
    "status.resolved": "已解决",
    "filter.allChannels": "全部渠道",
    "list.search": "搜索会话  /",
    "list.empty": "这里没有会话。",
    "list.more": "加载更多",
    "list.noText": "（附件）",
    "compose.new": "新会话",
    "compose.title": "发起新会话",
    "compose.channel": "渠道",
    "compose.subject": "主题",
    "compose.message": "内容",
    "compose.send": "发送",
    "compose.needText": "请先填写内容。",
    "thread.pick": "请从左侧选择一个会话。",
    "thread.pickHint": "按 j / k 或 ↑ / ↓ 切换会话，按 / 搜索或回复。",
    "thread.assignMe": "分配给我",
    "thread.assignedTo": "已分配给 {name}",
    "thread.unassigned": "未分配",
    "thread.resolve": "标记已解决",
    "thread.reopen": "重新打开",
    "thread.earlier": "加载更早的消息",
    "thread.conversation": "会话 #{id} · {channel}",
    "thread.typing": "{name} 正在输入…",
    "thread.visitor": "访客",
    "thread.note": "内部备注",
    "thread.leftOffline": "离线留言",
    "reply.reply": "回复",
    "reply.note": "内部备注",
    "reply.placeholder": "输入回复…（Enter 发送，Shift+Enter 换行）",
    "reply.notePlaceholder": "输入仅客服可见的备注…",
    "reply.send": "发送",
    "reply.smsSegments": "{length} 字符 · {count} 条短信",
    "reply.smsSegmentsUnicode": "{length} 字符（Unicode）· {count} 条短信",
    "reply.addNote": "添加备注",
    "reply.attach": "添加附件",
    "reply.uploading": "正在上传 {name}…",
    "reply.failed": "发送失败：{reason}",
    "delivery.queued": "排队中",
    "delivery.sent": "已发送",
    "delivery.delivered": "已送达",
    "delivery.read": "已读",
    "delivery.failed": "发送失败",
    "thread.resend": "重发",
    "contact.details": "客户信息",
    "contact.email": "邮箱",
    "contact.phone": "电话",
    "contact.since": "首次访问",
    "contact.channels": "渠道",
    "contact.optedOut": "已退订",
    "contact.conversations": "历史会话",
    "live.reconnecting": "连接已断开，正在重新连接…",
    "live.online": "实时",
    "admin.channels": "渠道",
    "admin.agents": "客服",
    "admin.teams": "技能组",
    "admin.newChannel": "新建渠道",
    "admin.kind": "类型",
    "admin.name": "名称",
    "admin.active": "启用",
    "admin.inactive": "已停用",
    "admin.save": "保存",
    "admin.saved": "已保存。",
    "admin.create": "创建",
    "admin.cancel": "取消",
    "admin.readerProblem": "本系统暂时无法读取该渠道",
    "admin.readerSince": "自 {when} 起；系统会持续重试",
    "admin.edit": "编辑",
    "admin.copy": "复制",
    "admin.copied": "已复制！",
    "admin.webhooks": "Webhook 地址",
    "admin.noWebhooks": "此渠道不需要 Webhook。",
    "admin.embed": "嵌入代码——粘贴到网站 </body> 之前",
    "admin.settingsJson": "设置（JSON）",
    "admin.team": "技能组",
    "admin.noTeam": "无",
    "admin.inviteAgent": "添加客服",
    "admin.email": "邮箱",
    "admin.password": "初始密码（至少 8 位）",
    "admin.role": "角色",
    "role.admin": "管理员",
    "role.agent": "客服",
    "admin.deactivate": "停用",
    "admin.activate": "启用",
    "admin.online": "在线",
    "admin.offline": "离线",
    "admin.newTeam": "新建技能组",
    "admin.members": "成员",
    "admin.empty": "暂无内容。",
    "admin.adminOnly": "只有管理员可以查看此页面。",
    "time.now": "刚刚",
    "error.generic": "出错了：{reason}",
    "admin.kindsFailed": "无法加载渠道类型：{reason}",
    "admin.generate": "随机生成",
    "admin.required": "请填写{field}。",
    "admin.hint.secret": "已保存的密钥显示为 ********，除非输入新值，否则保持不变。",
    "admin.revealed": "离开本页前会完整显示：请立即复制到后台。之后将以 ******** 显示。",
    "admin.console": "后台地址",
    "admin.badFormat": "{field}的格式不正确。",
    "admin.tooLong": "{field}不能超过 {n} 个字符。",
    "admin.tooMany": "{field}最多 {n} 项。",
    "admin.badNumber": "{field}须为数字。",
    "admin.badInteger": "{field}须为整数。",
    "admin.outOfRange": "{field}须满足 {range}。",
    "admin.badJson": "{field}不是有效的 JSON：{reason}",
    "admin.choose": "（未设置）",
    "admin.guideUrl": "回调 URL（填入后台）",
    "admin.guideUrlLater": "创建渠道后，这里会显示回调 URL。",
    "admin.kindProblems": "部分渠道类型不可用：系统未加载以下连接器包。",
    "admin.noSchema": "系统未提供此渠道类型的设置说明，请以 JSON 编辑。",
    "window.used": "回复条数已用完：客户再次发消息前，渠道会拒绝发送回复。",
    "window.closed": "回复时限已过：客户再次发消息前，渠道会拒绝发送回复。",
    "window.rule": "该渠道限制客户最后一条消息之后可发送的回复条数。",
    "event.other": "事件",
    "call.in": "来电",
    "call.out": "去电",
    "call.missed": "未接来电",
    "call.noAnswer": "无人接听",
    "call.ringing": "响铃中",
    "call.inProgress": "通话中",
    "call.busy": "忙线",
    "call.failed": "未接通",
    "call.voicemail": "语音留言",
    "call.from": "来自 {number}",
    "call.to": "拨打 {number}",
    "dur.h": "{n} 小时",
    "dur.min": "{n} 分",
    "dur.s": "{n} 秒",
    "window.left": "还可回复 {n} 条，{time} 前",
    "window.leftOne": "还可回复 1 条，{time} 前",
    "att.amr": "AMR 语音：浏览器无法播放，请下载后收听",
    "att.download": "下载",
    "admin.audioNone": "未设置文件：将朗读文字。",
    "admin.audioSet": "已设置录音。",
    "admin.audioUploaded": "{name} 已上传，保存渠道后生效。",
    "admin.audioFailed": "文件未被接受：{reason}",
    "admin.audioUploading": "{field}：请等待文件上传完成。",
    "admin.audioRemove": "移除",
    "att.pending": "正在从服务商获取文件…",
    "att.failed": "文件获取失败：{reason}",
    "loc.title": "位置",
    "loc.map": "在地图中查看",
    "mail.to": "收件人 {list}",
    "mail.cc": "抄送 {list}",
    "mail.original": "原邮件",
    "mail.originalHint": "查看完整的原始邮件，包括引用的历史内容",
    "mail.title": "原邮件",
    "mail.noSubject": "（无主题）",
    "mail.from": "发件人",
    "mail.toLabel": "收件人",
    "mail.ccLabel": "抄送",
    "mail.date": "时间",
    "mail.loading": "正在加载邮件…",
    "mail.remoteImages": "此邮件含有远程图片（{n} 张），未自动加载：加载会让发件人知道邮件已被阅读。",
    "mail.showImages": "显示图片",
    "mail.imagesShown": "已显示远程图片。",
    "mail.download": "下载原始邮件",
    "mail.close": "关闭",
  },
};

const KEY = "kefu.lang";

function initial() {
  const saved = localStorage.getItem(KEY);
  if (saved === "en" || saved === "zh") return saved;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

let lang = initial();

export function currentLang() {
  return lang;
}

/** The BCP 47 tag for dates and numbers. */
export function locale() {
  return lang === "zh" ? "zh-CN" : "en";
}

export function setLang(next) {
  lang = next === "zh" ? "zh" : "en";
  localStorage.setItem(KEY, lang);
  document.documentElement.lang = locale();
}

export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** Whether the current language (or English) has this key. */
export function has(key) {
  return key in STRINGS[lang] || key in STRINGS.en;
}

/** A text the server sends as {"en": ..., "zh-CN": ...}, in the page's language (else English). */
export function pick(text) {
  if (text === null || text === undefined) return "";
  if (typeof text === "string") return text;
  if (typeof text !== "object") return String(text);
  return text[locale()] ?? text.en ?? Object.values(text).find((v) => typeof v === "string") ?? "";
}

/** The kinds of channel this hub connects (GET /channel-kinds), by kind, in the server's order. */
let kinds = new Map();

export function setKinds(items) {
  kinds = new Map((items || []).map((k) => [k.kind, k]));
}

/** Everything the server says about a kind of channel, or null for a kind it did not describe. */
export function kindInfo(kind) {
  return kinds.get(kind) || null;
}

/** The kinds, in the order the server lists them. */
export function allKinds() {
  return [...kinds.values()];
}

/** A kind's title in the current language, else the raw kind. */
export function kindName(kind) {
  return pick(kinds.get(kind)?.title) || String(kind ?? "");
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  if (sameDay) return d.toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleDateString(locale(), { month: "short", day: "numeric" });
}

export function fmtDateTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" });
}

/** A short, unambiguous date and time: "2026-11-27 14:03" in Chinese, "Nov 27, 2:03 PM" in English. */
export function fmtUntil(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (lang === "zh") {
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }
  return d.toLocaleString("en", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
}

/** A call's length: "2 min 5 s" / "2 分 5 秒"; "1 h 3 min" for an hour or more. */
export function fmtDuration(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const parts = hours ? [t("dur.h", { n: hours }), minutes ? t("dur.min", { n: minutes }) : null]
    : [minutes ? t("dur.min", { n: minutes }) : null, secs || !minutes ? t("dur.s", { n: secs }) : null];
  return parts.filter(Boolean).join(" ");
}

/** A recording's length as a player shows it: "0:42", "12:05", "1:02:03". */
export function fmtClock(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const p = (n) => String(n).padStart(2, "0");
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  return hours ? `${hours}:${p(minutes)}:${p(total % 60)}` : `${minutes}:${p(total % 60)}`;
}

export function fmtDay(iso) {
  return new Date(iso).toLocaleDateString(locale(), { weekday: "short", year: "numeric", month: "long", day: "numeric" });
}

document.documentElement.lang = locale();
