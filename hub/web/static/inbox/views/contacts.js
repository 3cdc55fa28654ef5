// The contacts directory (客户管理): every customer on every channel, searched, filtered, sorted,
// and a CSV export for a spreadsheet.
import * as api from "../api.js";
import { h, kindChip } from "../dom.js";
import { t, fmtDateTime } from "../i18n.js";

export class ContactDirectory {
  constructor({ state }) {
    this.state = state;
    this.next = null;
    this.timer = null;
    this.rows = h("tbody", {});
    this.search = h("input", { type: "search", class: "search", name: "q", placeholder: t("contacts.search"), "aria-label": t("contacts.search"), oninput: () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.load(), 250);
    } });
    this.channel = h("select", { class: "select", name: "channel", "aria-label": t("contacts.channel"), onchange: () => this.load() },
      h("option", { value: "", text: t("filter.allChannels") }),
      [...state.channels.values()].map((c) => h("option", { value: String(c.id), text: c.name })));
    this.sort = h("select", { class: "select", name: "sort", "aria-label": t("contacts.sort"), onchange: () => this.load() },
      ["recent", "created", "name"].map((s) => h("option", { value: s, text: t(`contacts.sort.${s}`) })));
    this.more = h("button", { class: "btn link more", type: "button", text: t("list.more"), hidden: true, onclick: () => this.load(true) });
    this.el = h("section", { class: "contacts-page", "data-testid": "contacts" },
      h("div", { class: "admin-head" }, h("h1", { text: t("contacts.title") }),
        h("button", { class: "btn", type: "button", "data-action": "export-contacts", text: t("contacts.export"), onclick: () => this.export() })),
      h("div", { class: "contacts-filters" }, this.search, this.channel, this.sort),
      h("table", { class: "contacts" },
        h("thead", {}, h("tr", {}, [t("contacts.name"), t("contacts.email"), t("contacts.phone"), t("contacts.channels"), t("contacts.last"), t("contacts.conversations")].map((label) => h("th", { text: label })))),
        this.rows),
      this.more);
  }

  params(more) {
    return api.query({ q: this.search.value.trim(), channel_id: this.channel.value, sort: this.sort.value, cursor: more ? this.next : "" });
  }

  async load(more = false) {
    const page = await api.get(`/contacts${this.params(more)}`);
    const rows = page.items.map((c) => this.row(c));
    if (more) this.rows.append(...rows);
    else this.rows.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: "6", class: "empty", text: t("contacts.none") }))]));
    this.next = page.next;
    this.more.hidden = !this.next;
  }

  row(c) {
    const chips = c.channel_ids.map((id) => this.state.channels.get(id)).filter(Boolean).map((ch) => kindChip(ch.kind));
    return h("tr", { dataset: { contact: String(c.id) } },
      h("td", {}, h("a", { href: "#", text: c.name, onclick: (e) => { e.preventDefault(); this.open(c); } })),
      h("td", { text: c.email || "" }),
      h("td", { text: c.phone || "" }),
      h("td", {}, chips),
      h("td", { text: c.last_contact_at ? fmtDateTime(c.last_contact_at) : "" }),
      h("td", { text: String(c.conversations) }));
  }

  /** A contact's latest conversation shows them with their whole history. */
  async open(c) {
    const contact = await api.get(`/contacts/${c.id}`);
    const latest = contact.conversations[0];
    if (latest) location.hash = `#/inbox/${latest.id}`;
  }

  async export() {
    const query = api.query({ q: this.search.value.trim(), channel_id: this.channel.value });
    const { blob, filename } = await api.download(`/contacts/export${query}`);
    const link = h("a", { href: URL.createObjectURL(blob), download: filename || "contacts.csv" });
    document.body.append(link);
    link.click();
    link.remove();
  }
}
