// Builds DOM from data with textContent only: nothing a person typed is ever parsed as HTML.
import { kindInfo, kindName } from "./i18n.js";

/** h("div", {class: "x", onclick: fn}, "text", child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value") el.value = value;
    else if (key === "checked") el.checked = !!value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
const PATHS = {
  inbox: "M19 3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2zm0 12h-4a3 3 0 0 1-6 0H5V5h14z",
  channels: "M4 6h16v2H4zm0 5h16v2H4zm0 5h10v2H4z",
  visitors: "M12 4.5C7 4.5 2.7 7.6 1 12c1.7 4.4 6 7.5 11 7.5s9.3-3.1 11-7.5c-1.7-4.4-6-7.5-11-7.5zm0 12.5a5 5 0 1 1 0-10 5 5 0 0 1 0 10zm0-8a3 3 0 1 0 0 6 3 3 0 0 0 0-6z",
  agents: "M16 11a3 3 0 1 0-3-3 3 3 0 0 0 3 3zm-8 0a3 3 0 1 0-3-3 3 3 0 0 0 3 3zm0 2c-2.3 0-7 1.2-7 3.5V19h14v-2.5C15 14.2 10.3 13 8 13zm8 0c-.3 0-.6 0-1 .1a4.2 4.2 0 0 1 2 3.4V19h6v-2.5c0-2.3-4.7-3.5-7-3.5z",
  teams: "M12 2 2 7l10 5 10-5zm0 13L4.2 11.1 2 12.2 12 17l10-4.8-2.2-1.1zm0 4-7.8-3.9L2 16.2 12 21l10-4.8-2.2-1.1z",
  queue: "M6 3a3 3 0 1 1 0 6 3 3 0 0 1 0-6zm0 7c2.2 0 5 1.1 5 3v2H1v-2c0-1.9 2.8-3 5-3zm10 1h6v2h-6zm0 4h6v2h-6zm-15 2h10v2H1zm15-10h6v2h-6z",
  logout: "M10 17l1.4-1.4-2.6-2.6H20v-2H8.8l2.6-2.6L10 7l-5 5zM4 5h8V3H4a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h8v-2H4z",
  send: "M3 20.5 21 12 3 3.5 3 10l12 2-12 2z",
  clip: "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z",
  check: "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z",
  search: "M15.5 14h-.8l-.3-.3A6.5 6.5 0 1 0 14 15.5l.3.3v.8l5 5 1.5-1.5zm-6 0A4.5 4.5 0 1 1 14 9.5 4.5 4.5 0 0 1 9.5 14z",
  clock: "M12 2a10 10 0 1 0 10 10A10 10 0 0 0 12 2zm0 18a8 8 0 1 1 8-8 8 8 0 0 1-8 8zm.5-13H11v6l5.2 3.2.8-1.3-4.5-2.7z",
  warn: "M1 21h22L12 2zm12-3h-2v-2h2zm0-4h-2v-4h2z",
  phone: "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z",
  voicemail: "M18.5 6A5.5 5.5 0 0 0 14.3 15h-4.6A5.5 5.5 0 1 0 5.5 17h13a5.5 5.5 0 0 0 0-11zm-13 9a3.5 3.5 0 1 1 3.5-3.5A3.5 3.5 0 0 1 5.5 15zm13 0a3.5 3.5 0 1 1 3.5-3.5 3.5 3.5 0 0 1-3.5 3.5z",
  pin: "M12 2a7 7 0 0 0-7 7c0 5.2 7 13 7 13s7-7.8 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 14.5 9 2.5 2.5 0 0 1 12 11.5z",
  globe: "M12 2a10 10 0 1 0 10 10A10 10 0 0 0 12 2zm6.9 6h-3a15.7 15.7 0 0 0-1.3-3.6A8 8 0 0 1 18.9 8zM12 4a14 14 0 0 1 1.9 4h-3.8A14 14 0 0 1 12 4zM4.3 14a8.2 8.2 0 0 1 0-4h3.4a16.5 16.5 0 0 0 0 4zm.8 2h3a15.7 15.7 0 0 0 1.3 3.6A8 8 0 0 1 5.1 16zm3-8h-3a8 8 0 0 1 4.3-3.6A15.7 15.7 0 0 0 8.1 8zM12 20a14 14 0 0 1-1.9-4h3.8A14 14 0 0 1 12 20zm2.3-6H9.7a14.7 14.7 0 0 1 0-4h4.6a14.7 14.7 0 0 1 0 4zm.3 5.6a15.7 15.7 0 0 0 1.3-3.6h3a8 8 0 0 1-4.3 3.6zm1.7-5.6a16.5 16.5 0 0 0 0-4h3.4a8.2 8.2 0 0 1 0 4z",
};

export function icon(name, size = 20) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", PATHS[name] || "");
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

export function initials(name) {
  const clean = String(name || "?").replace(/[#\d]+$/g, "").trim() || "?";
  const cjk = clean.match(/[\u4e00-\u9fff]/g);
  if (cjk) return cjk.slice(-1).join("");
  return clean.split(/\s+/).slice(0, 2).map((p) => p[0]).join("").toUpperCase();
}

const PALETTE = ["#1f6feb", "#8250df", "#bf3989", "#cf222e", "#bc4c00", "#1a7f37", "#0a7ea4", "#6e40c9"];
export function colorFor(seed) {
  let n = 0;
  for (const ch of String(seed)) n = (n * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[n % PALETTE.length];
}

export function avatar(name, seed, size = "") {
  const el = h("span", { class: `avatar ${size}`, text: initials(name), "aria-hidden": "true" });
  el.style.background = colorFor(seed ?? name);
  return el;
}

export function fmtSize(bytes) {
  if (bytes == null) return "";
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1048576) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

export async function copyText(text, button, done) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h("textarea", { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  if (button) {
    const old = button.textContent;
    button.textContent = done;
    setTimeout(() => (button.textContent = old), 1500);
  }
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `length` random characters of `alphabet`, from crypto.getRandomValues (no modulo bias). */
export function randomString(length, alphabet = ALNUM) {
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

/** A callback token for a provider's console (`x-generate: "token"`): 32 letters and digits. */
export function randomToken() {
  return randomString(32);
}

/**
 * A message-encryption key (`x-generate: "aes_key"`): 43 letters and digits that decode
 * (base64, "=" added) to 32 bytes. The last character carries 2 unused bits, so it is one whose
 * low 2 bits are zero (canonical).
 */
export function randomAesKey() {
  return randomString(42) + randomString(1, "AEIMQUYcgkosw048");
}

/** The URL as a string when it is an absolute http(s) URL, otherwise null (never javascript:). */
export function safeHttpUrl(value) {
  try {
    const url = new URL(String(value || ""));
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * The chip naming a kind of channel, in the kind's colour (from /channel-kinds). The colour is a
 * CSS custom property set through the CSSOM: the page's CSP forbids style attributes.
 */
export function kindChip(kind) {
  const el = h("span", { class: "chip kind", dataset: { kind: String(kind ?? "") }, text: kindName(kind) });
  const color = kindInfo(kind)?.color;
  if (typeof color === "string" && /^#[0-9a-fA-F]{3,8}$/.test(color)) el.style.setProperty("--kind-color", color);
  return el;
}
