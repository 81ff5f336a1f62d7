// Runtime config and backend choice, as moc-api.md ("Runtime config") and the migration plan
// (T5 config fetch failure, rollback by config, backend lock) describe them.
//
//   /config.json (3 attempts, exponential backoff) -> last-known-good (localStorage)
//                                                  -> the Express URL built into the app
//
// Backend choice once a config is known:
//   useServerless=false (fresh from the network)  -> Express; the backend lock is dropped
//                                                    (the rollback switch must reach locked users)
//   useServerless=true and a valid backend lock   -> serverless
//   useServerless=true, no lock                   -> serverless for `serverlessWeight` % of page
//                                                    loads (default 100), else Express
// No config at all: a valid lock keeps the user on serverless, else the built-in Express URL.

export const LKG_KEY = "moc.config.lastKnownGood";
export const LOCK_KEY = "moc.backendLock";
export const LOCK_TTL_MS = 24 * 60 * 60 * 1000;
export const CONFIG_ATTEMPTS = 3;
export const BACKOFF_MS = [1000, 2000]; // waits after attempts 1 and 2: ~3 s plus the attempts
export const ATTEMPT_TIMEOUT_MS = 2500;
export const DEFAULT_DIRECT_UPLOAD_MAX_BYTES = 4 * 1024 * 1024;

export class ConfigUnavailable extends Error {
  constructor(attempts) {
    super(`config unavailable after ${attempts.length} attempts`);
    this.attempts = attempts;
  }
}

function isHttpUrl(value) {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

// The Zod schema of the real app, by hand: returns a list of problems (empty = valid).
export function validateConfig(config) {
  const problems = [];
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    return ["config is not an object"];
  }
  if (!isHttpUrl(config.apiBaseUrl)) problems.push("apiBaseUrl must be an http(s) URL");
  if (typeof config.useServerless !== "boolean") problems.push("useServerless must be a boolean");
  const cognito = config.cognitoConfig;
  if (cognito === null || typeof cognito !== "object") {
    problems.push("cognitoConfig must be an object");
  } else {
    for (const key of ["userPoolId", "clientId", "region"]) {
      if (typeof cognito[key] !== "string" || !cognito[key]) {
        problems.push(`cognitoConfig.${key} must be a non-empty string`);
      }
    }
    if (cognito.endpoint !== undefined && !isHttpUrl(cognito.endpoint)) {
      problems.push("cognitoConfig.endpoint must be an http(s) URL");
    }
  }
  if (config.serverlessWeight !== undefined) {
    const w = config.serverlessWeight;
    if (typeof w !== "number" || !(w >= 0 && w <= 100)) {
      problems.push("serverlessWeight must be a number from 0 to 100");
    }
  }
  if (config.directUploadMaxBytes !== undefined) {
    const n = config.directUploadMaxBytes;
    if (!Number.isInteger(n) || n < 0) problems.push("directUploadMaxBytes must be an integer >= 0");
  }
  return problems;
}

function readJson(storage, key) {
  try {
    const raw = storage.getItem(key);
    return raw === null ? null : JSON.parse(raw);
  } catch {
    return null;
  }
}

export function readLastKnownGood(storage) {
  const saved = readJson(storage, LKG_KEY);
  if (saved && validateConfig(saved.config).length === 0) return saved.config;
  return null;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function fetchOnce(url) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ATTEMPT_TIMEOUT_MS);
  try {
    // "no-cache": revalidate with the host on every load. The 60 s of max-age apply at the
    // CDN, which is where the plan's "users get the change within 60 seconds" comes from.
    const response = await fetch(url, { cache: "no-cache", signal: controller.signal });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const config = await response.json();
    const problems = validateConfig(config);
    if (problems.length) throw new Error(`invalid config: ${problems.join("; ")}`);
    return config;
  } finally {
    clearTimeout(timer);
  }
}

// -> {config, source: "network" | "cache" | "fallback", attempts: [{at, error}]}
export async function loadRuntimeConfig({ storage, build, url = "/config.json" }) {
  const attempts = [];
  for (let i = 0; i < CONFIG_ATTEMPTS; i += 1) {
    try {
      const config = await fetchOnce(url);
      attempts.push({ at: Date.now(), error: null });
      storage.setItem(LKG_KEY, JSON.stringify({ config, savedAt: Date.now() }));
      return { config, source: "network", attempts };
    } catch (error) {
      attempts.push({ at: Date.now(), error: String(error.message || error) });
      if (i < CONFIG_ATTEMPTS - 1) await sleep(BACKOFF_MS[i]);
    }
  }
  /* fallback:start */
  const cached = readLastKnownGood(storage);
  if (cached) return { config: cached, source: "cache", attempts };
  return { config: fallbackConfig(build), source: "fallback", attempts };
  /* fallback:end */
}

// The config the app was built with: the hard-coded Express URL of the plan (T5).
export function fallbackConfig(build) {
  return {
    apiBaseUrl: build.expressFallbackUrl,
    useServerless: false,
    cognitoConfig: { ...build.cognitoConfig },
  };
}

// -- backend lock -------------------------------------------------------------------------

export function readLock(storage) {
  const lock = readJson(storage, LOCK_KEY);
  if (!lock || lock.backend !== "serverless" || typeof lock.expiresAt !== "number") return null;
  return lock;
}

export function lockIsValid(lock, now) {
  return lock.expiresAt > now;
}

// The lock valid now, dropping an expired one from storage.
export function currentLock(storage, now = Date.now()) {
  const lock = readLock(storage);
  if (!lock) return null;
  if (lockIsValid(lock, now)) return lock;
  storage.removeItem(LOCK_KEY);
  return null;
}

// Set after the first serverless answer; never renewed while valid (24 h from first contact).
export function noteServerlessAnswer(storage, apiBaseUrl, now = Date.now()) {
  if (currentLock(storage, now)) return false;
  const lock = { backend: "serverless", apiBaseUrl, lockedAt: now, expiresAt: now + LOCK_TTL_MS };
  storage.setItem(LOCK_KEY, JSON.stringify(lock));
  return true;
}

export function clearLock(storage) {
  storage.removeItem(LOCK_KEY);
}

// -> {backend: "serverless" | "express", apiBaseUrl, reason}
export function chooseBackend({ config, source }, { storage, build, random = Math.random }) {
  const now = Date.now();
  if (source === "fallback") {
    const lock = currentLock(storage, now);
    if (lock) return { backend: "serverless", apiBaseUrl: lock.apiBaseUrl, reason: "lock" };
    return { backend: "express", apiBaseUrl: config.apiBaseUrl, reason: "fallback" };
  }
  if (!config.useServerless) {
    if (source === "network") clearLock(storage); // rollback by config wins over the lock
    return { backend: "express", apiBaseUrl: config.apiBaseUrl, reason: "config" };
  }
  if (currentLock(storage, now)) {
    return { backend: "serverless", apiBaseUrl: config.apiBaseUrl, reason: "lock" };
  }
  const weight = config.serverlessWeight === undefined ? 100 : config.serverlessWeight;
  if (random() * 100 < weight) {
    return { backend: "serverless", apiBaseUrl: config.apiBaseUrl, reason: "config" };
  }
  return { backend: "express", apiBaseUrl: build.expressFallbackUrl, reason: "weight" };
}
