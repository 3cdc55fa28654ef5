// One conversation: the contact's whole history across channels, the reply box and the contact card.
import * as api from "../api.js";
import { h, icon, avatar, fmtSize, safeHttpUrl, kindChip } from "../dom.js";
import { t, has, pick, fmtTime, fmtDay, fmtDateTime, fmtUntil, fmtDuration, fmtClock, kindInfo } from "../i18n.js";
import { smsSegments } from "../sms.js";
import { CannedPicker } from "./canned.js";
import { transcriptMenu } from "./transcript_menu.js";
import { openTransfer, handoverEl } from "./transfer.js";

const TIMELINE_LIMIT = 200;
const PAGE = 50;
/** Events that change what the contact card shows. */
const CONTACT_EVENTS = new Set(["opted_out", "opted_in"]);
const STATUS_ICON = { queued: "⏱", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠" };
/** Voice formats browsers cannot play (some messengers record voice as AMR). */
const UNPLAYABLE_AUDIO = /^audio\/(amr|amr-wb|3gpp)\b/i;

export class Thread {
  constructor({ state, onOpenConversation }) {
    this.state = state;
    this.onOpenConversation = onOpenConversation;
    this.conv = null;
    this.contact = null;
    this.messages = new Map();
    this.exhausted = new Set();
    this.mayHaveMore = false;
    this.privateMode = false;
    this.files = [];
    this.loadSeq = 0;
    this.buffer = null;
    this.readTimer = null;
    this.typingTimers = new Map();
    this.el = h("section", { class: "thread-pane" }, this.placeholder());
  }

  placeholder() {
    return h("div", { class: "placeholder" },
      h("div", { class: "placeholder-icon" }, icon("inbox", 40)),
      h("p", { text: t("thread.pick") }),
      h("p", { class: "muted small", text: t("thread.pickHint") }));
  }

  // -- loading --------------------------------------------------------------------------------
  async open(id) {
    if (this.conv && this.conv.id === id && this.contact) return;
    const seq = ++this.loadSeq;
    this.buffer = [];
    try {
      const conv = await api.get(`/conversations/${id}`);
      const sameContact = this.contact && this.contact.id === conv.contact_id;
      const contact = sameContact ? this.contact : await api.get(`/contacts/${conv.contact_id}`);
      if (seq !== this.loadSeq) return;
      this.conv = conv;
      if (!sameContact) {
        this.contact = contact;
        this.messages = new Map(contact.timeline.map((m) => [m.id, m]));
        this.exhausted = new Set();
        this.mayHaveMore = contact.timeline.length >= TIMELINE_LIMIT;
        this.files = [];
      }
      this.build();
      this.markRead();
      // events that arrived while loading: merged by id, so duplicates change nothing
      const buffered = this.buffer;
      this.buffer = null;
      for (const msg of buffered || []) this.onMessage(msg);
    } catch (err) {
      if (seq === this.loadSeq) this.buffer = null;
      if (seq === this.loadSeq && err.status !== 401) this.el.replaceChildren(h("p", { class: "empty", text: t("error.generic", { reason: err.message }) }));
    }
  }

  async reload() {
    if (!this.conv) return;
    const id = this.conv.id;
    this.conv = null;
    this.contact = null;
    await this.open(id);
  }

  /** Older messages of every conversation of the contact, kept gap-free. */
  async loadEarlier(button) {
    button.disabled = true;
    const oldest = Math.min(...this.messages.keys());
    const convs = this.contact.conversations.filter((c) => !this.exhausted.has(c.id));
    const pages = await Promise.all(convs.map((c) =>
      api.get(`/conversations/${c.id}/messages${api.query({ before: api.cursorFor(oldest), limit: PAGE })}`).then((p) => [c.id, p]).catch(() => [c.id, { items: [], next: null }])));
    let cutoff = 0;
    for (const [cid, page] of pages) {
      if (!page.next) this.exhausted.add(cid);
      else if (page.items.length) cutoff = Math.max(cutoff, page.items[0].id);
    }
    for (const [, page] of pages) for (const m of page.items) if (m.id >= cutoff) this.messages.set(m.id, m);
    this.mayHaveMore = this.exhausted.size < this.contact.conversations.length;
    const scroller = this.scroller;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    this.paintMessages();
    scroller.scrollTop = scroller.scrollHeight - fromBottom;
  }

  // -- building -------------------------------------------------------------------------------
  build() {
    this.header = h("header", { class: "thread-head" });
    // the note of the latest transfer (转接), for whoever received the conversation
    this.handover = h("div", { class: "handover-slot" });
    this.scroller = h("div", { class: "messages", role: "log", "aria-live": "polite" });
    this.typingEl = h("div", { class: "typing-line", "aria-live": "polite" });
    this.composer = this.buildComposer();
    this.side = h("aside", { class: "contact-pane" });
    this.el.replaceChildren(
      h("div", { class: "thread-main" }, this.header, this.handover, this.scroller, this.typingEl, this.composer),
      this.side);
    this.paintHeader();
    this.paintHandover();
    this.paintMessages();
    this.paintContact();
    this.paintWindow();
    this.scrollToEnd();
  }

  // -- reply allowance: channels whose provider caps replies after the customer's message ----
  paintWindow() {
    const el = this.windowEl;
    if (!el || !this.conv) return;
    clearTimeout(this.windowTimer);
    const w = this.conv.reply_window;
    if (!w) {
      el.hidden = true;
      el.replaceChildren();
      return;
    }
    const closesMs = w.closes_at ? new Date(w.closes_at).getTime() : 0;
    const open = closesMs > Date.now();
    const remaining = open ? w.remaining : 0;
    let text;
    if (remaining > 0) text = t(remaining === 1 ? "window.leftOne" : "window.left", { n: remaining, time: fmtUntil(w.closes_at) });
    else text = t(open ? "window.used" : "window.closed");
    el.hidden = false;
    el.className = `reply-window ${remaining > 0 ? "ok" : "closed"}`;
    el.dataset.remaining = String(remaining);
    el.title = pick(w.rule) || t("window.rule");
    el.replaceChildren(icon(remaining > 0 ? "clock" : "warn", 16), h("span", { class: "rw-text", text }));
    if (open) {
      // the allowance ends by itself: ask again just after it does
      const delay = closesMs - Date.now() + 1000;
      if (delay < 2 ** 31 - 1) this.windowTimer = setTimeout(() => this.refreshWindow(0), delay);
    }
  }

  /** Whether the open conversation's channel limits replies: a reply window to keep fresh. */
  limitsReplies() {
    if (!this.conv) return false;
    const capabilities = kindInfo(this.conv.channel.kind)?.capabilities;
    return capabilities ? !!capabilities.reply_window : !!this.conv.reply_window;
  }

  /** Re-read the contact card (debounced). */
  refreshContact(delay = 150) {
    const id = this.contact.id;
    clearTimeout(this.contactFetch);
    this.contactFetch = setTimeout(async () => {
      try {
        const fresh = await api.get(`/contacts/${id}`);
        if (!this.contact || this.contact.id !== id) return;
        Object.assign(this.contact, { name: fresh.name, email: fresh.email, phone: fresh.phone, identities: fresh.identities });
        this.paintContact();
      } catch {
        /* the next event asks again */
      }
    }, delay);
  }

  /** Re-read the allowance (debounced): after a customer message, a reply or a failed reply. */
  refreshWindow(delay = 250) {
    if (!this.limitsReplies()) return;
    const id = this.conv.id;
    clearTimeout(this.windowFetch);
    this.windowFetch = setTimeout(async () => {
      try {
        const fresh = await api.get(`/conversations/${id}`);
        if (!this.conv || this.conv.id !== id) return;
        this.conv.reply_window = fresh.reply_window ?? null;
        this.paintWindow();
      } catch {
        /* the next change asks again */
      }
    }, delay);
  }

  paintHeader() {
    const conv = this.conv;
    const me = this.state.me;
    const assignee = conv.assignee_id ? this.state.agents.get(conv.assignee_id) : null;
    const resolved = conv.status === "resolved";
    this.header.replaceChildren(
      avatar(this.contact.name, `c${this.contact.id}`, "lg"),
      h("div", { class: "thread-title" },
        h("h2", { text: this.contact.name }),
        h("div", { class: "muted small" },
          kindChip(conv.channel.kind), " ",
          conv.channel.name, " · ",
          h("span", { class: `status status-${conv.status}`, "data-testid": "conv-status", text: t(`status.${conv.status}`) }), " · ",
          assignee ? t("thread.assignedTo", { name: assignee.name }) : t("thread.unassigned"))),
      h("div", { class: "thread-actions" },
        transcriptMenu(conv.id),
        resolved ? null : h("button", { class: "btn", type: "button", "data-action": "transfer", text: t("transfer.button"), onclick: () => this.transfer() }),
        conv.assignee_id !== me.id ? h("button", { class: "btn", type: "button", "data-action": "assign", text: conv.assignee_id === null ? t("queue.take") : t("thread.assignMe"), onclick: () => this.assignToMe() }) : null,
        h("button", { class: `btn ${resolved ? "" : "success"}`, type: "button", "data-action": resolved ? "reopen" : "resolve", onclick: () => this.toggleResolved() },
          resolved ? null : icon("check", 16), resolved ? t("thread.reopen") : t("thread.resolve"))));
  }

  paintContact() {
    const c = this.contact;
    const field = (label, value) => (value ? h("div", { class: "field" }, h("dt", { text: label }), h("dd", { text: value })) : null);
    this.side.replaceChildren(
      h("div", { class: "contact-card" },
        avatar(c.name, `c${c.id}`, "xl"),
        h("h3", { text: c.name }),
        h("dl", {},
          field(t("contact.email"), c.email),
          field(t("contact.phone"), c.phone),
          field(t("contact.since"), fmtDateTime(c.created_at)))),
      h("h4", { text: t("contact.channels") }),
      h("ul", { class: "identities" }, c.identities.map((i) => h("li", {}, kindChip(i.channel_kind), " ", i.channel_name,
        i.opted_out_at ? h("span", { class: "opted-out", title: fmtDateTime(i.opted_out_at), text: t("contact.optedOut") }) : null))),
      h("h4", { text: t("contact.conversations") }),
      h("ul", { class: "past" }, c.conversations.map((conv) =>
        h("li", { class: conv.id === this.conv.id ? "current" : "" },
          h("a", { href: `#/inbox/${conv.id}` },
            h("span", { text: `#${conv.id} ${conv.channel.name}` }),
            h("span", { class: `status status-${conv.status}`, text: t(`status.${conv.status}`) }))))));
  }

  paintMessages() {
    const sorted = [...this.messages.values()].sort((a, b) => a.id - b.id);
    const nodes = [];
    if (this.mayHaveMore) {
      const btn = h("button", { class: "btn link earlier", type: "button", text: t("thread.earlier"), onclick: () => this.loadEarlier(btn) });
      nodes.push(btn);
    }
    let day = "";
    let convId = null;
    for (const m of sorted) {
      const mDay = new Date(m.created_at).toDateString();
      if (mDay !== day) {
        day = mDay;
        nodes.push(h("div", { class: "day-sep" }, h("span", { text: fmtDay(m.created_at) })));
      }
      if (m.conversation_id !== convId) {
        convId = m.conversation_id;
        nodes.push(this.convSep(m));
      }
      nodes.push(this.messageEl(m));
    }
    this.scroller.replaceChildren(...nodes);
  }

  convSep(m) {
    const conv = this.contact.conversations.find((c) => c.id === m.conversation_id);
    const channel = this.state.channels.get(m.channel_id);
    const name = conv ? conv.channel.name : channel ? channel.name : "";
    return h("div", { class: `conv-sep${m.conversation_id === this.conv.id ? " current" : ""}` },
      h("span", { text: t("thread.conversation", { id: m.conversation_id, channel: name }) }));
  }

  messageEl(m) {
    if (m.kind === "event") return this.eventEl(m);
    const inbound = m.direction === "in";
    const system = m.sender_type === "system" || m.sender_type === "bot";
    const cls = ["msg", inbound ? "in" : "out", m.private ? "note" : "", system ? "system" : "", m.status === "failed" ? "failed" : ""].filter(Boolean).join(" ");
    let who = this.contact.name;
    if (!inbound) {
      const agent = m.sender_agent_id ? this.state.agents.get(m.sender_agent_id) : null;
      who = agent ? agent.name : system ? "System" : "";
    }
    // a message that is also an event of its channel (an email's automatic reply) says so
    const eventLabel = m.data && m.data.event ? (kindInfo(this.kindOf(m))?.events || {})[m.data.event] : null;
    const meta = h("div", { class: "meta" },
      m.private ? h("span", { class: "note-tag", text: t("thread.note") }) : null,
      m.data && m.data.left_offline ? h("span", { class: "note-tag offline", text: t("thread.leftOffline") }) : null,
      eventLabel ? h("span", { class: "note-tag event", "data-event": m.data.event, text: pick(eventLabel) }) : null,
      h("span", { text: who }),
      h("time", { datetime: m.created_at, title: fmtDateTime(m.created_at), text: fmtTime(m.created_at) }),
      // a mail whose raw original is kept (an email's inbound message) opens it whole
      m.data && m.data.raw_key ? h("button", { class: "original", type: "button", "data-action": "original", title: t("mail.originalHint"), text: t("mail.original"), onclick: () => openOriginal(m.id) }) : null,
      !inbound && !m.private ? this.deliveryEl(m) : null);
    let content;
    if (m.kind === "location") content = this.locationEl(m);
    else if (m.kind === "link") content = this.linkEl(m);
    else if (m.kind === "call" || m.kind === "voicemail") content = this.callEl(m);
    else content = m.text ? h("div", { class: "text", text: m.text }) : null;
    const failed = !inbound && m.status === "failed";
    // the title a threaded channel's message gave its thread (an email's subject), where it
    // starts or changes: every mail of a thread repeats it
    const titled = m.data && m.data.thread_title && m.data.thread_title !== this.titleBefore(m);
    const title = titled ? h("div", { class: "thread-title", text: m.data.thread_title }) : null;
    return h("div", { class: cls, dataset: { id: String(m.id), status: m.status, kind: m.kind } },
      h("div", { class: "bubble" },
        title,
        content,
        (m.attachments || []).map((a) => this.attachmentEl(a))),
      failed ? h("div", { class: "fail-reason", role: "note", title: m.error || "" },
        h("span", { text: this.failReason(m) }),
        m.private ? null : h("button", { class: "resend", type: "button", "data-action": "resend", text: t("thread.resend"), onclick: (e) => this.resend(m, e.currentTarget) })) : null,
      meta,
      inbound ? mailAddresses(m) : null);
  }

  /** Send a failed reply again (重发); the live message.updated event redraws it. */
  async resend(m, button) {
    button.disabled = true;
    try {
      this.onMessage(await api.post(`/messages/${m.id}/resend`));
    } catch (err) {
      button.disabled = false;
      this.showError(t("reply.failed", { reason: err.message }));
    }
  }

  /** Why a reply failed: the channel's explanation in the agent's language, else the provider's. */
  failReason(m) {
    return pick(m.failure?.text) || m.error || t("delivery.failed");
  }

  deliveryEl(m) {
    const label = t(`delivery.${m.status}`);
    const text = m.status === "failed" ? `${STATUS_ICON.failed} ${label}` : STATUS_ICON[m.status] || "";
    return h("span", { class: `delivery delivery-${m.status}`, title: m.error ? `${label}: ${m.error}` : label, "aria-label": label, text });
  }

  /** The kind of the channel a message came through: its conversation's, else its channel's. */
  /** The thread title of the conversation's latest titled message before `m`. */
  titleBefore(m) {
    let found = null;
    for (const other of this.messages.values()) {
      if (other.conversation_id !== m.conversation_id || other.id >= m.id || !other.data?.thread_title) continue;
      if (!found || other.id > found.id) found = other;
    }
    return found ? found.data.thread_title : null;
  }

  kindOf(m) {
    if (this.conv && m.conversation_id === this.conv.id) return this.conv.channel.kind;
    const conv = this.contact?.conversations.find((c) => c.id === m.conversation_id);
    return conv?.channel?.kind ?? this.state.channels.get(m.channel_id)?.kind ?? null;
  }

  /** A follow, menu click, scan, session change…: a centred line, not a bubble. */
  eventEl(m) {
    const event = String(m.data?.event || "");
    const events = kindInfo(this.kindOf(m))?.events || {};
    // the channel's own events, else the hub's (a satisfaction rating), else "Event"
    const label = (event && Object.hasOwn(events, event) && pick(events[event]))
      || (event && has(`event.${event}`) ? t(`event.${event}`) : t("event.other"));
    const detail = m.text && m.text !== label ? m.text : "";
    return h("div", { class: "msg event-line", role: "note", dataset: { id: String(m.id), status: m.status, kind: "event", event } },
      h("span", { class: "event-body" },
        h("strong", { class: "event-label", text: label }),
        detail ? h("span", { class: "event-text", text: detail }) : null,
        h("time", { datetime: m.created_at, title: fmtDateTime(m.created_at), text: fmtTime(m.created_at) })));
  }

  locationEl(m) {
    const d = m.data || {};
    const label = String(d.label || d.address || m.text || t("loc.title"));
    const lat = Number(d.latitude);
    const lng = Number(d.longitude);
    const known = Number.isFinite(lat) && Number.isFinite(lng) && !(lat === 0 && lng === 0);
    let map = null;
    if (known) {
      let url;
      if (d.datum === "gcj02") {
        // GCJ-02, China's datum, is what AMap expects; another map would put the pin hundreds of metres off
        url = new URL("https://uri.amap.com/marker");
        url.search = new URLSearchParams({ position: `${lng},${lat}`, name: label }).toString();
      } else {
        url = new URL("https://www.openstreetmap.org/");
        url.search = new URLSearchParams({ mlat: String(lat), mlon: String(lng) }).toString();
        url.hash = `map=16/${lat}/${lng}`;
      }
      map = h("a", { class: "loc-map", href: url.href, target: "_blank", rel: "noopener noreferrer", text: t("loc.map") });
    }
    return h("div", { class: "loc" },
      h("div", { class: "loc-label" }, icon("pin", 16), h("strong", { text: label })),
      d.address && d.address !== label ? h("div", { class: "small", text: d.address }) : null,
      known ? h("div", { class: "small mono loc-coords", text: `${lat.toFixed(5)}, ${lng.toFixed(5)}` }) : null,
      map);
  }

  linkEl(m) {
    const d = m.data || {};
    const raw = String(d.url || "");
    const href = safeHttpUrl(raw);
    const title = String(d.title || m.text || raw);
    const a = (cls, text) => h("a", { class: cls, href, target: "_blank", rel: "noopener noreferrer", text });
    return h("div", { class: "link-card" },
      href ? a("link-title", title) : h("strong", { class: "link-title", text: title }),
      d.description ? h("div", { class: "link-desc", text: String(d.description) }) : null,
      raw ? (href ? a("link-url", raw) : h("div", { class: "link-url", text: raw })) : null);
  }

  /** A phone call or a voicemail: one compact line; a voicemail's recording plays below it. */
  callEl(m) {
    const d = m.data || {};
    const inbound = d.direction !== "out";
    const duration = Number.isInteger(d.duration_s) && d.duration_s >= 0 ? d.duration_s : null;
    const way = t(inbound ? "call.in" : "call.out");
    let line;
    if (m.kind === "voicemail" || d.status === "voicemail") {
      line = [t("call.voicemail"), duration !== null ? fmtClock(duration) : null];
    } else if (d.status === "missed") {
      line = [t(inbound ? "call.missed" : "call.noAnswer")];
    } else {
      const states = { ringing: "call.ringing", "in-progress": "call.inProgress", busy: "call.busy", failed: "call.failed" };
      const state = states[d.status];
      line = [way, state ? t(state) : duration ? fmtDuration(duration) : null];
    }
    const other = inbound ? d.from_number : d.to_number;
    const bad = d.status === "missed" || d.status === "busy" || d.status === "failed";
    return h("div", { class: `call${bad ? " call-bad" : ""}`, dataset: { status: String(d.status || "") } },
      h("div", { class: "call-line" },
        icon(m.kind === "voicemail" || d.status === "voicemail" ? "voicemail" : "phone", 16),
        h("strong", { text: line.filter(Boolean).join(" · ") })),
      other ? h("div", { class: "small call-number", text: t(inbound ? "call.from" : "call.to", { number: String(other) }) }) : null,
      m.kind === "voicemail" && m.text ? h("div", { class: "text transcript", text: m.text }) : null);
  }

  attachmentEl(a) {
    if (a.failure) {
      return h("div", { class: "att failed", "data-code": a.failure.code, role: "note" }, icon("clip", 14), " ", a.filename,
        h("div", { class: "small", text: t("att.failed", { reason: pick(a.failure.text) }) }));
    }
    if (!a.url) return h("div", { class: "att pending", title: t("att.pending") }, icon("clip", 14), " ", a.filename);
    if (a.kind === "image") return h("a", { class: "att image", href: a.url, target: "_blank", rel: "noopener" }, h("img", { src: a.url, alt: a.filename, loading: "lazy" }));
    if (a.kind === "audio" && UNPLAYABLE_AUDIO.test(a.content_type || "")) {
      return h("div", { class: "att amr" },
        h("span", { class: "amr-note", text: t("att.amr") }),
        h("a", { class: "att file", href: a.url, download: a.filename, rel: "noopener" },
          h("span", { class: "file-icon" }, icon("clip", 16)), h("span", { class: "file-name", text: a.filename }),
          h("span", { class: "muted small", text: [t("att.download"), fmtSize(a.size)].filter(Boolean).join(" · ") })));
    }
    if (a.kind === "audio") return h("div", { class: "att audio" }, h("audio", { controls: true, preload: "none", src: a.url }));
    if (a.kind === "video") return h("div", { class: "att video" }, h("video", { controls: true, preload: "metadata", src: a.url }));
    return h("a", { class: "att file", href: a.url, download: a.filename, rel: "noopener" },
      h("span", { class: "file-icon" }, icon("clip", 16)), h("span", { class: "file-name", text: a.filename }), h("span", { class: "muted small", text: fmtSize(a.size) }));
  }

  // -- composer -------------------------------------------------------------------------------
  buildComposer() {
    this.input = h("textarea", { class: "reply-input", rows: "3", "aria-label": t("reply.reply") });
    this.chips = h("div", { class: "file-chips" });
    this.error = h("div", { class: "form-error", role: "alert", hidden: true });
    const fileInput = h("input", { type: "file", multiple: true, hidden: true, onchange: () => {
      for (const f of fileInput.files) this.addFile(f);
      fileInput.value = "";
    } });
    this.sendBtn = h("button", { class: "btn primary", type: "button", onclick: () => this.send() });
    const tab = (priv, label) => h("button", { type: "button", class: "mode", "data-mode": priv ? "note" : "reply", text: label, onclick: () => this.setMode(priv) });
    this.modeTabs = h("div", { class: "modes" }, tab(false, t("reply.reply")), tab(true, t("reply.note")));
    this.windowEl = h("div", { class: "reply-window", "data-testid": "reply-window", role: "status", hidden: true });
    this.countsSegments = !!kindInfo(this.conv.channel.kind)?.capabilities?.sms_segments;
    this.segmentsEl = h("span", { class: "segments muted small", "data-testid": "sms-segments", "aria-live": "polite", hidden: true });
    this.picker = new CannedPicker({
      input: this.input,
      conversationId: () => this.conv?.id,
      onFiles: (files) => { for (const file of files) this.addSaved(file); },
      onError: (text) => this.showError(text),
      onChanged: () => this.paintSegments(),
    });
    this.input.addEventListener("keydown", (e) => {
      if (this.picker.onKeydown(e)) return;
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener("input", () => {
      this.picker.update();
      this.paintSegments();
      if (!this.privateMode && this.input.value) this.state.live?.typing(this.conv.id, true);
      clearTimeout(this.typingOff);
      this.typingOff = setTimeout(() => this.state.live?.typing(this.conv.id, false), 4000);
    });
    // the caret moved along the text (a click, ←/→): the picker follows the word under it
    this.input.addEventListener("click", () => this.picker.update());
    this.input.addEventListener("keyup", (e) => {
      if (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home" || e.key === "End") this.picker.update();
    });
    this.input.addEventListener("blur", () => this.picker.close());
    this.input.addEventListener("paste", (e) => {
      for (const item of e.clipboardData?.files || []) this.addFile(item);
    });
    const box = h("div", { class: "composer" },
      this.modeTabs, this.windowEl, this.picker.el, this.input, this.chips, this.error,
      h("div", { class: "composer-bar" },
        h("button", { class: "btn icon", type: "button", title: t("reply.attach"), "aria-label": t("reply.attach"), onclick: () => fileInput.click() }, icon("clip", 18)),
        fileInput,
        h("span", { class: "grow" }),
        this.segmentsEl,
        this.sendBtn));
    this.box = box;
    this.setMode(this.privateMode);
    return box;
  }

  setMode(priv) {
    this.privateMode = priv;
    this.box.classList.toggle("private", priv);
    for (const b of this.modeTabs.children) b.classList.toggle("active", (b.dataset.mode === "note") === priv);
    this.input.placeholder = priv ? t("reply.notePlaceholder") : t("reply.placeholder");
    this.sendBtn.replaceChildren(icon("send", 16), priv ? t("reply.addNote") : t("reply.send"));
    this.paintSegments();
    this.input.focus();
  }

  /** The SMS the reply will make, for channels that send SMS (notes are never sent). */
  paintSegments() {
    const text = this.input.value;
    const show = this.countsSegments && !this.privateMode && text.length > 0;
    this.segmentsEl.hidden = !show;
    if (!show) return;
    const { segments, unicode, length } = smsSegments(text);
    this.segmentsEl.textContent = t(unicode ? "reply.smsSegmentsUnicode" : "reply.smsSegments", { count: segments, length });
    this.segmentsEl.classList.toggle("warn", segments > 1);
  }

  addFile(file) {
    const entry = { file, token: null, done: null };
    const chip = h("span", { class: "file-chip" }, h("span", { text: t("reply.uploading", { name: file.name }) }));
    entry.done = api.upload(file).then((res) => {
      entry.token = res.token;
      chip.replaceChildren(icon("clip", 14), h("span", { text: file.name }), h("button", { type: "button", class: "chip-x", "aria-label": "remove", text: "×", onclick: () => {
        this.files = this.files.filter((f) => f !== entry);
        chip.remove();
      } }));
    }).catch((err) => {
      this.files = this.files.filter((f) => f !== entry);
      chip.remove();
      this.showError(t("reply.failed", { reason: err.message }));
    });
    this.files.push(entry);
    this.chips.append(chip);
  }

  /** A canned reply's saved file, stored already: attached by the token the hub gave for it. */
  addSaved(saved) {
    const entry = { file: { name: saved.filename }, token: saved.token, done: Promise.resolve() };
    const chip = h("span", { class: "file-chip", dataset: { name: saved.filename } }, icon("clip", 14), h("span", { text: saved.filename }),
      h("button", { type: "button", class: "chip-x", "aria-label": "remove", text: "×", onclick: () => {
        this.files = this.files.filter((f) => f !== entry);
        chip.remove();
      } }));
    this.files.push(entry);
    this.chips.append(chip);
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  async send() {
    const text = this.input.value;
    if (!text.trim() && !this.files.length) return;
    this.showError("");
    this.sendBtn.disabled = true;
    try {
      await Promise.all(this.files.map((f) => f.done));
      const attachments = this.files.filter((f) => f.token).map((f) => f.token);
      const msg = await api.post(`/conversations/${this.conv.id}/messages`, { text, private: this.privateMode, attachments });
      this.input.value = "";
      this.paintSegments();
      this.files = [];
      this.chips.replaceChildren();
      this.state.live?.typing(this.conv.id, false);
      this.onMessage(msg);
    } catch (err) {
      this.showError(t("reply.failed", { reason: err.message }));
    } finally {
      this.sendBtn.disabled = false;
      this.input.focus();
    }
  }

  focusReply() {
    if (!this.input || !this.conv) return false;
    this.input.focus();
    return true;
  }

  // -- actions --------------------------------------------------------------------------------
  async patch(body) {
    if (!this.conv) return;
    try {
      const conv = await api.patch(`/conversations/${this.conv.id}`, body);
      this.onConversation(conv);
    } catch (err) {
      this.showError(t("error.generic", { reason: err.message }));
    }
  }

  paintHandover() {
    this.handover.replaceChildren(...[handoverEl(this.state, this.conv, this.messages)].filter(Boolean));
  }

  transfer() {
    if (!this.conv) return;
    openTransfer(this.state, this.conv, (conv) => this.onConversation(conv))
      .catch((err) => this.showError(t("error.generic", { reason: err.message })));
  }

  assignToMe() {
    if (!this.conv || this.conv.assignee_id === this.state.me.id) return;
    // a waiting conversation is taken (接入): of two agents at once, the later is told who has it
    if (this.conv.assignee_id === null) this.take();
    else this.patch({ assignee_id: this.state.me.id });
  }

  async take() {
    try {
      this.onConversation(await api.post(`/conversations/${this.conv.id}/take`));
    } catch (err) {
      this.showError(t("error.generic", { reason: err.message }));
    }
  }

  toggleResolved() {
    if (this.conv) this.patch({ status: this.conv.status === "resolved" ? "open" : "resolved" });
  }

  markRead(force = false) {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      if (this.conv && (force || this.conv.unread_count) && !document.hidden) this.patch({ read: true });
    }, 300);
  }

  // -- live -----------------------------------------------------------------------------------
  ownsConversation(id) {
    return this.contact && (this.conv.id === id || this.contact.conversations.some((c) => c.id === id));
  }

  onMessage(msg) {
    if (this.buffer) {
      this.buffer.push(msg);
      return;
    }
    if (!this.contact) return;
    if (!this.ownsConversation(msg.conversation_id)) {
      // A new conversation of the same contact (another channel, or after a resolve) joins the history.
      if (msg.direction === "in") this.maybeAdopt(msg);
      return;
    }
    const known = this.messages.has(msg.id);
    const old = this.messages.get(msg.id);
    if (old && old.updated_at && msg.updated_at && old.updated_at > msg.updated_at) return;
    this.messages.set(msg.id, msg);
    if (msg.data?.transfer) this.paintHandover();
    // a customer message, a reply or its failure changes how many replies the channel still accepts
    if (msg.conversation_id === this.conv.id && !msg.private) this.refreshWindow();
    // an unsubscribe or a subscribe again changes the contact card
    if (!known && msg.kind === "event" && CONTACT_EVENTS.has(msg.data?.event)) this.refreshContact();
    const el = known ? this.scroller.querySelector(`.msg[data-id="${msg.id}"]`) : null;
    const atEnd = this.nearEnd();
    if (el) {
      el.replaceWith(this.messageEl(msg));
      if (atEnd) this.scrollToEnd(); // a failure reason makes the message taller
      return;
    }
    const all = this.scroller.querySelectorAll(".msg");
    const last = all.length ? all[all.length - 1] : null;
    if (!last || Number(last.dataset.id) < msg.id) {
      const lastMsg = last ? this.messages.get(Number(last.dataset.id)) : null;
      if (!lastMsg || lastMsg.conversation_id !== msg.conversation_id) this.scroller.append(this.convSep(msg));
      this.scroller.append(this.messageEl(msg));
    } else {
      this.paintMessages();
    }
    if (msg.direction === "in") this.clearTyping("visitor");
    if (msg.direction === "in" && msg.conversation_id === this.conv.id) this.markRead(true);
    if (atEnd || msg.direction === "out") this.scrollToEnd();
  }

  async maybeAdopt(msg) {
    try {
      const conv = await api.get(`/conversations/${msg.conversation_id}`);
      if (conv.contact_id !== this.contact.id) return;
      this.contact.conversations.unshift(conv);
      this.onMessage(msg);
      this.paintContact();
    } catch {
      /* not visible */
    }
  }

  onConversation(data) {
    if (!this.conv) return;
    const summary = this.contact?.conversations.find((c) => c.id === data.id);
    if (summary) Object.assign(summary, data);
    if (data.id !== this.conv.id) return;
    const { actor_id: _actor, ...fields } = data;
    Object.assign(this.conv, fields);
    this.paintHeader();
    this.paintContact();
    this.paintWindow();
  }

  onVisitorTyping(data) {
    if (!this.conv) return;
    const matches = data.conversation_id ? data.conversation_id === this.conv.id
      : data.channel_id === this.conv.channel_id && data.visitor_id && this.contact.name.endsWith(`#${String(data.visitor_id).slice(-6)}`);
    if (!matches) return;
    this.setTyping("visitor", data.on ? t("thread.typing", { name: this.contact.name }) : "");
  }

  onAgentTyping(data) {
    if (!this.conv || data.conversation_id !== this.conv.id) return;
    const agent = this.state.agents.get(data.agent_id);
    this.setTyping(`agent${data.agent_id}`, data.on ? t("thread.typing", { name: agent ? agent.name : "" }) : "");
  }

  setTyping(who, text) {
    clearTimeout(this.typingTimers.get(who));
    this.typingLines = this.typingLines || new Map();
    if (text) {
      this.typingLines.set(who, text);
      this.typingTimers.set(who, setTimeout(() => this.clearTyping(who), 8000));
    } else {
      this.typingLines.delete(who);
    }
    this.typingEl.textContent = [...this.typingLines.values()].join("  ");
  }

  clearTyping(who) {
    if (this.typingLines?.has(who)) this.setTyping(who, "");
  }

  nearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToEnd() {
    requestAnimationFrame(() => {
      this.scroller.scrollTop = this.scroller.scrollHeight;
    });
  }
}

/** The addresses a mail went to, as stored strings only (stored JSON may hold anything). */
function addressList(value) {
  return Array.isArray(value) ? value.filter((a) => typeof a === "string" && a) : [];
}

/** A mail's To and Cc, on one small line under its sender; null for anything but a mail. */
function mailAddresses(m) {
  const to = addressList(m.data?.to);
  const cc = addressList(m.data?.cc);
  if (!to.length && !cc.length) return null;
  return h("div", { class: "mail-addrs", "data-testid": "mail-addrs" },
    to.length ? h("span", { class: "mail-to", text: t("mail.to", { list: to.join(", ") }) }) : null,
    cc.length ? h("span", { class: "mail-cc", text: t("mail.cc", { list: cc.join(", ") }) }) : null);
}

/**
 * The whole mail a message came as (原邮件), in a dialog: its headers; its HTML in a sandboxed
 * frame that runs no script and cannot reach this page, whose server-sent policy blocks remote
 * images until the agent asks; else its text; and its raw .eml to download.
 */
async function openOriginal(messageId) {
  const heading = h("h2", { class: "mail-subject", text: t("mail.title") });
  const body = h("div", { class: "mail-body" }, h("p", { class: "muted mail-loading", text: t("mail.loading") }));
  const close = () => dialog.close();
  const dialog = h("dialog", { class: "mail-dialog", "data-testid": "mail-original", "aria-label": t("mail.title") },
    h("header", { class: "mail-head" },
      heading,
      h("button", { class: "btn icon", type: "button", title: t("mail.close"), "aria-label": t("mail.close"), text: "×", onclick: close })),
    body);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  let mail;
  try {
    mail = await api.get(`/messages/${messageId}/original`);
  } catch (err) {
    body.replaceChildren(h("p", { class: "form-error", role: "alert", text: t("error.generic", { reason: err.message }) }));
    return;
  }
  heading.textContent = mail.subject || t("mail.noSubject");
  const field = (name, label, value) => (value ? h("div", { class: "mail-field", dataset: { field: name } }, h("dt", { text: label }), h("dd", { text: value })) : null);
  const from = mail.sender.name ? `${mail.sender.name} <${mail.sender.address}>` : mail.sender.address;
  const fields = h("dl", { class: "mail-fields" },
    field("from", t("mail.from"), from),
    field("to", t("mail.toLabel"), mail.to.join(", ")),
    field("cc", t("mail.ccLabel"), mail.cc.join(", ")),
    field("date", t("mail.date"), fmtDateTime(mail.date)));
  let content;
  let images = null;
  if (mail.html_url) {
    // sandbox before src: the frame never runs a moment without it; no allow-scripts, no
    // allow-same-origin, no allow-top-navigation; links may open a tab of their own
    content = h("iframe", { class: "mail-frame", sandbox: "allow-popups allow-popups-to-escape-sandbox", referrerpolicy: "no-referrer", title: mail.subject || t("mail.title"), src: mail.html_url });
    if (mail.remote_images > 0) {
      const note = h("span", { class: "grow", text: t("mail.remoteImages", { n: mail.remote_images }) });
      const show = h("button", { class: "btn small", type: "button", "data-action": "show-images", text: t("mail.showImages"), onclick: () => {
        content.src = mail.html_images_url;
        note.textContent = t("mail.imagesShown");
        show.remove();
      } });
      images = h("div", { class: "mail-images", role: "status" }, icon("warn", 16), note, show);
    }
  } else {
    content = h("div", { class: "mail-text", text: mail.text });
  }
  const foot = h("footer", { class: "mail-foot" },
    h("a", { class: "btn", href: mail.raw_url, download: "", "data-action": "download-eml" }, icon("clip", 14), t("mail.download")),
    h("span", { class: "muted small", text: fmtSize(mail.raw_size) }),
    h("span", { class: "grow" }),
    h("button", { class: "btn", type: "button", text: t("mail.close"), onclick: close }));
  body.replaceChildren(...[fields, images, content, foot].filter(Boolean));
}
