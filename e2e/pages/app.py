"""The shell around every screen: start-up, header (backend indicator, user), footer
(config source, backend lock), the friendly API error."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Locator, Page, expect

from e2e.support import WebTarget

LOCK_KEY = "moc.backendLock"
LKG_KEY = "moc.config.lastKnownGood"


class AppShell:
    def __init__(self, page: Page, target: WebTarget) -> None:
        self.page = page
        self.target = target

    def by(self, testid: str) -> Locator:
        return self.page.get_by_test_id(testid)

    # -- navigation -------------------------------------------------------------------

    def open(self, route: str = "#/mocs", *, timeout: float = 15_000) -> None:
        self.page.goto(self.target.url(route))
        self.wait_started(timeout=timeout)

    def reload(self, *, timeout: float = 15_000) -> None:
        self.page.reload()
        self.wait_started(timeout=timeout)

    def wait_started(self, *, timeout: float = 15_000) -> None:
        """Until start-up is over: the app is shown, or the friendly error is."""
        self.page.locator(
            '[data-testid="app-main"]:visible, [data-testid="api-error"]:visible'
        ).first.wait_for(timeout=timeout)

    def expect_running(self, *, timeout: float = 15_000) -> None:
        """The app started (fails at once, with the reason, if it shows the API error)."""
        self.wait_started(timeout=timeout)
        if self.api_error.is_visible():
            reason = self.api_error.get_attribute("data-reason") or ""
            raise AssertionError(
                f"the app did not start: {self.by('api-error-message').inner_text()} {reason}"
            )
        expect(self.by("app-main")).to_be_visible()

    # -- header and footer ------------------------------------------------------------

    @property
    def backend(self) -> str:
        """Which backend the page says it uses (``data-backend`` of the indicator)."""
        return self.by("backend-indicator").get_attribute("data-backend") or ""

    @property
    def config_source(self) -> str:
        return self.by("config-source").inner_text()

    @property
    def current_user(self) -> Locator:
        return self.by("current-user")

    def logout(self) -> None:
        self.by("logout-button").click()

    # -- what the page keeps in localStorage --------------------------------------------

    def storage(self, key: str) -> Any:
        raw = self.page.evaluate("key => window.localStorage.getItem(key)", key)
        return None if raw is None else json.loads(raw) if raw[:1] in "{[" else raw

    def remove_storage(self, *keys: str) -> None:
        for key in keys:
            self.page.evaluate("key => window.localStorage.removeItem(key)", key)

    @property
    def lock(self) -> dict[str, Any] | None:
        value = self.storage(LOCK_KEY)
        return value if isinstance(value, dict) else None

    def session(self) -> dict[str, str]:
        """The Cognito tokens stored the way Amplify stores them (empty when signed out)."""
        return dict(
            self.page.evaluate(
                """() => {
                  const out = {};
                  for (let i = 0; i < localStorage.length; i++) {
                    const key = localStorage.key(i);
                    if (key.startsWith("CognitoIdentityServiceProvider.")) {
                      out[key.split(".").slice(-1)[0]] = localStorage.getItem(key);
                    }
                  }
                  return out;
                }"""
            )
        )

    # -- the friendly error -----------------------------------------------------------

    @property
    def api_error(self) -> Locator:
        return self.by("api-error")

    def retry(self) -> None:
        self.by("api-error-retry").click()
