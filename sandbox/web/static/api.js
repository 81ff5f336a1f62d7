// The app's baseQueryWithAuth: one fetch wrapper for every API call. It adds the Cognito
// IdToken, refreshes and retries once on a 401, copes with both error shapes (the Express
// envelope and API Gateway's bare {"message"}), and reports every answer so the backend lock
// can be set after the first serverless one.

import { SessionEnded } from "./auth.js";

const GATEWAY_CODES = { 400: "VALIDATION_ERROR", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 413: "PAYLOAD_TOO_LARGE" };

export class ApiError extends Error {
  constructor(status, code, message, origin, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.origin = origin; // "application" (envelope) or "gateway" (bare message)
    this.details = details;
  }

  static from(status, body) {
    if (body && body.status === "error") {
      const error = body.error || {};
      return new ApiError(status, error.code || "ERROR", body.message, "application", error.details || []);
    }
    const code = GATEWAY_CODES[status] || (status >= 500 ? "INTERNAL" : "ERROR");
    const message = (body && body.message) || `The service answered ${status}.`;
    return new ApiError(status, code, message, "gateway");
  }
}

// The backend could not be reached at all (no HTTP answer).
export class ApiUnreachable extends Error {}

export class Api {
  constructor({ baseUrl, auth, onAnswer = () => {} }) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.auth = auth;
    this.onAnswer = onAnswer;
  }

  url(path, query) {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    return url.toString();
  }

  async send(method, url, { json, form, token, timeoutMs }) {
    const headers = {};
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form; // the browser writes the multipart boundary
    }
    if (token) headers.Authorization = `Bearer ${token}`;
    const controller = new AbortController();
    const timer = timeoutMs ? setTimeout(() => controller.abort(), timeoutMs) : null;
    let response;
    try {
      response = await fetch(url, { method, headers, body, signal: controller.signal });
    } catch (error) {
      throw new ApiUnreachable(`${method} ${url}: ${error.message || error}`);
    } finally {
      if (timer) clearTimeout(timer);
    }
    this.onAnswer(response);
    return response;
  }

  // -> the envelope's `data`; throws ApiError, ApiUnreachable or SessionEnded
  async request(method, path, { query, json, form, auth = false, timeoutMs } = {}) {
    const url = this.url(path, query);
    let token = auth ? await this.auth.getIdToken() : null;
    let response = await this.send(method, url, { json, form, token, timeoutMs });
    if (response.status === 401 && auth) {
      token = await this.auth.getIdToken({ forceRefresh: true });
      response = await this.send(method, url, { json, form, token, timeoutMs });
      if (response.status === 401) {
        this.auth.signOut();
        throw new SessionEnded("Unauthorized", "Your session has ended. Please log in again.");
      }
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) throw ApiError.from(response.status, body);
    return body ? body.data : null;
  }

  async health() {
    const response = await this.send("GET", this.url("/health"), { timeoutMs: 5000 });
    if (!response.ok) throw new ApiUnreachable(`/health answered ${response.status}`);
    return response.json();
  }
}
