// The REST client: the token lives in localStorage; a 401 sends the agent back to the login page.

const TOKEN = "kefu.token";
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, reason, retryAfter = 0) {
    super(reason);
    this.status = status;
    /** seconds to wait, from a 429's Retry-After */
    this.retryAfter = retryAfter;
  }
}

export function token() {
  return localStorage.getItem(TOKEN);
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN, value);
  else localStorage.removeItem(TOKEN);
}

/** Called with no arguments when the token stops working. */
export function onUnauthorized(fn) {
  listeners.add(fn);
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const tok = token();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(`/api/v1${path}`, { method, headers, body: payload });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const reason = (data.error && data.error.reason) || res.statusText || `HTTP ${res.status}`;
    if (res.status === 401 && path !== "/auth/login") {
      setToken(null);
      for (const fn of listeners) fn();
    }
    throw new ApiError(res.status, reason, Number(res.headers.get("Retry-After")) || 0);
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body ?? {});
export const patch = (path, body) => request("PATCH", path, body);
export const put = (path, body) => request("PUT", path, body);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

export async function upload(file) {
  return uploadTo("/uploads", file);
}

/** A file in the multipart field `file`, to an endpoint that takes one. */
export async function uploadTo(path, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return request("POST", path, form);
}

/** A file an endpoint answers (a CSV export): {blob, filename}, with the token sent. */
export async function download(path) {
  const res = await fetch(`/api/v1${path}`, { headers: { Authorization: `Bearer ${token()}` } });
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    throw new ApiError(res.status, (data.error && data.error.reason) || res.statusText || `HTTP ${res.status}`);
  }
  const disposition = res.headers.get("Content-Disposition") || "";
  const named = disposition.match(/filename="([^"]+)"/);
  return { blob: await res.blob(), filename: named ? named[1] : "" };
}

/** The `before` cursor the API gives out is base64url(JSON [id]); the thread builds its own. */
export function cursorFor(id) {
  return btoa(JSON.stringify([id])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
