"""Cleanup: a run killed midway leaves rows; ``parity cleanup --run-id`` removes every one of
them, shown by querying the sandbox's database directly (PostgreSQL when ``DATABASE_URL`` is
set: the schema ``parity_sb_<sandbox run id>``; else its SQLite file). A run stopped with
Ctrl-C (SIGINT) deletes what it made in its own teardown.

The sandbox is started here, so it outlives the pytest run that gets killed; that run is
pointed at it by URL and given its run id through ``PARITY_RUN_ID``.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from parity.core.catalog import load_catalog
from parity.core.config import Settings
from parity.core.errors import BackendError, CatalogError, UsageError
from parity.core.payloads import make_payload
from parity.engine.cleanup import cleanup, parse_duration, require_selection, run_marker
from parity.engine.client import Backends
from parity.engine.launcher import SandboxProcess
from parity.engine.storage import Bucket, sweep
from sandbox.core.db import postgres_driver_url

ROOT = Path(__file__).resolve().parents[2]
# write-heavy: the boundary module keeps a MOC (with its uploaded files) per backend for its
# whole run, the catalog scenarios create and delete every kind of resource
WRITE_CHECKS = ["api_checks/test_boundary.py", "api_checks/test_catalog_scenarios.py"]
# (table, text column) of every kind the suite creates; files hang off their MOC
TABLES = (("mocs", "title"), ("albums", "title"), ("images", "title"), ("wishlist_items", "name"))


class SandboxDb:
    """Read-only SQL on the sandbox's own database, found through ``/debug/config``."""

    def __init__(self, label: str) -> None:
        if label.startswith("sqlite:"):
            self.engine: Engine = create_engine(label)
            self.prefix = ""
        else:
            match = re.fullmatch(r"(\S+) \(schema (parity_sb_[a-z0-9_]+)\)", label)
            assert match, label
            self.engine = create_engine(postgres_driver_url(match.group(1)))
            self.prefix = f'"{match.group(2)}".'

    def rows(self, run_id: str) -> dict[str, int]:
        """Rows carrying ``parity <run id>`` per table, and the files of those MOCs."""
        like = {"marker": f"%parity {run_id} %"}
        p = self.prefix
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for table, column in TABLES:
                sql = f"SELECT count(*) FROM {p}{table} WHERE {column} LIKE :marker"
                counts[table] = int(conn.execute(text(sql), like).scalar_one())
            sql = (
                f"SELECT count(*) FROM {p}moc_files f JOIN {p}mocs m ON m.id = f.moc_id "
                "WHERE m.title LIKE :marker"
            )
            counts["moc_files"] = int(conn.execute(text(sql), like).scalar_one())
        return counts


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxProcess, SandboxDb]]:
    tmp = tmp_path_factory.mktemp("cleanup")
    # DATABASE_URL / REDIS_URL pass through: the real PostgreSQL when they are set
    with SandboxProcess(log_file=tmp / "sandbox.log") as sb:
        config = httpx.get(sb.env["PARITY_EXPRESS_URL"] + "/debug/config", timeout=10).json()
        db = SandboxDb(config["data"]["database"])
        try:
            yield sb, db
        finally:
            db.engine.dispose()


def _bucket(sb: SandboxProcess) -> Bucket:
    env = sb.env
    return Bucket(
        env["PARITY_S3_BUCKET"], endpoint=env["PARITY_S3_ENDPOINT"], region=env["PARITY_S3_REGION"]
    )


def _run_objects(sb: SandboxProcess, run_id: str) -> list[str]:
    """Keys in the sandbox's bucket that carry the run's file marker."""
    return [o.key for o in sweep(_bucket(sb), run_id=run_id, dry_run=True)]


def _orphan_upload(sb: SandboxProcess, run_id: str) -> str:
    """What a run killed between the PUT and the complete leaves: an object no row points
    at, on one of the run's MOCs. Returns its key."""
    settings = Settings.load(environ=sb.env)
    with Backends.from_settings(settings) as backends:
        api = backends["express"]
        listed = api.request("GET", "/api/mocs", "alice", params={"q": run_id, "limit": 100})
        mocs = [m for m in listed.json()["data"]["items"] if run_marker(run_id).search(m["title"])]
        for moc in mocs:
            body = {"filename": f"parity-{run_id}-killed.pdf", "contentType": "application/pdf"}
            presign = api.request(
                "POST", f"/api/mocs/{moc['id']}/files/presign", "alice", json={**body, "size": 6}
            )
            if presign.status_code == 200:
                data = presign.json()["data"]
                put = httpx.put(data["uploadUrl"], content=b"killed", timeout=10)
                assert put.status_code == 200, put.text
                return str(data["key"])
    raise AssertionError(f"no MOC of run {run_id} that alice may upload to: {mocs}")


