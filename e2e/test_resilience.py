"""The API unreachable (the plan's T1): the start-up health check shows a friendly error,
never a blank page, and "Try again" recovers once the API is back."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Route, expect

from e2e.pages import AppShell, MocsPage
from e2e.support import WebTarget, origin

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("failure", ["connection-refused", "health-503"])
def test_api_unreachable_shows_a_friendly_error_not_a_blank_page(
    failure: str,
    context: BrowserContext,
    app: AppShell,
    mocs_page: MocsPage,
    web: WebTarget,
    end_state: Callable[[str], None],
) -> None:
    def is_api(url: str) -> bool:
        path = urlsplit(url).path
        return origin(url) != origin(web.web_url) and (
            path == "/health" or path.startswith("/api/")
        )

    def down(route: Route) -> None:
        if failure == "connection-refused":
            route.abort("connectionrefused")
        else:
            route.fulfill(status=503, json={"status": "error", "message": "db down", "data": None})

    context.route(is_api, down)
    app.open("#/mocs")

    expect(app.api_error).to_be_visible()
    expect(app.api_error).to_contain_text("We can't reach MOC Instructions right now")
    expect(app.by("api-error-retry")).to_be_enabled()
    expect(app.by("app-header")).to_be_visible()
    expect(app.by("app-main")).to_be_hidden()
    if failure == "connection-refused":
        end_state("api-unreachable")

    context.unroute(is_api, down)
    app.retry()
    app.expect_running()
    mocs_page.wait_loaded()
    expect(app.api_error).to_be_hidden()
