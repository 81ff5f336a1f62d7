"""The sandbox's web app: runtime ``/config.json`` and (later) the SPA the e2e tests drive."""

from __future__ import annotations

from sandbox.web.app import create_web_app

__all__ = ["create_web_app"]