def _start_run(
    sb: SandboxProcess, run_id: str, tmp: Path, checks: list[str] = WRITE_CHECKS
) -> subprocess.Popen[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env = {
        **clean,
        **sb.env,
        "PARITY_RUN_ID": run_id,
        "PARITY_BACKEND": "both",
        "PARITY_REPORTS_DIR": str(tmp / "reports"),
    }
    log = (tmp / "run.log").open("wb")
    # Ctrl-C as in a terminal: default SIGINT handling and nothing blocked, whatever this
    # test process (an xdist worker) inherited or set up
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", "-x", *checks],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=_terminal_signals,
    )


def _terminal_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _wait_for_rows(db: SandboxDb, run_id: str, proc: subprocess.Popen[bytes]) -> dict[str, int]:
    """Poll the database until the run has made a MOC with files (it is midway then)."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        rows = db.rows(run_id)
        if rows["mocs"] and rows["moc_files"]:
            return rows
        assert proc.poll() is None, f"the run ended before it created anything ({proc.returncode})"
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} created no MOC with files within 240 s")


def _stop(proc: subprocess.Popen[bytes], sig: signal.Signals) -> tuple[int, bool]:
    """Send ``sig`` if the run is still going; returns its exit code and whether it was."""
    sent = proc.poll() is None
    if sent:
        proc.send_signal(sig)
    try:
        return proc.wait(120), sent
    finally:
        if proc.poll() is None:  # never leave it running, whatever happened above
            proc.kill()
            proc.wait(10)


def test_killed_run_leaves_rows_that_cleanup_removes(
    sandbox: tuple[SandboxProcess, SandboxDb], tmp_path: Path
) -> None:
    sb, db = sandbox
    run_id = f"kill{secrets.token_hex(3)}"
    proc = _start_run(sb, run_id, tmp_path)
    midway = _wait_for_rows(db, run_id, proc)
    code, sent = _stop(proc, signal.SIGKILL)
    assert sent and code == -signal.SIGKILL, (sent, code)
    left = db.rows(run_id)
    assert left["mocs"] >= 1 and left["moc_files"] >= 1, (midway, left)  # stragglers exist
    orphan = _orphan_upload(sb, run_id)
    objects = _run_objects(sb, run_id)
    assert orphan in objects, objects  # the API cannot see it: only the bucket sweep can

    # a dry run lists them and deletes nothing
    cmd = [sys.executable, "-m", "parity", "cleanup", "--run-id", run_id, "--env-file"]
    dry = subprocess.run(
        [*cmd, str(sb.env_file), "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "would delete" in dry.stdout, dry.stdout
    assert f"{len(objects)} object(s) would delete" in dry.stdout, dry.stdout
    assert db.rows(run_id) == left
    assert _run_objects(sb, run_id) == objects

    done = subprocess.run(
        [*cmd, str(sb.env_file)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    deleted = int(re.search(r"(\d+) deleted, 0 failed", done.stdout).group(1))  # type: ignore[union-attr]
    top_level = sum(left[t] for t, _ in TABLES)
    assert deleted == top_level, (deleted, left, done.stdout)
    after = db.rows(run_id)
    assert after == dict.fromkeys(after, 0), after
    # the MOC's delete took its completed files; the object never completed went by the sweep
    assert _run_objects(sb, run_id) == [], done.stdout
    assert "0 failed" in done.stdout.rsplit("object(s)", 1)[-1], done.stdout
    print(
        f"\ncleanup, SIGKILL: run {run_id} killed midway with {left} and {len(objects)} "
        f"object(s) in the bucket (1 of them an upload never completed, which no row points "
        f"at); parity cleanup deleted {deleted} resource(s); rows and objects of the run "
        f"afterwards: {sum(after.values())}, 0"
    )


def test_a_finished_run_sweeps_the_uploads_it_never_completed(
    sandbox: tuple[SandboxProcess, SandboxDb], tmp_path: Path
) -> None:
    """The sha256-mismatch scenario PUTs bytes that the complete then refuses: an object with
    no row. The run deletes it from the bucket as it ends (the sandbox's env names the bucket)."""
    sb, _ = sandbox
    run_id = f"swp{secrets.token_hex(3)}"
    proc = _start_run(
        sb, run_id, tmp_path, ["api_checks/test_catalog_scenarios.py", "-k", "sha256-mismatch"]
    )
    code = proc.wait(300)
    output = (tmp_path / "run.log").read_text(encoding="utf-8", errors="replace")
    assert code == 0, output[-3000:]
    swept = re.search(
        rf"storage: (\d+) upload\(s\) of run {run_id} that no API call can delete "
        rf"\(never completed\) swept from s3://\S+, 0 failed",
        output,
    )
    assert swept and int(swept.group(1)) == 2, output[-3000:]  # one per backend
    assert _run_objects(sb, run_id) == []
    print(
        f"\ncleanup, bucket: run {run_id} left {swept.group(1)} uploads never completed; "
        "its end swept them"
    )


def test_interrupted_run_cleans_up_in_teardown(
    sandbox: tuple[SandboxProcess, SandboxDb], tmp_path: Path
) -> None:
    sb, db = sandbox
    for _attempt in range(2):
        run_id = f"int{secrets.token_hex(3)}"
        started = time.monotonic()
        proc = _start_run(sb, run_id, tmp_path)
        midway = _wait_for_rows(db, run_id, proc)
        seen = time.monotonic() - started
        code, sent = _stop(proc, signal.SIGINT)
        if sent:
            break
        # the run ended between seeing its rows and the signal (its last test made them):
        # nothing was interrupted, so try once more
    output = (tmp_path / "run.log").read_text(encoding="utf-8", errors="replace")
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    timing = (
        f"rows seen {seen:.1f} s after the start, signal sent: {sent}; here SIGINT is "
        f"{signal.getsignal(signal.SIGINT)}, blocked signals {sorted(blocked)}"
    )
    assert code == 2, (code, timing, output[-2000:])  # pytest's "interrupted"
    assert "KeyboardInterrupt" in output, output[-2000:]
    after = db.rows(run_id)
    assert after == dict.fromkeys(after, 0), (midway, after, output[-2000:])
    # the bucket sweep ran too, after the Ctrl-C: no object of the run is left
    assert re.search(rf"storage: \d+ upload\(s\) of run {run_id} .* swept", output), output[-2000:]
    assert _run_objects(sb, run_id) == []
    print(f"\ncleanup, Ctrl-C: run {run_id} interrupted with {midway}; rows and objects after: 0")


def test_run_marker_and_durations() -> None:
    marker = run_marker("ab12")
    assert marker.search("parity ab12 moc") and marker.search("parity ab12")
    assert not marker.search("parity ab123 moc") and not marker.search("parity ab12-st moc")
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("90s") == timedelta(seconds=90)
    for bad in ("", "2", "2x", "h2", "1h 30m"):
        with pytest.raises(UsageError, match="--older-than"):
            parse_duration(bad)
    with pytest.raises(UsageError, match="nothing to select"):
        require_selection(None, None)


RUN_ID_PROBE = """
import pytest
from parity.plugin import get_state

@pytest.mark.parametrize("n", range(6))
def test_id(request, n):
    run_id = get_state(request.config).run_id
    (request.config.rootpath / f"id-{n}.txt").write_text(run_id)
"""


def test_one_run_is_one_id_across_xdist_workers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PARITY_RUN_ID", raising=False)
    pytester.makepyfile(test_probe=RUN_ID_PROBE)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "xdist", "-p", "no:randomly")
    result.assert_outcomes(passed=6)
    ids = {(pytester.path / f"id-{n}.txt").read_text() for n in range(6)}
    assert len(ids) == 1, ids  # both workers and every test: the controller's id


