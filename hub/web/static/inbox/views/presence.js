// Presence (在线 / 忙碌 / 离线): the agent chooses it from their avatar on the rail; everyone sees it live.
import * as api from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

export const STATUSES = ["online", "away", "offline"];

/** Agents' presence changed (the live agent.presence event): views that list agents listen. */
export const PRESENCE_EVENT = "kefu:presence";

/** The coloured dot of a presence; its word is said by what it sits in. */
export function presenceDot(presence, extra = "") {
  const status = STATUSES.includes(presence) ? presence : "offline";
  return h("span", { class: `presence-dot ${status} ${extra}`.trim(), title: t(`presence.${status}`), "aria-hidden": "true", dataset: { presence: status } });
}

/** A presence with its word, for lists of agents: kept live when `agentId` is given. */
export function presenceTag(presence, agentId = null) {
  const status = STATUSES.includes(presence) ? presence : "offline";
  const dataset = agentId == null ? { presence: status } : { presence: status, presenceOf: String(agentId) };
  return h("span", { class: "presence-tag", dataset }, presenceDot(status), t(`presence.${status}`));
}

// Every list of agents on the page follows their presence, whichever view drew it.
document.addEventListener(PRESENCE_EVENT, (e) => {
  const { agent_id: id, presence } = e.detail;
  for (const el of document.querySelectorAll(`[data-presence-of="${Number(id)}"]`)) el.replaceWith(presenceTag(presence, id));
});

/** Applies a live agent.presence event to the shared state; true when it was the signed-in agent. */
export function applyPresence(state, data) {
  const agent = state.agents.get(data.agent_id);
  if (agent) Object.assign(agent, { presence: data.presence, chosen_presence: data.chosen_presence });
  document.dispatchEvent(new CustomEvent(PRESENCE_EVENT, { detail: data }));
  if (state.me && data.agent_id === state.me.id) {
    Object.assign(state.me, { presence: data.presence, chosen_presence: data.chosen_presence });
    return true;
  }
  return false;
}

/**
 * The avatar at the foot of the rail: it shows the agent's presence and opens a menu to change
 * it (or to open their account). `changed()` repaints the rail.
 */
export function presenceButton(state, avatarEl, { openAccount, changed }) {
  const me = state.me;
  // what they chose counts while this page is connected, which it is while they look at it
  const shown = me.chosen_presence || me.presence;
  const wrap = h("div", { class: "me-wrap" });
  const button = h("button", {
    class: "me", type: "button", "data-action": "presence", "data-testid": "my-presence", dataset: { presence: shown || "offline" },
    "aria-haspopup": "menu", "aria-expanded": "false",
    title: `${me.name} · ${me.email} — ${t(`presence.${shown || "offline"}`)}`, "aria-label": `${t("presence.menu")}: ${t(`presence.${shown || "offline"}`)}`,
  }, avatarEl, presenceDot(shown, "on-avatar"));
  let menu = null;
  const close = () => {
    menu?.remove();
    menu = null;
    button.setAttribute("aria-expanded", "false");
    document.removeEventListener("click", outside, true);
    document.removeEventListener("keydown", onKey, true);
  };
  const outside = (e) => { if (menu && !wrap.contains(e.target)) close(); };
  const onKey = (e) => { if (e.key === "Escape") close(); };
  const choose = async (status) => {
    try {
      const agent = await api.put("/me/presence", { status });
      Object.assign(me, { presence: agent.presence, chosen_presence: agent.chosen_presence });
      const listed = state.agents.get(me.id);
      if (listed) Object.assign(listed, { presence: agent.presence, chosen_presence: agent.chosen_presence });
      close();
      changed();
    } catch (err) {
      menu?.querySelector(".menu-error")?.replaceChildren(t("presence.failed", { reason: err.message }));
    }
  };
  button.addEventListener("click", () => {
    if (menu) return close();
    menu = h("div", { class: "presence-menu", role: "menu", "aria-label": t("presence.menu") },
      h("div", { class: "menu-head" }, h("strong", { text: me.name }), h("span", { class: "muted small", text: me.email })),
      STATUSES.map((status) => h("button", {
        type: "button", role: "menuitemradio", class: `menu-item${shown === status ? " current" : ""}`,
        "aria-checked": String(shown === status), "data-presence": status, onclick: () => choose(status),
      }, presenceDot(status), h("span", { text: t(`presence.${status}`) }), h("span", { class: "muted small hint", text: t(`presence.${status}Hint`) }))),
      h("div", { class: "menu-error form-error", role: "status" }),
      h("hr"),
      h("button", { type: "button", role: "menuitem", class: "menu-item", "data-action": "account", onclick: () => { close(); openAccount(); } }, h("span", { text: t("presence.account") })));
    wrap.append(menu);
    button.setAttribute("aria-expanded", "true");
    document.addEventListener("click", outside, true);
    document.addEventListener("keydown", onKey, true);
    menu.querySelector(".menu-item.current, .menu-item")?.focus();
  });
  wrap.append(button);
  return wrap;
}
