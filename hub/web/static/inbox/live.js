// The agent websocket: live events, reconnect with backoff, and a resync so nothing is missed.
import { get, token } from "./api.js";

const RESYNC_MARGIN_MS = 5000;

export class Live {
  /** handlers: {event(ev), status(connected: bool), resynced(result), ready(agent)} */
  constructor(handlers) {
    this.handlers = handlers;
    this.ws = null;
    this.attempts = 0;
    this.lastTs = null; // the newest event time seen: where a resync starts from
    this.stopped = false;
    this.pinger = null;
    this.typingSent = new Map();
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.pinger);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  connect() {
    const url = new URL("/api/v1/ws", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", token: token() })));
    ws.addEventListener("message", (e) => {
      let frame;
      try {
        frame = JSON.parse(e.data);
      } catch {
        return;
      }
      this.onFrame(frame);
    });
    ws.addEventListener("close", (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pinger);
      this.handlers.status?.(false);
      if (this.stopped) return;
      if (e.code === 4001) {
        this.handlers.unauthorized?.();
        return;
      }
      // 4000: we may have missed events; reconnect soon and resync (spread over a second:
      // after a blip of the hub's live feed, every page hears this at once). Else: back off.
      const delay = e.code === 4000 ? Math.random() * 1000 : Math.min(30000, 500 * 2 ** Math.min(this.attempts, 6)) * (0.7 + Math.random() * 0.6);
      this.attempts += 1;
      setTimeout(() => this.connect(), delay);
    });
  }

  async onFrame(frame) {
    if (frame.type === "ready") {
      const first = this.lastTs === null;
      this.attempts = 0;
      this.handlers.status?.(true);
      this.handlers.ready?.(frame.agent);
      this.pinger = setInterval(() => this.send({ type: "ping" }), 20000);
      if (first) this.lastTs = frame.now;
      else await this.resync();
      return;
    }
    if (frame.ts) this.seen(frame.ts);
    if (frame.type && frame.data) this.handlers.event?.(frame);
  }

  seen(ts) {
    if (!this.lastTs || ts > this.lastTs) this.lastTs = ts;
  }

  async resync() {
    const since = new Date(new Date(this.lastTs).getTime() - RESYNC_MARGIN_MS).toISOString();
    try {
      const result = await get(`/sync?since=${encodeURIComponent(since)}`);
      this.lastTs = result.now;
      this.handlers.resynced?.(result);
    } catch {
      /* the next reconnect tries again */
    }
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  /** Tell the visitor an agent is typing; throttled to one "on" frame every 3 s. */
  typing(conversationId, on) {
    const last = this.typingSent.get(conversationId) || 0;
    const now = Date.now();
    if (on && now - last < 3000) return;
    this.typingSent.set(conversationId, on ? now : 0);
    this.send({ type: "typing", conversation_id: conversationId, on });
  }
}
