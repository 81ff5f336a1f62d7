"""Playwright flows against the web app (``pytest -m e2e``): page objects in ``pages/``,
fixtures in ``conftest.py``, helpers in ``support.py``."""
