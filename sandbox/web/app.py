"""The web app as the frontend's S3 bucket would serve it.

For now: ``/config.json`` (the runtime config of moc-api.md, ``Cache-Control:
max-age=60``), a placeholder page at ``/`` and ``/health`` for the launcher.  The SPA
(login, upload, gallery, backend lock) replaces the placeholder later.
"""

from __future__ import annotations

import html
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.core.identity import PoolInfo
from sandbox.settings import SandboxSettings

__all__ = ["create_web_app", "runtime_config"]


def runtime_config(
    settings: SandboxSettings, serverless_url: str, pool: PoolInfo
) -> dict[str, object]:
    return {
        "apiBaseUrl": serverless_url,
        "useServerless": True,
        "cognitoConfig": {
            "userPoolId": pool.pool_id,
            "clientId": pool.client_id,
            "region": settings.region,
        },
    }


_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>MOC Instructions (sandbox)</title></head>
<body data-express-url="{express}" data-serverless-url="{serverless}">
<main data-testid="placeholder">
<h1>MOC Instructions</h1>
<p>Sandbox web app. Runtime configuration: <a href="/config.json">/config.json</a>.</p>
</main>
</body>
</html>
"""


def create_web_app(
    settings: SandboxSettings, serverless_url: str, express_url: str, pool: PoolInfo
) -> Starlette:
    config = json.dumps(runtime_config(settings, serverless_url, pool), separators=(",", ":"))
    page = _PAGE.format(express=html.escape(express_url), serverless=html.escape(serverless_url))

    async def config_json(request: Request) -> Response:
        return Response(
            config,
            media_type="application/json",
            headers={"Cache-Control": "max-age=60"},
        )

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/config.json", config_json),
            Route("/health", health),
            Route("/", index),
        ]
    )
