/* Kefu Hub web chat widget: embedded with <script src=".../assets/webchat/widget.js" data-kefu-key="KEY" async>.
 * Lives in a shadow DOM so the host site's styles and ours never mix. Everything a person typed
 * is put into the page with textContent only. Protocol: docs/webchat-protocol.md. */
(() => {
  "use strict";
  const script = document.currentScript || document.querySelector("script[data-kefu-key]");
  if (!script || !script.dataset.kefuKey) return;
  const KEY = script.dataset.kefuKey;
  const BASE = new URL(script.src, location.href).href.replace(/\/assets\/webchat\/widget\.js(\?.*)?$/, "");
  if (window.__kefuWidgets && window.__kefuWidgets[KEY]) return;
  (window.__kefuWidgets = window.__kefuWidgets || {})[KEY] = true;

  const STORE = `kefu:${KEY}:`;
  const store = {
    get(name) { try { return localStorage.getItem(STORE + name); } catch { return null; } },
    set(name, value) { try { localStorage.setItem(STORE + name, value); } catch { /* private mode */ } },
    json(name, fallback) { try { return JSON.parse(this.get(name)) ?? fallback; } catch { return fallback; } },
  };

  // -- language --------------------------------------------------------------------------
  const STRINGS = {
    en: {
      open: "Chat with us", close: "Close chat", online: "We reply in a few minutes",
      offline: "We're away right now", placeholder: "Write a message…", send: "Send",
      attach: "Attach a file", typing: "{name} is typing…", someone: "An agent",
      queueAt: "You are number {n} in the queue", queueFirst: "You are number 1 in the queue: you're next",
      queueWait: "Estimated wait: about {n} min",
      you: "You", failed: "Not sent", sending: "Sending…", uploading: "Uploading {name}…",
      tooBig: "“{name}” is too big: files can be at most {max}.",
      badType: "“{name}” can't be sent: this type of file is not accepted.",
      uploadFailed: "The file could not be uploaded: {reason}",
      prechatTitle: "Before we start", prechatText: "Tell us how to reach you, in case we get cut off.",
      name: "Name", email: "Email", start: "Start chatting", skip: "Skip",
      leaveTitle: "Leave us a message", leaveText: "No one is online right now. Leave a message and we'll get back to you by email.",
      message: "Message", leaveSend: "Send message", leaveThanks: "Thanks! We got your message and will reply soon.",
      chatAnyway: "Chat anyway", refused: "Chat is not available on this site.",
      reconnecting: "Reconnecting…", newMessage: "New message", download: "Download",
      poweredBy: "Powered by Kefu Hub",
      slowDown: "You're sending messages quickly: this one goes out in {n} s.",
      inviteFrom: "{name} invites you to chat", inviteAccept: "Chat now", inviteDecline: "No, thanks",
      phone: "Phone (optional)",
      closed: "We're closed right now", closedText: "We're closed right now. Leave a message and we'll get back to you.",
      rateTitle: "How did we do?", rateStar: "{n} of 5", rateComment: "Anything you'd like to tell us? (optional)",
      rateSend: "Send rating", rateThanks: "Thank you for your rating!",
    },
    zh: {
      open: "在线咨询", close: "关闭对话", online: "客服在线，通常几分钟内回复",
      offline: "客服暂时不在线", placeholder: "请输入消息…", send: "发送",
      attach: "发送文件", typing: "{name} 正在输入…", someone: "客服",
      queueAt: "您排在第 {n} 位，前面还有 {ahead} 位", queueFirst: "您排在第 1 位，马上为您接入",
      queueWait: "预计等待约 {n} 分钟",
      you: "我", failed: "未发送", sending: "发送中…", uploading: "正在上传 {name}…",
      tooBig: "“{name}”太大：文件最大 {max}。",
      badType: "“{name}”无法发送：不支持此文件类型。",
      uploadFailed: "文件上传失败：{reason}",
      prechatTitle: "开始咨询前", prechatText: "留下您的联系方式，以便断线后我们联系您。",
      name: "姓名", email: "邮箱", start: "开始咨询", skip: "跳过",
      leaveTitle: "留言", leaveText: "客服暂时不在线。请留言，我们会尽快通过邮件回复您。",
      message: "留言内容", leaveSend: "提交留言", leaveThanks: "谢谢！我们已收到您的留言，会尽快回复。",
      chatAnyway: "仍然发送消息", refused: "此网站暂不支持在线咨询。",
      reconnecting: "正在重新连接…", newMessage: "新消息", download: "下载",
      poweredBy: "由 Kefu Hub 提供",
      slowDown: "发送太频繁，本条消息将在 {n} 秒后自动发出。",
      inviteFrom: "{name} 邀请您对话", inviteAccept: "开始对话", inviteDecline: "暂不需要",
      phone: "电话（选填）",
      closed: "现在是非工作时间", closedText: "现在是非工作时间。请留言，我们上班后会尽快回复您。",
      rateTitle: "请为本次服务评分", rateStar: "{n} 星", rateComment: "您的意见或建议（选填）",
      rateSend: "提交评价", rateThanks: "感谢您的评价！",
    },
  };
  // The channel's language where it sets one (the snippet's, else the one the hub gave last
  // time), else the page's, else the browser's.
  const chosenLang = script.dataset.kefuLang || store.get("lang") || "auto";
  const pageLang = (chosenLang !== "auto" ? chosenLang : document.documentElement.lang || navigator.language || "en").toLowerCase();
  const L = STRINGS[pageLang.startsWith("zh") ? "zh" : "en"];
  const t = (key, vars = {}) => L[key].replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));

  // -- DOM helpers: textContent only -------------------------------------------------------
  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const SVG = "http://www.w3.org/2000/svg";
  function icon(d, size = 24) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", size);
    svg.setAttribute("height", size);
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "currentColor");
    svg.append(path);
    return svg;
  }
  const ICONS = {
    chat: "M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.6 3.4 6.1L4.5 21l4.3-2.3c1 .2 2.1.3 3.2.3 5.5 0 10-3.6 10-8s-4.5-8-10-8z",
    close: "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7l-1.4-1.4L9.2 12 2.9 5.7l1.4-1.4 6.3 6.3 6.3-6.3z",
    send: "M3 20.5 21 12 3 3.5 3 10l12 2-12 2z",
    clip: "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z",
    down: "M7.4 8.6 12 13.2l4.6-4.6L18 10l-6 6-6-6z",
  };

  function fmtSize(bytes) {
    if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
    if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
    return `${bytes} B`;
  }
  function fmtTime(iso) {
    const d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString(pageLang.startsWith("zh") ? "zh-CN" : undefined, { hour: "2-digit", minute: "2-digit" });
  }
  const newId = () => {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "w" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };
  const absolute = (url) => (url && url.startsWith("/") ? BASE + url : url);

  // -- styles ----------------------------------------------------------------------------------
  const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.root { --accent: #1f6feb; font: 14px/1.45 -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", system-ui, sans-serif; color: #1c2024; }
.launcher { position: fixed; right: 20px; bottom: 20px; width: 60px; height: 60px; border-radius: 50%; border: 0; background: var(--accent); color: #fff; cursor: pointer; box-shadow: 0 6px 24px rgba(0,0,0,.22); display: grid; place-items: center; z-index: 2147483000; transition: transform .15s; }
.launcher:hover { transform: scale(1.06); }
.launcher.texted { width: auto; padding: 0 20px 0 16px; border-radius: 30px; display: flex; gap: 8px; font: 600 15px/1 inherit; }
.root.left .launcher, .root.left .panel { right: auto; left: 20px; }
.head .logo { width: 40px; height: 40px; border-radius: 10px; object-fit: cover; background: #fff; flex: none; }
.msg.out.avatared { padding-left: 38px; position: relative; }
.msg .initials { position: absolute; left: 0; top: 18px; width: 30px; height: 30px; border-radius: 50%; background: var(--accent); color: #fff; font-size: 12px; font-weight: 700; display: grid; place-items: center; }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible, input:focus-visible { outline: 3px solid color-mix(in srgb, var(--accent) 45%, transparent); outline-offset: 2px; }
.badge { position: absolute; top: -2px; right: -2px; min-width: 22px; height: 22px; padding: 0 6px; border-radius: 11px; background: #e5484d; color: #fff; font-size: 12px; font-weight: 700; display: grid; place-items: center; border: 2px solid #fff; }
.badge[hidden] { display: none; }
.panel { position: fixed; right: 20px; bottom: 92px; width: 380px; height: min(620px, calc(100vh - 120px)); background: #fff; border-radius: 18px; box-shadow: 0 12px 48px rgba(0,0,0,.22); display: flex; flex-direction: column; overflow: hidden; z-index: 2147483001; opacity: 0; transform: translateY(12px) scale(.98); pointer-events: none; transition: opacity .18s, transform .18s; }
.panel.open { opacity: 1; transform: none; pointer-events: auto; }
.head { background: var(--accent); color: #fff; padding: 18px 18px 16px; display: flex; align-items: center; gap: 12px; }
.avatar { width: 40px; height: 40px; border-radius: 50%; background: rgba(255,255,255,.22); display: grid; place-items: center; flex: none; }
.head .title { font-weight: 650; font-size: 16px; }
.head .sub { font-size: 12.5px; opacity: .9; display: flex; align-items: center; gap: 6px; }
.queue { padding: 8px 14px; background: color-mix(in srgb, var(--accent) 10%, #fff); color: #1c2024; font-size: 13px; border-bottom: 1px solid #e6e8eb; }
.queue .wait { color: #5b616b; font-size: 12px; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: #9aa0a6; display: inline-block; }
.dot.on { background: #3dd68c; }
.head .grow { flex: 1; min-width: 0; }
.icon-btn { background: transparent; border: 0; color: inherit; cursor: pointer; padding: 6px; border-radius: 8px; display: grid; place-items: center; }
.icon-btn:hover { background: rgba(255,255,255,.16); }
.body { flex: 1; overflow-y: auto; padding: 16px 14px 8px; background: #f7f8fa; display: flex; flex-direction: column; gap: 8px; }
.msg { display: flex; flex-direction: column; max-width: 82%; }
.msg.in { align-self: flex-end; align-items: flex-end; }
.msg.out { align-self: flex-start; align-items: flex-start; }
.msg .who { font-size: 11.5px; color: #6b7280; margin: 0 4px 2px; }
.bubble { padding: 9px 12px; border-radius: 16px; white-space: pre-wrap; word-wrap: break-word; overflow-wrap: anywhere; }
.msg.in .bubble { background: var(--accent); color: #fff; border-bottom-right-radius: 5px; }
.msg.out .bubble { background: #fff; color: #1c2024; border: 1px solid #e6e8eb; border-bottom-left-radius: 5px; }
.msg.system { align-self: center; max-width: 90%; }
.msg.system .bubble { background: #eef2ff; color: #334; border-radius: 12px; font-size: 13px; text-align: center; }
.msg .meta { font-size: 11px; color: #8a9099; margin: 2px 6px 0; }
.msg.pending .bubble { opacity: .7; }
.msg.failed .meta { color: #d4380d; }
.att { margin-top: 4px; }
.att img { max-width: 220px; max-height: 220px; border-radius: 12px; display: block; border: 1px solid #e6e8eb; background: #fff; }
.att audio { max-width: 240px; }
.att a.file { display: inline-flex; align-items: center; gap: 8px; padding: 8px 12px; background: #fff; border: 1px solid #e6e8eb; border-radius: 12px; color: #1c2024; text-decoration: none; }
.msg.in .att a.file { background: color-mix(in srgb, var(--accent) 10%, #fff); }
.typing { font-size: 12px; color: #6b7280; padding: 0 18px 6px; min-height: 18px; background: #f7f8fa; }
.invite { margin: 8px 12px; padding: 12px; border-radius: 12px; background: #fff; border: 1px solid var(--brand, #1f6feb); box-shadow: 0 2px 8px rgba(0,0,0,.08); font-size: 14px; }
.invite .who { font-weight: 600; margin-bottom: 4px; }
.invite .text { white-space: pre-wrap; overflow-wrap: anywhere; margin-bottom: 10px; }
.invite .actions { display: flex; gap: 8px; }
.invite button { font: inherit; padding: 6px 12px; border-radius: 8px; border: 1px solid #d0d7de; background: #fff; cursor: pointer; }
.invite button.accept { background: var(--brand, #1f6feb); border-color: transparent; color: #fff; }
.rate { margin: 8px 12px; padding: 12px; border-radius: 12px; background: #fff; border: 1px solid #e6e8eb; box-shadow: 0 2px 8px rgba(0,0,0,.06); font-size: 14px; }
.rate .ask { font-weight: 600; margin-bottom: 6px; white-space: pre-wrap; overflow-wrap: anywhere; }
.rate .stars { display: flex; gap: 2px; margin-bottom: 8px; }
.rate .star { font-size: 26px; line-height: 1; padding: 2px; border: 0; background: none; color: #c9ced6; cursor: pointer; }
.rate .star.on { color: #f5a623; }
.rate textarea { width: 100%; min-height: 56px; resize: vertical; border: 1px solid #dfe3e8; border-radius: 10px; padding: 8px 10px; font: inherit; color: inherit; }
.rate .btn { margin-top: 8px; }
.rate .btn:disabled { opacity: .5; cursor: default; }
.notice { margin: 0 12px 8px; padding: 8px 12px; border-radius: 10px; background: #fff1f0; color: #a8071a; font-size: 13px; border: 1px solid #ffccc7; }
.notice[hidden], .typing:empty { display: none; }
.conn { text-align: center; font-size: 12px; color: #8a6d00; background: #fff8e1; padding: 4px; }
.conn[hidden] { display: none; }
.composer { display: flex; align-items: flex-end; gap: 6px; padding: 10px 10px 12px; border-top: 1px solid #eceef0; background: #fff; }
.composer textarea { flex: 1; resize: none; border: 1px solid #dfe3e8; border-radius: 14px; padding: 9px 12px; font: inherit; max-height: 120px; min-height: 40px; outline: none; color: inherit; background: #fff; }
.composer textarea:focus { border-color: var(--accent); }
.composer .icon-btn { color: #6b7280; height: 40px; width: 40px; }
.composer .icon-btn:hover { background: #f1f3f5; }
.composer .send { color: var(--accent); }
.form { padding: 18px; display: flex; flex-direction: column; gap: 10px; overflow-y: auto; flex: 1; background: #fff; }
.chat { display: contents; }
.form.inner { padding: 0; overflow: visible; }
.form h3 { margin: 0; font-size: 16px; }
.form p { margin: 0; color: #5b616b; font-size: 13px; }
.form label { display: flex; flex-direction: column; gap: 4px; font-size: 12.5px; color: #4b5160; }
.form input, .form textarea { border: 1px solid #dfe3e8; border-radius: 10px; padding: 9px 11px; font: inherit; color: inherit; }
.form textarea { min-height: 96px; resize: vertical; }
.btn { border: 0; background: var(--accent); color: #fff; border-radius: 10px; padding: 10px 14px; font: inherit; font-weight: 600; cursor: pointer; }
.btn.ghost { background: transparent; color: var(--accent); }
.foot { text-align: center; font-size: 11px; color: #a0a6ae; padding: 0 0 8px; background: #fff; }
[hidden] { display: none !important; }
@media (max-width: 480px) {
  .panel { right: 0; bottom: 0; width: 100vw; height: 100%; max-height: none; border-radius: 0; }
  .panel.open ~ .launcher { display: none; }
}`;

  // -- building the widget ----------------------------------------------------------------------
  const hostEl = h("div", { id: "kefu-hub-widget" });
  const shadow = hostEl.attachShadow({ mode: "open" });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch {
    shadow.append(h("style", { text: CSS }));
  }

  const badge = h("span", { class: "badge", hidden: true, "aria-live": "polite" });
  const launcherText = h("span", { class: "launcher-text", hidden: true });
  const launcher = h("button", { class: "launcher", type: "button", "aria-label": t("open"), title: t("open"), "aria-expanded": "false" }, icon(ICONS.chat, 28), launcherText, badge);
  const logoEl = h("img", { class: "logo", alt: "" });
  const titleEl = h("div", { class: "title", text: "" });
  const avatarEl = h("div", { class: "avatar" }, icon(ICONS.chat, 22));
  const statusDot = h("span", { class: "dot" });
  const statusText = h("span", { text: "" });
  const closeBtn = h("button", { class: "icon-btn", type: "button", "aria-label": t("close"), title: t("close") }, icon(ICONS.down));
  const head = h("div", { class: "head" },
    avatarEl,
    h("div", { class: "grow" }, titleEl, h("div", { class: "sub" }, statusDot, statusText)),
    closeBtn);
  const conn = h("div", { class: "conn", hidden: true, text: t("reconnecting") });
  const list = h("div", { class: "body", role: "log", "aria-live": "polite" });
  const typingEl = h("div", { class: "typing" });
  const notice = h("div", { class: "notice", hidden: true, role: "alert" });
  // an agent's invitation to chat (主动邀请), answered here
  const inviteCard = h("div", { class: "invite", hidden: true, role: "alertdialog", "aria-live": "assertive" });
  const input = h("textarea", { rows: "1", placeholder: t("placeholder"), "aria-label": t("placeholder") });
  const fileInput = h("input", { type: "file", hidden: true });
  const attachBtn = h("button", { class: "icon-btn", type: "button", "aria-label": t("attach"), title: t("attach") }, icon(ICONS.clip, 22));
  const sendBtn = h("button", { class: "icon-btn send", type: "button", "aria-label": t("send"), title: t("send") }, icon(ICONS.send, 22));
  const composer = h("div", { class: "composer" }, attachBtn, input, sendBtn, fileInput);
  const formArea = h("div", { class: "form", hidden: true });
  // 满意度评价: the stars a resolved conversation asks for
  const rateCard = h("div", { class: "rate", hidden: true, role: "group", "data-testid": "rating" });
  const chatArea = h("div", { class: "chat" }, list, inviteCard, rateCard, typingEl, notice, composer);
  const panel = h("div", { class: "panel", role: "dialog", "aria-label": t("open") },
    head, conn, chatArea, formArea, h("div", { class: "foot", text: t("poweredBy") }));
  const root = h("div", { class: "root" }, panel, launcher);
  shadow.append(root);

  // -- state ------------------------------------------------------------------------------------
  let settings = { title: "", welcome_text: "", prechat_form: false, color: "#1f6feb", max_upload_bytes: 10485760, upload_types: [] };
  let ws = null;
  let attempts = 0;
  let everOpened = false;
  let refused = false;
  let agentsOnline = true;
  // business hours, as the hello says: outside them the leave-a-message form shows their text
  let service = { open: true, closed_text: "" };
  let history = [];
  const seen = new Set();
  let outbox = store.json("outbox", []); // unacked frames: [{client_id, text, attachments, local}]
  let unread = 0;
  let isOpen = store.get("open") === "1";
  let offlineChosen = false;
  const baseTitle = document.title;
  let titleTimer = null;
  const saveOutbox = () => store.set("outbox", JSON.stringify(outbox.map(({ preview, ...rest }) => rest)));

  function setOpen(open) {
    isOpen = open;
    store.set("open", open ? "1" : "0");
    panel.classList.toggle("open", open);
    // a closed panel is out of the tab order and of what screen readers read
    panel.inert = !open;
    panel.setAttribute("aria-hidden", String(!open));
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      unread = 0;
      renderBadge();
      stopTitle();
      setTimeout(() => (formArea.hidden ? input : formArea.querySelector("input,textarea"))?.focus(), 50);
      scrollDown();
    }
  }
  launcher.addEventListener("click", () => setOpen(!isOpen));
  closeBtn.addEventListener("click", () => setOpen(false));

  function renderBadge() {
    badge.hidden = unread === 0;
    badge.textContent = unread > 9 ? "9+" : String(unread);
  }
  function stopTitle() {
    if (titleTimer) clearInterval(titleTimer);
    titleTimer = null;
    document.title = baseTitle;
  }
  function notifyTitle() {
    if (titleTimer) return;
    let flip = false;
    titleTimer = setInterval(() => {
      flip = !flip;
      document.title = flip ? `(${unread}) ${t("newMessage")}` : baseTitle;
    }, 1200);
  }
  let audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.setValueAtTime(880, audio.currentTime);
      osc.frequency.setValueAtTime(1320, audio.currentTime + 0.09);
      gain.gain.setValueAtTime(0.0001, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.15, audio.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.26);
    } catch { /* no audio: the badge and title still tell */ }
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden && isOpen) stopTitle(); });

  function showInvite(frame) {
    const answer = (accepted) => {
      sendFrame({ type: "invite_reply", invitation_id: frame.invitation_id, accepted });
      inviteCard.hidden = true;
      inviteCard.replaceChildren();
      if (accepted) input.focus();
    };
    inviteCard.replaceChildren(
      h("div", { class: "who", text: t("inviteFrom", { name: frame.agent_name || t("someone") }) }),
      h("div", { class: "text", text: frame.text || "" }),
      h("div", { class: "actions" },
        h("button", { class: "accept", type: "button", text: t("inviteAccept"), onclick: () => answer(true) }),
        h("button", { class: "decline", type: "button", text: t("inviteDecline"), onclick: () => answer(false) })));
    inviteCard.hidden = false;
    showChat(); // an agent is there and waiting: no leave-a-message or pre-chat form first
    setOpen(true);
    beep();
    scrollDown();
  }

  // -- 满意度评价: five stars and a comment, sent as a rating frame ---------------------------------
  let rating = null; // {conversation_id, score, sent}
  function showRating(ask) {
    if (rating && rating.conversation_id === ask.conversation_id && !rateCard.hidden) return;
    rating = { conversation_id: ask.conversation_id, score: 0, sent: false };
    const stars = [1, 2, 3, 4, 5].map((n) => h("button", {
      class: "star", type: "button", "data-score": String(n), "aria-label": t("rateStar", { n }), "aria-pressed": "false", text: "★",
      onclick: () => pick(n),
    }));
    const comment = h("textarea", { maxlength: "1000", "aria-label": t("rateComment"), placeholder: t("rateComment") });
    const send = h("button", { class: "btn", type: "button", disabled: true, text: t("rateSend"), onclick: () => {
      if (!rating || !rating.score) return;
      rating.sent = sendFrame({ type: "rating", score: rating.score, comment: comment.value.trim() });
      send.disabled = rating.sent;
    } });
    function pick(n) {
      rating.score = n;
      stars.forEach((star, i) => {
        star.classList.toggle("on", i < n);
        star.setAttribute("aria-pressed", String(i === n - 1));
      });
      send.disabled = false;
    }
    rateCard.replaceChildren(
      h("div", { class: "ask", text: ask.text || t("rateTitle") }),
      h("div", { class: "stars", role: "radiogroup", "aria-label": t("rateTitle") }, stars),
      comment, send);
    rateCard.hidden = false;
    showChat();
    scrollDown();
  }
  function ratingDone() {
    if (!rating) return;
    rateCard.replaceChildren(h("div", { class: "ask", role: "status", text: t("rateThanks") }));
    rating = null;
    setTimeout(() => { if (!rating) hideRating(); }, 6000);
  }
  function hideRating() {
    rating = null;
    rateCard.hidden = true;
    rateCard.replaceChildren();
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
    if (text) setTimeout(() => { if (notice.textContent === text) notice.hidden = true; }, 8000);
  }
  function scrollDown() { requestAnimationFrame(() => { list.scrollTop = list.scrollHeight; }); }

  function attachmentEl(a, objectUrl) {
    const url = objectUrl || absolute(a.url);
    const kind = a.kind || (a.content_type || "").split("/")[0];
    if (url && (kind === "image" || (a.content_type || "").startsWith("image/"))) {
      return h("div", { class: "att" }, h("a", { href: url, target: "_blank", rel: "noopener" }, h("img", { src: url, alt: a.filename || "" })));
    }
    if (url && (kind === "audio" || (a.content_type || "").startsWith("audio/"))) {
      return h("div", { class: "att" }, h("audio", { controls: true, src: url, preload: "none" }));
    }
    return h("div", { class: "att" }, h(url ? "a" : "span", { class: "file", href: url || null, target: "_blank", rel: "noopener", download: a.filename || true },
      icon(ICONS.clip, 16), a.filename || t("download"), a.size ? ` · ${fmtSize(a.size)}` : ""));
  }

  function messageEl(m, opts = {}) {
    const mine = m.direction === "in";
    const system = m.sender_type === "system" || m.sender_type === "bot";
    const cls = ["msg", system ? "system" : mine ? "in" : "out", opts.pending ? "pending" : "", opts.failed ? "failed" : ""].join(" ");
    const el = h("div", { class: cls, "data-id": m.id ?? null, "data-client-id": opts.clientId ?? null });
    if (!mine && !system) {
      el.append(h("div", { class: "who", text: m.sender_name || t("someone") }));
      if (settings.agent_avatars !== false) {
        el.classList.add("avatared");
        const initials = (m.sender_name || t("someone")).trim().split(/\s+/).map((w) => [...w][0]).join("").slice(0, 2).toUpperCase();
        el.append(h("span", { class: "initials", "aria-hidden": "true", text: initials }));
      }
    }
    if (m.text) el.append(h("div", { class: "bubble", text: m.text }));
    for (const a of m.attachments || []) el.append(attachmentEl(a, a.preview));
    const meta = opts.pending ? (opts.uploading ? t("uploading", { name: opts.uploading }) : t("sending")) : fmtTime(m.created_at);
    el.append(h("div", { class: "meta", text: opts.failed ? t("failed") : meta }));
    return el;
  }

  function renderAll() {
    list.replaceChildren();
    if (settings.welcome_text) list.append(messageEl({ sender_type: "system", direction: "out", text: settings.welcome_text }));
    for (const m of history) list.append(messageEl(m));
    for (const o of outbox) list.append(messageEl({ direction: "in", text: o.text, attachments: o.local || [] }, { pending: true, clientId: o.client_id }));
    scrollDown();
  }

  function addIncoming(m) {
    if (m.id && seen.has(m.id)) return;
    if (m.id) seen.add(m.id);
    history.push(m);
    list.append(messageEl(m));
    scrollDown();
    if (m.direction === "out") {
      typingEl.textContent = "";
      if (!isOpen || document.hidden) {
        unread += 1;
        renderBadge();
        beep();
        notifyTitle();
      }
    }
  }

  function applySettings() {
    root.style.setProperty("--accent", /^#[0-9a-f]{6}$/i.test(settings.color) ? settings.color : "#1f6feb");
    root.classList.toggle("left", settings.position === "left");
    titleEl.textContent = settings.title || t("open");
    // the next page shows the channel's language from its first paint
    if (settings.language) store.set("lang", settings.language);
    launcherText.textContent = settings.launcher_text || "";
    launcherText.hidden = !settings.launcher_text;
    launcher.classList.toggle("texted", !!settings.launcher_text);
    if (settings.logo) {
      logoEl.src = absolute(settings.logo);
      avatarEl.replaceWith(logoEl);
    } else if (logoEl.isConnected) {
      logoEl.replaceWith(avatarEl);
    }
    fileInput.setAttribute("accept", (settings.upload_types || []).join(","));
  }
  function applyOnline() {
    const closed = service.open === false;
    statusDot.classList.toggle("on", agentsOnline && !closed);
    statusText.textContent = closed ? t("closed") : agentsOnline ? t("online") : t("offline");
  }

  // -- forms ------------------------------------------------------------------------------------
  let shownForm = null;
  function showForm(build) {
    // A reconnect says hello again: a form already showing keeps what the visitor typed.
    if (shownForm === build && !formArea.hidden) return;
    shownForm = build;
    formArea.replaceChildren(...build());
    formArea.hidden = false;
    chatArea.hidden = true;
  }
  function showChat() {
    shownForm = null;
    formArea.hidden = true;
    chatArea.hidden = false;
    scrollDown();
  }

  function prechatForm() {
    const name = h("input", { name: "name", autocomplete: "name", maxlength: "100" });
    const email = h("input", { name: "email", type: "email", autocomplete: "email" });
    const form = h("form", { class: "form inner", onsubmit: (e) => {
      e.preventDefault();
      if (!email.checkValidity()) { email.reportValidity(); return; }
      const profile = { name: name.value.trim(), email: email.value.trim() || null };
      store.set("profile", JSON.stringify(profile));
      sendFrame({ type: "identify", ...profile });
      showChat();
      input.focus();
    } },
    h("h3", { text: t("prechatTitle") }), h("p", { text: t("prechatText") }),
    h("label", {}, t("name"), name), h("label", {}, t("email"), email),
    h("button", { class: "btn", type: "submit", text: t("start") }),
    h("button", { class: "btn ghost", type: "button", text: t("skip"), onclick: () => { store.set("profile", "{}"); showChat(); } }));
    return [form];
  }

  function leaveForm() {
    const profile = store.json("profile", {});
    const name = h("input", { name: "name", autocomplete: "name", maxlength: "100", value: profile.name || "" });
    const email = h("input", { name: "email", type: "email", autocomplete: "email", required: true, value: profile.email || "" });
    const text = h("textarea", { name: "message", required: true, maxlength: "5000" });
    const phone = h("input", { name: "phone", type: "tel", autocomplete: "tel", maxlength: "40", pattern: "\\+?[0-9][0-9 ()\\-]{4,38}", value: profile.phone || "" });
    const status = h("p", { role: "status" });
    const form = h("form", { class: "form inner leave", onsubmit: (e) => {
      e.preventDefault();
      if (!form.checkValidity()) { form.reportValidity(); return; }
      const frame = { type: "leave_message", client_id: newId(), name: name.value.trim(), email: email.value.trim(), text: text.value };
      if (settings.offline_phone && phone.value.trim()) frame.phone = phone.value.trim();
      store.set("profile", JSON.stringify({ name: frame.name, email: frame.email, phone: frame.phone || profile.phone || "" }));
      queue(frame, [], frame.text);
      text.value = "";
      status.textContent = t("leaveThanks");
    } },
    h("h3", { text: t("leaveTitle") }),
    h("p", { class: "leave-text", text: service.open === false ? service.closed_text || t("closedText") : t("leaveText") }),
    h("label", {}, t("name"), name), h("label", {}, t("email"), email),
    settings.offline_phone ? h("label", {}, t("phone"), phone) : null,
    h("label", {}, t("message"), text),
    h("button", { class: "btn", type: "submit", text: t("leaveSend") }), status,
    h("button", { class: "btn ghost", type: "button", text: t("chatAnyway"), onclick: () => { offlineChosen = true; showChat(); } }));
    return [form];
  }

  function chooseView() {
    if (refused) {
      showForm(() => [h("p", { class: "refused", text: t("refused") })]);
    } else if ((!agentsOnline || service.open === false) && !offlineChosen && history.length === 0 && outbox.length === 0) {
      showForm(leaveForm);
    } else if (settings.prechat_form && store.get("profile") === null && history.length === 0) {
      showForm(prechatForm);
    } else {
      showChat();
    }
  }

  // -- sending ----------------------------------------------------------------------------------
  function sendFrame(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function queue(frame, local, text) {
    const item = { client_id: frame.client_id, frame, text, local };
    outbox.push(item);
    saveOutbox();
    if (frame.type === "message") {
      list.append(messageEl({ direction: "in", text, attachments: local }, { pending: true, clientId: frame.client_id }));
      scrollDown();
    }
    sendFrame(frame);
  }
  function acked(clientId) {
    const i = outbox.findIndex((o) => o.client_id === clientId);
    if (i < 0) return;
    const [item] = outbox.splice(i, 1);
    saveOutbox();
    if (item.frame.type !== "message") return;
    const local = { direction: "in", sender_type: "contact", text: item.text, attachments: item.local, created_at: new Date().toISOString() };
    history.push(local);
    const el = list.querySelector(`[data-client-id="${CSS_escape(clientId)}"]`);
    if (el) el.replaceWith(messageEl(local));
  }
  const CSS_escape = (s) => (window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/[^\w-]/g, ""));

  function sendText() {
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    autosize();
    stopTyping();
    queue({ type: "message", client_id: newId(), text, attachments: [] }, [], text);
  }
  sendBtn.addEventListener("click", sendText);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendText(); }
  });
  function autosize() { input.style.height = "auto"; input.style.height = `${Math.min(input.scrollHeight, 120)}px`; }
  let typingOn = false;
  let typingTimer = null;
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingOn) { typingOn = false; sendFrame({ type: "typing", on: false }); }
  }
  input.addEventListener("input", () => {
    autosize();
    if (!typingOn && input.value) { typingOn = true; sendFrame({ type: "typing", on: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });

  attachBtn.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (file) sendFile(file);
  });

  function fileProblem(file) {
    const type = file.type || "application/octet-stream";
    if (file.size > settings.max_upload_bytes) return t("tooBig", { name: file.name, max: fmtSize(settings.max_upload_bytes) });
    if (settings.upload_types.length && !settings.upload_types.includes(type)) return t("badType", { name: file.name });
    return "";
  }

  async function sendFile(file) {
    const problem = fileProblem(file);
    if (problem) { showNotice(problem); return; }
    showNotice("");
    const clientId = newId();
    const preview = file.type.startsWith("image/") ? URL.createObjectURL(file) : null;
    const local = [{ filename: file.name, content_type: file.type, size: file.size, kind: file.type.split("/")[0], preview }];
    const pending = messageEl({ direction: "in", text: "", attachments: local }, { pending: true, clientId, uploading: file.name });
    list.append(pending);
    scrollDown();
    try {
      const body = new FormData();
      body.append("file", file, file.name);
      const res = await fetch(`${BASE}/webchat/${encodeURIComponent(KEY)}/uploads`, {
        method: "POST", body, headers: { "X-Visitor-Token": store.get("token") || "" },
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error((data.error && data.error.reason) || res.statusText);
      pending.remove();
      queue({ type: "message", client_id: clientId, text: "", attachments: [data.token] }, local, "");
    } catch (err) {
      pending.remove();
      showNotice(t("uploadFailed", { reason: err.message }));
    }
  }

  // -- the live visitor panel: the page the visitor is on, and their visits ----------------------
  // A visit ends after 30 minutes without a page of the site; the count stays in this browser.
  const VISIT_GAP_MS = 30 * 60 * 1000;
  const visits = (() => {
    const now = Date.now();
    let count = Number(store.get("visits")) || 0;
    if (!count || now - (Number(store.get("last_seen")) || 0) > VISIT_GAP_MS) count += 1;
    store.set("visits", String(count));
    store.set("last_seen", String(now));
    return count;
  })();
  const web = (url) => (/^https?:\/\//i.test(url || "") ? url.slice(0, 2048) : "");
  let reportedUrl = null;
  function reportPage() {
    const url = web(location.href);
    if (!url) return;
    reportedUrl = url;
    sendFrame({ type: "page", url, title: (document.title || "").slice(0, 300), referrer: web(document.referrer), visits });
  }
  // pages of a single-page shop change without a load
  const pageChanged = () => { if (web(location.href) !== reportedUrl) reportPage(); };
  window.addEventListener("popstate", pageChanged);
  window.addEventListener("hashchange", pageChanged);

  // -- connection -------------------------------------------------------------------------------
  function connect() {
    if (refused) return;
    const token = store.get("token");
    const wsUrl = new URL(`${BASE}/webchat/${encodeURIComponent(KEY)}/ws`);
    wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
    if (token) wsUrl.searchParams.set("token", token);
    // the hub's automatic messages come in the language the widget shows
    wsUrl.searchParams.set("lang", L === STRINGS.zh ? "zh-CN" : "en");
    let opened = false;
    const sock = new WebSocket(wsUrl);
    ws = sock;
    sock.addEventListener("open", () => { opened = true; everOpened = true; attempts = 0; conn.hidden = true; });
    sock.addEventListener("message", (e) => {
      let frame;
      try { frame = JSON.parse(e.data); } catch { return; }
      onFrame(frame);
    });
    sock.addEventListener("close", () => {
      if (ws !== sock) return;
      ws = null;
      if (everOpened) conn.hidden = false;
      if (!opened) checkRefused().then(() => scheduleReconnect());
      else scheduleReconnect();
    });
  }
  async function checkRefused() {
    // A websocket does not tell why it was refused; this plain request does.
    try {
      const res = await fetch(`${BASE}/webchat/${encodeURIComponent(KEY)}/session`, {
        method: "POST", headers: { "X-Visitor-Token": store.get("token") || "" },
      });
      if (res.status === 403 || res.status === 404) {
        refused = true;
        conn.hidden = true;
        hostEl.dataset.state = "refused";
        chooseView();
      }
    } catch { /* offline: keep retrying */ }
  }
  function scheduleReconnect() {
    if (refused) return;
    attempts += 1;
    const delay = Math.min(30000, 500 * 2 ** Math.min(attempts, 6)) * (0.7 + Math.random() * 0.6);
    setTimeout(connect, delay);
  }
  setInterval(() => sendFrame({ type: "ping" }), 25000);
  window.addEventListener("online", () => { if (!ws) { attempts = 0; connect(); } });

  let typingHide = null;
  let retryTimer = null;
  function onFrame(frame) {
    if (frame.type === "hello") {
      store.set("token", frame.visitor_token);
      settings = { ...settings, ...(frame.settings || {}) };
      agentsOnline = !!frame.agents_online;
      service = { open: true, closed_text: "", ...(frame.service || {}) };
      if (frame.rating_request) showRating(frame.rating_request);
      else hideRating();
      history = Array.isArray(frame.history) ? frame.history : [];
      seen.clear();
      for (const m of history) if (m.id) seen.add(m.id);
      applySettings();
      applyOnline();
      renderAll();
      chooseView();
      hostEl.dataset.state = "ready";
      reportPage();
      showQueue(frame.queue);
      const profile = store.json("profile", null);
      if (profile && (profile.name || profile.email)) sendFrame({ type: "identify", name: profile.name || "", email: profile.email || null });
      for (const o of outbox) sendFrame(o.frame);
    } else if (frame.type === "ack") {
      acked(frame.client_id);
    } else if (frame.type === "queue") {
      showQueue(frame);
    } else if (frame.type === "message" && frame.message) {
      addIncoming(frame.message);
    } else if (frame.type === "invite") {
      showInvite(frame);
    } else if (frame.type === "rating_request") {
      showRating(frame);
      if (!isOpen || document.hidden) {
        unread += 1;
        renderBadge();
        notifyTitle();
      }
    } else if (frame.type === "rated") {
      ratingDone();
    } else if (frame.type === "typing") {
      clearTimeout(typingHide);
      typingEl.textContent = frame.on ? t("typing", { name: frame.name || t("someone") }) : "";
      if (frame.on) typingHide = setTimeout(() => { typingEl.textContent = ""; }, 8000);
    } else if (frame.type === "error" && frame.retry_after && frame.client_id) {
      // Over the channel's limit: the message stays queued and goes out once the wait is over.
      showNotice(t("slowDown", { n: frame.retry_after }));
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => { for (const o of outbox) sendFrame(o.frame); }, frame.retry_after * 1000);
    } else if (frame.type === "error") {
      if (rating && rating.sent) {
        rating.sent = false;
        const again = rateCard.querySelector(".btn");
        if (again) again.disabled = false;
      }
      if (frame.client_id) {
        const i = outbox.findIndex((o) => o.client_id === frame.client_id);
        if (i >= 0) { outbox.splice(i, 1); saveOutbox(); }
        const el = list.querySelector(`[data-client-id="${CSS_escape(frame.client_id)}"]`);
        if (el) {
          el.classList.add("failed");
          const meta = el.querySelector(".meta");
          if (meta) meta.textContent = `${t("failed")}: ${frame.reason || ""}`;
        }
      }
      showNotice(frame.reason || "");
    }
  }

  // 访客队列: the visitor's place while their conversation waits for a free agent
  const queueEl = h("div", { class: "queue", hidden: true, role: "status", "aria-live": "polite", "data-testid": "queue" });
  panel.insertBefore(queueEl, chatArea);
  function showQueue(place) {
    const n = place && place.position;
    queueEl.hidden = !n;
    if (!n) return;
    const where = n === 1 ? t("queueFirst") : t("queueAt", { n, ahead: n - 1 });
    const wait = place.estimated_wait_s == null ? null
      : h("div", { class: "wait", text: t("queueWait", { n: Math.max(1, Math.round(place.estimated_wait_s / 60)) }) });
    queueEl.replaceChildren(...[h("div", { class: "where", text: where }), wait].filter(Boolean));
  }

  function mount() {
    document.body.append(hostEl);
    applySettings();
    applyOnline();
    setOpen(isOpen);
    connect();
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
