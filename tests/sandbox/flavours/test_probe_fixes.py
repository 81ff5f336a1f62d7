"""What the probe family (docs/probes.md) found the sandbox had wrong about Express 4 and
API Gateway HTTP APIs, fixed: both route a trailing slash like the route without it, match
the encoded path and decode route parameters after matching, and hand a repeated query
parameter to the handler comma-joined. And what both really do differently, kept: HEAD and
OPTIONS without Origin have no route behind API Gateway."""

from __future__ import annotations

import httpx
import pytest

from sandbox.launcher import SandboxRunner


def _urls(sandbox: SandboxRunner) -> dict[str, str]:
    return {"express": sandbox.express_url, "serverless": sandbox.serverless_url}


@pytest.mark.parametrize("flavour", ["express", "serverless"])
def test_a_trailing_slash_is_routed_like_its_route(
    sandbox: SandboxRunner, http: httpx.Client, flavour: str
) -> None:
    url = _urls(sandbox)[flavour]
    plain, slashed = http.get(f"{url}/api/mocs/stats"), http.get(f"{url}/api/mocs/stats/")
    assert slashed.status_code == plain.status_code == 200
    assert slashed.json() == plain.json()
    assert http.get(f"{url}/api/mocs/stats//").status_code == 404  # one slash, not any


@pytest.mark.parametrize("flavour", ["express", "serverless"])
def test_an_encoded_slash_stays_inside_its_parameter(
    sandbox: SandboxRunner, http: httpx.Client, flavour: str
) -> None:
    response = http.get(f"{_urls(sandbox)[flavour]}/api/mocs/a%2Fb")
    assert response.status_code == 400, response.text  # the handler saw "a/b": not a UUID
    assert response.json()["error"]["details"][0]["field"] == "mocId"


@pytest.mark.parametrize("flavour", ["express", "serverless"])
def test_a_repeated_query_parameter_arrives_joined(
    sandbox: SandboxRunner, http: httpx.Client, flavour: str
) -> None:
    response = http.get(f"{_urls(sandbox)[flavour]}/api/mocs?limit=5&limit=10")
    assert response.status_code == 400, response.text  # "5,10" is no integer on either side


def test_head_and_plain_options_have_no_route_behind_the_gateway(
    sandbox: SandboxRunner, http: httpx.Client
) -> None:
    assert http.head(f"{sandbox.express_url}/api/mocs").status_code == 200
    assert http.head(f"{sandbox.serverless_url}/api/mocs").status_code == 404
    assert http.options(f"{sandbox.express_url}/api/mocs").status_code == 204
    plain = http.options(f"{sandbox.serverless_url}/api/mocs")
    assert plain.status_code == 404 and plain.json() == {"message": "Not Found"}
