"""The suite's own tests: engine units, the plugin through pytester, sandbox facts."""

pytest_plugins = ["pytester"]
