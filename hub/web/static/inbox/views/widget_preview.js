// A live preview of a web chat channel's widget (风格设置), drawn from the settings form as the
// admin edits it: colour, corner, button text, logo, title and welcome message.
import { h } from "../dom.js";
import { t } from "../i18n.js";

/** The preview, kept in step with `form` (the channel's settings inputs). */
export function widgetPreview(form, channel) {
  const value = (name) => form.querySelector(`[name="${name}"]`);
  const logo = h("img", { class: "wp-logo", alt: "" });
  const icon = h("div", { class: "wp-icon", text: "💬" });
  const title = h("div", { class: "wp-title" });
  const welcome = h("div", { class: "wp-bubble" });
  const launcherText = h("span", {});
  const launcher = h("div", { class: "wp-launcher", "data-testid": "preview-launcher" }, h("span", { text: "💬" }), launcherText);
  const head = h("div", { class: "wp-head" }, icon, title);
  const panel = h("div", { class: "wp-panel" }, head, h("div", { class: "wp-body" }, welcome));
  const page = h("div", { class: "wp-page", "data-testid": "widget-preview" }, panel, launcher);

  const paint = () => {
    const color = value("color")?.value || "#1f6feb";
    page.style.setProperty("--wp-accent", color);
    page.classList.toggle("left", value("position")?.value === "left");
    title.textContent = value("title")?.value.trim() || channel?.name || t("admin.preview");
    const words = value("welcome_text")?.value.trim() || "";
    welcome.textContent = words;
    welcome.hidden = !words;
    const text = value("launcher_text")?.value.trim() || "";
    launcherText.textContent = text;
    launcher.classList.toggle("texted", !!text);
    const file = value("logo");
    const src = file?.dataset.preview || form.querySelector(".image-setting img:not([hidden])")?.src || "";
    if (src) {
      logo.src = src;
      if (!logo.isConnected) icon.replaceWith(logo);
    } else if (logo.isConnected) {
      logo.replaceWith(icon);
    }
  };
  form.addEventListener("input", paint);
  form.addEventListener("change", paint);
  paint();
  return h("section", { class: "panel-form" }, h("h3", { text: t("admin.preview") }), page);
}
