// Admin pages: channels (with webhook URLs and embed code), agents, teams and failed events.
import * as api from "../api.js";
import { h, avatar, copyText, randomToken, randomAesKey, safeHttpUrl } from "../dom.js";
import { t, kindName, fmtDateTime } from "../i18n.js";

export function renderAdmin(main, page, ctx) {
  main.classList.add("admin");
  const body = h("div", { class: "admin-body" });
  main.replaceChildren(h("div", { class: "admin-wrap" }, body));
  if (ctx.state.me.role !== "admin") {
    body.append(h("p", { class: "empty", text: t("admin.adminOnly") }));
    return;
  }
  const pages = { channels: channelsPage, agents: agentsPage, teams: teamsPage, failed: failedPage };
  (pages[page] || channelsPage)(body, ctx);
}

function field(label, input, hint) {
  return h("label", { class: "field-row" }, h("span", { class: "label", text: label }), input, hint ? h("span", { class: "muted small", text: hint }) : null);
}

function message(el, text, ok = false) {
  el.textContent = text;
  el.className = ok ? "form-ok" : "form-error";
  el.hidden = !text;
}

function copyRow(value, testid) {
  const btn = h("button", { class: "btn small", type: "button", text: t("admin.copy"), onclick: () => copyText(value, btn, t("admin.copied")) });
  return h("div", { class: "copy-row" }, h("code", { class: "copy-value", "data-testid": testid, text: value }), btn);
}

// -- channels -----------------------------------------------------------------------------------

const MASK = "********";
/** Used when /channel-kinds cannot be read (an older hub). */
const FALLBACK_KINDS = [
  { kind: "webchat", webhook_names: [], secret_settings: [] },
  { kind: "wechat", webhook_names: ["callback"], secret_settings: ["app_secret", "encoding_aes_key", "token"] },
  { kind: "wecom_kf", webhook_names: ["callback"], secret_settings: ["encoding_aes_key", "secret", "token"] },
];
const KIND_ORDER = ["webchat", "wechat", "wecom_kf"];
const TOKEN_RE = /^[A-Za-z0-9]{3,32}$/;
const AES_KEY_RE = /^[A-Za-z0-9]{43}$/;

/** The settings forms of the WeChat kinds; secrets come from /channel-kinds (and `secret` here). */
const WX_FIELDS = {
  wechat: [
    { key: "app_id", required: true, placeholder: "wx…" },
    { key: "app_secret", required: true, secret: true },
    { key: "token", required: true, secret: true, generate: randomToken, pattern: TOKEN_RE, bad: "admin.badToken", hint: "admin.hint.token" },
    { key: "encoding_aes_key", secret: true, generate: randomAesKey, pattern: AES_KEY_RE, bad: "admin.badAesKey", hint: "admin.hint.aesWechat" },
    { key: "subscribe_reply", multiline: true, hint: "admin.hint.subscribe_reply" },
    { key: "api_base_url", url: true, placeholder: "https://api.weixin.qq.com" },
  ],
  wecom_kf: [
    { key: "corp_id", required: true, placeholder: "ww…" },
    { key: "secret", required: true, secret: true },
    { key: "token", required: true, secret: true, generate: randomToken, pattern: TOKEN_RE, bad: "admin.badToken", hint: "admin.hint.token" },
    { key: "encoding_aes_key", required: true, secret: true, generate: randomAesKey, pattern: AES_KEY_RE, bad: "admin.badAesKey", hint: "admin.hint.aesWecom" },
    { key: "open_kfid", required: true, placeholder: "wk…", hint: "admin.hint.open_kfid" },
    { key: "welcome_text", multiline: true, hint: "admin.hint.welcome_text" },
    { key: "api_base_url", url: true, placeholder: "https://qyapi.weixin.qq.com" },
  ],
};
const GUIDES = {
  wechat: { steps: 5, console: "https://mp.weixin.qq.com/" },
  wecom_kf: { steps: 5, console: "https://work.weixin.qq.com/wework_admin/frame" },
};

/** Our own guide strings mark console paths with **…**; they become <strong> (text only). */
function rich(text) {
  return text.split(/\*\*(.+?)\*\*/).map((part, i) => (i % 2 ? h("strong", { text: part }) : part));
}

/**
 * `focus`: {id, revealed} after a save: select that channel and show the secrets just saved in
 * full (once, in memory) so they can be pasted into the provider's console.
 */
