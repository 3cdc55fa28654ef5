// The signed-in agent's own account: changing the password (the current one is asked for).
import * as api from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

/** Opens the dialog; `me` is the agent from GET /me. */
export function openAccount(me) {
  const current = h("input", { type: "password", name: "current_password", required: true, autocomplete: "current-password" });
  const fresh = h("input", { type: "password", name: "new_password", required: true, minlength: "8", autocomplete: "new-password" });
  const again = h("input", { type: "password", name: "new_password_again", required: true, minlength: "8", autocomplete: "new-password" });
  const status = h("p", { class: "form-error", role: "status", hidden: true });
  const say = (text, ok = false) => {
    status.textContent = text;
    status.className = ok ? "form-ok" : "form-error";
    status.hidden = false;
  };
  const row = (label, input) => h("label", { class: "field-row" }, h("span", { class: "label", text: label }), input);
  const submit = h("button", { class: "btn primary", type: "submit", text: t("account.change") });
  const form = h("form", { method: "dialog", class: "panel-form", onsubmit: async (e) => {
    e.preventDefault();
    if (fresh.value !== again.value) return say(t("account.mismatch"));
    submit.disabled = true;
    try {
      const result = await api.post("/me/password", { current_password: current.value, new_password: fresh.value });
      form.reset();
      say(t("account.changed", { n: result.revoked }), true);
    } catch (err) {
      if (err.status === 403) say(t("account.wrongCurrent"));
      else if (err.status === 429) say(t("login.tooMany", { n: err.retryAfter || 60 }));
      else say(err.message);
    } finally {
      submit.disabled = false;
    }
  } },
  h("h2", { text: t("account.title") }),
  h("p", { class: "muted small", text: `${me.name} · ${me.email}` }),
  row(t("account.current"), current), row(t("account.new"), fresh), row(t("account.again"), again),
  h("p", { class: "muted small", text: t("account.hint") }),
  status,
  h("div", { class: "form-actions" },
    h("button", { class: "btn", type: "button", text: t("admin.cancel"), onclick: () => dialog.close() }),
    submit));
  const phone = h("input", { type: "tel", name: "phone", value: me.phone || "", placeholder: "+8613800138000", autocomplete: "tel" });
  const phoneStatus = h("p", { class: "form-ok", role: "status", hidden: true });
  const phoneForm = h("form", { class: "panel-form phone-form", onsubmit: async (e) => {
    e.preventDefault();
    phoneStatus.hidden = true;
    try {
      const saved = await api.patch(`/agents/${me.id}`, { phone: phone.value.trim() || null });
      me.phone = saved.phone;
      phone.value = saved.phone || "";
      phoneStatus.className = "form-ok";
      phoneStatus.textContent = t("account.phoneSaved");
    } catch (err) {
      phoneStatus.className = "form-error";
      phoneStatus.textContent = err.status === 422 ? t("account.phoneInvalid") : err.message;
    }
    phoneStatus.hidden = false;
  } },
  h("h3", { text: t("account.phoneTitle") }),
  row(t("account.phone"), phone),
  h("p", { class: "muted small", text: t("account.phoneHint") }),
  phoneStatus,
  h("div", { class: "form-actions" }, h("button", { class: "btn", type: "submit", text: t("account.phoneSave") })));
  const dialog = h("dialog", { class: "account-dialog", "data-testid": "account-dialog", "aria-label": t("account.title") }, form, phoneForm);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  current.focus();
}
