// The sandbox's stand-in for the React frontend: start-up (config, backend choice, health
// check), hash routing and the views the e2e flows drive. Every element a test touches has a
// data-testid; docs/frontend-testids.md lists them as the contract with the frontend team.

import { Api, ApiError, ApiUnreachable } from "./api.js";
import { CognitoAuth, SessionEnded } from "./auth.js";
import {
  chooseBackend,
  clearLock,
  currentLock,
  loadRuntimeConfig,
  noteServerlessAnswer,
} from "./runtime-config.js";
import { directLimit, formatBytes, MAX_FILE_BYTES, uploadMocFile } from "./upload.js";

const $ = (testid, root = document) => root.querySelector(`[data-testid="${testid}"]`);
const storage = window.localStorage;
const build = JSON.parse(document.getElementById("moc-build").textContent);

const app = { config: null, source: null, choice: null, api: null, auth: null, sessionEnded: false };
window.__moc = app; // for debugging in the browser console

function show(testid, visible) {
  const el = $(testid);
  if (el) el.hidden = !visible;
}

function clone(templateId) {
  return document.getElementById(templateId).content.firstElementChild.cloneNode(true);
}

function setText(root, testid, text) {
  const el = $(testid, root);
  if (el) el.textContent = text;
}

function showBanner(message) {
  const banner = $("error-banner");
  banner.textContent = message;
  banner.hidden = !message;
}

function describeError(error) {
  if (error instanceof ApiError) return `${error.message} (${error.status} ${error.code})`;
  if (error instanceof ApiUnreachable) return "The service is not answering. Please try again.";
  return error.message || String(error);
}

// -- header and footer ---------------------------------------------------------------------

function renderStatus() {
  const { choice, source } = app;
  const indicator = $("backend-indicator");
  indicator.textContent = `API: ${choice.backend}`;
  indicator.dataset.backend = choice.backend;
  indicator.dataset.apiBaseUrl = choice.apiBaseUrl;
  indicator.dataset.reason = choice.reason;
  $("config-source").textContent = source;
  const lock = currentLock(storage);
  const lockEl = $("backend-lock");
  lockEl.dataset.locked = String(Boolean(lock));
  lockEl.dataset.expiresAt = lock ? String(lock.expiresAt) : "";
  lockEl.textContent = lock
    ? `locked to serverless until ${new Date(lock.expiresAt).toISOString()}`
    : "no backend lock";
  show("backend-lock-clear", Boolean(lock));
}

function renderUser() {
  const user = app.auth && app.auth.currentUser();
  show("user-menu", Boolean(user));
  show("nav-login", !user);
  $("current-user").textContent = user ? user.username : "";
}

// -- start-up ------------------------------------------------------------------------------

async function boot() {
  show("app-loading", true);
  show("api-error", false);
  show("app-main", false);
  const resolved = await loadRuntimeConfig({ storage, build });
  app.config = resolved.config;
  app.source = resolved.source;
  app.configAttempts = resolved.attempts;
  app.choice = chooseBackend(resolved, { storage, build });
  app.auth = new CognitoAuth({ cognitoConfig: app.config.cognitoConfig, storage });
  app.api = new Api({
    baseUrl: app.choice.apiBaseUrl,
    auth: app.auth,
    onAnswer: () => {
      if (app.choice.backend === "serverless") {
        noteServerlessAnswer(storage, app.choice.apiBaseUrl);
        renderStatus();
      }
    },
  });
  renderStatus();
  renderUser();
  try {
    await app.api.health();
  } catch (error) {
    // T1: fail fast with a friendly message instead of a blank page
    show("app-loading", false);
    show("api-error", true);
    $("api-error").dataset.reason = String(error.message || error);
    return;
  }
  show("app-loading", false);
  show("app-main", true);
  document.body.dataset.ready = "true";
  await route();
}

// -- routing -------------------------------------------------------------------------------

