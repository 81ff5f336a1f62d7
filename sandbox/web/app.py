"""The web app as the frontend's S3 bucket (and a dev server) would serve it.

- ``/``: the SPA (plain HTML and ES modules from ``static/``, no build step, nothing fetched
  from outside the sandbox). The page carries the app's build-time constants (the hard-coded
  Express fallback URL and Cognito settings of the plan's T5 mitigation) in a JSON script
  element, the way Vite bakes ``import.meta.env`` into a real build.
- ``/config.json``: the runtime config of moc-api.md, ``Cache-Control: max-age=60``.
- ``/health``: for the launcher.
- ``/__sandbox/config`` (test-only; absent with ``production``): ``GET`` shows the config,
  ``PUT`` merges a JSON object into it (what ops do to S3 in a rollback: flip
  ``useServerless``), ``DELETE`` restores the start-up config.

Test-only defects (``PARITY_SANDBOX_WEB_BREAK``, :data:`BREAKS`) patch the served files so the
suite's own tests can show that the e2e flows catch a renamed ``data-testid``, a broken
config fallback or a backend lock that never expires.
"""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.core.identity import PoolInfo
from sandbox.drift import Drifts
from sandbox.settings import WEB_BREAKS, SandboxSettings

__all__ = [
    "BREAKS",
    "CONFIG_KEYS",
    "DIRECT_UPLOAD_MAX_BYTES",
    "build_constants",
    "create_web_app",
    "runtime_config",
    "static_files",
]

#: Direct (multipart) uploads up to this size; larger files go presign -> S3 -> complete.
#: Not the plan's 10 MB: API Gateway hands the Lambda a base64-encoded body inside a 6 MB
#: event, so ~4.5 MB is the real direct ceiling through serverless (moc-api.md, "Limits").
DIRECT_UPLOAD_MAX_BYTES = 4 * 1024 * 1024

#: Keys ``PUT /__sandbox/config`` accepts (the runtime config's, plus the sandbox's extras).
CONFIG_KEYS = frozenset(
    {"apiBaseUrl", "useServerless", "cognitoConfig", "directUploadMaxBytes", "serverlessWeight"}
)

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}

# name -> (what it breaks, [(file, regular expression, replacement)]); each expression must
# match exactly once, so a patch that no longer fits the SPA fails loudly at start-up.
BREAKS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "testid": (
        "the login button's data-testid is renamed (login-submit -> login-button)",
        [("index.html", r'data-testid="login-submit"', 'data-testid="login-button"')],
    ),
    "fallback": (
        "no fallback after the config fetch fails: neither last-known-good nor Express",
        [
            (
                "runtime-config.js",
                r"/\* fallback:start \*/.*?/\* fallback:end \*/",
                "throw new ConfigUnavailable(attempts); // broken on purpose (fallback)",
            )
        ],
    ),
    "lock": (
        "the backend lock never expires (the plan's risk O4)",
        [
            (
                "runtime-config.js",
                r"return lock\.expiresAt > now;",
                "return true; // broken on purpose (lock): never expires",
            )
        ],
    ),
}
assert set(BREAKS) == WEB_BREAKS, "sandbox.settings.WEB_BREAKS and BREAKS disagree"


def runtime_config(
    settings: SandboxSettings, serverless_url: str, pool: PoolInfo
) -> dict[str, object]:
    """The config the web app starts with: serverless, Cognito on the sandbox's moto."""
    return {
        "apiBaseUrl": serverless_url,
        "useServerless": True,
        "cognitoConfig": _cognito(settings, pool),
        "directUploadMaxBytes": DIRECT_UPLOAD_MAX_BYTES,
    }


def _cognito(settings: SandboxSettings, pool: PoolInfo) -> dict[str, str]:
    cognito = {"userPoolId": pool.pool_id, "clientId": pool.client_id, "region": settings.region}
    if pool.endpoint:
        # moto answers CORS preflights itself (flask-cors), so the browser calls it directly,
        # as Amplify calls cognito-idp.<region>.amazonaws.com; no same-origin proxy is needed.
        cognito["endpoint"] = pool.endpoint
    return cognito


def build_constants(settings: SandboxSettings, express_url: str, pool: PoolInfo) -> dict[str, Any]:
    """What the real frontend bakes in at build time (VITE_* variables)."""
    return {
        "expressFallbackUrl": express_url,
        "cognitoConfig": _cognito(settings, pool),
        "version": settings.version,
    }


def static_files(breaks: frozenset[str] = frozenset()) -> dict[str, str]:
    """name -> text of every file under ``static/``, with the named defects patched in."""
    root = resources.files("sandbox.web") / "static"
    files = {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in root.iterdir()
        if entry.is_file() and entry.name.rsplit(".", 1)[-1] in ("html", "js", "css")
    }
    for name in sorted(breaks):
        for filename, pattern, replacement in BREAKS[name][1]:
            patched, count = re.subn(pattern, replacement, files[filename], flags=re.S)
            if count != 1:
                raise ValueError(
                    f"web break {name!r}: {pattern!r} matches {filename} {count} times"
                )
            files[filename] = patched
    return files


def _script_json(value: object) -> str:
    # inside <script>: "</" must not close the element
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def create_web_app(
    settings: SandboxSettings, serverless_url: str, express_url: str, pool: PoolInfo
) -> Starlette:
    initial = runtime_config(settings, serverless_url, pool)
    state: dict[str, Any] = {"config": copy.deepcopy(initial)}
    files = static_files(settings.web_breaks)
    files["index.html"] = files["index.html"].replace(
        "__MOC_BUILD_JSON__", _script_json(build_constants(settings, express_url, pool))
    )
    no_cache = {"Cache-Control": "no-cache"}
    # The drift "cache-control" (tests only) changes what the bucket sends with it.
    config_headers = Drifts(settings.drifts).web_headers(
        "/config.json", {"Cache-Control": "max-age=60"}
    )

    async def config_json(request: Request) -> Response:
        return Response(
            json.dumps(state["config"], separators=(",", ":")),
            media_type="application/json",
            headers=config_headers,
        )

    async def index(request: Request) -> Response:
        return HTMLResponse(files["index.html"], headers=no_cache)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        if name not in files or suffix not in _MEDIA_TYPES:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(files[name], media_type=_MEDIA_TYPES[suffix], headers=no_cache)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def sandbox_config(request: Request) -> Response:
        if request.method == "PUT":
            try:
                changes = json.loads(await request.body())
            except ValueError:
                return JSONResponse({"error": "body is not JSON"}, status_code=400)
            if not isinstance(changes, dict):
                return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
            unknown = sorted(set(changes) - CONFIG_KEYS)
            if unknown:
                return JSONResponse(
                    {"error": f"unknown keys {unknown}; known: {sorted(CONFIG_KEYS)}"},
                    status_code=400,
                )
            config = {**state["config"], **changes}
            state["config"] = {k: v for k, v in config.items() if v is not None}
        elif request.method == "DELETE":
            state["config"] = copy.deepcopy(initial)
        return JSONResponse(state["config"], headers={"Cache-Control": "no-store"})

    routes = [
        Route("/", index),
        Route("/index.html", index),
        Route("/static/{name}", static),
        Route("/config.json", config_json),
        Route("/health", health),
    ]
    if not settings.production:
        routes.append(Route("/__sandbox/config", sandbox_config, methods=["GET", "PUT", "DELETE"]))
    return Starlette(routes=routes)