async function channelsPage(body, ctx, focus = null) {
  const [{ items }, teamList, kindList] = await Promise.all([
    api.get("/channels"),
    api.get("/teams"),
    api.get("/channel-kinds").then((r) => r.items).catch(() => FALLBACK_KINDS),
  ]);
  const teams = teamList.items;
  const rank = (k) => (KIND_ORDER.includes(k.kind) ? KIND_ORDER.indexOf(k.kind) : KIND_ORDER.length);
  const kinds = [...kindList].sort((a, b) => rank(a) - rank(b) || a.kind.localeCompare(b.kind));
  const listEl = h("div", { class: "cards" });
  const detail = h("div", { class: "detail" });
  const select = (channel, revealed = {}) => {
    for (const c of listEl.children) c.classList.toggle("active", Number(c.dataset.id) === channel?.id);
    detail.replaceChildren(...channelDetail(channel, teams, kinds, revealed, async (saved, shown) => {
      await ctx.reloadDirectory();
      await channelsPage(body, ctx, { id: saved.id, revealed: shown });
    }));
  };
  for (const c of items) {
    listEl.append(h("button", { type: "button", class: "card", dataset: { id: String(c.id) }, onclick: () => select(c) },
      h("span", { class: `chip kind-${c.kind}`, text: kindName(c.kind) }),
      h("strong", { text: c.name }),
      h("span", { class: c.active ? "muted small" : "muted small inactive", text: c.active ? t("admin.active") : t("admin.inactive") })));
  }
  if (!items.length) listEl.append(h("p", { class: "muted", text: t("admin.empty") }));
  body.replaceChildren(
    h("div", { class: "admin-head" }, h("h1", { text: t("admin.channels") }),
      h("button", { class: "btn primary", type: "button", "data-action": "new-channel", text: t("admin.newChannel"), onclick: () => select(null) })),
    h("div", { class: "split" }, listEl, detail));
  const focused = focus ? items.find((c) => c.id === focus.id) : null;
  select(focused || items[0] || null, focused ? focus.revealed || {} : {});
}

/** One WeChat kind's settings inputs: {el, collect()}; collect() throws a translated Error. */
function wxFields(kind, settings, secretKeys, revealed) {
  const inputs = {};
  const rows = WX_FIELDS[kind].map((f) => {
    const secret = f.secret || secretKeys.has(f.key);
    const label = t(`admin.f.${f.key}`);
    const shown = f.generate ? revealed[f.key] : undefined;
    const initialValue = shown ?? settings[f.key] ?? "";
    const input = f.multiline
      ? h("textarea", { name: f.key, rows: "2", value: initialValue })
      : h("input", {
        name: f.key,
        type: secret && shown === undefined ? "password" : "text",
        value: initialValue,
        placeholder: f.placeholder,
        autocomplete: secret ? "new-password" : "off",
        spellcheck: "false",
        class: secret || f.generate ? "mono" : null,
        "aria-label": label,
      });
    inputs[f.key] = input;
    if (secret) input.addEventListener("focus", () => input.value === MASK && input.select());
    let control = input;
    if (f.generate) {
      const copyBtn = h("button", { class: "btn small", type: "button", "data-action": `copy-${f.key}`, text: t("admin.copy"), onclick: () => copyText(input.value, copyBtn, t("admin.copied")) });
      const syncCopy = () => (copyBtn.hidden = !input.value || input.value === MASK);
      input.addEventListener("input", syncCopy);
      syncCopy();
      const genBtn = h("button", { class: "btn small", type: "button", "data-action": `generate-${f.key}`, text: t("admin.generate"), onclick: () => {
        input.value = f.generate();
        input.type = "text"; // the admin pastes it into the console next
        syncCopy();
      } });
      control = h("div", { class: "input-row" }, input, genBtn, copyBtn);
    }
    const hint = f.hint ? t(f.hint) : f.url ? t("admin.hint.apiBase", { url: f.placeholder }) : "";
    return h("label", { class: `field-row${f.required ? " required" : ""}`, dataset: { field: f.key } },
      h("span", { class: "label", text: label }), control,
      hint ? h("span", { class: "muted small", text: hint }) : null,
      shown !== undefined ? h("span", { class: "small revealed", text: t("admin.revealed") }) : null);
  });
  const collect = () => {
    const out = {};
    for (const f of WX_FIELDS[kind]) {
      const raw = inputs[f.key].value;
      const value = f.multiline ? raw.trim() : raw.trim().replace(/\s+/g, "");
      if (f.required && !value) throw new Error(t("admin.required", { field: t(`admin.f.${f.key}`) }));
      if (value && value !== MASK && f.pattern && !f.pattern.test(value)) throw new Error(t(f.bad));
      if (value && f.url && !safeHttpUrl(value)) throw new Error(t("admin.badUrl"));
      out[f.key] = value || null;
    }
    return out;
  };
  const revealedNow = () => {
    // Token and key typed or generated here (not the stored mask) are shown once more after
    // saving: they go into the provider's console next.
    const out = {};
    for (const f of WX_FIELDS[kind]) {
      const v = inputs[f.key].value.trim();
      if (f.generate && v && v !== MASK) out[f.key] = v;
    }
    return out;
  };
  const el = h("div", { class: "fieldset wx-fields", dataset: { kind } },
    h("p", { class: "muted small", text: t("admin.hint.secret") }), rows);
  return { el, collect, revealedNow };
}

