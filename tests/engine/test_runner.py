"""runner.py against a fake backend (httpx.MockTransport): setup, request, teardown."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from parity.core.catalog import Catalog, load_catalog
from parity.core.config import AuthSettings, Secret
from parity.core.errors import BackendUnreachable, SetupError, UnexpectedAnswer
from parity.engine.auth import StaticTokenProvider
from parity.engine.client import BackendClient
from parity.engine.runner import REDACTED, Exchange, run_scenario

CATALOG = """\
version: 1
roles: [anonymous, alice]
resources:
  box:
    create: {as: alice, method: POST, path: /boxes, json: {name: "box {run_id}"}}
    save: {boxId: data.id}
    delete: {as: alice, method: DELETE, path: "/boxes/{boxId}"}
  thing:
    uses: [box]
    create: {as: alice, method: POST, path: "/boxes/{boxId}/things", json: {name: "t {run_id}"}}
    save: {thingId: data.id}
    delete: {as: alice, method: DELETE, path: "/things/{thingId}"}
endpoints:
  - id: things.get
    method: GET
    route: /things/{thingId}
    as: alice
    scenarios:
      - name: existing
        uses: [thing]
        params: {thingId: "{thingId}"}
        expect: 200
      - name: odd-id
        params: {thingId: "a b/c"}
        expect: 404
  - id: things.delete
    method: DELETE
    route: /things/{thingId}
    as: alice
    scenarios:
      - name: owner
        uses: [thing]
        params: {thingId: "{thingId}"}
        expect: 200
  - id: things.create
    method: POST
    route: /boxes/{boxId}/things
    as: alice
    scenarios:
      - name: created
        uses: [box]
        params: {boxId: "{boxId}"}
        json: {name: "new {run_id}"}
        expect: 201
        creates:
          save: {newId: data.id}
          delete: {as: alice, method: DELETE, path: "/things/{newId}"}
  - id: things.reorder
    method: POST
    route: /reorder
    as: alice
    scenarios:
      - name: identity
        uses: [thing]
        steps:
          - {as: alice, method: GET, path: /things, query: {limit: 100},
             save: {ids: "data.items[*].id"}}
        json: {ids: "{ids}", label: "run {run_id}"}
        expect: 200
  - id: upload
    method: POST
    route: /upload
    as: alice
    scenarios:
      - name: file
        multipart:
          fields: {kind: image, count: 3, flag: true}
          files:
            file: {filename: a.png, content_type: image/png, size: 2KiB}
        expect: 201
      - name: fields-only
        multipart: {fields: {kind: image}}
        expect: 400
  - id: complete
    method: POST
    route: /complete
    as: alice
    scenarios:
      - name: presigned
        steps:
          - {as: alice, method: POST, path: /presign, save: {url: data.url}}
          - {as: anonymous, method: PUT, path: "{url}", body: "hello"}
        json: {ok: true}
        expect: 201
"""


class FakeApi:
    """A tiny in-memory backend that logs every call it gets."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.auth: list[str | None] = []
        self.bodies: list[bytes] = []
        self.things: dict[str, str] = {}
        self.boxes: set[str] = set()
        self.counter = 0
        self.fail: dict[str, int] = {}  # "METHOD path-regex" -> status to answer
        self.refuse: set[str] = set()  # "METHOD path-regex": connection refused

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.raw_path.decode().split("?")[0]
        call = f"{method} {path}"
        self.log.append(call if request.url.host == "api.test" else f"{method} {request.url}")
        self.auth.append(request.headers.get("authorization"))
        self.bodies.append(request.content)
        for rule in self.refuse:
            if re.fullmatch(rule, call):
                raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        for rule, status in self.fail.items():
            if re.fullmatch(rule, call):
                return httpx.Response(status, json={"status": "error", "message": "boom"})
        return self.route(request, method, path)

    def route(self, request: httpx.Request, method: str, path: str) -> httpx.Response:
        def ok(status: int, data: Any) -> httpx.Response:
            return httpx.Response(status, json={"status": "success", "data": data})

        def missing() -> httpx.Response:
            return httpx.Response(404, json={"status": "error", "message": "not found"})

        if request.url.host == "s3.test":
            return httpx.Response(200)
        if (method, path) == ("POST", "/boxes"):
            box = self._id("b")
            self.boxes.add(box)
            return ok(201, {"id": box})
        if m := re.fullmatch(r"/boxes/(\w+)", path):
            if method == "DELETE" and m.group(1) in self.boxes:
                self.boxes.remove(m.group(1))
                return ok(200, None)
            return missing()
        if (m := re.fullmatch(r"/boxes/(\w+)/things", path)) and method == "POST":
            thing = self._id("t")
            self.things[thing] = m.group(1)
            return ok(201, {"id": thing})
        if m := re.fullmatch(r"/things/([^/]+)", path):
            if m.group(1) not in self.things:
                return missing()
            if method == "DELETE":
                del self.things[m.group(1)]
            return ok(200, {"id": m.group(1)})
        if path == "/things":
            return ok(200, {"items": [{"id": t} for t in self.things]})
        if path == "/reorder":
            return ok(200, json.loads(request.content))
        if path == "/upload":
            ctype = request.headers["content-type"]
            return ok(201 if b"filename=" in request.content else 400, {"type": ctype})
        if path == "/presign":
            return ok(200, {"url": "http://s3.test/bucket/key?X-Amz-Signature=abc"})
        if path == "/complete":
            return ok(201, {"done": True})
        return missing()


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG)
    return load_catalog(path)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def client(api: FakeApi) -> BackendClient:
    auth = StaticTokenProvider(
        AuthSettings(backend="serverless", mode="static", tokens={"ALICE": Secret("tok-a")})
    )
    return BackendClient("serverless", "http://api.test", auth, transport=httpx.MockTransport(api))


