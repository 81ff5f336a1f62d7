"""Login through Cognito from the browser (USER_PASSWORD_AUTH, as Amplify does it)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from e2e.pages import AppShell, LoginPage
from e2e.support import NetworkLog, WebTarget

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]


def test_login_with_good_password(
    app: AppShell,
    login_page: LoginPage,
    network: NetworkLog,
    web: WebTarget,
    flow_backend: str,
    end_state: Callable[[str], None],
) -> None:
    username, password = web.credentials("alice")
    login_page.open()
    login_page.login(username, password)

    login_page.expect_logged_in(username)
    session = app.session()  # kept where Amplify keeps it
    assert {"idToken", "accessToken", "refreshToken", "LastAuthUser"} <= set(session), session
    assert [r.headers["x-amz-target"] for r in network.cognito_requests("USER_PASSWORD_AUTH")] == [
        "AWSCognitoIdentityProviderService.InitiateAuth"
    ]
    expect(app.by("mocs-page")).to_be_visible()
    network.expect_only(flow_backend)
    end_state("login")


def test_login_with_bad_password(
    app: AppShell,
    login_page: LoginPage,
    network: NetworkLog,
    web: WebTarget,
    flow_backend: str,
    end_state: Callable[[str], None],
) -> None:
    username, _ = web.credentials("alice")
    login_page.open()
    login_page.login(username, "not-the-password-1A!")

    expect(login_page.error).to_have_text("Incorrect username or password.")
    expect(login_page.form).to_be_visible()
    expect(app.current_user).to_be_hidden()
    assert app.session() == {}
    network.expect_only(flow_backend)
    end_state("login-bad-password")
