// Canned replies (常用语): the "/" picker of the reply box, and the page where agents keep
// their own and admins their teams' and everyone's, with CSV import and export.
import * as api from "../api.js";
import { h, icon, fmtSize } from "../dom.js";
import { t, fmtDateTime } from "../i18n.js";

/** The variables a canned reply may hold; the hub fills them in for the open conversation. */
export const VARIABLES = ["contact.name", "contact.email", "contact.phone", "agent.name", "conversation.id", "channel.name"];
const PICKER_LIMIT = 20;
const SVG = "http://www.w3.org/2000/svg";

/** The rail's glyph for the page: a speech bubble with lines (常用语). */
export function cannedIcon(size = 22) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zM7 7h10v2H7zm0 4h7v2H7z");
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

/** What the text before the caret asks of the picker: a "/" at the start or after a space,
 *  and the word typed since ({start, query}), or null. */
export function slashQuery(value, caret) {
  const match = value.slice(0, caret).match(/(^|\s)\/([^\s/]{0,40})$/);
  return match ? { start: caret - match[2].length - 1, query: match[2] } : null;
}

function scopeLabel(item, teams) {
  if (item.scope === "team") return teams?.get(item.team_id) || t("canned.scope.team");
  return t(`canned.scope.${item.scope}`);
}

function preview(text, length = 90) {
  const flat = String(text || "").replace(/\s+/g, " ").trim();
  return flat.length > length ? `${flat.slice(0, length)}…` : flat;
}

/**
 * The picker under a reply box: typing "/" (at the start, or after a space) opens it; it
 * filters by short code, title and text as the agent types (the server searches), ↑/↓ move,
 * Enter or Tab choose, Esc closes. Choosing asks the hub to fill the reply in for the open
 * conversation and puts the text in place of "/…", with its saved files for `onFiles`.
 */
export class CannedPicker {
  constructor({ input, conversationId, onFiles, onError, onChanged }) {
    this.input = input;
    this.conversationId = conversationId;
    this.onFiles = onFiles;
    this.onError = onError;
    this.onChanged = onChanged;
    this.items = [];
    this.active = 0;
    this.open = false;
    this.loading = false;
    /** Enter or Tab pressed before the results came: choose the first once they do. */
    this.pendingChoice = false;
    this.seq = 0;
    this.trigger = null;
    this.listEl = h("ul", { class: "canned-options", role: "listbox", id: `canned-options-${Math.random().toString(36).slice(2)}`, "aria-label": t("canned.title") });
    this.statusEl = h("div", { class: "canned-status muted small", role: "status" });
    this.el = h("div", { class: "canned-picker", "data-testid": "canned-picker", hidden: true },
      h("div", { class: "canned-head small" }, h("span", { text: t("canned.pickerHint") }), h("a", { href: "#/canned", text: t("canned.manage"), onmousedown: (e) => e.preventDefault() })),
      this.listEl, this.statusEl);
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", this.listEl.id);
    input.setAttribute("aria-expanded", "false");
  }

  /** After each change of the box (and a caret move): open, filter or close. */
  update() {
    if (this.choosing) return;
    const found = slashQuery(this.input.value, this.input.selectionStart ?? this.input.value.length);
    if (!found) return this.close();
    const changed = !this.open || !this.trigger || found.query !== this.trigger.query;
    this.trigger = found;
    if (!this.open) this.show();
    if (changed) this.search(found.query);
  }

