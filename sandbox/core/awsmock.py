"""moto's server (S3 and Cognito in one process) on a free port, answering browsers' CORS
preflights the way the real services do.

The web app signs in from the browser: a ``POST /`` with ``X-Amz-Target`` to Cognito,
which a browser preflights with ``OPTIONS /``. A preflight carries no ``X-Amz-Target``, so
moto dispatches it to S3's ListBuckets, whose answer to ``OPTIONS`` moto 5.2.6 broke (500);
real Cognito answers it with 200 and the CORS headers. The middleware answers preflights of
``/`` itself, so the sandbox does not depend on how a moto release treats them. Preflights
of bucket paths (S3 uploads from the browser) still reach moto.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["start_moto"]

_PREFLIGHT_HEADERS = [
    ("Access-Control-Allow-Methods", "POST, OPTIONS"),
    ("Access-Control-Max-Age", "86400"),
    ("Content-Length", "0"),
]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def answer_cognito_preflight(app: WSGIApp) -> WSGIApp:
    """Wrap ``app``: an ``OPTIONS /`` preflight is answered 200, as Cognito's endpoint does."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (
            environ.get("REQUEST_METHOD") == "OPTIONS"
            and environ.get("PATH_INFO", "/") in ("", "/")
            and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        ):
            headers = [("Access-Control-Allow-Origin", environ.get("HTTP_ORIGIN") or "*")]
            asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
            if asked:
                headers.append(("Access-Control-Allow-Headers", asked))
            start_response("200 OK", headers + _PREFLIGHT_HEADERS + [("Vary", "Origin")])
            return [b""]
        return app(environ, start_response)

    return wrapped


def start_moto(host: str) -> tuple[str, Callable[[], None]]:
    """Start moto's server on ``host`` and a free port; return its URL and a stop function."""
    # heavy imports: only when the sandbox really starts
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = answer_cognito_preflight(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, 0, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    bound_host, port = server.server_address[:2]

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    return f"http://{bound_host!s}:{port}", stop
