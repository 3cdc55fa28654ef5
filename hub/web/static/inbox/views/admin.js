// Admin pages: channels (with webhook URLs and embed code), agents and teams.
import * as api from "../api.js";
import { h, avatar, copyText } from "../dom.js";
import { t, kindName, fmtDateTime } from "../i18n.js";

const KINDS = ["webchat", "wechat", "wecom_kf"];

export function renderAdmin(main, page, ctx) {
  main.classList.add("admin");
  const body = h("div", { class: "admin-body" });
  main.replaceChildren(h("div", { class: "admin-wrap" }, body));
  if (ctx.state.me.role !== "admin") {
    body.append(h("p", { class: "empty", text: t("admin.adminOnly") }));
    return;
  }
  const pages = { channels: channelsPage, agents: agentsPage, teams: teamsPage };
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

async function channelsPage(body, ctx) {
  const { items } = await api.get("/channels");
  const teams = (await api.get("/teams")).items;
  const listEl = h("div", { class: "cards" });
  const detail = h("div", { class: "detail" });
  const select = (channel) => {
    for (const c of listEl.children) c.classList.toggle("active", Number(c.dataset.id) === channel?.id);
    detail.replaceChildren(channelForm(channel, teams, async (saved) => {
      await ctx.reloadDirectory();
      channelsPage(body, ctx).then(() => body.querySelector(`.card[data-id="${saved.id}"]`)?.click());
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
  select(items[0] || null);
}

function channelForm(channel, teams, onSaved) {
  const isNew = !channel;
  const kind = h("select", { name: "kind", disabled: !isNew }, KINDS.map((k) => h("option", { value: k, text: kindName(k), selected: channel?.kind === k })));
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
  const syncKind = () => {
    webBox.hidden = kind.value !== "webchat";
    jsonBox.hidden = kind.value === "webchat";
  };
  kind.addEventListener("change", syncKind);
  syncKind();
  const status = h("p", { hidden: true });
  const form = h("form", { class: "panel-form", onsubmit: async (e) => {
    e.preventDefault();
    let settings;
    if (kind.value === "webchat") {
      settings = {
        title: web.title.value.trim(),
        welcome_text: web.welcome.value,
        color: web.color.value,
        prechat_form: web.prechat.checked,
        allowed_origins: web.origins.value.split(/\s+/).map((o) => o.trim()).filter(Boolean),
      };
    } else {
      try {
        settings = JSON.parse(json.value || "{}");
      } catch (err) {
        message(status, err.message);
        return;
      }
    }
    const payload = { name: name.value.trim(), settings, team_id: team.value ? Number(team.value) : null };
    try {
      const saved = isNew
        ? await api.post("/channels", { kind: kind.value, ...payload })
        : await api.patch(`/channels/${channel.id}`, { ...payload, active: active.checked });
      message(status, t("admin.saved"), true);
      onSaved(saved);
    } catch (err) {
      message(status, err.message);
    }
  } },
  h("h2", { text: isNew ? t("admin.newChannel") : channel.name }),
  field(t("admin.kind"), kind), field(t("admin.name"), name), field(t("admin.team"), team),
  isNew ? null : h("label", { class: "check" }, active, h("span", { text: t("admin.active") })),
  webBox, jsonBox, status,
  h("div", { class: "form-actions" }, h("button", { class: "btn primary", type: "submit", text: isNew ? t("admin.create") : t("admin.save") })));
  if (isNew) return form;
  const hooks = Object.entries(channel.webhook_urls || {});
  return h("div", {},
    form,
    h("section", { class: "panel-form" },
      h("h3", { text: t("admin.webhooks") }),
      hooks.length ? hooks.map(([n, url]) => h("div", {}, h("div", { class: "muted small", text: n }), copyRow(url, `webhook-${n}`))) : h("p", { class: "muted", text: t("admin.noWebhooks") }),
      channel.embed_html ? [h("h3", { text: t("admin.embed") }), copyRow(channel.embed_html, "embed-html")] : null,
      h("p", { class: "muted small", text: `${channel.public_key} · ${fmtDateTime(channel.created_at)}` })));
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
