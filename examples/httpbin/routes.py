"""Write the routes httpbin 0.10.4 serves as an OpenAPI document (paths and operations
only): the source of ``checks.coverage`` in catalog.yaml.

httpbin documents itself only through flasgger, which the pinned install leaves out (its
landing page is then the static manual), so its routes come from Flask's own URL map.
HEAD and OPTIONS, which Flask adds to every route, are left out (HEAD counts as its GET).
Run with httpbin's interpreter, from the repository root::

    .outside/httpbin/venv/bin/python examples/httpbin/routes.py \
        > examples/httpbin/httpbin-routes.json
"""

from __future__ import annotations

import json
import re
import sys

from httpbin import app  # httpbin's own venv (.outside/httpbin)


def main() -> int:
    paths: dict[str, dict[str, object]] = {}
    for rule in app.url_map.iter_rules():
        # /links/<int:n>/<int:offset> -> /links/{n}/{offset}
        path = re.sub(r"<(?:[a-z]+:)?([A-Za-z_]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = {"responses": {}}
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "httpbin 0.10.4 routes (Flask url_map)",
            "version": "0.10.4",
            "description": "Made by examples/httpbin/routes.py; regenerate, do not edit.",
        },
        "paths": dict(sorted(paths.items())),
    }
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
