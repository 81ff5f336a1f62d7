"""The login screen (Cognito USER_PASSWORD_AUTH from the browser)."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from e2e.pages.app import AppShell


class LoginPage:
    def __init__(self, app: AppShell) -> None:
        self.app = app

    def open(self) -> LoginPage:
        self.app.open("#/login")
        expect(self.app.by("login-form")).to_be_visible()
        return self

    def login(self, username: str, password: str) -> None:
        self.app.by("login-username").fill(username)
        self.app.by("login-password").fill(password)
        self.app.by("login-submit").click()

    def expect_logged_in(self, username: str) -> None:
        expect(self.app.current_user).to_have_text(username)
        expect(self.app.by("login-page")).to_have_count(0)

    @property
    def error(self) -> Locator:
        return self.app.by("login-error")

    @property
    def session_expired_notice(self) -> Locator:
        return self.app.by("login-session-expired")

    @property
    def form(self) -> Locator:
        return self.app.by("login-form")
