"""moc-parity: endpoint-parity and contract testing of two backends of one API.

The package is layered; each layer imports only from the layers listed before it
(``tests/package/test_layers.py`` checks the direction and that there is no cycle):

1. :mod:`parity.core`: the model: the catalog, the settings, results, errors, redaction.
2. :mod:`parity.engine`: talking to backends and judging answers: clients, auth, runner,
   diff, baseline, cassettes, contracts, matrix, findings, the gate.
3. :mod:`parity.checks`: the check families, their registry, and what each sends.
4. :mod:`parity.report`: the outputs built from a matrix, one module per format.
5. :mod:`parity.plugin`: the pytest plugin (options, markers, session, collection).
6. :mod:`parity.cli`: the ``parity`` command, one module per subcommand.

The embedded sandbox (the reference backends the suite tests itself on) is the separate
``sandbox`` package; nothing here imports it at module level.
"""
