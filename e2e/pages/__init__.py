"""Page objects: one class per screen of the web app, addressing elements only through the
``data-testid`` contract of docs/frontend-testids.md."""

from e2e.pages.app import AppShell
from e2e.pages.gallery import GalleryPage
from e2e.pages.login import LoginPage
from e2e.pages.mocs import MocDetailPage, MocsPage
from e2e.pages.upload import UploadPage, UploadResult

__all__ = [
    "AppShell",
    "GalleryPage",
    "LoginPage",
    "MocDetailPage",
    "MocsPage",
    "UploadPage",
    "UploadResult",
]