/** Where to paste the callback URL, Token and EncodingAESKey in the provider's console. */
function wxGuide(kind, channel) {
  const guide = GUIDES[kind];
  const url = channel?.webhook_urls?.callback;
  const steps = [];
  for (let i = 1; i <= guide.steps; i++) steps.push(h("li", {}, rich(t(`guide.${kind}.${i}`))));
  return h("section", { class: "panel-form guide", "data-testid": "wx-guide", dataset: { kind } },
    h("h3", { text: t(`guide.${kind}.title`) }),
    h("div", {},
      h("div", { class: "label", text: t("admin.callbackUrl") }),
      url ? copyRow(url, "callback-url") : h("p", { class: "muted small", "data-testid": "callback-later", text: t("admin.callbackLater") })),
    h("ol", { class: "guide-steps" }, steps),
    h("p", { class: "muted small" }, `${t("admin.console")}: `,
      h("a", { href: guide.console, target: "_blank", rel: "noopener noreferrer", text: new URL(guide.console).host })));
}

function channelDetail(channel, teams, kinds, revealed, onSaved) {
  const isNew = !channel;
  const known = kinds.map((k) => k.kind);
  if (channel && !known.includes(channel.kind)) known.push(channel.kind);
  const secretsOf = (k) => new Set(kinds.find((x) => x.kind === k)?.secret_settings || []);
  const kind = h("select", { name: "kind", disabled: !isNew }, known.map((k) => h("option", { value: k, text: kindName(k), selected: channel?.kind === k })));
  const name = h("input", { name: "name", required: true, value: channel?.name || "" });
  const active = h("input", { type: "checkbox", name: "active", checked: channel ? channel.active : true });
  const team = h("select", { name: "team" }, h("option", { value: "", text: t("admin.noTeam") }),
    teams.map((tm) => h("option", { value: String(tm.id), text: tm.name, selected: channel?.team_id === tm.id })));
  const s = channel?.settings || {};
  const web = {
    title: h("input", { name: "title", maxlength: "80", value: s.title || "" }),
    welcome: h("textarea", { name: "welcome_text", maxlength: "500", rows: "2", value: s.welcome_text || "" }),
    color: h("input", { name: "color", type: "color", value: s.color || "#1f6feb" }),
    prechat: h("input", { type: "checkbox", name: "prechat_form", checked: !!s.prechat_form }),
    origins: h("textarea", { name: "allowed_origins", rows: "3", placeholder: "https://shop.example.com", value: (s.allowed_origins || []).join("\n") }),
  };
  const json = h("textarea", { name: "settings", rows: "8", class: "mono", value: JSON.stringify(s, null, 2) });
  const webBox = h("div", { class: "fieldset" },
    field(t("admin.title"), web.title), field(t("admin.welcome"), web.welcome), field(t("admin.color"), web.color),
    h("label", { class: "check" }, web.prechat, h("span", { text: t("admin.prechat") })),
    field(t("admin.origins"), web.origins));
  const jsonBox = h("div", { class: "fieldset" }, field(t("admin.settingsJson"), json));
  const wxBox = h("div", {});
  const guideBox = h("div", {});
  let wx = null;
  const syncKind = () => {
    const k = kind.value;
    webBox.hidden = k !== "webchat";
    jsonBox.hidden = k === "webchat" || k in WX_FIELDS;
    // scope selectors to .wx-fields: the hidden web chat box also has a welcome_text
    wx = k in WX_FIELDS ? wxFields(k, isNew ? {} : s, secretsOf(k), revealed) : null;
    wxBox.replaceChildren(wx ? wx.el : "");
    guideBox.replaceChildren(k in GUIDES ? wxGuide(k, channel) : "");
  };
  kind.addEventListener("change", syncKind);
  syncKind();
  const status = h("p", { hidden: true });
  const form = h("form", { class: "panel-form", onsubmit: async (e) => {
    e.preventDefault();
    let settings;
    let shown = {};
    try {
      if (kind.value === "webchat") {
        settings = {
          title: web.title.value.trim(),
          welcome_text: web.welcome.value,
          color: web.color.value,
          prechat_form: web.prechat.checked,
          allowed_origins: web.origins.value.split(/\s+/).map((o) => o.trim()).filter(Boolean),
        };
      } else if (wx) {
        // keys this form does not show are kept as they are (masked secrets stay masked)
        settings = { ...(isNew ? {} : s), ...wx.collect() };
        shown = wx.revealedNow();
      } else {
        settings = JSON.parse(json.value || "{}");
      }
    } catch (err) {
      message(status, err.message);
      return;
    }
    const payload = { name: name.value.trim(), settings, team_id: team.value ? Number(team.value) : null };
    try {
      const saved = isNew
        ? await api.post("/channels", { kind: kind.value, ...payload })
        : await api.patch(`/channels/${channel.id}`, { ...payload, active: active.checked });
      message(status, t("admin.saved"), true);
      onSaved(saved, shown);
    } catch (err) {
      message(status, err.message);
    }
  } },
  h("h2", { text: isNew ? t("admin.newChannel") : channel.name }),
  field(t("admin.kind"), kind), field(t("admin.name"), name), field(t("admin.team"), team),
  isNew ? null : h("label", { class: "check" }, active, h("span", { text: t("admin.active") })),
  webBox, jsonBox, wxBox, status,
  h("div", { class: "form-actions" }, h("button", { class: "btn primary", type: "submit", text: isNew ? t("admin.create") : t("admin.save") })));
  if (isNew) return [form, guideBox];
  // the WeChat kinds show their callback URL in the guide; other kinds list their webhooks here
  const hooks = Object.entries(channel.webhook_urls || {}).filter(([n]) => !(channel.kind in GUIDES && n === "callback"));
  return [
    form,
    guideBox,
    h("section", { class: "panel-form" },
      channel.kind in GUIDES && !hooks.length ? null : [
        h("h3", { text: t("admin.webhooks") }),
        hooks.length ? hooks.map(([n, url]) => h("div", {}, h("div", { class: "muted small", text: n }), copyRow(url, `webhook-${n}`))) : h("p", { class: "muted", text: t("admin.noWebhooks") }),
      ],
      channel.embed_html ? [h("h3", { text: t("admin.embed") }), copyRow(channel.embed_html, "embed-html")] : null,
      h("p", { class: "muted small", text: `${channel.public_key} · ${fmtDateTime(channel.created_at)}` })),
  ];
}

