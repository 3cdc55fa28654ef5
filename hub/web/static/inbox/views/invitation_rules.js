// A web chat channel's automatic invitation rules (自动邀请), on the admin's channel page:
// what each rule waits for, its message, and what became of its invitations.
import * as api from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

const DAY = 86400;

function describe(rule) {
  const parts = [];
  parts.push(rule.page ? t("rules.onPage", { page: rule.page }) : t("rules.anyPage"));
  if (rule.delay_s) parts.push(t("rules.after", { n: rule.delay_s }));
  if (rule.min_visits > 1) parts.push(t("rules.visits", { n: rule.min_visits }));
  if (rule.search_words) parts.push(t("rules.searched", { words: rule.search_words }));
  return parts.join(" · ");
}

/** The section, filled once the channel's rules are read. */
export function rulesSection(channel) {
  const list = h("div", { class: "rules", "data-testid": "invitation-rules" });
  const status = h("p", { class: "form-error", role: "alert", hidden: true });
  const say = (text) => { status.textContent = text; status.hidden = !text; };

  const load = async () => {
    const { items } = await api.get(`/invitation-rules${api.query({ channel_id: channel.id })}`);
    list.replaceChildren(...(items.length ? items.map(row) : [h("p", { class: "muted", text: t("rules.none") })]));
  };

  const row = (rule) => {
    const active = h("input", { type: "checkbox", checked: rule.active, "aria-label": t("rules.active"), onchange: async () => {
      try {
        await api.patch(`/invitation-rules/${rule.id}`, { active: active.checked });
      } catch (err) {
        active.checked = !active.checked;
        say(err.message);
      }
    } });
    const c = rule.counts;
    return h("div", { class: "rule", dataset: { rule: String(rule.id) } },
      h("label", { class: "check" }, active, h("strong", { text: rule.name })),
      h("div", { class: "muted small", text: describe(rule) }),
      h("div", { class: "rule-message", text: rule.message }),
      h("div", { class: "rule-counts small", "data-testid": `rule-counts-${rule.id}`,
        text: t("rules.counts", { sent: c.sent, accepted: c.accepted, declined: c.declined, ignored: c.ignored }) }),
      h("button", { class: "btn small", type: "button", text: t("rules.delete"), onclick: async () => {
        if (!confirm(t("rules.confirmDelete", { name: rule.name }))) return;
        await api.request("DELETE", `/invitation-rules/${rule.id}`).catch((err) => say(err.message));
        await load();
      } }));
  };

  const name = h("input", { name: "rule_name", required: true, maxlength: "100" });
  const page = h("input", { name: "rule_page", placeholder: "/checkout*", maxlength: "300" });
  const delay = h("input", { name: "rule_delay", type: "number", min: "0", max: "3600", value: "30" });
  const visits = h("input", { name: "rule_visits", type: "number", min: "1", max: "1000", value: "1" });
  const words = h("input", { name: "rule_words", placeholder: "退货 refund", maxlength: "200" });
  const text = h("textarea", { name: "rule_message", rows: "2", required: true, maxlength: "1000" });
  const cooldown = h("input", { name: "rule_cooldown", type: "number", min: "0", max: "365", value: "1" });
  const row2 = (label, input, hint) => h("label", { class: "field-row" }, h("span", { class: "label", text: label }), input, hint ? h("span", { class: "muted small", text: hint }) : null);
  const form = h("form", { class: "rule-form", onsubmit: async (e) => {
    e.preventDefault();
    say("");
    try {
      await api.post("/invitation-rules", {
        channel_id: channel.id,
        name: name.value.trim(),
        page: page.value.trim(),
        delay_s: Number(delay.value || 0),
        min_visits: Number(visits.value || 1),
        search_words: words.value.trim(),
        message: text.value.trim(),
        cooldown_s: Math.round(Number(cooldown.value || 0) * DAY),
      });
      form.reset();
      await load();
    } catch (err) {
      say(err.message);
    }
  } },
  h("h4", { text: t("rules.add") }),
  row2(t("rules.name"), name),
  row2(t("rules.page"), page, t("rules.pageHint")),
  row2(t("rules.delay"), delay),
  row2(t("rules.minVisits"), visits),
  row2(t("rules.words"), words, t("rules.wordsHint")),
  row2(t("rules.message"), text),
  row2(t("rules.cooldown"), cooldown),
  h("div", { class: "form-actions" }, h("button", { class: "btn primary", type: "submit", text: t("rules.create") })));

  load().catch((err) => say(err.message));
  return h("section", { class: "panel-form" },
    h("h3", { text: t("rules.title") }),
    h("p", { class: "muted small", text: t("rules.intro") }),
    list, status, form);
}
