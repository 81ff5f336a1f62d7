"""Answers that are not JSON are first-class: text, HTML, an empty body and a file are
captured, given a contract (media type and length class) and checked; a body of another
kind than the catalog declares is a clear error naming the ``answers:`` setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from parity.core.catalog import load_catalog
from parity.core.errors import UnexpectedAnswer
from parity.engine.capture import capture_catalog
from parity.engine.client import BackendClient
from parity.engine.contracts import ContractStore, check_response
from parity.engine.infer import build_contracts, length_class
from parity.engine.runner import run_scenario

CATALOG = """\
version: 1
roles: [anonymous]
endpoints:
  - id: robots
    method: GET
    route: /robots.txt
    answers: text
    scenarios: [{name: default, expect: 200}]
  - id: page
    method: GET
    route: /page
    answers: any
    scenarios: [{name: default, expect: 200}]
  - id: logo
    method: GET
    route: /logo.png
    answers: binary
    scenarios: [{name: default, expect: 200}]
  - id: things.delete
    method: DELETE
    route: /things/1
    scenarios:
      - {name: ok-text, expect: 200, answers: text}
  - id: things.get
    method: GET
    route: /things/1
    scenarios: [{name: default, expect: 200}]
"""
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def _answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/robots.txt":
        return httpx.Response(200, text="User-agent: *\nDisallow: /deny\n")
    if path == "/page":
        return httpx.Response(200, html="<html><body>hello</body></html>")
    if path == "/logo.png":
        return httpx.Response(200, content=PNG, headers={"Content-Type": "image/png"})
    if request.method == "DELETE":
        return httpx.Response(200, text="OK")
    return httpx.Response(200, html="<h1>proxy error</h1>")  # JSON declared


@pytest.fixture
def setup(tmp_path: Path) -> tuple[BackendClient, Any]:
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    client = BackendClient("express", "http://api.test", transport=httpx.MockTransport(_answer))
    return client, load_catalog(path)


Setup = tuple[BackendClient, Any]


def test_declared_bodies_are_answers_and_a_file_is_summarised(setup: Setup) -> None:
    client, catalog = setup
    robots = run_scenario(
        client, catalog, catalog.get("robots"), catalog.get("robots").scenarios[0], "r"
    )
    assert robots.json is None and robots.text and robots.text.startswith("User-agent")
    logo = run_scenario(client, catalog, catalog.get("logo"), catalog.get("logo").scenarios[0], "r")
    summary = f"<binary image/png, {len(PNG)} bytes, sha256 "
    assert logo.text is not None and logo.text.startswith(summary)
    deleted = catalog.get("things.delete")
    assert run_scenario(client, catalog, deleted, deleted.scenarios[0], "r").text == "OK"


def test_a_body_of_another_kind_than_declared_names_the_setting(setup: Setup) -> None:
    client, catalog = setup
    things = catalog.get("things.get")
    with pytest.raises(UnexpectedAnswer) as caught:
        run_scenario(client, catalog, things, things.scenarios[0], "r")
    assert "not JSON (text/html" in str(caught.value)
    assert "answers: text" in str(caught.value) and "things.get" in str(caught.value)


def test_text_answers_are_captured_into_contracts_and_checked(setup: Setup, tmp_path: Path) -> None:
    client, catalog = setup
    cases = [c for c in catalog.cases() if c.endpoint.id != "things.get"]
    capture_catalog(client, catalog, tmp_path / "tapes" / "express.jsonl", run_id="r", cases=cases)
    report = build_contracts(tmp_path / "tapes", tmp_path / "schemas", catalog=catalog)
    assert len(report.written) == 4 and not report.skipped, report
    store = ContractStore(tmp_path / "schemas")
    robots = store.get("GET", "/robots.txt", 200)
    assert robots is not None and robots.schema["type"] == "string"
    assert robots.schema["contentMediaType"] == "text/plain"

    def check(**answer: object) -> tuple[str, list[str]]:
        out = check_response(
            store,
            method="GET",
            route="/robots.txt",
            status=200,
            backend="serverless",
            **answer,  # type: ignore[arg-type]
        )
        return out.state, [v.problem for v in out.violations]

    same = check(body=None, is_json=False, text="User-agent: *\n", content_type="text/plain")
    assert same == ("pass", [])
    assert check(body=None, is_json=False, text="<p>x</p>", content_type="text/html") == (
        "drift",
        ["media type"],
    )
    assert check(body=None, is_json=False, text="", content_type="text/plain") == (
        "drift",
        ["length"],
    )
    assert check(body={"ok": True}, is_json=True, content_type="application/json") == (
        "drift",
        ["JSON"],
    )
    assert length_class("") == "empty" and length_class("x" * 300) == "long"


def test_an_empty_body_is_empty_whatever_its_content_type(tmp_path: Path) -> None:
    # A HEAD answer (or an empty 201) that says application/json and one that says
    # text/plain carry the same nothing: the body compares equal, the headers check sees
    # the content types.
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "version: 1\nroles: [anonymous]\nendpoints:\n"
        "  - {id: head, method: HEAD, route: /x, answers: empty,"
        " scenarios: [{name: default, expect: 200}]}\n",
        encoding="utf-8",
    )
    catalog = load_catalog(path)
    endpoint = catalog.get("head")
    texts = []
    for ctype in ("application/json; charset=utf-8", "text/plain", "image/png"):
        client = BackendClient(
            "express",
            "http://api.test",
            transport=httpx.MockTransport(
                lambda request, c=ctype: httpx.Response(200, headers={"Content-Type": c})
            ),
        )
        texts.append(run_scenario(client, catalog, endpoint, endpoint.scenarios[0], "r").text)
    assert texts == ["", "", ""]