// -- agents -------------------------------------------------------------------------------------

async function agentsPage(body, ctx) {
  const { items } = await api.get("/agents");
  const status = h("p", { hidden: true });
  const rows = items.map((a) => {
    const role = h("select", { "aria-label": t("admin.role"), onchange: async () => {
      try {
        await api.patch(`/agents/${a.id}`, { role: role.value });
        message(status, t("admin.saved"), true);
      } catch (err) {
        message(status, err.message);
      }
    } }, ["agent", "admin"].map((r) => h("option", { value: r, text: t(`role.${r}`), selected: a.role === r })));
    const toggle = h("button", { class: `btn small ${a.active ? "danger" : ""}`, type: "button", disabled: a.id === ctx.state.me.id, text: a.active ? t("admin.deactivate") : t("admin.activate"), onclick: async () => {
      try {
        await api.patch(`/agents/${a.id}`, { active: !a.active });
        await ctx.reloadDirectory();
        agentsPage(body, ctx);
      } catch (err) {
        message(status, err.message);
      }
    } });
    return h("tr", { class: a.active ? "" : "inactive", dataset: { id: String(a.id) } },
      h("td", {}, h("div", { class: "who" }, avatar(a.name, `a${a.id}`, "sm"), h("div", {}, h("strong", { text: a.name }), h("div", { class: "muted small", text: a.email })))),
      h("td", {}, role),
      h("td", {}, h("span", { class: `presence ${a.online ? "on" : ""}`, text: a.online ? t("admin.online") : t("admin.offline") })),
      h("td", {}, h("span", { text: a.active ? t("admin.active") : t("admin.inactive") })),
      h("td", { class: "right" }, toggle));
  });
  const email = h("input", { type: "email", name: "email", required: true });
  const name = h("input", { name: "name", required: true });
  const password = h("input", { type: "password", name: "password", minlength: "8", required: true, autocomplete: "new-password" });
  const role = h("select", { name: "role" }, ["agent", "admin"].map((r) => h("option", { value: r, text: t(`role.${r}`) })));
  const invite = h("form", { class: "panel-form inline", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api.post("/agents", { email: email.value.trim(), name: name.value.trim(), password: password.value, role: role.value });
      await ctx.reloadDirectory();
      agentsPage(body, ctx);
    } catch (err) {
      message(status, err.message);
    }
  } },
  h("h3", { text: t("admin.inviteAgent") }),
  h("div", { class: "grid4" }, field(t("admin.email"), email), field(t("admin.name"), name), field(t("admin.password"), password), field(t("admin.role"), role)),
  h("div", { class: "form-actions" }, h("button", { class: "btn primary", type: "submit", text: t("admin.create") })));
  body.replaceChildren(
    h("div", { class: "admin-head" }, h("h1", { text: t("admin.agents") })),
    status,
    h("table", { class: "table" }, h("tbody", {}, rows)),
    invite);
}

