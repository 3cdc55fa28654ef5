// Transfer (转接): hand the open conversation to an agent or a team's queue with a note; the receiver's notice.
import * as api from "../api.js";
import { h, avatar } from "../dom.js";
import { t } from "../i18n.js";
import { presenceDot, PRESENCE_EVENT } from "./presence.js";

/** What routing allows an agent at once: their own capacity, else their team's (the conversation's team first). */
export function capacityOf(agent, teams, teamId) {
  if (agent.capacity != null) return agent.capacity;
  const theirs = teams.filter((tm) => tm.agent_ids.includes(agent.id));
  const team = theirs.find((tm) => tm.id === teamId) || theirs[0];
  return team ? team.agent_capacity : 10;
}

/** Opens the dialog for `conv`; `done(conv)` gets the conversation as the server answers it. */
export async function openTransfer(state, conv, done) {
  const [agents, teams] = await Promise.all([api.get("/agents"), api.get("/teams")]);
  const others = agents.items.filter((a) => a.active && a.id !== state.me.id);
  let mode = others.length ? "agent" : "team";
  let chosen = null;
  const status = h("p", { class: "form-error", role: "status", hidden: true, "data-testid": "transfer-error" });
  const force = h("input", { type: "checkbox", name: "force" });
  const forceRow = h("label", { class: "check force", hidden: true }, force, h("span", { text: t("transfer.force") }));
  const note = h("textarea", { name: "note", rows: "3", maxlength: "2000", placeholder: t("transfer.notePlaceholder") });
  const agentRows = h("ul", { class: "transfer-agents", role: "radiogroup", "aria-label": t("transfer.toAgent") });
  const paintAgents = () => agentRows.replaceChildren(...others.map((a) => {
    const capacity = capacityOf(a, teams.items, conv.team_id);
    const load = a.load ?? 0;
    const full = load >= capacity;
    const presence = state.agents.get(a.id)?.presence || a.presence;
    return h("li", {}, h("label", { class: `transfer-agent${full ? " full" : ""}`, dataset: { id: String(a.id), presence } },
      h("input", { type: "radio", name: "agent", value: String(a.id), checked: chosen === a.id, onchange: () => { chosen = a.id; } }),
      avatar(a.name, `a${a.id}`, "sm"),
      h("span", { class: "name", text: a.name }),
      presenceDot(presence), h("span", { class: "muted small", text: t(`presence.${presence}`) }),
      h("span", { class: "load", title: t("transfer.loadHint"), text: t("transfer.load", { load, capacity }) }),
      full ? h("span", { class: "chip full", text: t("transfer.full") }) : null));
  }));
  paintAgents();
  const onPresence = () => paintAgents();
  document.addEventListener(PRESENCE_EVENT, onPresence);
  const team = h("select", { name: "team_id", "aria-label": t("transfer.toTeam") },
    teams.items.map((tm) => h("option", { value: String(tm.id), text: tm.name, selected: tm.id === conv.team_id })));
  const agentPane = h("div", { class: "transfer-pane" }, agentRows);
  const teamPane = h("div", { class: "transfer-pane" }, team);
  const tab = (value, label) => h("button", { type: "button", role: "tab", class: "tab", "data-mode": value, text: label, onclick: () => setMode(value) });
  const tabs = h("div", { class: "tabs", role: "tablist" }, tab("agent", t("transfer.toAgent")), tab("team", t("transfer.toTeam")));
  const setMode = (value) => {
    mode = value;
    for (const b of tabs.children) {
      b.classList.toggle("active", b.dataset.mode === value);
      b.setAttribute("aria-selected", String(b.dataset.mode === value));
    }
    agentPane.hidden = value !== "agent";
    teamPane.hidden = value !== "team";
  };
  const submit = h("button", { class: "btn primary", type: "submit", "data-action": "send-transfer", text: t("transfer.send") });
  const dialog = h("dialog", { class: "account-dialog transfer-dialog", "data-testid": "transfer-dialog", "aria-label": t("transfer.title") });
  const form = h("form", { method: "dialog", class: "panel-form", onsubmit: async (e) => {
    e.preventDefault();
    const body = { note: note.value.trim(), force: force.checked };
    if (mode === "agent") {
      if (chosen === null) return say(t("transfer.pick"));
      body.agent_id = chosen;
    } else if (team.value) {
      body.team_id = Number(team.value);
    } else {
      return say(t("transfer.pick"));
    }
    submit.disabled = true;
    try {
      const changed = await api.post(`/conversations/${conv.id}/transfer`, body);
      dialog.close();
      done(changed);
    } catch (err) {
      say(err.message);
      // the server refuses a full agent with the reason; the sender may insist
      if (err.status === 409 && mode === "agent") forceRow.hidden = false;
    } finally {
      submit.disabled = false;
    }
  } },
  h("h2", { text: t("transfer.title") }),
  tabs, agentPane, teamPane,
  h("label", { class: "field-row" }, h("span", { class: "label", text: t("transfer.note") }), note),
  forceRow, status,
  h("div", { class: "form-actions" },
    h("button", { class: "btn", type: "button", text: t("transfer.cancel"), onclick: () => dialog.close() }),
    submit));
  const say = (text) => {
    status.textContent = text;
    status.hidden = !text;
  };
  setMode(mode);
  dialog.append(form);
  dialog.addEventListener("close", () => {
    document.removeEventListener(PRESENCE_EVENT, onPresence);
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
}

/** The latest transfer note of the conversation, shown at the top of the thread for its receiver. */
export function handoverEl(state, conv, messages) {
  const notes = [...messages.values()].filter((m) => m.conversation_id === conv.id && m.private && m.data?.transfer);
  if (!notes.length) return null;
  const last = notes.reduce((a, b) => (b.id > a.id ? b : a));
  const who = (id) => (id ? state.agents.get(id)?.name || `#${id}` : null);
  const move = last.data.transfer;
  const teamName = (id) => state.teams?.find((tm) => tm.id === id)?.name || null;
  const to = who(move.to_agent_id) || teamName(move.to_team_id) || "";
  return h("div", { class: "handover", role: "note", "data-testid": "handover" },
    h("div", { class: "handover-head" },
      h("strong", { text: t("transfer.handover", { actor: who(last.sender_agent_id) || "" }) }),
      to ? h("span", { class: "muted small", text: ` → ${to}` }) : null),
    h("div", { class: "handover-note", text: last.text || "" }));
}

/** A short notice in the corner: a conversation was transferred to this agent or their team's queue. */
export function transferNotice(state, data, open) {
  const actor = state.agents.get(data.actor_id)?.name || "";
  const team = state.teams.find((tm) => tm.id === data.to_team_id)?.name || "";
  const text = data.to_agent_id === null ? t("transfer.noticeTeam", { actor, id: data.conversation_id, team })
    : t("transfer.notice", { actor, id: data.conversation_id });
  const toast = h("div", { class: "toast transfer-toast", role: "alert", "data-testid": "transfer-notice" },
    h("span", { text }),
    h("button", { class: "btn small primary", type: "button", text: t("transfer.open"), onclick: () => { toast.remove(); open(data.conversation_id); } }),
    h("button", { class: "btn small link", type: "button", "aria-label": t("transfer.dismiss"), text: "×", onclick: () => toast.remove() }));
  document.body.append(toast);
  setTimeout(() => toast.remove(), 15000);
}