  show() {
    this.open = true;
    this.el.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close() {
    if (!this.open) return;
    this.open = false;
    this.pendingChoice = false;
    this.trigger = null;
    this.items = [];
    this.el.hidden = true;
    this.listEl.replaceChildren();
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  search(query) {
    const seq = ++this.seq;
    this.loading = true;
    clearTimeout(this.timer);
    // a short pause: a word typed quickly is one search, not one per letter
    this.timer = setTimeout(async () => {
      try {
        const page = await api.get(`/canned-replies${api.query({ q: query, limit: PICKER_LIMIT })}`);
        if (seq !== this.seq || !this.open) return;
        this.items = page.items;
        this.active = 0;
        this.loading = false;
        this.paint(query);
        if (this.pendingChoice) {
          this.pendingChoice = false;
          if (this.items.length) this.choose(this.items[0]);
        }
      } catch (err) {
        if (seq !== this.seq) return;
        this.loading = false;
        this.pendingChoice = false;
        this.statusEl.textContent = t("error.generic", { reason: err.message });
      }
    }, 80);
  }

  paint(query) {
    this.listEl.replaceChildren(...this.items.map((item, i) => h("li", {
      class: `canned-option${i === this.active ? " active" : ""}`,
      role: "option",
      id: `${this.listEl.id}-${item.id}`,
      "aria-selected": i === this.active ? "true" : "false",
      dataset: { id: String(item.id), code: item.short_code },
      // mousedown, not click: the box keeps the focus and the caret
      onmousedown: (e) => {
        e.preventDefault();
        this.choose(item);
      },
    },
    h("span", { class: "canned-code", text: `/${item.short_code}` }),
    h("span", { class: "canned-title", text: item.title }),
    h("span", { class: "canned-text muted", text: preview(item.text) }),
    item.attachments.length ? h("span", { class: "canned-files muted small", title: item.attachments.map((a) => a.filename).join(", ") }, icon("clip", 12), String(item.attachments.length)) : null,
    h("span", { class: `canned-scope scope-${item.scope}`, text: t(`canned.scope.${item.scope}`) }))));
    this.statusEl.textContent = this.items.length ? "" : t("canned.noMatch", { query });
    this.markActive();
  }

  markActive() {
    const options = [...this.listEl.children];
    options.forEach((el, i) => {
      el.classList.toggle("active", i === this.active);
      el.setAttribute("aria-selected", i === this.active ? "true" : "false");
    });
    const current = options[this.active];
    if (current) {
      this.input.setAttribute("aria-activedescendant", current.id);
      current.scrollIntoView({ block: "nearest" });
    }
  }

  /** Keys while the picker is open; true when it took the key. */
  onKeydown(e) {
    if (!this.open || e.isComposing) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (this.items.length) {
        const step = e.key === "ArrowDown" ? 1 : -1;
        this.active = (this.active + step + this.items.length) % this.items.length;
        this.markActive();
      }
      return true;
    }
    if ((e.key === "Enter" && !e.shiftKey) || e.key === "Tab") {
      if (this.loading) {
        e.preventDefault();
        this.pendingChoice = true;
        return true;
      }
      if (!this.items.length) {
        if (e.key === "Tab") return false;
        this.close();
        return false; // nothing matches: Enter sends what was typed
      }
      e.preventDefault();
      this.choose(this.items[this.active]);
      return true;
    }
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation(); // the page's Escape would leave the box
      this.close();
      return true;
    }
    return false;
  }

  async choose(item) {
    const conversationId = this.conversationId();
    const trigger = this.trigger;
    if (!item || !trigger || !conversationId) return;
    this.choosing = true;
    this.close();
    try {
      const rendered = await api.post(`/canned-replies/${item.id}/render`, { conversation_id: conversationId });
      if (this.conversationId() !== conversationId) return;
      const value = this.input.value;
      // what was typed after "/" goes: the reply's text takes its place, ready to edit
      let end = trigger.start + 1;
      while (end < value.length && !/\s/.test(value[end])) end += 1;
      this.input.value = value.slice(0, trigger.start) + rendered.text + value.slice(end);
      const caret = trigger.start + rendered.text.length;
      this.input.focus();
      this.input.setSelectionRange(caret, caret);
      if (rendered.attachments.length) this.onFiles(rendered.attachments);
      this.onChanged?.();
    } catch (err) {
      this.onError(t("canned.failed", { reason: err.message }));
    } finally {
      this.choosing = false;
    }
  }
}

// -- the page -----------------------------------------------------------------------------------