const routes = [
  [/^#\/login$/, viewLogin],
  [/^#\/gallery$/, viewGallery],
  [/^#\/upload$/, viewUpload],
  [/^#\/mocs\/([0-9a-f-]{36})$/, viewMocDetail],
  [/^#\/mocs$/, viewMocs],
];

async function route() {
  if (!app.api || $("app-main").hidden) return;
  showBanner("");
  const hash = window.location.hash || "#/mocs";
  const main = $("app-main");
  for (const [pattern, view] of routes) {
    const match = hash.match(pattern);
    if (match) {
      main.replaceChildren();
      main.dataset.view = view.name;
      try {
        await view(main, ...match.slice(1));
      } catch (error) {
        handleError(error);
      }
      return;
    }
  }
  window.location.hash = "#/mocs";
}

function handleError(error) {
  if (error instanceof SessionEnded) {
    app.sessionEnded = error.code !== "NoSession";
    renderUser();
    const here = window.location.hash.replace(/^#\//, "");
    goLogin(here && here !== "login" ? here : "mocs");
    return;
  }
  showBanner(describeError(error));
}

function goLogin(next) {
  app.next = next;
  if (window.location.hash === "#/login") route();
  else window.location.hash = "#/login";
}

function requireUser() {
  if (!app.auth.currentUser()) throw new SessionEnded("NoSession", "Please log in.");
}

// -- views ---------------------------------------------------------------------------------

async function viewLogin(main) {
  const page = clone("view-login");
  main.append(page);
  show("login-session-expired", app.sessionEnded);
  const form = $("login-form", page);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("login-error", page);
    error.hidden = true;
    const submit = $("login-submit", page);
    submit.disabled = true;
    try {
      await app.auth.signIn(form.username.value.trim(), form.password.value);
      app.sessionEnded = false;
      renderUser();
      window.location.hash = `#/${app.next || "mocs"}`;
      app.next = null;
    } catch (err) {
      error.textContent =
        err.code === "NotAuthorizedException" || err.code === "UserNotFoundException"
          ? "Incorrect username or password."
          : err.message;
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  $("login-username", page).focus();
}

const mocsState = { q: "", theme: "", page: 1, limit: 6 };

async function viewMocs(main) {
  const page = clone("view-mocs");
  main.append(page);
  const form = $("mocs-search-form", page);
  form.q.value = mocsState.q;
  const load = async () => {
    const { q, theme, limit } = mocsState;
    const query = { page: mocsState.page, limit };
    let data;
    if (q && !theme) {
      data = await app.api.request("GET", "/api/mocs/search", { query: { ...query, q } });
    } else {
      data = await app.api.request("GET", "/api/mocs", { query: { ...query, q, theme, sort: "newest" } });
    }
    const list = $("mocs-list", page);
    list.replaceChildren(
      ...data.items.map((moc) => {
        const card = clone("view-moc-card");
        card.dataset.mocId = moc.id;
        setText(card, "moc-card-title", moc.title);
        setText(card, "moc-card-meta", `${moc.theme} · ${moc.pieceCount} pieces`);
        $("moc-card-link", card).href = `#/mocs/${moc.id}`;
        return card;
      }),
    );
    show("mocs-empty", data.items.length === 0);
    setText(page, "mocs-total", `${data.total} MOC${data.total === 1 ? "" : "s"}`);
    const pages = Math.max(1, Math.ceil(data.total / data.limit));
    setText(page, "mocs-page-number", `page ${data.page} of ${pages}`);
    $("mocs-page-prev", page).disabled = data.page <= 1;
    $("mocs-page-next", page).disabled = data.page >= pages;
    page.dataset.loaded = `${q}|${theme}|${data.page}`;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    mocsState.q = form.q.value.trim();
    mocsState.theme = form.theme.value;
    mocsState.page = 1;
    load().catch(handleError);
  });
  $("mocs-page-prev", page).addEventListener("click", () => {
    mocsState.page -= 1;
    load().catch(handleError);
  });
  $("mocs-page-next", page).addEventListener("click", () => {
    mocsState.page += 1;
    load().catch(handleError);
  });
  const stats = await app.api.request("GET", "/api/mocs/stats");
  for (const theme of Object.keys(stats.byTheme).sort()) {
    form.theme.append(new Option(theme, theme));
  }
  form.theme.value = mocsState.theme;
  await load();
}

async function viewMocDetail(main, mocId) {
  const moc = await app.api.request("GET", `/api/mocs/${mocId}`);
  const page = clone("view-moc-detail");
  page.dataset.mocId = moc.id;
  setText(page, "moc-detail-title", moc.title);
  setText(page, "moc-detail-theme", moc.theme);
  setText(page, "moc-detail-pieces", String(moc.pieceCount));
  setText(page, "moc-detail-description", moc.description);
  const files = $("moc-files", page);
  for (const file of moc.files) {
    const li = document.createElement("li");
    li.dataset.testid = "moc-file";
    li.dataset.size = String(file.size);
    li.dataset.sha256 = file.sha256;
    const link = document.createElement("a");
    link.href = file.url;
    link.textContent = file.filename;
    link.dataset.testid = "moc-file-name";
    li.append(link, ` (${formatBytes(file.size)}, ${file.kind})`);
    files.append(li);
  }
  $("moc-files-empty", page).hidden = moc.files.length !== 0;
  main.append(page);
}

async function viewGallery(main) {
  requireUser();
  const page = clone("view-gallery");
  main.append(page);
  const form = $("gallery-search-form", page);
  const load = async (q) => {
    const data = q
      ? await app.api.request("GET", "/api/images/search", { query: { q }, auth: true })
      : await app.api.request("GET", "/api/images", { query: { limit: 50 }, auth: true });
    const grid = $("gallery-grid", page);
    grid.replaceChildren(
      ...data.items.map((image) => {
        const tile = clone("view-gallery-image");
        tile.dataset.imageId = image.id;
        const img = $("gallery-image-img", tile);
        img.src = image.thumbnailUrl;
        img.alt = image.title;
        setText(tile, "gallery-image-title", image.title);
        return tile;
      }),
    );
    $("gallery-empty", page).hidden = data.items.length !== 0;
    setText(page, "gallery-total", `${data.total} image${data.total === 1 ? "" : "s"}`);
    page.dataset.loaded = q || "*";
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(form.q.value.trim()).catch(handleError);
  });
  await load("");
}

async function viewUpload(main) {
  requireUser();
  const page = clone("view-upload");
  main.append(page);
  const limit = directLimit(app.config);
  setText(
    page,
    "upload-limits",
    `Files up to ${formatBytes(MAX_FILE_BYTES)}. Up to ${formatBytes(limit)} they go through the API; larger ones go straight to storage.`,
  );
  const form = $("upload-form", page);
  const progress = $("upload-progress", page);
  const errorEl = $("upload-error", page);
  const result = $("upload-result", page);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorEl.hidden = true;
    result.hidden = true;
    const file = form.file.files[0];
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      errorEl.textContent = `${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(MAX_FILE_BYTES)}.`;
      errorEl.hidden = false;
      return;
    }
    $("upload-submit", page).disabled = true;
    const onProgress = (text) => {
      progress.textContent = text;
      progress.hidden = false;
    };
    try {
      onProgress("Creating the MOC…");
      const moc = await app.api.request("POST", "/api/mocs", {
        auth: true,
        json: {
          title: form.title.value.trim(),
          theme: form.theme.value.trim(),
          pieceCount: Number(form.pieceCount.value),
          description: form.description.value,
          tags: [],
        },
      });
      const uploaded = await uploadMocFile(app.api, app.config, moc.id, file, { onProgress });
      result.dataset.mocId = moc.id;
      result.dataset.uploadMethod = uploaded.method;
      result.dataset.fileSize = String(uploaded.file.size);
      result.dataset.sha256 = uploaded.file.sha256;
      setText(result, "upload-result-filename", uploaded.file.filename);
      setText(result, "upload-result-size", formatBytes(uploaded.file.size));
      setText(result, "upload-result-method", uploaded.method);
      $("upload-result-link", result).href = `#/mocs/${moc.id}`;
      progress.hidden = true;
      result.hidden = false;
    } catch (error) {
      progress.hidden = true;
      if (error instanceof SessionEnded) {
        handleError(error);
        return;
      }
      errorEl.textContent = describeError(error);
      errorEl.hidden = false;
    } finally {
      $("upload-submit", page).disabled = false;
    }
  });
}

// -- wiring --------------------------------------------------------------------------------

window.addEventListener("hashchange", () => route());
$("logout-button").addEventListener("click", () => {
  app.auth.signOut();
  app.sessionEnded = false;
  renderUser();
  window.location.hash = "#/mocs";
});
$("api-error-retry").addEventListener("click", () => boot());
$("backend-lock-clear").addEventListener("click", () => {
  clearLock(storage); // O4: a way to clear the lock for testing
  renderStatus();
});

boot().catch((error) => {
  // Nothing may leave the page blank.
  show("app-loading", false);
  show("api-error", true);
  $("api-error-message").textContent = `The app could not start: ${error.message || error}`;
});
