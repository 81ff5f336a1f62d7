"""Sessions: an expired IdToken is refreshed through Cognito's refresh token without the user
noticing (and the backend accepts the new token); a 401 from the API refreshes and retries
once; a revoked refresh token sends the user to the login screen."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from e2e.pages import AppShell, GalleryPage, LoginPage
from e2e.support import NetworkLog, WebTarget, cognito_call

pytestmark = pytest.mark.e2e


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def after_expiry(token: str, minutes: int = 5) -> datetime:
    return datetime.fromtimestamp(claims(token)["exp"] + minutes * 60, UTC)


def test_expired_session_is_refreshed_without_the_user_noticing(
    page: Page,
    app: AppShell,
    sign_in: Callable[[str], str],
    gallery_page: GalleryPage,
    network: NetworkLog,
    flow_backend: str,
    end_state: Callable[[str], None],
) -> None:
    page.clock.install()
    username = sign_in("alice")
    old = app.session()["idToken"]

    page.clock.set_system_time(after_expiry(old))  # the page's clock, past the IdToken's exp
    mark = network.mark()
    gallery_page.open()

    expect(gallery_page.images).not_to_have_count(0)
    expect(app.current_user).to_have_text(username)
    assert len(network.cognito_requests("REFRESH_TOKEN_AUTH")) == 1
    new = app.session()["idToken"]
    assert new != old
    images = [c for c in network.api_calls(mark) if c.path == "/api/images"]
    assert [(c.authorization, c.status) for c in images] == [(f"Bearer {new}", 200)]
    network.expect_only(flow_backend)
    end_state("session-refreshed")


def test_a_401_from_the_api_refreshes_the_token_and_retries_once(
    context: BrowserContext,
    app: AppShell,
    sign_in: Callable[[str], str],
    gallery_page: GalleryPage,
    network: NetworkLog,
    flow_backend: str,
) -> None:
    sign_in("alice")
    rejected: list[str] = []

    def reject_first(route: Route) -> None:
        if rejected:
            route.fallback()
            return
        rejected.append(route.request.url)  # as API Gateway's JWT authorizer answers
        route.fulfill(status=401, json={"message": "Unauthorized"})

    context.route(lambda url: "/api/images" in url, reject_first)
    mark = network.mark()
    gallery_page.open()

    expect(gallery_page.images).not_to_have_count(0)
    assert len(network.cognito_requests("REFRESH_TOKEN_AUTH")) == 1
    statuses = [c.status for c in network.api_calls(mark) if c.path == "/api/images"]
    assert statuses == [401, 200]
    network.expect_only(flow_backend)


def test_revoked_refresh_token_sends_the_user_to_login(
    page: Page,
    app: AppShell,
    sign_in: Callable[[str], str],
    login_page: LoginPage,
    network: NetworkLog,
    web: WebTarget,
    end_state: Callable[[str], None],
) -> None:
    page.clock.install()
    sign_in("alice")
    session = app.session()
    cognito = httpx.get(web.url("config.json"), timeout=10).json()["cognitoConfig"]
    endpoint = cognito.get("endpoint") or f"https://cognito-idp.{cognito['region']}.amazonaws.com/"
    # signed out everywhere (another device, an admin, a password reset): refresh tokens revoked
    revoked = cognito_call(endpoint, "GlobalSignOut", {"AccessToken": session["accessToken"]})
    assert revoked.status_code == 200, revoked.text

    page.clock.set_system_time(after_expiry(session["idToken"]))
    app.by("nav-gallery").click()

    expect(login_page.form).to_be_visible()
    expect(login_page.session_expired_notice).to_be_visible()
    expect(app.current_user).to_be_hidden()
    assert len(network.cognito_requests("REFRESH_TOKEN_AUTH")) == 1
    assert app.session() == {}
    assert not [c for c in network.api_calls() if c.path.startswith("/api/images")]
    end_state("session-revoked")
