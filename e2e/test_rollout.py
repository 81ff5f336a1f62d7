"""The frontend's side of the rollout (the migration plan's rollback, T5 and backend lock):

- rollback drill: ops flip ``useServerless`` in ``/config.json``; after a reload every API
  call goes to Express, also for a user the backend lock had pinned to serverless;
- ``/config.json`` failing: 3 attempts with backoff, then the last-known-good config, then
  the Express URL built into the app;
- the backend lock: kept across reloads for 24 hours, dropped after (Playwright's clock).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.pages import AppShell, MocsPage
from e2e.pages.app import LKG_KEY, LOCK_KEY
from e2e.support import ConfigControl, NetworkLog, WebTarget, failing_config

pytestmark = pytest.mark.e2e

DAY_MS = 24 * 60 * 60 * 1000


@pytest.fixture
def both(web: WebTarget) -> WebTarget:
    missing = {"express", "serverless"} - set(web.backends)
    if missing:
        pytest.skip(f"the rollout flows need both backends: pass --{missing.pop()}-url")
    return web


def load(app: AppShell, mocs_page: MocsPage, *, reload: bool = False) -> None:
    if reload:
        app.reload(timeout=20_000)
    else:
        app.open("#/mocs", timeout=20_000)
    app.expect_running()
    mocs_page.wait_loaded()


def test_rollback_drill_flipping_use_serverless_moves_api_calls_to_express(
    both: WebTarget,
    app: AppShell,
    mocs_page: MocsPage,
    network: NetworkLog,
    config_control: ConfigControl,
    end_state: Callable[[str], None],
) -> None:
    config_control.set(apiBaseUrl=both.backends["serverless"], useServerless=True)
    load(app, mocs_page)
    network.expect_only("serverless")
    assert app.lock is not None, "no backend lock after serverless answered"

    # the drill: what ops do to /config.json in S3
    config_control.set(apiBaseUrl=both.backends["express"], useServerless=False)
    mark = network.mark()
    load(app, mocs_page, reload=True)

    network.expect_only("express", since=mark)
    assert app.backend == "express"
    assert app.lock is None, "the rollback must drop the backend lock"
    end_state("rollback-drill")


def test_config_fetch_failure_retries_then_uses_last_known_good_then_express(
    both: WebTarget,
    app: AppShell,
    context: BrowserContext,
    mocs_page: MocsPage,
    network: NetworkLog,
    config_control: ConfigControl,
    end_state: Callable[[str], None],
) -> None:
    config_control.set(apiBaseUrl=both.backends["serverless"], useServerless=True)
    load(app, mocs_page)
    assert app.storage(LKG_KEY) is not None, "the config was not kept as last-known-good"

    # 1. /config.json answers 500: retries, then the last-known-good config (serverless)
    app.remove_storage(LOCK_KEY)  # so it is the cached config, not the lock, that decides
    with failing_config(context, both.web_url) as failure:
        mark = network.mark()
        load(app, mocs_page, reload=True)
    assert len(failure.attempts) == 3, failure.attempts
    first, second = failure.gaps()
    assert first >= 0.8 and second >= 1.6, f"no backoff (1 s, then 2 s): {failure.gaps()}"
    assert app.config_source == "cache"
    network.expect_only("serverless", since=mark)

    # 2. and with nothing cached (a first visit): the Express URL built into the app
    app.remove_storage(LOCK_KEY, LKG_KEY)
    with failing_config(context, both.web_url) as failure:
        mark = network.mark()
        load(app, mocs_page, reload=True)
    assert len(failure.attempts) == 3, failure.attempts
    assert app.config_source == "fallback"
    assert app.backend == "express"
    network.expect_only("express", since=mark)
    end_state("config-fallback")


def test_backend_lock_kept_across_reloads_and_dropped_after_24_hours(
    both: WebTarget,
    page: Page,
    app: AppShell,
    mocs_page: MocsPage,
    network: NetworkLog,
    config_control: ConfigControl,
    end_state: Callable[[str], None],
) -> None:
    if not both.is_sandbox:
        pytest.skip(
            "moving new page loads off serverless needs the sandbox's serverlessWeight "
            "(the browser cannot see Route53 weights); see docs/e2e.md"
        )
    page.clock.install()
    config_control.set(apiBaseUrl=both.backends["serverless"], useServerless=True)
    load(app, mocs_page)
    lock = app.lock
    assert lock is not None, "no backend lock after the first serverless answer"
    assert lock["expiresAt"] - lock["lockedAt"] == DAY_MS

    # New page loads now go to Express (weight 0); a locked user stays on serverless.
    config_control.set(serverlessWeight=0)
    for _ in range(2):
        mark = network.mark()
        load(app, mocs_page, reload=True)
        network.expect_only("serverless", since=mark)
        expect(app.by("backend-indicator")).to_have_attribute("data-reason", "lock")
    assert app.lock == lock, "the lock must not be renewed by later answers"

    # 24 hours and a minute later (the page's clock, not a real wait)
    page.clock.set_system_time(datetime.fromtimestamp((lock["expiresAt"] + 60_000) / 1000, UTC))
    mark = network.mark()
    load(app, mocs_page, reload=True)
    network.expect_only("express", since=mark)
    assert app.lock is None, "the expired lock was not dropped"
    end_state("backend-lock-expired")