def test_parity_run_id_names_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PARITY_RUN_ID`` is the id (a CI job's build number); the controller hands the same
    value to each worker as it does a generated one (the test above)."""
    monkeypatch.setenv("PARITY_RUN_ID", "ci-1234")
    pytester.makepyfile(test_probe=RUN_ID_PROBE)
    result = pytester.runpytest_inprocess(
        "-p", "no:randomly", "-p", "no:xdist", "-p", "no:playwright"
    )
    result.assert_outcomes(passed=6)
    assert {(pytester.path / f"id-{n}.txt").read_text() for n in range(6)} == {"ci-1234"}


def test_cleanup_finds_every_kind_as_each_user(
    sandbox: tuple[SandboxProcess, SandboxDb],
) -> None:
    """One leftover of each kind (bob's MOC too: alice's listing sees it, only bob may delete
    it), plus an old one of another run that only --older-than selects."""
    sb, db = sandbox
    run_id, other = f"kinds{secrets.token_hex(3)}", f"old{secrets.token_hex(3)}"
    settings = Settings.load(environ=sb.env)
    with Backends.from_settings(settings) as backends:
        api = backends["express"]

        def create(role: str, path: str, **body: Any) -> None:
            resp = api.request("POST", path, role, **body)
            assert resp.status_code == 201, resp.text

        moc = {"description": "d", "theme": "Castle", "pieceCount": 5, "tags": []}
        create("alice", "/api/mocs", json={**moc, "title": f"parity {run_id} moc"})
        create("bob", "/api/mocs", json={**moc, "title": f"parity {run_id} bob moc"})
        create("alice", "/api/albums", json={"title": f"parity {run_id} album"})
        create(
            "alice",
            "/api/images",
            data={"title": f"parity {run_id} image"},
            files={"file": ("p.png", make_payload(2048, "image/png"), "image/png")},
        )
        item = {"setNumber": "10294-1", "priority": 3, "notes": ""}
        create("bob", "/api/wishlist", json={**item, "name": f"parity {run_id} item"})
        create("alice", "/api/mocs", json={**moc, "title": f"parity {other} moc"})
        assert db.rows(run_id) == {
            "mocs": 2,
            "albums": 1,
            "images": 1,
            "wishlist_items": 1,
            "moc_files": 0,
        }
        catalog = load_catalog(settings.catalog)
        found = cleanup(backends, catalog, settings.users, run_id=run_id)
        assert sorted(s.kind for s in found) == ["album", "image", "moc", "moc", "wishlistItem"]
        assert all(s.state == "deleted" for s in found), found
        assert {s.role for s in found if s.label.endswith("bob moc")} == {"bob"}
        assert sum(db.rows(run_id).values()) == 0
        # the other run's MOC is untouched by --run-id, and taken by --older-than
        assert db.rows(other)["mocs"] == 1
        later = datetime.now(UTC) + timedelta(hours=3)
        aged = cleanup(backends, catalog, settings.users, older_than=timedelta(hours=2), now=later)
        assert any(other in s.label and s.state == "deleted" for s in aged), aged
        assert db.rows(other)["mocs"] == 0
    print(f"\ncleanup, every kind: {len(found)} leftovers of 4 kinds and 2 users deleted, 0 rows")


class _ListingApi:
    """A backend whose lists page differently from the MOC API (``p``/``size`` from 0,
    items at ``results``, no total, creation time at ``meta.created``), for the catalog's
    ``lists`` section. Only ``/api/mocs`` has items; a DELETE removes one."""

    base_url = "http://listing.invalid"

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.pages: list[dict[str, Any]] = []

    def request(self, method: str, path: str, role: str, **kw: Any) -> httpx.Response:
        if method == "DELETE":
            ident = path.rsplit("/", 1)[1]
            self.items = [i for i in self.items if i["id"] != ident]
            return httpx.Response(200, json={"data": None})
        params = kw["params"]
        self.pages.append(params)
        rows = self.items if path == "/api/mocs" else []
        size = params.get("size", 100)
        start = params.get("p", 0) * size
        return httpx.Response(200, json={"results": rows[start : start + size]})


def test_cleanup_reads_the_list_shape_from_the_catalog() -> None:
    from parity.core.catalog import Lists

    run_id = "shape01"
    old = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    items = [
        {"id": f"m{n}", "title": f"parity {run_id} moc {n}", "meta": {"created": old}}
        for n in range(5)
    ] + [{"id": "keep", "title": "a user's own MOC", "meta": {"created": old}}]
    api = _ListingApi(items)
    lists = Lists(
        page_param="p", limit_param="size", first_page=0, page_size=2, items="results",
        total=None, created_at="meta.created",
    )  # fmt: skip
    catalog = load_catalog(ROOT / "fixtures/catalog.yaml").model_copy(update={"lists": lists})
    found = cleanup({"express": api}, catalog, ["alice"], run_id=run_id)  # type: ignore[arg-type]
    assert sorted(s.id for s in found) == [f"m{n}" for n in range(5)]
    assert all(s.state == "deleted" and s.created_at == old for s in found)
    assert [i["id"] for i in api.items] == ["keep"]
    mocs = [p for p in api.pages if set(p) == {"p", "size"}]
    assert mocs[0] == {"p": 0, "size": 2}  # the catalog's first page and size

    broken = _ListingApi(items)
    wrong = catalog.model_copy(update={"lists": Lists(items="data.items")})
    with pytest.raises(BackendError, match=r"no list at data\.items.*lists\.items"):
        cleanup({"express": broken}, wrong, ["alice"], run_id=run_id)  # type: ignore[arg-type]


def test_a_malformed_lists_path_is_a_catalog_error(tmp_path: Path) -> None:
    text = (ROOT / "fixtures/catalog.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "catalog.yaml"
    bad.write_text(text + "\nlists: {items: 'data..items['}\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"lists.*items"):
        load_catalog(bad)


def test_the_run_marker_finds_file_names_natural_keys_and_nested_tags() -> None:
    from parity.engine.cleanup import _label

    marker = run_marker("ab12")
    assert marker.search("parity-ab12-image.png") and marker.search("upab12c0de")
    assert marker.search("pab12c0de@example.test")
    assert not marker.search("parity-ab123-image.png") and not marker.search("pab12c0de9")
    nested = {"id": 1, "user": {"profile": {"bio": "parity ab12 bio"}}, "tags": ["x"]}
    assert _label(nested, "ab12", None, "createdAt") == "parity ab12 bio"
    assert _label({"id": 2, "name": "someone else"}, "ab12", None, "createdAt") is None


class _StyledApi:
    """One list answered in another paging style: offset/limit with the total in a header,
    a cursor in the body, a Link header, or a bare list."""

    base_url = "http://styled.invalid"

    def __init__(self, style: str, rows: list[dict[str, Any]]) -> None:
        self.style, self.rows, self.calls = style, rows, 0

    def request(self, method: str, path: str, role: str, **kw: Any) -> httpx.Response:
        if method == "DELETE":
            return httpx.Response(204)
        self.calls += 1
        params = kw.get("params") or {}
        url = httpx.URL(path if path.startswith("http") else self.base_url + path)
        request = httpx.Request("GET", url.copy_merge_params(params or {}))
        if self.style == "offset":
            at, size = int(params["offset"]), int(params["limit"])
            page = self.rows[at : at + size]
            headers = {"X-Total-Count": str(len(self.rows))}
            return httpx.Response(200, json=page, headers=headers, request=request)
        if self.style == "cursor":
            at = int(params.get("cursor", 0))
            nxt = at + 2 if at + 2 < len(self.rows) else None
            body = {"items": self.rows[at : at + 2], "next": nxt}
            return httpx.Response(200, json=body, request=request)
        if self.style == "link":
            at = int(str(request.url.params.get("from", "0")))
            nxt = f'</api/mocs?from={at + 2}>; rel="next"'
            link = {"Link": nxt} if at + 2 < len(self.rows) else {}
            return httpx.Response(200, json=self.rows[at : at + 2], headers=link, request=request)
        return httpx.Response(200, json=self.rows, request=request)  # none: one answer


@pytest.mark.parametrize(
    ("style", "lists"),
    [
        ("offset", {"style": "offset", "items": "$", "total": None, "total_header": "X-Total-Count",
                    "page_size": 2}),
        ("cursor", {"style": "cursor", "items": "items", "next_cursor": "next", "total": None}),
        ("link", {"style": "page", "items": "$", "total": None, "page_size": 2}),
        ("none", {"style": "none", "items": "$", "total": None}),
    ],
)  # fmt: skip
def test_cleanup_pages_in_every_style(style: str, lists: dict[str, Any]) -> None:
    from parity.core.catalog import Lists

    rows = [{"id": f"m{n}", "title": f"parity st01 moc {n}"} for n in range(5)]
    rows.append({"id": "keep", "title": "not ours"})
    api = _StyledApi(style, rows)
    catalog = load_catalog(ROOT / "fixtures/catalog.yaml")
    catalog = catalog.model_copy(update={"lists": Lists(**lists)})
    found = cleanup({"express": api}, catalog, ["alice"], run_id="st01")  # type: ignore[arg-type]
    assert sorted({s.id for s in found}) == [f"m{n}" for n in range(5)], style
