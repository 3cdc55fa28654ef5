// The inbox app: login, the shell, routing, shared state and the live event wiring.
import * as api from "./api.js";
import { h, icon, avatar } from "./dom.js";
import { t, setLang, currentLang, setKinds } from "./i18n.js";
import { Live } from "./live.js";
import { renderLogin } from "./views/login.js";
import { ConversationList } from "./views/list.js";
import { Thread } from "./views/thread.js";
import { renderAdmin } from "./views/admin.js";
import { renderCannedPage, cannedIcon } from "./views/canned.js";
import { openAccount } from "./views/account.js";
import { VisitorPanel } from "./views/visitors.js";
import { presenceButton, applyPresence } from "./views/presence.js";
import { QueueFeed, QueueView, myQueue } from "./views/queue.js";
import { transferNotice } from "./views/transfer.js";
import { ContactDirectory } from "./views/contacts.js";

/** Shared state every view reads. */
export const state = {
  me: null,
  agents: new Map(),
  channels: new Map(),
  /** The kinds of channel the hub connects (GET /channel-kinds), in the server's order. */
  kinds: [],
  /** Connector packages the hub left out, with the reason: shown to admins. */
  kindProblems: [],
  live: null,
  /** How many failed inbound events an admin should look at. */
  failedEvents: 0,
  /** Who is on the sites now (the live visitor panel), by id: kept live for the rail's count. */
  visitors: new Map(),
  /** Every team (GET /teams): whose queue an agent sees, and the transfer dialog's choices. */
  teams: [],
  /** The conversations waiting for an agent (访客队列), by id, with their queue_position. */
  queue: new Map(),
  queueLoaded: false,
};

const root = document.getElementById("app");
let list = null;
let thread = null;
let visitorPanel = null;
let queueView = null;
const queueFeed = new QueueFeed(state, () => onQueueChanged());
let banner = null;
/** What the admin page shown now listens with (its live updates), or null elsewhere. */
let adminCtx = null;

api.onUnauthorized(() => logout(false));

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  return { page: parts[0] || "inbox", arg: parts[1] || "" };
}

async function boot() {
  root.classList.remove("booting");
  root.removeAttribute("aria-busy");
  if (!api.token()) return showLogin();
  try {
    state.me = await api.get("/me");
  } catch (err) {
    if (err.status === 401) return showLogin();
    root.replaceChildren(h("p", { class: "fatal", text: t("error.generic", { reason: err.message }) }));
    return;
  }
  if (!localStorage.getItem("kefu.lang") && state.me.locale) setLang(state.me.locale.startsWith("zh") ? "zh" : "en");
  // the queue is read per team of the agent's: after the teams
  await Promise.all([loadDirectory().then(() => queueFeed.load()), loadVisitors()]);
  startLive();
  render();
}

async function loadDirectory() {
  const [agents, channels, teams] = await Promise.all([api.get("/agents"), api.get("/channels"), api.get("/teams"), loadFailedCount(), loadKinds()]);
  state.agents = new Map(agents.items.map((a) => [a.id, a]));
  state.teams = teams.items;
  state.channels = new Map(channels.items.map((c) => [c.id, c]));
}

/** Everything channel-specific the pages show (names, colours, forms, event labels) comes from here. */
async function loadKinds() {
  try {
    const result = await api.get("/channel-kinds");
    state.kinds = result.items || [];
    state.kindProblems = result.problems || [];
  } catch {
    // the pages still work, naming kinds by their raw kind (a 401 signs out on its own)
  }
  setKinds(state.kinds);
}

async function loadFailedCount() {
  if (state.me?.role !== "admin") return;
  // /healthz counts them in the database already; the list would ship every payload to count
  const health = await fetch("/healthz", { headers: { Authorization: `Bearer ${api.token()}` } })
    .then((r) => r.json()).catch(() => null);
  state.failedEvents = health?.failed_events || 0;
}

/** A new failure, or another admin's retry: the count on the rail follows, and so does the page. */
let failedCountTimer = null;
function onFailedEventsChanged(data) {
  adminCtx?.onFailedEvents?.(data);
  clearTimeout(failedCountTimer); // a burst of failures: one count
  failedCountTimer = setTimeout(async () => {
    await loadFailedCount();
    root.querySelector(".rail")?.replaceWith(rail());
  }, 300);
}

function showLogin() {
  state.live?.stop();
  state.live = null;
  document.title = t("appName");
  renderLogin(root, async (result) => {
    api.setToken(result.token);
    await boot();
  });
}

async function logout(callServer = true) {
  if (callServer) await api.post("/auth/logout").catch(() => null);
  api.setToken(null);
  state.me = null;
  list = thread = null;
  showLogin();
}