/** The page (#/canned): agents keep their own canned replies here, admins every shelf. */
export async function renderCannedPage(main, ctx) {
  main.classList.add("admin");
  const body = h("div", { class: "admin-body canned-page" });
  main.replaceChildren(h("div", { class: "admin-wrap" }, body));
  const me = ctx.state.me;
  const admin = me.role === "admin";
  let teams = new Map();
  try {
    teams = new Map((await api.get("/teams")).items.map((tm) => [tm.id, tm.name]));
  } catch {
    // team canned replies are then shown as "Team"
  }
  const status = h("p", { hidden: true });
  const say = (text, ok = false) => {
    status.textContent = text;
    status.className = ok ? "form-ok" : "form-error";
    status.hidden = !text;
  };
  const report = h("section", { class: "panel-form import-report", "data-testid": "import-report", hidden: true });
  const search = h("input", { type: "search", class: "canned-search", placeholder: t("canned.search"), "aria-label": t("canned.search") });
  const scope = h("select", { "aria-label": t("canned.scope") },
    h("option", { value: "", text: t("canned.allScopes") }),
    ["personal", "team", "global"].map((s) => h("option", { value: s, text: t(`canned.scope.${s}`) })));
  const rows = h("tbody", {});
  const empty = h("p", { class: "empty", hidden: true, text: t("canned.none") });
  const table = h("table", { class: "table canned-table" },
    h("thead", {}, h("tr", {}, ["code", "reply", "scope", "uses", ""].map((c) => h("th", { text: c ? t(`canned.col.${c}`) : "" })))),
    rows);
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    try {
      const page = await api.get(`/canned-replies${api.query({ q: search.value.trim(), scope: scope.value, limit: 500 })}`);
      if (mine !== seq) return;
      rows.replaceChildren(...page.items.map(row));
      empty.hidden = page.items.length > 0;
      table.hidden = page.items.length === 0;
    } catch (err) {
      say(err.message);
    }
  };
  const manages = (item) => item.scope === "personal" || admin;
  const row = (item) => h("tr", { dataset: { id: String(item.id), code: item.short_code } },
    h("td", {}, h("code", { class: "canned-code", text: `/${item.short_code}` })),
    h("td", {},
      h("strong", { text: item.title }),
      h("div", { class: "canned-body muted small", text: item.text }),
      item.attachments.length ? h("div", { class: "small muted" }, icon("clip", 12), " ", item.attachments.map((a) => a.filename).join(", ")) : null),
    h("td", { class: "small", text: scopeLabel(item, teams) }),
    h("td", { class: "small", title: item.last_used_at ? t("canned.lastUsed", { when: fmtDateTime(item.last_used_at) }) : "", text: String(item.uses) }),
    h("td", { class: "right actions" }, manages(item) ? [
      h("button", { class: "btn small", type: "button", "data-action": "edit", text: t("admin.edit"), onclick: () => edit(item) }),
      h("button", { class: "btn small danger", type: "button", "data-action": "delete", text: t("canned.delete"), onclick: async () => {
        if (!confirm(t("canned.confirmDelete", { code: item.short_code }))) return;
        try {
          await api.request("DELETE", `/canned-replies/${item.id}`);
          say(t("canned.deleted"), true);
          await load();
        } catch (err) {
          say(err.message);
        }
      } }),
    ] : h("span", { class: "muted small", text: t("canned.readOnly") })));

  const edit = (item) => openEditor({ item, admin, teams, onSaved: async (saved) => {
    say(t(item ? "canned.saved" : "canned.created", { code: saved.short_code }), true);
    await load();
  } });

  const fileInput = h("input", { type: "file", accept: ".csv,text/csv", hidden: true, "data-testid": "import-file", onchange: async () => {
    const file = fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    say("");
    try {
      showReport(report, await api.uploadTo("/canned-replies/import", file));
      await load();
    } catch (err) {
      report.hidden = true;
      say(t("canned.importFailed", { reason: err.message }));
    }
  } });
  const exportBtn = h("button", { class: "btn", type: "button", "data-action": "export", text: t("canned.export"), onclick: async () => {
    try {
      const file = await api.download("/canned-replies/export");
      const link = h("a", { href: URL.createObjectURL(file.blob), download: file.filename || "canned-replies.csv", hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (err) {
      say(err.message);
    }
  } });
  let typing = null;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(load, 150);
  });
  scope.addEventListener("change", load);
  body.replaceChildren(
    h("div", { class: "admin-head" }, h("h1", { text: t("canned.title") }),
      h("div", { class: "input-row" },
        h("button", { class: "btn", type: "button", "data-action": "import", text: t("canned.import"), onclick: () => fileInput.click() }),
        fileInput, exportBtn,
        h("button", { class: "btn primary", type: "button", "data-action": "new-canned", text: t("canned.new"), onclick: () => edit(null) }))),
    h("p", { class: "muted canned-intro", text: t(admin ? "canned.introAdmin" : "canned.intro") }),
    h("p", { class: "muted small", text: t("canned.csvHint") }),
    status, report,
    h("div", { class: "input-row canned-filters" }, search, scope),
    table, empty);
  await load();
}

function showReport(el, result) {
  el.hidden = false;
  el.replaceChildren(
    h("h3", { text: t("canned.reportTitle") }),
    h("p", { "data-testid": "import-counts", text: t("canned.reportCounts", { created: result.created, updated: result.updated, refused: result.refused.length }) }),
    result.refused.length ? h("table", { class: "table refused-rows" },
      h("thead", {}, h("tr", {}, h("th", { text: t("canned.reportRow") }), h("th", { text: t("canned.reportReason") }))),
      h("tbody", {}, result.refused.map((r) => h("tr", { dataset: { row: String(r.row) } }, h("td", { text: String(r.row) }), h("td", { text: r.reason }))))) : null);
}

