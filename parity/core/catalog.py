"""The endpoint catalog: what to call, as whom, with which state, expecting what.

``fixtures/catalog.yaml`` is the inventory of the API under test; adding an endpoint means
editing it, never the engine. Its shape::

    version: 1
    roles: [anonymous, alice, bob, admin]
    ignore_routes: {"GET /debug/config": "test-only hook"}   # not expected in the catalog
    enum_fields: [status, error.code]   # contracts: the only values a schema may pin
    resources:                        # reusable state, Dredd-hook style
      item:
        uses: []                      # resources this one needs first
        create: {as: alice, method: POST, path: /api/items, json: {...}}
        save: {itemId: data.id}        # variable -> JSON path in the create answer
        delete: {as: alice, method: DELETE, path: "/api/items/{itemId}"}
    endpoints:
      - id: items.get
        method: GET
        route: /api/items/{itemId}
        auth: public                  # public | user | owner | owner-or-admin
        as: anonymous                 # default role of the scenarios
        frontend: getItem             # the RTK Query endpoint consuming it
        tags: [smoke]
        noise: {ignore: [data.id], unordered: [data.tags]}
        additional_properties: true   # contracts: extra fields allowed (the default)
        maps: []                      # contracts: objects keyed by data, e.g. data.byTheme
        scenarios:
          - name: existing
            uses: [item]              # created before, deleted after (reverse order)
            steps: []                 # extra setup requests, each may ``save``
            params: {itemId: "{itemId}"}
            query: {}, headers: {}, json: ..., multipart: ..., body: "raw"
            expect: 200               # or a list of statuses
            creates: {save: {id: data.id}, delete: {...}}   # for POSTs: cleaned up after

``checks:`` (optional) configures the boundary, auth, errors, CORS and health checks
(:mod:`parity.core.checkspec`). ``{name}`` placeholders take saved variables and ``{run_id}``.
Loading validates all of it (unknown keys, missing fields, types, roles, route parameters,
duplicate ids, references, variables) and reports the first problem as one
:class:`~parity.core.errors.CatalogError` naming the file, the line, the entry and the field.
"""

from parity.core import catalog_load, catalog_model
from parity.core.catalog_load import *  # noqa: F403 (the names: catalog_load.__all__)
from parity.core.catalog_model import *  # noqa: F403 (the names: catalog_model.__all__)

__all__ = [*catalog_load.__all__, *catalog_model.__all__]