function startLive() {
  state.live?.stop();
  state.live = new Live({
    event: (ev) => onEvent(ev),
    status: (up) => {
      if (banner) banner.hidden = up;
      document.body.dataset.live = up ? "up" : "down";
    },
    resynced: (result) => onResync(result),
    unauthorized: () => logout(false),
  });
  state.live.start();
}

function onEvent(ev) {
  const { type, data } = ev;
  if (type === "message.created" || type === "message.updated") {
    list?.onMessage(data, type === "message.created");
    thread?.onMessage(data);
  } else if (type === "conversation.updated") {
    list?.onConversation(data);
    thread?.onConversation(data);
    // positions are the server's to compute: a change that may move the queue asks again
    if (queueFeed.touches(data)) queueFeed.soon();
  } else if (type === "agent.presence") {
    if (applyPresence(state, data)) root.querySelector(".rail")?.replaceWith(rail());
  } else if (type === "conversation.transferred") {
    // to me, or to the queue of a team of mine: told at once, with a way to open it
    const toMyTeam = data.to_agent_id === null && state.teams.some((tm) => tm.id === data.to_team_id && tm.agent_ids.includes(state.me?.id));
    if ((data.to_agent_id === state.me?.id || toMyTeam) && data.actor_id !== state.me?.id) {
      transferNotice(state, data, (id) => { location.hash = `#/inbox/${id}`; });
    }
  } else if (type === "visitor.typing") {
    thread?.onVisitorTyping(data);
  } else if (type === "agent.typing") {
    if (data.agent_id !== state.me?.id) thread?.onAgentTyping(data);
  } else if (type === "failed_events.changed" && state.me?.role === "admin") {
    onFailedEventsChanged(data);
  } else if (type === "visitors.changed") {
    onVisitorsChanged(data);
  }
}

async function loadVisitors() {
  const page = await api.get("/visitors").catch(() => ({ items: [] }));
  state.visitors = new Map(page.items.map((v) => [v.id, v]));
  paintVisitorCount();
}

function onVisitorsChanged(data) {
  for (const v of data.visitors || []) state.visitors.set(v.id, v);
  for (const id of data.left || []) state.visitors.delete(id);
  visitorPanel?.onChanged(data);
  paintVisitorCount();
}

function paintVisitorCount() {
  const badge = root.querySelector("[data-link=visitors] .rail-badge");
  if (badge && state.visitors.size) badge.textContent = String(state.visitors.size);
  else if (Boolean(badge) !== Boolean(state.visitors.size)) root.querySelector(".rail")?.replaceWith(rail());
}

/** The waiting queue changed: its count on the rail, the queue page and the list's positions follow. */
function onQueueChanged() {
  const badge = root.querySelector("[data-link=queue] .rail-badge");
  const count = myQueue(state).length;
  if (badge && count) badge.textContent = String(count);
  else if (Boolean(badge) !== Boolean(count)) root.querySelector(".rail")?.replaceWith(rail());
  queueView?.paint();
  list?.paint();
}

function onResync(result) {
  queueFeed.soon();
  // failed_events.changed may have been missed too
  if (state.me?.role === "admin") onFailedEventsChanged({ change: "failed", ids: [] });
  // a reconnect often follows an upgrade of the hub, which may bring other kinds of channel
  loadKinds().catch(() => null);
  if (result.truncated) {
    list?.reload();
    thread?.reload();
    return;
  }
  for (const conv of result.conversations) onEvent({ type: "conversation.updated", data: conv });
  for (const msg of result.messages) {
    list?.onMessage(msg, true);
    thread?.onMessage(msg);
  }
}

