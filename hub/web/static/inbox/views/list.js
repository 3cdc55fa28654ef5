// The conversation list: filters, unread counts, newest activity first, kept live.
import * as api from "../api.js";
import { h, icon, avatar, kindChip } from "../dom.js";
import { t, fmtTime, kindName, allKinds } from "../i18n.js";
import { openCompose, outreachChannels } from "./compose.js";

const FILTERS = "kefu.filters";

export class ConversationList {
  constructor({ state, selected, onSelect }) {
    this.state = state;
    this.selected = selected;
    this.onSelect = onSelect;
    this.items = new Map();
    this.pending = new Map();
    this.next = null;
    this.search = "";
    this.filters = { assignee: "all", status: "open", channel: "", ...JSON.parse(localStorage.getItem(FILTERS) || "{}") };
    this.rows = h("ul", { class: "conv-list", role: "listbox", "aria-label": t("nav.inbox") });
    this.more = h("button", { class: "btn link more", type: "button", text: t("list.more"), hidden: true, onclick: () => this.load(true) });
    this.searchInput = h("input", { type: "search", class: "search", placeholder: t("list.search"), "aria-label": t("list.search"), oninput: () => {
      this.search = this.searchInput.value.trim().toLowerCase();
      this.paint();
    } });
    const compose = outreachChannels(this.state).length
      ? h("button", { class: "btn small compose", type: "button", "data-action": "compose", title: `${t("compose.title")}  (c)`, text: t("compose.new"), onclick: () => this.compose() })
      : null;
    this.el = h("section", { class: "list-pane" },
      h("div", { class: "list-head" },
        h("div", { class: "search-row" }, h("div", { class: "search-box" }, icon("search", 18), this.searchInput), compose),
        this.tabs(),
        this.selects()),
      h("div", { class: "list-scroll" }, this.rows, this.more));
  }

  tabs() {
    const tab = (value, label) =>
      h("button", { type: "button", role: "tab", class: `tab${this.filters.assignee === value ? " active" : ""}`, "data-assignee": value, "aria-selected": String(this.filters.assignee === value), text: label, onclick: () => this.setFilter({ assignee: value }) });
    return h("div", { class: "tabs", role: "tablist" }, tab("me", t("filter.mine")), tab("none", t("filter.unassigned")), tab("all", t("filter.all")));
  }

  selects() {
    const status = h("select", { class: "select", "aria-label": "status", name: "status", onchange: () => this.setFilter({ status: status.value }) },
      ["open", "pending", "resolved"].map((s) => h("option", { value: s, text: t(`status.${s}`), selected: this.filters.status === s })));
    const channel = h("select", { class: "select", "aria-label": "channel", name: "channel", onchange: () => this.setFilter({ channel: channel.value }) },
      h("option", { value: "", text: t("filter.allChannels") }),
      this.channelGroups().map(([kind, channels]) => h("optgroup", { label: kindName(kind) },
        channels.map((c) => h("option", { value: String(c.id), text: c.name, selected: String(this.filters.channel) === String(c.id) })))));
    return h("div", { class: "selects" }, status, channel);
  }

  /** The channels grouped by kind, the kinds in the server's order (unknown kinds last). */
  channelGroups() {
    const order = allKinds().map((k) => k.kind);
    const groups = new Map(order.map((k) => [k, []]));
    for (const c of this.state.channels.values()) {
      if (!groups.has(c.kind)) groups.set(c.kind, []);
      groups.get(c.kind).push(c);
    }
    return [...groups].filter(([, channels]) => channels.length);
  }

  setFilter(change) {
    Object.assign(this.filters, change);
    localStorage.setItem(FILTERS, JSON.stringify(this.filters));
    const head = this.el.querySelector(".list-head");
    head.replaceChild(this.tabs(), head.querySelector(".tabs"));
    this.load();
  }

  async load(more = false) {
    const params = {
      status: this.filters.status,
      assignee: this.filters.assignee === "all" ? "" : this.filters.assignee,
      channel_id: this.filters.channel,
      limit: 50,
      cursor: more ? this.next : "",
    };
    try {
      const page = await api.get(`/conversations${api.query(params)}`);
      if (!more) this.items.clear();
      for (const conv of page.items) this.items.set(conv.id, conv);
      this.next = page.next;
      this.paint();
    } catch (err) {
      if (err.status !== 401) this.rows.replaceChildren(h("li", { class: "empty", text: t("error.generic", { reason: err.message }) }));
    }
  }

  reload() {
    this.load();
  }

  /** Opens the new-conversation dialog, where some channel allows writing first. */
  compose() {
    if (outreachChannels(this.state).length) openCompose(this.state, (conv) => this.started(conv));
  }

  /** A conversation the agent just started: shown in the list and opened. */
  started(conv) {
    this.items.set(conv.id, conv);
    if (this.filters.status !== conv.status) this.setFilter({ status: conv.status });
    else this.paint();
    this.onSelect(conv.id);
  }