/** The form for a new canned reply (item null) or a change, in a dialog. */
function openEditor({ item, admin, teams, onSaved }) {
  const code = h("input", { name: "short_code", required: true, maxlength: "33", value: item?.short_code || "", placeholder: t("canned.codeHint") });
  const title = h("input", { name: "title", required: true, maxlength: "200", value: item?.title || "" });
  const text = h("textarea", { name: "text", rows: "7", maxlength: "10000", value: item?.text || "" });
  const scopes = admin ? ["personal", "team", "global"] : ["personal"];
  const scope = h("select", { name: "scope", disabled: !admin }, scopes.map((s) => h("option", { value: s, text: t(`canned.scope.${s}`), selected: (item?.scope || "personal") === s })));
  const team = h("select", { name: "team_id" }, [...teams].map(([id, name]) => h("option", { value: String(id), text: name, selected: item?.team_id === id })));
  const teamRow = h("label", { class: "field-row" }, h("span", { class: "label", text: t("admin.team") }), team);
  const syncTeam = () => (teamRow.hidden = scope.value !== "team");
  scope.addEventListener("change", syncTeam);
  syncTeam();
  const variables = h("div", { class: "canned-variables" },
    h("span", { class: "muted small", text: t("canned.variables") }),
    VARIABLES.map((name) => h("button", { class: "btn small", type: "button", "data-variable": name, title: t(`canned.var.${name}`), text: `{{${name}}}`, onclick: () => {
      const at = text.selectionStart ?? text.value.length;
      const token = `{{${name}}}`;
      text.value = text.value.slice(0, at) + token + text.value.slice(text.selectionEnd ?? at);
      text.focus();
      text.setSelectionRange(at + token.length, at + token.length);
    } })));
  // the saved files, each kept by the token the hub gave for it
  let files = (item?.attachments || []).map((a) => ({ token: a.token, filename: a.filename, size: a.size, done: Promise.resolve() }));
  const chips = h("div", { class: "file-chips canned-file-chips" });
  const paintFiles = () => chips.replaceChildren(...files.map((f) => h("span", { class: "file-chip", dataset: { name: f.filename } },
    icon("clip", 14), h("span", { text: f.token ? `${f.filename} ${fmtSize(f.size)}` : t("reply.uploading", { name: f.filename }) }),
    h("button", { type: "button", class: "chip-x", "aria-label": t("canned.removeFile"), text: "×", onclick: () => {
      files = files.filter((x) => x !== f);
      paintFiles();
    } }))));
  const fileInput = h("input", { type: "file", multiple: true, hidden: true, "data-testid": "canned-file", onchange: () => {
    for (const file of fileInput.files) {
      const entry = { token: null, filename: file.name, size: file.size, done: null };
      entry.done = api.upload(file).then((res) => {
        entry.token = res.token;
        paintFiles();
      }).catch((err) => {
        files = files.filter((x) => x !== entry);
        paintFiles();
        say(err.message);
      });
      files.push(entry);
    }
    fileInput.value = "";
    paintFiles();
  } });
  paintFiles();
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const say = (message) => {
    error.textContent = message;
    error.hidden = !message;
  };
  const row = (label, input) => h("label", { class: "field-row" }, h("span", { class: "label", text: label }), input);
  const save = h("button", { class: "btn primary", type: "submit", text: item ? t("admin.save") : t("admin.create") });
  const form = h("form", { class: "panel-form canned-form", onsubmit: async (e) => {
    e.preventDefault();
    save.disabled = true;
    say("");
    try {
      await Promise.all(files.map((f) => f.done));
      const payload = {
        short_code: code.value.trim().replace(/^\/+/, ""),
        title: title.value.trim(),
        text: text.value,
        attachments: files.filter((f) => f.token).map((f) => f.token),
      };
      if (admin) {
        payload.scope = scope.value;
        payload.team_id = scope.value === "team" ? Number(team.value) || null : null;
      }
      const saved = item ? await api.patch(`/canned-replies/${item.id}`, payload) : await api.post("/canned-replies", payload);
      dialog.close();
      await onSaved(saved);
    } catch (err) {
      say(err.message);
    } finally {
      save.disabled = false;
    }
  } },
  h("h2", { text: item ? t("canned.edit", { code: item.short_code }) : t("canned.new") }),
  h("div", { class: "grid2" }, row(t("canned.code"), code), row(t("canned.titleField"), title)),
  row(t("canned.text"), text),
  variables,
  h("div", { class: "grid2" }, row(t("canned.scope"), scope), teamRow),
  h("div", { class: "field-row" }, h("span", { class: "label", text: t("canned.files") }), chips,
    h("div", {}, h("button", { class: "btn small", type: "button", "data-action": "add-file", onclick: () => fileInput.click() }, icon("clip", 14), t("canned.addFile")), fileInput)),
  error,
  h("div", { class: "form-actions" },
    h("button", { class: "btn", type: "button", text: t("admin.cancel"), onclick: () => dialog.close() }),
    save));
  const dialog = h("dialog", { class: "account-dialog canned-dialog", "data-testid": "canned-editor", "aria-label": t("canned.title") }, form);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  code.focus();
}
