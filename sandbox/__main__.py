"""``python -m sandbox``: see :mod:`sandbox.launcher`."""

from __future__ import annotations

import sys

from sandbox.launcher import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
