"""Browsing: the public MOC list (search, theme filter, a MOC's page) and the signed-in
user's gallery (images, search)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from e2e.pages import GalleryPage, MocsPage
from e2e.support import NetworkLog

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]


def test_browse_and_search_mocs(
    mocs_page: MocsPage,
    network: NetworkLog,
    flow_backend: str,
    end_state: Callable[[str], None],
) -> None:
    mocs_page.open()
    expect(mocs_page.cards).not_to_have_count(0)

    mocs_page.search("gatehouse")
    assert mocs_page.titles() == ["Castle Gatehouse"]
    searches = [c for c in network.api_calls() if c.path == "/api/mocs/search"]
    assert searches and "q=gatehouse" in searches[-1].url

    mocs_page.search("", theme="Space")
    metas = mocs_page.app.by("moc-card-meta").all_inner_texts()
    assert metas and all(m.startswith("Space ·") for m in metas), metas

    title = mocs_page.titles()[0]
    detail = mocs_page.open_moc(title)
    expect(detail.title).to_have_text(title)
    expect(mocs_page.app.by("moc-detail-theme")).to_have_text("Space")
    network.expect_only(flow_backend)
    end_state("browse-mocs")


def test_browse_and_search_gallery(
    sign_in: Callable[[str], str],
    gallery_page: GalleryPage,
    network: NetworkLog,
    flow_backend: str,
    end_state: Callable[[str], None],
) -> None:
    sign_in("alice")
    gallery_page.open()
    expect(gallery_page.images).not_to_have_count(0)
    assert "Forge front view" in gallery_page.titles()

    gallery_page.search("forge")
    titles = gallery_page.titles()
    assert "Forge front view" in titles and "Lighthouse lamp" not in titles, titles
    calls = [c for c in network.api_calls() if c.path.startswith("/api/images")]
    assert calls and all(c.authorization and c.authorization.startswith("Bearer ") for c in calls)
    network.expect_only(flow_backend)
    end_state("browse-gallery")
