// The live visitor panel (访客面板): who is on the business's sites now, where they came from,
// the page they are on and their trail, kept live by the hub's visitors.changed events.
import * as api from "../api.js";
import { h, icon, kindChip } from "../dom.js";
import { t, pick, fmtTime, fmtDuration } from "../i18n.js";

function host(url) {
  try { return new URL(url).host; } catch { return ""; }
}

export class VisitorPanel {
  constructor({ state }) {
    this.state = state;
    /** the app keeps it live (state.visitors); this panel draws it */
    this.visitors = state.visitors;
    this.open = new Set();
    /** the whole trails of the expanded rows, read once */
    this.trails = new Map();
    this.channel = "";
    this.rows = h("tbody", {});
    this.count = h("span", { class: "muted", "data-testid": "visitor-count" });
    const channels = [...state.channels.values()].filter((c) => c.kind === "webchat");
    const pickChannel = h("select", { class: "select", "aria-label": t("visitors.channel"), onchange: () => { this.channel = pickChannel.value; this.paint(); } },
      h("option", { value: "", text: t("filter.allChannels") }),
      channels.map((c) => h("option", { value: String(c.id), text: c.name })));
    this.el = h("section", { class: "visitors-page", "data-testid": "visitors" },
      h("div", { class: "admin-head" }, h("h1", {}, t("visitors.title"), " ", this.count), channels.length > 1 ? pickChannel : null),
      h("table", { class: "visitors" },
        h("thead", {}, h("tr", {},
          [t("visitors.who"), t("visitors.page"), t("visitors.from"), t("visitors.onSite"), t("visitors.visits"), ""].map((label) => h("th", { text: label })))),
        this.rows));
    // how long each visitor has been on the site grows by itself
    this.ticker = setInterval(() => this.tick(), 15000);
  }

  stop() {
    clearInterval(this.ticker);
  }

  /** After a visitors.changed event (the app has applied it to the map): redraw. */
  onChanged(data) {
    for (const v of data.visitors || []) {
      // events carry the last pages of a trail; an expanded row keeps the whole one it read
      const trail = this.trails.get(v.id);
      if (trail && v.current_page && trail[trail.length - 1]?.url !== v.current_page.url) trail.push(v.current_page);
    }
    for (const id of data.left || []) this.trails.delete(id);
    this.paint();
  }

  sorted() {
    const items = [...this.visitors.values()].filter((v) => !this.channel || String(v.channel_id) === this.channel);
    return items.sort((a, b) => b.online_since.localeCompare(a.online_since));
  }

  paint() {
    const items = this.sorted();
    this.count.textContent = `(${items.length})`;
    this.rows.replaceChildren(...items.flatMap((v) => this.row(v)));
    if (!items.length) this.rows.append(h("tr", {}, h("td", { colspan: "6", class: "empty", text: t("visitors.empty") })));
  }

  tick() {
    for (const cell of this.rows.querySelectorAll("[data-since]")) cell.textContent = fmtDuration((Date.now() - Date.parse(cell.dataset.since)) / 1000);
  }

  row(v) {
    const channel = this.state.channels.get(v.channel_id);
    const where = [v.region ? pick(v.region) : "", v.device ? `${t(`visitors.device.${v.device.kind}`)} · ${v.device.browser}` : "", v.ip || ""].filter(Boolean).join(" · ");
    const page = v.current_page;
    const came = v.search_words
      ? h("span", { class: "search-words", title: v.referrer }, icon("search", 14), " ", v.search_words)
      : h("span", { class: "muted", text: v.referrer ? host(v.referrer) : t("visitors.direct") });
    const expanded = this.open.has(v.id);
    const invitation = v.invitation;
    const invited = invitation ? h("span", { class: `invite-tag ${invitation.outcome}`, "data-outcome": invitation.outcome, text: t(`visitors.invite.${invitation.outcome}`) }) : null;
    const chatting = v.conversation_id
      ? h("a", { class: "btn small", href: `#/inbox/${v.conversation_id}`, text: t("visitors.chatting") })
      : invitation?.outcome === "sent"
        ? null
        : h("button", { class: "btn small", type: "button", "data-action": "invite", text: t("visitors.invite"), onclick: (e) => { e.stopPropagation(); this.invite(v); } });
    const tr = h("tr", { class: `visitor${expanded ? " open" : ""}`, dataset: { visitor: v.visitor_id }, onclick: (e) => { if (!e.target.closest("a")) this.toggle(v); } },
      h("td", {}, channel ? kindChip(channel.kind) : null, " ", h("span", { class: "visitor-where", text: where || t("visitors.unknown") })),
      h("td", {}, page ? h("a", { href: page.url, target: "_blank", rel: "noopener noreferrer", class: "visitor-page", text: page.title || page.url, title: page.url }) : null),
      h("td", {}, came),
      h("td", { dataset: { since: v.online_since }, text: fmtDuration((Date.now() - Date.parse(v.online_since)) / 1000) }),
      h("td", { text: String(v.visits) }),
      h("td", { class: "visitor-actions" }, invited, " ", chatting));
    if (!expanded) return [tr];
    const pages = this.trails.get(v.id) || v.pages;
    const trail = h("tr", { class: "trail-row" }, h("td", { colspan: "6" },
      h("ol", { class: "trail", "aria-label": t("visitors.trail") },
        pages.map((p) => h("li", {}, h("time", { text: fmtTime(p.at) }), " ", h("a", { href: p.url, target: "_blank", rel: "noopener noreferrer", text: p.title || p.url, title: p.url }))))));
    return [tr, trail];
  }

  /** Asks for the words of an invitation to chat and sends it to the visitor's page. */
  invite(v) {
    const text = h("textarea", { name: "text", rows: "3", maxlength: "1000", required: true });
    text.value = t("visitors.inviteText");
    const status = h("p", { class: "form-error", role: "alert", hidden: true });
    const send = h("button", { class: "btn primary", type: "submit", text: t("visitors.inviteSend") });
    const form = h("form", { method: "dialog", class: "panel-form", onsubmit: async (e) => {
      e.preventDefault();
      send.disabled = true;
      try {
        await api.post("/visitors/invite", { channel_id: v.channel_id, visitor_id: v.visitor_id, text: text.value.trim() });
        dialog.close();
      } catch (err) {
        status.textContent = t("error.generic", { reason: err.message });
        status.hidden = false;
      } finally {
        send.disabled = false;
      }
    } },
    h("h2", { text: t("visitors.inviteTitle") }),
    h("p", { class: "muted small", text: v.current_page ? v.current_page.title || v.current_page.url : "" }),
    h("label", { class: "field-row" }, h("span", { class: "label", text: t("visitors.inviteWords") }), text),
    status,
    h("div", { class: "form-actions" },
      h("button", { class: "btn", type: "button", text: t("admin.cancel"), onclick: () => dialog.close() }),
      send));
    const dialog = h("dialog", { class: "account-dialog", "data-testid": "invite-dialog", "aria-label": t("visitors.inviteTitle") }, form);
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    text.focus();
  }

  async toggle(v) {
    if (this.open.has(v.id)) {
      this.open.delete(v.id);
      this.paint();
      return;
    }
    this.open.add(v.id);
    this.paint();
    try {
      const full = await api.get(`/visitors/trail${api.query({ channel_id: v.channel_id, visitor_id: v.visitor_id })}`);
      this.trails.set(v.id, full.pages);
      this.paint();
    } catch {
      // gone from the site meanwhile: the next event removes the row
    }
  }
}
