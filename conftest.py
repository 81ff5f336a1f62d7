"""Root conftest. The fixtures, options and markers come from the ``parity`` pytest plugin
(``parity/plugin/hooks.py``, registered as an entry point), so QA folders need no conftest of their
own. Here: only what pytest must not collect."""

collect_ignore = ["sandbox", "load", "reports", "docs", "scripts", "fixtures"]
