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
    "nav.inbox": "Inbox",
    "nav.channels": "Channels",
    "nav.agents": "Agents",
    "nav.teams": "Teams",
    "nav.logout": "Sign out",
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
    "reply.addNote": "Add note",
    "reply.attach": "Attach files",
    "reply.uploading": "Uploading {name}…",
    "reply.failed": "Could not send: {reason}",
    "delivery.queued": "Queued",
    "delivery.sent": "Sent",
    "delivery.delivered": "Delivered",
    "delivery.read": "Read",
    "delivery.failed": "Failed",
    "contact.details": "Contact",
    "contact.email": "Email",
    "contact.phone": "Phone",
    "contact.since": "First seen",
    "contact.channels": "Channels",
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
    "admin.edit": "Edit",
    "admin.copy": "Copy",
    "admin.copied": "Copied!",
    "admin.webhooks": "Webhook URLs",
    "admin.noWebhooks": "This channel needs no webhooks.",
    "admin.embed": "Embed code — paste before </body> on your site",
    "admin.origins": "Allowed origins (one per line; empty allows any site)",
    "admin.prechat": "Ask for name and email before the chat (pre-chat form)",
    "admin.welcome": "Welcome message (欢迎语)",
    "admin.color": "Colour",
    "admin.title": "Widget title",
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
    "kind.webchat": "Web chat",
    "kind.wechat": "WeChat",
    "kind.wecom_kf": "WeCom customer service",
    "error.generic": "Something went wrong: {reason}",
  },
  zh: {
    appName: "Kefu Hub 客服中心",
    "login.title": "登录客服工作台",
    "login.sub": "所有渠道，一个收件箱。",
    "login.email": "邮箱",
    "login.password": "密码",
    "login.submit": "登录",
    "login.failed": "邮箱或密码错误。",
    "nav.inbox": "会话",
    "nav.channels": "渠道",
    "nav.agents": "客服",
    "nav.teams": "技能组",
    "nav.logout": "退出登录",
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
    "reply.addNote": "添加备注",
    "reply.attach": "添加附件",
    "reply.uploading": "正在上传 {name}…",
    "reply.failed": "发送失败：{reason}",
    "delivery.queued": "排队中",
    "delivery.sent": "已发送",
    "delivery.delivered": "已送达",
    "delivery.read": "已读",
    "delivery.failed": "发送失败",
    "contact.details": "客户信息",
    "contact.email": "邮箱",
    "contact.phone": "电话",
    "contact.since": "首次访问",
    "contact.channels": "渠道",
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
    "admin.edit": "编辑",
    "admin.copy": "复制",
    "admin.copied": "已复制！",
    "admin.webhooks": "Webhook 地址",
    "admin.noWebhooks": "此渠道不需要 Webhook。",
    "admin.embed": "嵌入代码——粘贴到网站 </body> 之前",
    "admin.origins": "允许的网站来源（每行一个；留空则允许所有网站）",
    "admin.prechat": "咨询前填写姓名和邮箱（询前表单）",
    "admin.welcome": "欢迎语",
    "admin.color": "主题色",
    "admin.title": "窗口标题",
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
    "kind.webchat": "网页咨询",
    "kind.wechat": "微信公众号",
    "kind.wecom_kf": "微信客服",
    "error.generic": "出错了：{reason}",
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

export function kindName(kind) {
  const key = `kind.${kind}`;
  return STRINGS[lang][key] ? t(key) : kind;
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

export function fmtDay(iso) {
  return new Date(iso).toLocaleDateString(locale(), { weekday: "short", year: "numeric", month: "long", day: "numeric" });
}

document.documentElement.lang = locale();