def run(client: BackendClient, catalog: Catalog, case: str) -> Exchange:
    endpoint_id, scenario = case.split("/")
    endpoint = catalog.get(endpoint_id)
    return run_scenario(client, catalog, endpoint, endpoint.scenario(scenario), "r42")


def test_setup_request_teardown_in_order(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    exchange = run(client, catalog, "things.get/existing")
    assert api.log == [
        "POST /boxes",
        "POST /boxes/b1/things",
        "GET /things/t2",
        "DELETE /things/t2",  # reverse order: the thing before its box
        "DELETE /boxes/b1",
    ]
    assert json.loads(api.bodies[0]) == {"name": "box r42"}
    assert exchange.status == 200 and exchange.ok and exchange.json["data"] == {"id": "t2"}
    assert exchange.saved == {"boxId": "b1", "thingId": "t2"}
    assert exchange.teardown_errors == []
    assert (exchange.backend, exchange.endpoint, exchange.scenario) == (
        "serverless",
        "things.get",
        "existing",
    )
    assert exchange.url == "http://api.test/things/t2" and exchange.route == "/things/{thingId}"
    assert exchange.request_headers["authorization"] == REDACTED
    assert "tok-a" not in repr(exchange)
    assert exchange.headers["content-type"] == "application/json"
    assert exchange.expected == (200,) and exchange.elapsed_ms >= 0 and exchange.run_id == "r42"
    assert api.things == {} and api.boxes == set()


def test_route_params_are_url_encoded(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    exchange = run(client, catalog, "things.get/odd-id")
    assert api.log == ["GET /things/a%20b%2Fc"]
    assert exchange.status == 404 and exchange.ok


def test_teardown_runs_when_the_request_fails(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    api.refuse.add(r"GET /things/\w+")
    with pytest.raises(BackendUnreachable):
        run(client, catalog, "things.get/existing")
    assert api.log[-2:] == ["DELETE /things/t2", "DELETE /boxes/b1"]
    assert api.things == {} and api.boxes == set()


def test_setup_failure_names_the_step_and_cleans_up(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    api.fail[r"POST /boxes/\w+/things"] = 500
    with pytest.raises(SetupError) as info:
        run(client, catalog, "things.get/existing")
    msg = str(info.value)
    assert "things.get/existing on serverless: resource thing (create)" in msg
    # the body, compact: no key of an error shape assumed
    answered = 'answered 500 (expected 2xx): {"status":"error","message":"boom"}'
    assert f"POST /boxes/b1/things as alice {answered}" in msg
    assert api.log == ["POST /boxes", "POST /boxes/b1/things", "DELETE /boxes/b1"]


def test_teardown_failures_are_collected_not_raised(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    api.fail[r"DELETE /things/\w+"] = 500
    exchange = run(client, catalog, "things.get/existing")
    assert exchange.status == 200  # the main result stands
    assert len(exchange.teardown_errors) == 1
    assert exchange.teardown_errors[0].startswith(
        "resource thing (delete): DELETE /things/t2 answered 500"
    )
    assert api.log[-1] == "DELETE /boxes/b1"  # the rest of the teardown still ran


def test_teardown_failures_during_an_exception_are_attached(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    api.refuse.add(r"GET /things/\w+")
    api.refuse.add(r"DELETE /boxes/\w+")
    with pytest.raises(BackendUnreachable) as info:
        run(client, catalog, "things.get/existing")
    assert len(info.value.teardown_errors) == 1
    assert "resource box (delete)" in info.value.teardown_errors[0]
    assert any("teardown also failed" in note for note in info.value.__notes__)


def test_already_deleted_resource_is_not_a_teardown_error(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    exchange = run(client, catalog, "things.delete/owner")
    assert exchange.status == 200 and exchange.teardown_errors == []
    assert api.log[-2:] == ["DELETE /things/t2", "DELETE /boxes/b1"]  # 404, then 200


def test_creates_are_deleted_after_only_when_created(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    exchange = run(client, catalog, "things.create/created")
    assert exchange.status == 201 and exchange.saved["newId"] == "t2"
    assert api.log == [
        "POST /boxes",
        "POST /boxes/b1/things",
        "DELETE /things/t2",
        "DELETE /boxes/b1",
    ]
    api.log.clear()
    api.fail[r"POST /boxes/\w+/things"] = 400
    exchange = run(client, catalog, "things.create/created")
    assert exchange.status == 400 and not exchange.ok
    assert api.log == ["POST /boxes", "POST /boxes/b3/things", "DELETE /boxes/b3"]


def test_steps_save_lists_that_keep_their_type(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    exchange = run(client, catalog, "things.reorder/identity")
    assert exchange.json["data"] == {"ids": ["t2"], "label": "run r42"}
    assert exchange.request_body == '{"ids": ["t2"], "label": "run r42"}'


def test_multipart_files_are_generated_in_memory(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    exchange = run(client, catalog, "upload/file")
    assert exchange.status == 201
    body = api.bodies[0]
    assert b'name="count"\r\n\r\n3' in body and b'name="flag"\r\n\r\ntrue' in body
    assert b'filename="a.png"' in body and b"\x89PNG" in body
    assert exchange.request_body is not None
    assert exchange.request_body.startswith("multipart: kind=image, count=3, flag=true, ")
    assert "file=@a.png (image/png, 2048 bytes, " in exchange.request_body
    fields_only = run(client, catalog, "upload/fields-only")
    assert fields_only.json["data"]["type"].startswith("multipart/form-data; boundary=")
    assert fields_only.status == 400


def test_presigned_put_goes_to_the_url_without_credentials(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    exchange = run(client, catalog, "complete/presigned")
    assert exchange.status == 201
    assert api.log[1] == "PUT http://s3.test/bucket/key?X-Amz-Signature=abc"
    assert api.auth[1] is None and api.bodies[1] == b"hello"
    assert api.auth[0] == "Bearer tok-a"


def test_exchange_serialises(client: BackendClient, catalog: Catalog) -> None:
    data = run(client, catalog, "things.get/odd-id").to_dict()
    assert json.loads(json.dumps(data))["status"] == 404


# --- run_variants and provisioned (the sweeps' and the boundary checks' helpers) ----------


def test_run_variants_sets_up_once_and_sends_each_variant(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    from parity.checks.sweeps import varied
    from parity.engine.runner import run_variants

    endpoint = catalog.get("things.get")
    base = endpoint.scenario("existing")
    variants = [
        varied(base, role="anonymous", headers={"Authorization": "Bearer not-a-jwt"}),
        varied(base, role="anonymous"),
        varied(base, params={"thingId": "nope"}),
    ]
    exchanges = run_variants(client, catalog, endpoint, base, variants, "r42")
    assert api.log == [
        "POST /boxes",
        "POST /boxes/b1/things",
        "GET /things/t2",
        "GET /things/t2",
        "GET /things/nope",
        "DELETE /things/t2",
        "DELETE /boxes/b1",
    ]
    assert api.auth[2:5] == ["Bearer not-a-jwt", None, "Bearer tok-a"]
    assert [e.status for e in exchanges] == [200, 200, 404]
    assert all(e.saved == {"boxId": "b1", "thingId": "t2"} for e in exchanges)


def test_run_variants_cleans_up_what_a_variant_creates(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    from parity.engine.runner import run_variants

    endpoint = catalog.get("things.create")
    base = endpoint.scenario("created")
    run_variants(client, catalog, endpoint, base, [base, base], "r42")
    assert api.things == {} and api.boxes == set()


def test_provisioned_yields_state_and_deletes_it(
    client: BackendClient, catalog: Catalog, api: FakeApi
) -> None:
    from parity.engine.runner import provisioned

    with provisioned(client, catalog, ["thing"], "r42") as variables:
        assert variables == {
            "run_id": "r42",
            "unique": variables["unique"],
            "boxId": "b1",
            "thingId": "t2",
        }
        assert variables["unique"].startswith("pr42")  # a natural key carries the run id
        assert api.things == {"t2": "b1"}
    assert api.things == {} and api.boxes == set()
    api.fail["DELETE /boxes/.*"] = 500
    with pytest.raises(SetupError, match="teardown"), provisioned(client, catalog, ["box"], "r"):
        pass
    with pytest.raises(RuntimeError) as info, provisioned(client, catalog, ["box"], "r"):
        raise RuntimeError("inside")
    assert "teardown also failed" in "".join(info.value.__notes__)


# --- answers the checks cannot judge (issue 10) ------------------------------------------


def _answering(api: FakeApi, rule: str, answer: httpx.Response) -> BackendClient:
    """A client whose backend gives ``answer`` to requests matching ``rule``, else ``api``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if re.fullmatch(rule, f"{request.method} {request.url.path}"):
            api.log.append(f"{request.method} {request.url.path}")
            return answer
        return api(request)

    return BackendClient("serverless", "http://api.test", transport=httpx.MockTransport(handler))


def test_html_body_is_an_error_naming_type_and_first_bytes_redacted(
    api: FakeApi, catalog: Catalog
) -> None:
    page = b"<html><body>Bad gateway, write to ops@example.com</body></html>"
    client = _answering(
        api,
        r"GET /things/\w+",
        httpx.Response(200, content=page, headers={"content-type": "text/html"}),
    )
    with pytest.raises(UnexpectedAnswer) as info:
        run(client, catalog, "things.get/existing")
    msg = str(info.value)
    assert "serverless backend answered GET /things/t2 200 with a body that is not JSON" in msg
    assert "text/html" in msg and "<html><body>Bad gateway" in msg
    assert "example.com" not in msg  # redacted
    assert api.log[-2:] == ["DELETE /things/t2", "DELETE /boxes/b1"]  # still torn down


def test_empty_body_is_an_error_but_204_is_not(api: FakeApi, catalog: Catalog) -> None:
    empty = _answering(api, r"GET /things/\w+", httpx.Response(200))
    with pytest.raises(UnexpectedAnswer, match=r"not JSON \(empty body, no content type\)"):
        run(empty, catalog, "things.get/existing")
    no_content = _answering(api, r"GET /things/\w+", httpx.Response(204))
    endpoint = catalog.get("things.get")
    scenario = endpoint.scenario("existing").model_copy(update={"expect": (204,)})
    exchange = run_scenario(no_content, catalog, endpoint, scenario, "r42")
    assert exchange.status == 204 and exchange.text == ""


def test_expect_json_false_hands_the_text_over(api: FakeApi, catalog: Catalog) -> None:
    client = _answering(
        api,
        r"GET /things/\w+",
        httpx.Response(200, text="plain", headers={"content-type": "text/plain"}),
    )
    endpoint = catalog.get("things.get")
    exchange = run_scenario(
        client, catalog, endpoint, endpoint.scenario("existing"), "r42", expect_json=False
    )
    assert exchange.text == "plain" and exchange.attempts == 1


def test_redirect_loop_is_an_error_a_redirect_is_an_answer(api: FakeApi, catalog: Catalog) -> None:
    loop = _answering(
        api, r"GET /things/\w+", httpx.Response(302, headers={"location": "/things/t2"})
    )
    with pytest.raises(UnexpectedAnswer, match=r"redirect loop \(302: /things/t2 -> /things/t2\)"):
        run(loop, catalog, "things.get/existing")
    elsewhere = _answering(api, r"GET /things/\w+", httpx.Response(301, headers={"location": "/x"}))
    exchange = run(elsewhere, catalog, "things.get/existing")
    assert exchange.status == 301 and exchange.headers["location"] == "/x"


def test_setup_redirect_loop_names_it(api: FakeApi, catalog: Catalog) -> None:
    client = _answering(api, r"POST /boxes", httpx.Response(307, headers={"location": "/boxes"}))
    with pytest.raises(UnexpectedAnswer, match="POST /boxes with a redirect loop"):
        run(client, catalog, "things.get/existing")