// -- teams --------------------------------------------------------------------------------------

async function teamsPage(body, ctx) {
  const [{ items }, agents] = await Promise.all([api.get("/teams"), api.get("/agents")]);
  const status = h("p", { hidden: true });
  const teamForm = (team) => {
    const name = h("input", { name: "name", required: true, value: team?.name || "" });
    const boxes = agents.items.map((a) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: String(a.id), checked: team ? team.agent_ids.includes(a.id) : false }), h("span", { text: a.name })));
    return h("form", { class: "panel-form team", onsubmit: async (e) => {
      e.preventDefault();
      const payload = { name: name.value.trim(), agent_ids: boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => Number(i.value)) };
      try {
        if (team) await api.put(`/teams/${team.id}`, payload);
        else await api.post("/teams", payload);
        teamsPage(body, ctx);
      } catch (err) {
        message(status, err.message);
      }
    } },
    h("h3", { text: team ? team.name : t("admin.newTeam") }),
    field(t("admin.name"), name),
    h("div", { class: "label", text: t("admin.members") }),
    h("div", { class: "members" }, boxes),
    h("div", { class: "form-actions" }, h("button", { class: "btn primary", type: "submit", text: team ? t("admin.save") : t("admin.create") })));
  };
  body.replaceChildren(
    h("div", { class: "admin-head" }, h("h1", { text: t("admin.teams") })),
    status,
    h("div", { class: "team-grid" }, items.map((tm) => teamForm(tm)), teamForm(null)));
}

// -- failed inbound events ----------------------------------------------------------------------

