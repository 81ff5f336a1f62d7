"""Uploading a MOC: the form, and what the page reports once the file is stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator, expect

from e2e.pages.app import AppShell


@dataclass(frozen=True)
class UploadResult:
    moc_id: str
    method: str  # "direct" (multipart through the API) or "presigned" (PUT to S3)
    size: int
    sha256: str


class UploadPage:
    def __init__(self, app: AppShell) -> None:
        self.app = app

    def open(self) -> UploadPage:
        self.app.by("nav-upload").click()
        expect(self.app.by("upload-form")).to_be_visible()
        return self

    def upload(
        self,
        file: Path,
        *,
        title: str,
        theme: str = "Castle",
        pieces: int = 1200,
        description: str = "",
        timeout: float = 30_000,
    ) -> UploadResult:
        self.app.by("upload-title").fill(title)
        self.app.by("upload-theme").fill(theme)
        self.app.by("upload-pieces").fill(str(pieces))
        self.app.by("upload-description").fill(description)
        self.app.by("upload-file").set_input_files(file)
        self.app.by("upload-submit").click()
        result = self.result
        self.app.page.locator(
            '[data-testid="upload-result"]:visible, [data-testid="upload-error"]:visible'
        ).first.wait_for(timeout=timeout)
        if self.error.is_visible():
            raise AssertionError(f"the upload failed: {self.error.inner_text()}")
        return UploadResult(
            moc_id=result.get_attribute("data-moc-id") or "",
            method=result.get_attribute("data-upload-method") or "",
            size=int(result.get_attribute("data-file-size") or -1),
            sha256=result.get_attribute("data-sha256") or "",
        )

    @property
    def result(self) -> Locator:
        return self.app.by("upload-result")

    @property
    def error(self) -> Locator:
        return self.app.by("upload-error")

    @property
    def limits(self) -> Locator:
        return self.app.by("upload-limits")
