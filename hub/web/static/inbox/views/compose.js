// Writing to a customer first: a new conversation on a channel whose kind allows it (a new email).
import * as api from "../api.js";
import { h } from "../dom.js";
import { t, pick, kindInfo } from "../i18n.js";

/** The active channels agents may write first on, each with its kind's outreach form. */
export function outreachChannels(state) {
  return [...state.channels.values()]
    .filter((c) => c.active !== false && kindInfo(c.kind)?.outreach)
    .map((c) => ({ channel: c, outreach: kindInfo(c.kind).outreach }));
}

/** Opens the dialog; `onStarted(conversation)` runs once the first message is on its way. */
export function openCompose(state, onStarted) {
  const choices = outreachChannels(state);
  if (!choices.length) return;
  const channel = h("select", { class: "select", name: "channel_id", required: true },
    choices.map(({ channel: c }) => h("option", { value: String(c.id), text: c.name })));
  const to = h("input", { type: "text", name: "to", required: true, autocomplete: "email", spellcheck: "false" });
  const title = h("input", { type: "text", name: "title", maxlength: "300" });
  const text = h("textarea", { name: "text", rows: "7", maxlength: "20000" });
  const toLabel = h("span", { class: "label" });
  const titleRow = h("label", { class: "field-row required" }, h("span", { class: "label", text: t("compose.subject") }), title);
  const status = h("p", { class: "form-error", role: "alert", hidden: true });
  const shape = () => {
    const chosen = choices.find(({ channel: c }) => String(c.id) === channel.value) || choices[0];
    toLabel.textContent = pick(chosen.outreach.recipient);
    to.placeholder = chosen.outreach.placeholder || "";
    titleRow.hidden = !chosen.outreach.titled;
    title.required = chosen.outreach.titled;
  };
  channel.addEventListener("change", shape);
  shape();
  const send = h("button", { class: "btn primary", type: "submit", text: t("compose.send") });
  const form = h("form", { method: "dialog", class: "panel-form", onsubmit: async (e) => {
    e.preventDefault();
    status.hidden = true;
    if (!text.value.trim()) {
      status.textContent = t("compose.needText");
      status.hidden = false;
      text.focus();
      return;
    }
    send.disabled = true;
    try {
      const started = await api.post("/conversations", {
        channel_id: Number(channel.value),
        to: to.value.trim(),
        title: titleRow.hidden ? "" : title.value.trim(),
        text: text.value,
      });
      dialog.close();
      onStarted(started);
    } catch (err) {
      status.textContent = t("error.generic", { reason: err.message });
      status.hidden = false;
    } finally {
      send.disabled = false;
    }
  } },
  h("h2", { text: t("compose.title") }),
  choices.length > 1
    ? h("label", { class: "field-row" }, h("span", { class: "label", text: t("compose.channel") }), channel)
    : h("p", { class: "muted small", text: choices[0].channel.name }),
  h("label", { class: "field-row required" }, toLabel, to),
  titleRow,
  h("label", { class: "field-row" }, h("span", { class: "label", text: t("compose.message") }), text),
  status,
  h("div", { class: "form-actions" },
    h("button", { class: "btn", type: "button", text: t("admin.cancel"), onclick: () => dialog.close() }),
    send));
  const dialog = h("dialog", { class: "account-dialog compose-dialog", "data-testid": "compose-dialog", "aria-label": t("compose.title") }, form);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  to.focus();
}
