"""MOC browsing: the list with search, theme filter and paging, and one MOC's page."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from e2e.pages.app import AppShell


class MocsPage:
    def __init__(self, app: AppShell) -> None:
        self.app = app

    def open(self) -> MocsPage:
        self.app.open("#/mocs")
        self.wait_loaded()
        return self

    def wait_loaded(self, q: str = "", theme: str = "", page: int = 1) -> None:
        expect(self.app.by("mocs-page")).to_have_attribute("data-loaded", f"{q}|{theme}|{page}")

    @property
    def cards(self) -> Locator:
        return self.app.by("moc-card")

    def titles(self) -> list[str]:
        return self.app.by("moc-card-title").all_inner_texts()

    def search(self, q: str, theme: str = "") -> None:
        self.app.by("mocs-search-input").fill(q)
        self.app.by("mocs-theme-filter").select_option(theme)
        self.app.by("mocs-search-submit").click()
        self.wait_loaded(q, theme)

    @property
    def total(self) -> Locator:
        return self.app.by("mocs-total")

    def open_moc(self, title: str) -> MocDetailPage:
        self.cards.filter(has_text=title).get_by_test_id("moc-card-link").click()
        detail = MocDetailPage(self.app)
        expect(detail.title).to_have_text(title)
        return detail


class MocDetailPage:
    def __init__(self, app: AppShell) -> None:
        self.app = app

    def open(self, moc_id: str) -> MocDetailPage:
        self.app.open(f"#/mocs/{moc_id}")
        expect(self.app.by("moc-detail")).to_have_attribute("data-moc-id", moc_id)
        return self

    @property
    def title(self) -> Locator:
        return self.app.by("moc-detail-title")

    @property
    def files(self) -> Locator:
        return self.app.by("moc-file")
