"""The engine: sending the catalog's requests to backends and judging the answers.

Clients and auth, the scenario runner, the differential comparison (normalise, diff,
baseline), cassettes and capture, contract inference and validation, the parity matrix,
findings and the rollout gate, cleanup of what a run created, and the sandbox launcher.

May import: :mod:`parity.core`. Never pytest's plugin, the CLI or a check family.
"""
