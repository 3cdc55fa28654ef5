// The waiting queue (访客队列): conversations of the agent's teams that wait for an agent, taken (接入) from here.
import * as api from "../api.js";
import { h, avatar, kindChip } from "../dom.js";
import { t, fmtDuration } from "../i18n.js";
import { presenceTag } from "./presence.js";

/** Pages (of 100) of a team's unassigned open conversations read at most to find the waiting ones. */
const MAX_PAGES = 10;

/** The teams whose queue an agent sees: their own, or every team when they are in none (an admin). */
export function myTeamIds(state) {
  const mine = state.teams.filter((tm) => tm.agent_ids.includes(state.me.id)).map((tm) => tm.id);
  return new Set(mine.length ? mine : state.teams.map((tm) => tm.id));
}

/** The waiting conversations of the agent's teams, by team and then position. */
export function myQueue(state) {
  const teams = myTeamIds(state);
  return [...state.queue.values()]
    .filter((c) => c.queue_position != null && (teams.has(c.team_id) || !state.teams.length))
    .sort((a, b) => (a.team_id ?? 0) - (b.team_id ?? 0) || a.queue_position - b.queue_position);
}

/**
 * Keeps `state.queue` (waiting conversations by id, with their positions) in step with the hub:
 * positions are computed by the server, so a change of a conversation that waited or waits now
 * asks for them again, a burst of changes once.
 */
export class QueueFeed {
  constructor(state, changed) {
    this.state = state;
    this.changed = changed;
    this.timer = null;
    this.seq = 0;
  }

  async load() {
    const seq = ++this.seq;
    try {
      const items = (await Promise.all([...myTeamIds(this.state)].map((team) => this.waitingIn(team)))).flat();
      if (seq !== this.seq) return;
      this.state.queue = new Map(items.filter((c) => c.queue_position != null).map((c) => [c.id, c]));
      this.state.queueLoaded = true;
      this.changed();
    } catch {
      /* the next change asks again */
    }
  }

  /** One team's unassigned open conversations: every page, as the list comes newest activity
   * first and the oldest waiting must be there too. */
  async waitingIn(teamId) {
    const items = [];
    let cursor = "";
    for (let pages = 0; pages < MAX_PAGES; pages += 1) {
      const page = await api.get(`/conversations${api.query({ assignee: "none", status: "open", team_id: teamId, limit: 100, cursor })}`);
      items.push(...page.items);
      if (!page.next) break;
      cursor = page.next;
    }
    return items;
  }

  /** Whether a changed conversation may move a queue of the agent's: it waited, or it waits now. */
  touches(conv) {
    if (this.state.queue.has(conv.id)) return true;
    return conv.assignee_id == null && conv.status === "open" && myTeamIds(this.state).has(conv.team_id);
  }

  soon(delay = 250) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), delay);
  }
}

export class QueueView {
  constructor({ state, onOpen }) {
    this.state = state;
    this.onOpen = onOpen;
    this.status = h("p", { class: "form-error", role: "status", hidden: true, "data-testid": "queue-status" });
    this.rows = h("tbody");
    this.agentsEl = h("ul", { class: "queue-agents" });
    this.el = h("section", { class: "queue-page", "data-testid": "queue-page" },
      h("div", { class: "admin-head" }, h("h1", { text: t("queue.title") })),
      h("p", { class: "muted", text: t("queue.intro") }),
      this.status,
      h("table", { class: "table queue-table" },
        h("thead", {}, h("tr", {},
          h("th", { text: t("queue.position") }), h("th", { text: t("queue.who") }), h("th", { text: t("queue.channel") }),
          h("th", { text: t("queue.team") }), h("th", { text: t("queue.waiting") }), h("th"))),
        this.rows),
      h("h2", { class: "queue-agents-title", text: t("queue.agents") }),
      this.agentsEl);
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  stop() {
    clearInterval(this.ticker);
  }

  paint() {
    const items = myQueue(this.state);
    const teamName = new Map(this.state.teams.map((tm) => [tm.id, tm.name]));
    this.rows.replaceChildren(...items.map((c) => h("tr", { dataset: { id: String(c.id) }, class: "queue-row" },
      h("td", { class: "queue-pos", text: t("queue.number", { n: c.queue_position }) }),
      h("td", {}, h("a", { href: `#/inbox/${c.id}`, class: "who" }, avatar(c.contact.name, `c${c.contact.id}`, "sm"), h("span", { text: c.contact.name }))),
      h("td", {}, kindChip(c.channel.kind), " ", c.channel.name),
      h("td", { text: teamName.get(c.team_id) || "" }),
      h("td", { class: "queue-wait", dataset: { since: c.created_at } }, this.waited(c.created_at)),
      h("td", { class: "right" },
        h("button", { class: "btn primary small", type: "button", "data-action": "take", text: t("queue.take"), onclick: (e) => this.take(c, e.currentTarget) })))));
    if (!items.length) this.rows.append(h("tr", {}, h("td", { colspan: "6", class: "empty", text: t("queue.empty") })));
    this.paintAgents();
  }

  /** The agents of the agent's teams: who could take work now, and how much they carry. */
  paintAgents() {
    const teams = myTeamIds(this.state);
    const ids = new Set(this.state.teams.filter((tm) => teams.has(tm.id)).flatMap((tm) => tm.agent_ids));
    const agents = [...this.state.agents.values()].filter((a) => a.active && ids.has(a.id));
    this.agentsEl.replaceChildren(...agents.map((a) => h("li", { dataset: { id: String(a.id) } },
      avatar(a.name, `a${a.id}`, "sm"), h("span", { class: "name", text: a.name }), presenceTag(a.presence, a.id))));
  }

  waited(since) {
    return fmtDuration((Date.now() - new Date(since).getTime()) / 1000);
  }

  tick() {
    for (const cell of this.rows.querySelectorAll(".queue-wait")) cell.textContent = this.waited(cell.dataset.since);
  }

  async take(conv, button) {
    button.disabled = true;
    try {
      await api.post(`/conversations/${conv.id}/take`);
      this.onOpen(conv.id);
    } catch (err) {
      button.disabled = false;
      // 409: someone was quicker, and the server says who; the row leaves with the next refresh
      this.status.textContent = t("queue.taken", { name: conv.contact.name, reason: err.message });
      this.status.hidden = false;
    }
  }
}
