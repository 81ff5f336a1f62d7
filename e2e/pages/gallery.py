"""The signed-in user's gallery: images and search."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from e2e.pages.app import AppShell


class GalleryPage:
    def __init__(self, app: AppShell) -> None:
        self.app = app

    def open(self) -> GalleryPage:
        self.app.by("nav-gallery").click()
        self.wait_loaded()
        return self

    def wait_loaded(self, q: str = "") -> None:
        expect(self.app.by("gallery-page")).to_have_attribute("data-loaded", q or "*")

    @property
    def images(self) -> Locator:
        return self.app.by("gallery-image")

    def titles(self) -> list[str]:
        return self.app.by("gallery-image-title").all_inner_texts()

    def search(self, q: str) -> None:
        self.app.by("gallery-search-input").fill(q)
        self.app.by("gallery-search-submit").click()
        self.wait_loaded(q)
