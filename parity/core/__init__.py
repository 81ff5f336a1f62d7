"""The core model: what the API under test is and what a run is given.

The catalog (``fixtures/catalog.yaml``: endpoints, scenarios, the API's conventions and
the ``checks:`` section), the settings (env file, ``parity.toml``, ``PARITY_*``), check
results, the exception tree, the files the suite reads, and the secrets vault with the one
redaction function. Pure data and parsing: no HTTP, no pytest.

May import: the standard library and third-party libraries only; nothing else of
``parity``.
"""