/** Accepted events whose processing failed for good: retry once the cause is fixed, or dismiss. */
async function failedPage(body, ctx, view = "failed") {
  const status = h("p", { hidden: true });
  const rowsEl = h("tbody", {});
  const more = h("button", { class: "btn", type: "button", hidden: true, text: t("list.more") });
  const retryAll = h("button", { class: "btn primary", type: "button", "data-action": "retry-all", hidden: true, text: t("failed.retryAll") });
  const viewSelect = h("select", { "aria-label": t("failed.show"), onchange: () => failedPage(body, ctx, viewSelect.value) },
    ["failed", "dismissed"].map((v) => h("option", { value: v, text: t(`failed.view.${v}`), selected: v === view })));
  const table = h("table", { class: "table failed-table", hidden: true },
    h("thead", {}, h("tr", {}, ["received", "channel", "customer", "reason", "attempts", ""].map((c) => h("th", { text: c ? t(`failed.col.${c}`) : "" })))),
    rowsEl);
  const empty = h("p", { class: "empty", "data-testid": "failed-empty", hidden: true, text: t(view === "failed" ? "failed.none" : "failed.noneDismissed") });

  const change = async (action, ids) => {
    try {
      const result = await api.post(`/inbound-events/${action}`, ids ? { ids } : { all: true });
      const done = new Set(result.ids);
      for (const row of [...rowsEl.children]) if (done.has(Number(row.dataset.id))) row.remove();
      // "retry all" takes the oldest first, up to its limit: show what is still failed
      if (!ids) await load(true);
      message(status, t(`failed.${action}Done`, { n: result.ids.length }), true);
      sync();
      await ctx.failedChanged?.();
    } catch (err) {
      message(status, err.message);
    }
  };
  const sync = () => {
    const any = rowsEl.children.length > 0;
    table.hidden = !any;
    empty.hidden = any;
    retryAll.hidden = !any || view !== "failed";
  };
  const row = (ev) => {
    const who = ev.summary.sender_name || ev.summary.sender_id || "";
    const said = ev.summary.text || (ev.summary.kind ? `[${ev.summary.kind}]` : "");
    const actions = view === "failed" ? [
      h("button", { class: "btn small primary", type: "button", "data-action": "retry", text: t("failed.retry"), onclick: () => change("retry", [ev.id]) }),
      h("button", { class: "btn small", type: "button", "data-action": "dismiss", text: t("failed.dismiss"), onclick: () => change("dismiss", [ev.id]) }),
    ] : [];
    return h("tr", { dataset: { id: String(ev.id) } },
      h("td", { class: "small", text: fmtDateTime(ev.received_at) }),
      h("td", {}, h("span", { class: `chip kind-${ev.channel.kind}`, text: kindName(ev.channel.kind) }), h("div", { class: "small", text: ev.channel.name })),
      h("td", {}, h("strong", { text: who }), h("div", { class: "said small muted", text: said })),
      h("td", {}, h("div", { class: "reason", text: ev.error || t("failed.noReason") }),
        h("details", {}, h("summary", { class: "small muted", text: t("failed.payload") }), h("pre", { text: JSON.stringify(ev.payload, null, 2) }))),
      h("td", { class: "small", text: String(ev.attempts) }),
      h("td", { class: "actions right" }, actions));
  };
  let cursor = null;
  let loads = 0; // a fresh load makes any page still on its way stale
  const load = async (fresh = false) => {
    if (fresh) {
      loads += 1;
      cursor = null;
    }
    const mine = loads;
    const query = new URLSearchParams({ status: view, limit: "50" });
    if (cursor) query.set("cursor", cursor);
    try {
      const page = await api.get(`/inbound-events?${query}`);
      if (mine !== loads) return;
      if (fresh) rowsEl.replaceChildren();
      // a "more" that raced a fresh load must not show a row twice
      rowsEl.append(...page.items.filter((ev) => !rowsEl.querySelector(`tr[data-id="${ev.id}"]`)).map(row));
      cursor = page.next;
      more.hidden = !cursor;
      sync();
    } catch (err) {
      message(status, err.message);
    }
  };
  more.addEventListener("click", () => load());
  retryAll.addEventListener("click", () => change("retry", null));
  // Live: new failures show up (one reload for a burst of them); what another admin retried
  // or dismissed goes away at once.
  let reload = null;
  ctx.onFailedEvents = (data) => {
    if (data.change === "failed" ? view !== "failed" : view === "dismissed" && data.change !== "dismissed") return;
    if (data.change === "failed" || view === "dismissed") {
      clearTimeout(reload);
      reload = setTimeout(() => load(true), 300);
      return;
    }
    const gone = new Set(data.ids);
    for (const row of [...rowsEl.children]) if (gone.has(Number(row.dataset.id))) row.remove();
    sync();
  };
  body.replaceChildren(
    h("div", { class: "admin-head" }, h("h1", { text: t("failed.title") }), h("div", { class: "input-row" }, viewSelect, retryAll)),
    h("p", { class: "muted failed-intro", text: t(view === "failed" ? "failed.intro" : "failed.introDismissed") }),
    status, table, empty, more);
  await load();
}