  matches(conv) {
    const f = this.filters;
    if (conv.status !== f.status) return false;
    if (f.assignee === "me" && conv.assignee_id !== this.state.me.id) return false;
    if (f.assignee === "none" && conv.assignee_id !== null) return false;
    if (f.channel && String(conv.channel_id) !== String(f.channel)) return false;
    return true;
  }

  sorted() {
    const items = [...this.items.values()].filter((c) => this.matches(c));
    items.sort((a, b) => (b.last_message_at || b.created_at || "").localeCompare(a.last_message_at || a.created_at || "") || b.id - a.id);
    if (!this.search) return items;
    return items.filter((c) => `${c.contact.name} ${c.last_message.text || ""} ${c.channel.name}`.toLowerCase().includes(this.search));
  }

  paint() {
    const items = this.sorted();
    this.rows.replaceChildren(...items.map((c) => this.row(c)));
    if (!items.length) this.rows.append(h("li", { class: "empty", text: t("list.empty") }));
    this.more.hidden = !this.next;
    const total = items.reduce((n, c) => n + (c.unread_count || 0), 0);
    document.title = total ? `(${total}) ${t("appName")}` : t("appName");
  }

  row(conv) {
    const assignee = conv.assignee_id ? this.state.agents.get(conv.assignee_id) : null;
    const preview = conv.last_message.text || (conv.last_message.kind && conv.last_message.kind !== "text" ? t("list.noText") : "");
    // the live queue knows positions once loaded; before that the list's own answer does
    const position = this.state.queueLoaded ? this.state.queue.get(conv.id)?.queue_position : conv.queue_position;
    const li = h("li", {
      class: `conv${conv.id === this.selected ? " selected" : ""}${conv.unread_count ? " unread" : ""}`,
      role: "option",
      tabindex: "-1",
      "aria-selected": String(conv.id === this.selected),
      dataset: { id: String(conv.id) },
      onclick: () => this.onSelect(conv.id),
    },
    avatar(conv.contact.name, `c${conv.contact.id}`),
    h("div", { class: "conv-main" },
      h("div", { class: "conv-top" },
        h("span", { class: "conv-name", text: conv.contact.name }),
        h("time", { class: "conv-time", datetime: conv.last_message_at || "", text: fmtTime(conv.last_message_at || conv.created_at) })),
      h("div", { class: "conv-bottom" },
        h("span", { class: "conv-preview", text: preview }),
        conv.unread_count ? h("span", { class: "unread-count", "aria-label": "unread", text: String(conv.unread_count) }) : null),
      h("div", { class: "conv-meta" },
        kindChip(conv.channel.kind),
        h("span", { class: "conv-channel", text: conv.channel.name }),
        assignee ? h("span", { class: "conv-assignee", text: `· ${assignee.name}` }) : null,
        position ? h("span", { class: "chip queue-pos", "data-testid": "queue-position", text: t("queue.inQueue", { n: position }) }) : null)));
    return li;
  }

  select(id) {
    this.selected = id;
    for (const li of this.rows.querySelectorAll(".conv")) {
      const on = Number(li.dataset.id) === id;
      li.classList.toggle("selected", on);
      li.setAttribute("aria-selected", String(on));
      if (on) li.scrollIntoView({ block: "nearest" });
    }
  }

  move(step) {
    const items = this.sorted();
    if (!items.length) return;
    const at = items.findIndex((c) => c.id === this.selected);
    const next = items[Math.max(0, Math.min(items.length - 1, at < 0 ? 0 : at + step))];
    this.onSelect(next.id);
  }

  focusSearch() {
    this.searchInput.focus();
    this.searchInput.select();
  }

  /** Fetch a conversation we have not seen; events that arrive meanwhile are applied after. */
  fetchOne(id, event) {
    let pending = this.pending.get(id);
    if (!pending) {
      pending = [];
      this.pending.set(id, pending);
      api.get(`/conversations/${id}`).then((conv) => {
        this.items.set(conv.id, conv);
      }).catch(() => null).finally(() => {
        const events = this.pending.get(id) || [];
        this.pending.delete(id);
        if (this.items.has(id)) for (const apply of events) apply();
        this.paint();
      });
    }
    if (event) pending.push(event);
  }

  onMessage(msg, created) {
    const conv = this.items.get(msg.conversation_id);
    if (!conv) {
      this.fetchOne(msg.conversation_id, () => this.onMessage(msg, created));
      return;
    }
    if (created && !msg.private && (!conv.last_message_at || msg.created_at >= conv.last_message_at)) {
      conv.last_message = { text: msg.text, kind: msg.kind };
      conv.last_message_at = msg.created_at;
    }
    this.paint();
  }

  onConversation(data) {
    const conv = this.items.get(data.id);
    if (!conv) {
      this.fetchOne(data.id, () => this.onConversation(data));
      return;
    }
    if (conv.updated_at && data.updated_at && data.updated_at < conv.updated_at) return;
    const { actor_id: _actor, ...fields } = data;
    if (conv.last_message_at && fields.last_message_at && fields.last_message_at < conv.last_message_at) delete fields.last_message_at;
    Object.assign(conv, fields);
    this.paint();
  }
}
