// Admin pages: channels (with webhook URLs and embed code), agents, teams and failed events.
import * as api from "../api.js";
import { h, icon, avatar, copyText, randomToken, randomAesKey, safeHttpUrl, kindChip } from "../dom.js";
import { t, pick, kindName, kindInfo, setKinds, fmtDateTime } from "../i18n.js";
import { rulesSection } from "./invitation_rules.js";
import { serviceRulesPage } from "./service_rules.js";
import { presenceTag } from "./presence.js";
import { teamRoutingFields, agentCapacityInput } from "./routing_settings.js";
import { widgetPreview } from "./widget_preview.js";

export function renderAdmin(main, page, ctx) {
  main.classList.add("admin");
  const body = h("div", { class: "admin-body" });
  main.replaceChildren(h("div", { class: "admin-wrap" }, body));
  if (ctx.state.me.role !== "admin") {
    body.append(h("p", { class: "empty", text: t("admin.adminOnly") }));
    return;
  }
  const pages = { channels: channelsPage, agents: agentsPage, teams: teamsPage, service: serviceRulesPage, failed: failedPage };
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
/** What a setting's `x-generate` asks for. */
const GENERATORS = { token: randomToken, aes_key: randomAesKey };

/** A guide's texts mark console paths and buttons with **…**; they become <strong> (text only). */
function rich(text) {
  return String(text).split(/\*\*(.+?)\*\*/).map((part, i) => (i % 2 ? h("strong", { text: part }) : part));
}

/** An Error the form shows, with the input to put the focus back on. */
function invalid(text, input) {
  const err = new Error(text);
  err.input = input;
  return err;
}

/** A JSON Schema `pattern` as a RegExp, or null when this browser cannot read it (the server checks). */
function compilePattern(pattern) {
  if (typeof pattern !== "string") return null;
  for (const flags of ["u", ""]) {
    try {
      return new RegExp(pattern, flags);
    } catch {
      /* try without the unicode flag */
    }
  }
  return null;
}

/** Connector packages the hub left out at start, with the reason: the admin should know. */
/** What keeps the hub from reading this channel now (a mailbox's refused login), if anything. */
function readerProblems(channel) {
  if (!channel?.problems?.length) return null;
  return h("section", { class: "notice warn", role: "status", "data-testid": "reader-problems" },
    h("strong", { text: t("admin.readerProblem") }),
    h("ul", {}, channel.problems.map((p) => h("li", {},
      h("span", { text: pick(p.text) }), " ",
      h("span", { class: "muted small", text: t("admin.readerSince", { when: fmtDateTime(p.since) }) })))));
}

function problemsBox(problems) {
  return h("section", { class: "notice warn", role: "status", "data-testid": "kind-problems" },
    h("div", { class: "notice-head" }, icon("warn", 18), h("strong", { text: t("admin.kindProblems") })),
    h("ul", {}, problems.map((p) => h("li", {}, h("code", { text: String(p.source ?? "") }), " ", h("span", { text: pick(p.reason) })))));
}

/**
 * `focus`: {id, revealed} after a save: select that channel and show the secrets just saved in
 * full (once, in memory) so they can be pasted into the provider's console.
 */
async function channelsPage(body, ctx, focus = null) {
  const [{ items }, teamList, kindResult] = await Promise.all([
    api.get("/channels"),
    api.get("/teams"),
    api.get("/channel-kinds").catch((err) => ({ failed: err })),
  ]);
  if (!kindResult.failed) {
    ctx.state.kinds = kindResult.items || [];
    ctx.state.kindProblems = kindResult.problems || [];
    setKinds(ctx.state.kinds);
  }
  const teams = teamList.items;
  const kinds = ctx.state.kinds.map((k) => k.kind);
  const listEl = h("div", { class: "cards" });
  const detail = h("div", { class: "detail" });
  const select = (channel, revealed = {}) => {
    for (const c of listEl.children) c.classList.toggle("active", Number(c.dataset.id) === channel?.id);
    detail.replaceChildren(...[readerProblems(channel), ...channelDetail(channel, teams, kinds, revealed, async (saved, shown) => {
      await ctx.reloadDirectory();
      await channelsPage(body, ctx, { id: saved.id, revealed: shown });
    })].filter(Boolean));
  };
  for (const c of items) {
    listEl.append(h("button", { type: "button", class: "card", dataset: { id: String(c.id) }, onclick: () => select(c) },
      kindChip(c.kind),
      h("strong", { text: c.name }),
      h("span", { class: c.active ? "muted small" : "muted small inactive", text: c.active ? t("admin.active") : t("admin.inactive") }),
      c.problems?.length ? h("span", { class: "reader-warn", title: pick(c.problems[0].text), "aria-label": t("admin.readerProblem"), text: "⚠" }) : null));
  }
  if (!items.length) listEl.append(h("p", { class: "muted", text: t("admin.empty") }));
  body.replaceChildren(...[
    h("div", { class: "admin-head" }, h("h1", { text: t("admin.channels") }),
      h("button", { class: "btn primary", type: "button", "data-action": "new-channel", text: t("admin.newChannel"), onclick: () => select(null) })),
    kindResult.failed ? h("p", { class: "form-error", role: "alert", text: t("admin.kindsFailed", { reason: kindResult.failed.message }) }) : null,
    ctx.state.kindProblems.length ? problemsBox(ctx.state.kindProblems) : null,
    h("div", { class: "split" }, listEl, detail),
  ].filter(Boolean));
  const focused = focus ? items.find((c) => c.id === focus.id) : null;
  select(focused || items[0] || null, focused ? focus.revealed || {} : {});
}

/** WCAG 2 contrast ratio of white text on a #rrggbb colour. */
export function contrastWithWhite(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (luminance + 0.05);
}

/**
 * One setting's input, drawn from its JSON Schema: {name, el, input, generate, secret, read()}.
 * read() gives the value to send (undefined: leave it out, the server's default applies) or
 * throws a translated Error.
 */
function settingField(kind, name, prop, required, settings, revealed, channelId) {
  const label = pick(prop["x-label"]) || prop.title || name;
  const help = pick(prop["x-help"]);
  const secret = !!prop["x-secret"];
  const generate = GENERATORS[prop["x-generate"]] || null;
  const nullable = !!prop["x-nullable"];
  const widget = prop["x-widget"];
  const stored = Object.hasOwn(settings, name) ? settings[name] : undefined;
  const fallback = Object.hasOwn(prop, "default") ? prop.default : undefined;
  const initial = stored ?? fallback;
  const isLines = widget === "lines" || (prop.type === "array" && (!prop.items || prop.items.type === "string"));
  const id = `setting-${kind}-${name}`;
  const helpId = help ? `${id}-help` : null;
  const common = { id, name, "aria-describedby": helpId, "aria-required": required ? "true" : null };
  /** The value typed, or what to send when it is empty (a required one is refused). */
  const empty = (input) => {
    if (required) throw invalid(t("admin.required", { field: label }), input);
    return nullable ? null : undefined;
  };
  const checkText = (value, input, schema = prop) => {
    if (typeof schema.maxLength === "number" && [...value].length > schema.maxLength) throw invalid(t("admin.tooLong", { field: label, n: schema.maxLength }), input);
    if (typeof schema.minLength === "number" && [...value].length < schema.minLength) throw invalid(t("admin.badFormat", { field: label }), input);
    const re = compilePattern(schema.pattern);
    if (re && !re.test(value)) throw invalid(t("admin.badFormat", { field: label }), input);
  };
  let input;
  let control;
  let read;
  let check = false;
  if (Array.isArray(prop.enum)) {
    input = h("select", common,
      !required || nullable ? h("option", { value: "", text: t("admin.choose") }) : null,
      prop.enum.map((v) => h("option", { value: String(v), text: String(v), selected: initial !== undefined && initial !== null && String(initial) === String(v) })));
    read = () => (input.value === "" ? empty(input) : prop.enum.find((v) => String(v) === input.value));
  } else if (prop.type === "boolean") {
    check = true;
    input = h("input", { ...common, type: "checkbox", checked: !!initial });
    read = () => input.checked;
  } else if (widget === "audio" || widget === "image") {
    // a file the admin uploads (a greeting, a logo); the setting holds the stored file's key
    const picture = widget === "image";
    let value = typeof initial === "string" && initial ? initial : null;
    let uploading = false;
    const player = picture
      ? h("img", { class: "setting-image", alt: "", hidden: true })
      : h("audio", { controls: true, preload: "none", class: "setting-audio", hidden: true });
    const status = h("span", { class: "muted small", role: "status" });
    const show = (src) => {
      player.hidden = !src;
      if (src) player.src = src;
      else player.removeAttribute("src");
    };
    input = h("input", { ...common, type: "file", accept: picture ? "image/png,image/jpeg,image/webp,image/gif" : "audio/mpeg,audio/wav,.mp3,.wav" });
    const remove = h("button", { class: "btn small", type: "button", "data-action": `remove-${name}`, text: t("admin.audioRemove"), hidden: !value, onclick: () => {
      value = null;
      show(null);
      remove.hidden = true;
      input.value = "";
      status.textContent = picture ? t("admin.imageNone") : t("admin.audioNone");
      input.dispatchEvent(new Event("input", { bubbles: true }));
    } });
    show(value && channelId ? `/channel-files/${channelId}/${value}` : null);
    status.textContent = value ? (picture ? t("admin.imageSet") : t("admin.audioSet")) : (picture ? t("admin.imageNone") : t("admin.audioNone"));
    input.addEventListener("change", async () => {
      const file = input.files[0];
      if (!file) return;
      uploading = true;
      status.textContent = t("reply.uploading", { name: file.name });
      try {
        const stored = await api.uploadTo("/channel-files", file);
        value = stored.key;
        show(URL.createObjectURL(file));
        input.dataset.preview = player.src;
        input.dispatchEvent(new Event("input", { bubbles: true }));
        remove.hidden = false;
        status.textContent = t("admin.audioUploaded", { name: file.name });
      } catch (err) {
        input.value = "";
        status.textContent = t("admin.audioFailed", { reason: err.message });
      } finally {
        uploading = false;
      }
    });
    read = () => {
      if (uploading) throw invalid(t("admin.audioUploading", { field: label }), input);
      return value ?? empty(input);
    };
    control = h("div", { class: picture ? "image-setting" : "audio-setting" }, player, h("div", { class: "input-row" }, input, remove), status);
  } else if (widget === "color") {
    input = h("input", { ...common, type: "color", value: typeof initial === "string" && /^#[0-9a-fA-F]{6}$/.test(initial) ? initial : "#000000" });
    // the widget writes white on this colour: say so when that is hard to read
    const warning = h("p", { class: "form-warn small", role: "status", "data-testid": `contrast-${name}`, hidden: true });
    const judge = () => {
      const ratio = contrastWithWhite(input.value);
      warning.hidden = ratio >= 4.5;
      warning.textContent = t("admin.contrastLow", { ratio: ratio.toFixed(1) });
    };
    input.addEventListener("input", judge);
    judge();
    control = h("div", {}, input, warning);
    read = () => {
      checkText(input.value, input);
      return input.value;
    };
  } else if (isLines) {
    const lines = Array.isArray(initial) ? initial.map(String) : [];
    input = h("textarea", { ...common, rows: "3", spellcheck: "false", placeholder: prop["x-placeholder"], value: lines.join("\n") });
    read = () => {
      const values = input.value.split(/\r?\n/).map((v) => v.trim()).filter(Boolean);
      if (!values.length && required && prop.minItems) throw invalid(t("admin.required", { field: label }), input);
      if (typeof prop.maxItems === "number" && values.length > prop.maxItems) throw invalid(t("admin.tooMany", { field: label, n: prop.maxItems }), input);
      for (const v of values) checkText(v, input, prop.items || {});
      return values.length || !nullable ? values : null;
    };
  } else if (prop.type === "string") {
    const shown = generate ? revealed[name] : undefined;
    const value = shown ?? (typeof stored === "string" ? stored : stored == null ? "" : String(stored));
    input = prop["x-multiline"]
      ? h("textarea", { ...common, rows: "3", placeholder: prop["x-placeholder"], value })
      : h("input", {
        ...common,
        type: secret && shown === undefined ? "password" : "text",
        value,
        placeholder: prop["x-placeholder"] ?? (typeof fallback === "string" && fallback ? fallback : null),
        autocomplete: secret ? "new-password" : "off",
        spellcheck: "false",
        maxlength: typeof prop.maxLength === "number" && !secret ? String(prop.maxLength) : null,
        class: secret || generate ? "mono" : null,
      });
    if (secret) input.addEventListener("focus", () => input.value === MASK && input.select());
    read = () => {
      const v = input.value.trim();
      if (secret && v === MASK) return MASK; // the server keeps the stored secret
      if (!v) return empty(input);
      checkText(v, input);
      return v;
    };
    if (generate) {
      const copyBtn = h("button", { class: "btn small", type: "button", "data-action": `copy-${name}`, "aria-label": `${t("admin.copy")}: ${label}`, text: t("admin.copy"), onclick: () => copyText(input.value, copyBtn, t("admin.copied")) });
      const syncCopy = () => (copyBtn.hidden = !input.value || input.value === MASK);
      input.addEventListener("input", syncCopy);
      syncCopy();
      const genBtn = h("button", { class: "btn small", type: "button", "data-action": `generate-${name}`, "aria-label": `${t("admin.generate")}: ${label}`, text: t("admin.generate"), onclick: () => {
        input.value = generate();
        input.type = "text"; // the admin pastes it into the console next
        syncCopy();
      } });
      control = h("div", { class: "input-row" }, input, genBtn, copyBtn);
    }
  } else if (prop.type === "integer" || prop.type === "number") {
    const integer = prop.type === "integer";
    input = h("input", { ...common, type: "number", inputmode: integer ? "numeric" : "decimal", step: integer ? "1" : "any", value: initial == null ? "" : String(initial) });
    read = () => {
      if (input.validity?.badInput) throw invalid(t("admin.badNumber", { field: label }), input);
      const raw = input.value.trim();
      if (!raw) return empty(input);
      const n = Number(raw);
      if (!Number.isFinite(n)) throw invalid(t("admin.badNumber", { field: label }), input);
      if (integer && !Number.isInteger(n)) throw invalid(t("admin.badInteger", { field: label }), input);
      const bounds = [
        ["minimum", "≥", (x) => n >= x], ["exclusiveMinimum", ">", (x) => n > x],
        ["maximum", "≤", (x) => n <= x], ["exclusiveMaximum", "<", (x) => n < x],
      ].filter(([key]) => typeof prop[key] === "number");
      if (bounds.some(([key, , ok]) => !ok(prop[key]))) {
        const range = bounds.map(([key, sign]) => `${sign} ${prop[key]}`).join(", ");
        throw invalid(t("admin.outOfRange", { field: label, range }), input);
      }
      return n;
    };
  } else {
    // a shape the form has no widget for: its JSON
    input = h("textarea", { ...common, rows: "4", class: "mono", spellcheck: "false", value: initial === undefined ? "" : JSON.stringify(initial, null, 2) });
    read = () => {
      const raw = input.value.trim();
      if (!raw) return empty(input);
      try {
        return JSON.parse(raw);
      } catch (err) {
        throw invalid(t("admin.badJson", { field: label, reason: err.message }), input);
      }
    };
  }
  const hint = help ? h("span", { class: "muted small", id: helpId, text: help }) : null;
  const note = generate && revealed[name] !== undefined ? h("span", { class: "small revealed", text: t("admin.revealed") }) : null;
  const el = check
    ? h("div", { class: "field-row", dataset: { field: name } }, h("label", { class: "check" }, input, h("span", { text: label })), hint)
    : h("label", { class: `field-row${required ? " required" : ""}`, dataset: { field: name } },
      h("span", { class: "label", text: label }), control || input, hint, note);
  return { name, el, input, generate: !!generate, secret, read };
}

/** A kind's settings form, drawn from its `settings_schema`: {el, collect(), revealedNow()}. */
function settingsForm(kind, schema, settings, revealed, isNew, channelId = null) {
  if (!schema || typeof schema.properties !== "object" || schema.properties === null) {
    // a kind the hub does not describe: its settings as JSON
    const json = h("textarea", { name: "settings", rows: "8", class: "mono", spellcheck: "false", value: JSON.stringify(settings, null, 2) });
    const label = t("admin.settingsJson");
    return {
      el: h("div", { class: "fieldset settings-fields", dataset: { kind } },
        h("p", { class: "muted small", text: t("admin.noSchema") }), field(label, json)),
      collect: () => {
        let value;
        try {
          value = JSON.parse(json.value.trim() || "{}");
        } catch (err) {
          throw invalid(t("admin.badJson", { field: label, reason: err.message }), json);
        }
        if (!value || typeof value !== "object" || Array.isArray(value)) throw invalid(t("admin.badJson", { field: label, reason: "{…}" }), json);
        return value;
      },
      revealedNow: () => ({}),
    };
  }
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const fields = Object.entries(schema.properties).map(([name, prop]) =>
    settingField(kind, name, prop && typeof prop === "object" ? prop : {}, required.has(name), settings, revealed, channelId));
  const el = h("div", { class: "fieldset settings-fields", dataset: { kind } },
    !isNew && fields.some((f) => f.secret) ? h("p", { class: "muted small", text: t("admin.hint.secret") }) : null,
    fields.map((f) => f.el));
  const collect = () => {
    const out = {};
    // settings this form does not show stay as they are, where the kind allows any
    if (schema.additionalProperties !== false) {
      for (const [key, value] of Object.entries(settings)) if (!Object.hasOwn(schema.properties, key)) out[key] = value;
    }
    for (const f of fields) {
      const value = f.read();
      if (value !== undefined) out[f.name] = value;
    }
    return out;
  };
  // values typed or generated for the console (not the stored mask) are shown once more after
  // saving: the admin pastes them into the provider's console next
  const revealedNow = () => Object.fromEntries(fields.filter((f) => f.generate)
    .map((f) => [f.name, f.input.value.trim()]).filter(([, v]) => v && v !== MASK));
  return { el, collect, revealedNow };
}

/** The kind's console guide: where to paste its URL and secrets in the provider's console. */
function guideEl(kind, guide, channel) {
  const hook = guide.webhook || null;
  const url = hook ? channel?.webhook_urls?.[hook] : null;
  const consoleUrl = safeHttpUrl(guide.console_url);
  return h("section", { class: "panel-form guide", "data-testid": "channel-guide", dataset: { kind } },
    h("h3", { text: pick(guide.title) }),
    hook ? h("div", {},
      h("div", { class: "label", text: t("admin.guideUrl") }),
      url ? copyRow(url, "callback-url") : h("p", { class: "muted small", "data-testid": "callback-later", text: t("admin.guideUrlLater") })) : null,
    h("ol", { class: "guide-steps" }, (guide.steps || []).map((step) => h("li", {}, rich(pick(step))))),
    consoleUrl ? h("p", { class: "muted small" }, `${t("admin.console")}: `,
      h("a", { href: consoleUrl, target: "_blank", rel: "noopener noreferrer", text: new URL(consoleUrl).host })) : null);
}

function channelDetail(channel, teams, kinds, revealed, onSaved) {
  const isNew = !channel;
  const known = [...kinds];
  if (channel && !known.includes(channel.kind)) known.push(channel.kind);
  const kind = h("select", { name: "kind", disabled: !isNew }, known.map((k) => h("option", { value: k, text: kindName(k), selected: channel?.kind === k })));
  const name = h("input", { name: "name", required: true, value: channel?.name || "" });
  const active = h("input", { type: "checkbox", name: "active", checked: channel ? channel.active : true });
  const team = h("select", { name: "team" }, h("option", { value: "", text: t("admin.noTeam") }),
    teams.map((tm) => h("option", { value: String(tm.id), text: tm.name, selected: channel?.team_id === tm.id })));
  const settingsBox = h("div", {});
  const guideBox = h("div", {});
  let settings = null;
  const syncKind = () => {
    const info = kindInfo(kind.value);
    settings = settingsForm(kind.value, info?.settings_schema, isNew ? {} : channel.settings || {}, isNew ? {} : revealed, isNew, isNew ? null : channel.id);
    settingsBox.replaceChildren(settings.el);
    guideBox.replaceChildren(info?.guide ? guideEl(kind.value, info.guide, channel) : "");
  };
  kind.addEventListener("change", syncKind);
  syncKind();
  const status = h("p", { hidden: true, role: "alert" });
  const form = h("form", { class: "panel-form", onsubmit: async (e) => {
    e.preventDefault();
    let values;
    let shown;
    try {
      values = settings.collect();
      shown = settings.revealedNow();
    } catch (err) {
      message(status, err.message);
      err.input?.focus();
      return;
    }
    const payload = { name: name.value.trim(), settings: values, team_id: team.value ? Number(team.value) : null };
    try {
      const saved = isNew
        ? await api.post("/channels", { kind: kind.value, ...payload })
        : await api.patch(`/channels/${channel.id}`, { ...payload, active: active.checked });
      message(status, t("admin.saved"), true);
      onSaved(saved, shown);
    } catch (err) {
      message(status, err.message); // the server's reason names the setting: "settings.token: …"
    }
  } },
  h("h2", { text: isNew ? t("admin.newChannel") : channel.name }),
  field(t("admin.kind"), kind), field(t("admin.name"), name), field(t("admin.team"), team),
  isNew ? null : h("label", { class: "check" }, active, h("span", { text: t("admin.active") })),
  settingsBox, status,
  h("div", { class: "form-actions" }, h("button", { class: "btn primary", type: "submit", text: isNew ? t("admin.create") : t("admin.save") })));
  if (isNew) return [form, guideBox];
  // the guide shows the webhook it names; the others are listed here
  const inGuide = kindInfo(channel.kind)?.guide?.webhook || null;
  const hooks = Object.entries(channel.webhook_urls || {}).filter(([n]) => n !== inGuide);
  return [
    form,
    guideBox,
    h("section", { class: "panel-form" },
      hooks.length ? [
        h("h3", { text: t("admin.webhooks") }),
        hooks.map(([n, url]) => h("div", {}, h("div", { class: "muted small", text: n }), copyRow(url, `webhook-${n}`))),
      ] : inGuide ? null : [h("h3", { text: t("admin.webhooks") }), h("p", { class: "muted", text: t("admin.noWebhooks") })],
      channel.embed_html ? [h("h3", { text: t("admin.embed") }), copyRow(channel.embed_html, "embed-html")] : null,
      h("p", { class: "muted small", text: `${channel.public_key} · ${fmtDateTime(channel.created_at)}` })),
    // a widget on the business's pages: how it will look, as the admin edits it
    kindInfo(channel.kind)?.capabilities?.embeds ? widgetPreview(form, channel) : null,
    // channels whose customers browse a site have visitors to invite
    kindInfo(channel.kind)?.capabilities?.transport ? rulesSection(channel) : null,
  ].filter(Boolean);
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
      h("td", { class: "agent-presence" }, presenceTag(a.presence, a.id)),
      h("td", { class: "agent-capacity" }, h("span", { class: "muted small", text: t("agents.load", { n: a.load ?? 0 }) }), " ",
        agentCapacityInput(a, () => message(status, t("admin.saved"), true), (reason) => message(status, reason))),
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
    const routing = teamRoutingFields(team);
    return h("form", { class: "panel-form team", onsubmit: async (e) => {
      e.preventDefault();
      const payload = { name: name.value.trim(), agent_ids: boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => Number(i.value)), ...routing.values() };
      try {
        if (team) await api.put(`/teams/${team.id}`, payload);
        else await api.post("/teams", payload);
        // whose queue an agent sees follows the teams
        await ctx.reloadDirectory();
        teamsPage(body, ctx);
      } catch (err) {
        message(status, err.message);
      }
    } },
    h("h3", { text: team ? team.name : t("admin.newTeam") }),
    field(t("admin.name"), name),
    h("div", { class: "label", text: t("admin.members") }),
    h("div", { class: "members" }, boxes),
    routing.el,
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
      h("td", {}, kindChip(ev.channel.kind), h("div", { class: "small", text: ev.channel.name })),
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
