"""Secrets: the whole demo (``parity demo``: capture, contracts check, every check on both
backends, the browser flows) runs with live tokens, and not one credential it used lands in
anything it wrote: cassettes, reports, matrix, JUnit, Allure results, Playwright traces
(zip members too), logs, the demo's own output and the Hypothesis database.

The secrets looked for are the ones actually used, not guesses:

- the test users' passwords and e-mail addresses, and every id, access and refresh token
  the user pool issued during the run (moto's state, ``/moto-api/data.json``: the
  suite's logins and the browser's alike);
- every auth header value the checks sent and every presigned-URL signature they were
  handed (recorded by ``tests/hardening/secret_probe.py`` into a file outside the reports);
- the sandbox's expired tokens (its env file);

plus the generic shapes (a JWT, ``X-Amz-Signature=<hex>``, an e-mail address). A hit
fails the test naming the file and the kind of secret; ``test_scanner_finds_planted``
shows the scanner finds each kind, in plain files and inside zips.

The demo takes minutes, so it runs once, inside one test (no xdist split can run it twice).
It must also pass: ``make test`` runs the QA checks on the embedded sandbox only here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from parity.core.config import parse_env_file
from parity.engine.launcher import SandboxProcess
from tests.hardening.secret_scan import SHAPES, scan

ROOT = Path(__file__).resolve().parents[2]


def _written_since(directory: Path, started: float) -> list[Path]:
    if not directory.is_dir():
        return []
    return [p for p in directory.rglob("*") if p.is_file() and p.stat().st_mtime >= started]


def _pool_secrets(moto_url: str) -> dict[str, set[str]]:
    """Passwords, e-mails and every token the user pool issued (moto's state dump)."""
    state = httpx.get(f"{moto_url}/moto-api/data.json", timeout=30).json()["cognitoidp"]
    out: dict[str, set[str]] = {"password": set(), "e-mail": set()}
    for user in state.get("CognitoIdpUser", []):
        out["password"].add(user.get("password") or "")
        out["e-mail"].add((user.get("attribute_lookup") or {}).get("email") or "")
    for kind in ("id_tokens", "access_tokens", "refresh_tokens"):
        out[kind.replace("_", " ")[:-1]] = {
            token for pool in state.get("CognitoIdpUserPool", []) for token in pool.get(kind, {})
        }
    return out


@pytest.mark.timeout(1800)  # the whole demo, browser flows included, on a 2-core machine
def test_whole_demo_passes_and_writes_no_secret(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    probe = tmp_path / "probe.tsv"  # outside the reports: it holds the secrets themselves
    started = time.time()
    with SandboxProcess(
        tmp_path / "private" / "sandbox.env", log_file=reports / "sandbox.log"
    ) as sb:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
        env = {
            **clean,
            "PARITY_SECRET_PROBE": str(probe),
            "PYTEST_ADDOPTS": "-p tests.hardening.secret_probe",
        }
        try:
            demo = subprocess.run(
                [
                    *(sys.executable, "-m", "parity", "demo", "--reports-dir", str(reports)),
                    *("--sandbox-env", str(sb.env_file)),
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=1500,
                check=False,
            )
            seen_raw = probe.read_text(encoding="utf-8") if probe.exists() else ""
        finally:
            probe.unlink(missing_ok=True)  # it holds the live credentials themselves
        # the demo's own console output is an artifact a CI log keeps
        (reports / "demo-output.log").write_text(demo.stdout + demo.stderr, encoding="utf-8")
        secrets = _pool_secrets(sb.env["PARITY_COGNITO_ENDPOINT"])
        sandbox_env = parse_env_file(sb.env_file)
    assert (reports / "junit.xml").is_file(), demo.stdout[-3000:] + demo.stderr[-3000:]
    assert (reports / "parity-matrix.json").is_file(), demo.stdout[-3000:]

    secrets["password"] |= {v for k, v in sandbox_env.items() if k.endswith("_PASSWORD")}
    secrets["expired token"] = {v for k, v in sandbox_env.items() if "_EXPIRED_TOKEN_" in k}
    seen = [ln.split("\t", 1) for ln in seen_raw.splitlines()]
    secrets["token sent"] = {v for kind, v in seen if kind == "token" and len(v) >= 20}
    secrets["presigned signature"] = {v for kind, v in seen if kind == "signature"}
    # the run really used live credentials, so a clean scan means something
    for kind in ("password", "e-mail", "id token", "refresh token", "token sent"):
        assert secrets[kind], f"no {kind} collected: the scan would be vacuous"
    assert secrets["presigned signature"], "no presigned URL seen: the boundary checks ran?"

    files = sorted(p for p in reports.rglob("*") if p.is_file())
    kinds = {p.name for p in files} | {p.parent.name for p in files}
    for expected in (
        "junit.xml",
        "parity-matrix.json",
        "parity-matrix.html",
        "cassettes",
        "allure-results",
        "demo-output.log",
        "sandbox.log",
    ):
        assert expected in kinds, f"{expected} not written: the demo did not run fully"
    # outside the reports dir: Playwright's output (rooted at the checkout) and Hypothesis'
    # example database, as far as this run wrote them
    files += _written_since(ROOT / "reports" / "playwright", started)
    files += _written_since(ROOT / ".hypothesis", started)
    assert not list(reports.rglob("sandbox*.env")), "the sandbox env file is under reports/"

    hits = scan(files, secrets)
    assert not hits, "secrets written:\n" + "\n".join(map(str, hits))
    counts = {k: len(v) for k, v in secrets.items()}
    tests = [ln for ln in demo.stdout.splitlines() if ln.startswith("tests:")] or ["no summary"]
    failed = [ln for ln in (demo.stdout + demo.stderr).splitlines() if ln.startswith("FAILED")]
    print(
        f"\nsecrets: {len(files)} files scanned (zip members included) for {counts} "
        f"and {len(SHAPES)} shapes: 0 hits; demo exit {demo.returncode} ({tests[-1]})"
    )
    # `make demo` on the clean sandbox pair passes: this run is also the suite's own proof
    # of that, and make test's only embedded run of the QA checks (see the Makefile)
    assert demo.returncode == 0, "the demo failed:\n" + "\n".join(
        failed or [demo.stdout[-3000:], demo.stderr[-3000:]]
    )


def test_scanner_finds_planted(tmp_path: Path) -> None:
    from tests.fakes import fake_jwt, fake_signature

    token, signature = fake_jwt({"sub": "planted", "token_use": "id"}), fake_signature(32)
    planted = {
        "id token": token,
        "password": "Planted-Pa55word!",
        "presigned signature": signature,
        "e-mail": "planted@example.org",
    }
    (tmp_path / "clean.json").write_text('{"token": "[redacted:jwt]"}', encoding="utf-8")
    files = [tmp_path / "clean.json"]
    for kind, value in planted.items():
        path = tmp_path / f"{kind.replace(' ', '-')}.log"
        path.write_text(f"line before\n{value}\nline after", encoding="utf-8")
        files.append(path)
    with zipfile.ZipFile(tmp_path / "trace.zip", "w") as archive:
        archive.writestr("resources/page.html", f"<a href='?X-Amz-Signature={signature}'>")
    files.append(tmp_path / "trace.zip")
    hits = {str(h) for h in scan(files, {k: [v] for k, v in planted.items()})}
    for kind in planted:
        assert f"{tmp_path / kind.replace(' ', '-')}.log: {kind}" in hits, hits
    assert f"{tmp_path / 'id-token.log'}: JWT shape" in hits
    assert f"{tmp_path / 'e-mail.log'}: e-mail shape" in hits
    assert f"{tmp_path / 'trace.zip'}!resources/page.html: presigned signature" in hits
    assert f"{tmp_path / 'trace.zip'}!resources/page.html: presigned signature shape" in hits
    assert not [h for h in hits if h.startswith(str(tmp_path / "clean.json"))], hits