function rail() {
  const { page } = route();
  const link = (href, name, label, active, badge = 0, glyph = null) =>
    h("a", { href, class: `rail-link${active ? " active" : ""}`, title: label, "aria-label": label, dataset: { link: name } }, glyph || icon(name, 22), h("span", { text: label }),
      badge ? h("span", { class: "rail-badge", "data-testid": `badge-${name}`, text: String(badge) }) : null);
  const isAdmin = state.me.role === "admin";
  return h("nav", { class: "rail", "aria-label": "main" },
    h("div", { class: "logo", title: t("appName") }, icon("inbox", 22)),
    link("#/inbox", "inbox", t("nav.inbox"), page === "inbox"),
    link("#/visitors", "visitors", t("nav.visitors"), page === "visitors", state.visitors.size),
    link("#/queue", "queue", t("nav.queue"), page === "queue", myQueue(state).length),
    link("#/contacts", "agents", t("nav.contacts"), page === "contacts"),
    link("#/canned", "canned", t("nav.canned"), page === "canned", 0, cannedIcon(22)),
    isAdmin && link("#/admin/channels", "channels", t("nav.channels"), page === "admin" && route().arg === "channels"),
    isAdmin && link("#/admin/agents", "agents", t("nav.agents"), page === "admin" && route().arg === "agents"),
    isAdmin && link("#/admin/teams", "teams", t("nav.teams"), page === "admin" && route().arg === "teams"),
    isAdmin && link("#/admin/service", "service", t("nav.service"), page === "admin" && route().arg === "service", 0, icon("clock", 22)),
    isAdmin && link("#/admin/failed", "warn", t("nav.failed"), page === "admin" && route().arg === "failed", state.failedEvents),
    h("div", { class: "grow" }),
    h("button", { class: "rail-link lang", type: "button", "data-testid": "lang-toggle", title: t("nav.language"), onclick: () => {
      setLang(currentLang() === "zh" ? "en" : "zh");
      render();
    } }, icon("globe", 20), h("span", { text: t("nav.language") })),
    presenceButton(state, avatar(state.me.name, `a${state.me.id}`, "sm"), {
      openAccount: () => openAccount(state.me),
      changed: () => root.querySelector(".rail")?.replaceWith(rail()),
    }),
    h("button", { class: "rail-link", type: "button", title: t("nav.logout"), "aria-label": t("nav.logout"), onclick: () => logout(true) }, icon("logout", 20)),
  );
}

function render() {
  if (!state.me) return;
  const { page, arg } = route();
  document.title = t("appName");
  banner = h("div", { class: "banner", role: "status", text: t("live.reconnecting") });
  banner.hidden = document.body.dataset.live !== "down";
  const main = h("main", { class: "main" });
  root.replaceChildren(h("div", { class: "shell" }, rail(), h("div", { class: "content" }, banner, main)));
  adminCtx = null;
  visitorPanel?.stop();
  visitorPanel = null;
  queueView?.stop();
  queueView = null;
  if (page === "queue") {
    list = thread = null;
    queueView = new QueueView({ state, onOpen: (id) => { location.hash = `#/inbox/${id}`; } });
    main.append(queueView.el);
    queueView.paint();
    return;
  }
  if (page === "contacts") {
    list = thread = null;
    const directory = new ContactDirectory({ state });
    main.append(directory.el);
    directory.load().catch(() => null);
    return;
  }
  if (page === "visitors") {
    list = thread = null;
    visitorPanel = new VisitorPanel({ state });
    main.append(visitorPanel.el);
    visitorPanel.paint();
    return;
  }
  if (page === "canned") {
    list = thread = null;
    renderCannedPage(main, { state });
    return;
  }
  if (page === "admin") {
    list = thread = null;
    adminCtx = {
      state,
      // a change of teams changes whose queue this agent sees
      reloadDirectory: () => loadDirectory().then(() => queueFeed.soon()),
      reloadKinds: loadKinds,
      failedChanged: async () => {
        await loadFailedCount();
        root.querySelector(".rail")?.replaceWith(rail());
      },
    };
    renderAdmin(main, arg || "channels", adminCtx);
    return;
  }
  thread = new Thread({ state, onOpenConversation: (id) => { location.hash = `#/inbox/${id}`; } });
  list = new ConversationList({
    state,
    selected: Number(arg) || null,
    onSelect: (id) => {
      if (route().arg !== String(id)) location.hash = `#/inbox/${id}`;
    },
  });
  main.append(list.el, thread.el);
  list.load();
  if (arg) thread.open(Number(arg));
}

window.addEventListener("hashchange", () => {
  const { page, arg } = route();
  if (page === "inbox" && list && thread) {
    list.select(Number(arg) || null);
    if (arg) thread.open(Number(arg));
    return;
  }
  render();
});

document.addEventListener("keydown", (e) => {
  if (!state.me || route().page !== "inbox" || !list) return;
  const tag = (e.target.tagName || "").toLowerCase();
  const typing = tag === "input" || tag === "textarea" || tag === "select" || e.target.isContentEditable;
  if (e.key === "Escape" && typing) {
    e.target.blur();
    return;
  }
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "j" || e.key === "ArrowDown") {
    e.preventDefault();
    list.move(1);
  } else if (e.key === "k" || e.key === "ArrowUp") {
    e.preventDefault();
    list.move(-1);
  } else if (e.key === "/") {
    e.preventDefault();
    if (!(thread && thread.focusReply())) list.focusSearch();
  } else if (e.key === "s") {
    e.preventDefault();
    list.focusSearch();
  } else if (e.key === "a") {
    thread?.assignToMe();
  } else if (e.key === "e") {
    thread?.toggleResolved();
  } else if (e.key === "c" && !document.querySelector("dialog[open]")) {
    e.preventDefault();
    list.compose();
  }
});

boot();
