// The login page.
import * as api from "../api.js";
import { h, icon } from "../dom.js";
import { t, setLang, currentLang } from "../i18n.js";

export function renderLogin(root, onDone) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const submit = h("button", { class: "btn primary wide", type: "submit", text: t("login.submit") });
  const form = h("form", { class: "login-card", onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    try {
      const result = await api.post("/auth/login", { email: email.value.trim(), password: password.value });
      await onDone(result);
    } catch (err) {
      if (err.status === 429) error.textContent = t("login.tooMany", { n: err.retryAfter || 60 });
      else if (err.status === 401 || err.status === 422) error.textContent = t("login.failed");
      else error.textContent = t("error.generic", { reason: err.message });
      error.hidden = false;
      password.select();
    } finally {
      submit.disabled = false;
    }
  } },
  h("div", { class: "login-logo" }, icon("inbox", 28)),
  h("h1", { text: t("login.title") }),
  h("p", { class: "muted", text: t("login.sub") }),
  h("label", {}, h("span", { text: t("login.email") }), email),
  h("label", {}, h("span", { text: t("login.password") }), password),
  error,
  submit,
  h("button", { class: "btn link", type: "button", text: t("nav.language"), onclick: () => {
    setLang(currentLang() === "zh" ? "en" : "zh");
    renderLogin(root, onDone);
  } }));
  root.replaceChildren(h("div", { class: "login" }, form));
  email.focus();
}
