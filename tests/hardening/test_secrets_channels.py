"""Secrets in every channel, on an API that is not the sandbox: users log in by a JSON
request to a login endpoint and get opaque tokens (no JWT shape), and the API echoes what
it is sent (tests/hardening/login_api.py, two flavours on real sockets).

Its catalog (tests/hardening/login_catalog.yaml) sends the configured password, with the
built-in credential placeholders, in a JSON body, a form body, a multipart field and a
query string; the run logs in through the login endpoint on both backends; and
tests/hardening/leaky_check.py fails with the token, the e-mail and the password in its
assertion, its output and its log. The run is what QA would run: the catalog scenarios, the
differential checks and body fuzzing (Hypothesis' example database) on two xdist workers
(each logs in itself, so each worker's own tokens must be redacted where it runs), with
JUnit, Allure and a log file, then ``parity capture`` (cassettes).

Every file written and the terminal output are scanned for each secret in plain,
URL-encoded and base64 form: 0 hits. The same scan then finds a secret planted in a copy
of each channel's file, so a clean scan means the scan looked.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening.login_api import LoginApi
from tests.hardening.secret_scan import encoded, scan

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHECKS = (
    "api_checks/test_catalog_scenarios.py",
    "api_checks/test_parity.py",
    "api_checks/test_fuzz_differential.py",
    "api_checks/test_fuzz_schemathesis.py",
    "api_checks/test_auth.py",
    str(HERE / "leaky_check.py"),
)
# What the catalog sends the password in: each must really have carried it.
CARRIERS = {"/auth/login", "/echo/json", "/echo/form", "/echo/multipart", "/echo/query"}
# The channels, by where their files land under the run's directory.
CHANNELS = {
    "matrix JSON": "reports/parity-matrix.json",
    "matrix HTML": "reports/parity-matrix.html",
    "JUnit": "reports/junit.xml",
    "log file": "run.log",
    "terminal": "terminal.txt",
    "capture output": "capture.txt",
}


def _env(tmp: Path, ref: LoginApi, cand: LoginApi, username: str, password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env.update(
        {
            "PARITY_EXPRESS_URL": ref.url,
            "PARITY_SERVERLESS_URL": cand.url,
            "PARITY_AUTH_MODE": "login",
            "PARITY_LOGIN_PATH": "/auth/login",
            "PARITY_LOGIN_TOKEN_PATH": "token",
            "PARITY_USERS": "alice",
            "PARITY_USER_ALICE_USERNAME": username,
            "PARITY_USER_ALICE_PASSWORD": password,
            "PARITY_CATALOG": str(HERE / "login_catalog.yaml"),
            "PARITY_REPORTS_DIR": str(tmp / "reports"),
            "PARITY_BASELINE": str(tmp / "no-baseline.toml"),
            "PARITY_CASSETTES": str(tmp / "cassettes"),
            "PARITY_FUZZ_BUDGET": "20",
        }
    )
    return env


@pytest.mark.timeout(600)
def test_no_channel_holds_a_secret(tmp_path: Path) -> None:
    username = f"alice.{secrets.token_hex(3)}@example.test"
    # a space, a slash and "!" encode differently in a URL, a form and base64
    password = f"Pw {secrets.token_hex(4)}/x!~"
    users = {username: {"password": password, "email": username}}
    (tmp_path / "no-baseline.toml").write_text("# this API accepts no difference\n")
    with LoginApi("reference", users) as ref, LoginApi("candidate", users) as cand:
        env = _env(tmp_path, ref, cand, username, password)
        run = subprocess.run(
            [
                *(sys.executable, "-m", "pytest", *CHECKS, "-n", "2", "-p", "no:cacheprovider"),
                *("-rA", "-vv", "--alluredir", str(tmp_path / "allure")),
                *("--log-file", str(tmp_path / "run.log"), "--log-file-level", "DEBUG"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=500,
            check=False,
        )
        capture = subprocess.run(
            [sys.executable, "-m", "parity", "capture", "--out", str(tmp_path / "cassettes")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        issued = ref.issued + cand.issued
        carried = ref.carried_password
    (tmp_path / "terminal.txt").write_text(run.stdout + run.stderr, encoding="utf-8")
    (tmp_path / "capture.txt").write_text(capture.stdout + capture.stderr, encoding="utf-8")
    output = run.stdout[-3000:] + run.stderr[-2000:]

    # The run really used the secrets, so a clean scan means something.
    assert carried >= CARRIERS, f"the password never reached {sorted(CARRIERS - carried)}"
    assert len(issued) >= 3, f"logins: {issued}\n{output}"
    assert "FAILED tests/hardening/leaky_check.py::test_check_quoting" in run.stdout, output
    assert run.returncode == 1, output  # checks failed (the candidate differs), nothing crashed
    assert capture.returncode == 0, capture.stdout + capture.stderr
    hypothesis_db = list((tmp_path / "reports" / "hypothesis").rglob("*"))
    assert any(p.is_file() for p in hypothesis_db), "body fuzzing saved no example"
    cassettes = list((tmp_path / "cassettes").glob("*.jsonl"))
    assert cassettes, "capture wrote no cassette"
    allure = list((tmp_path / "allure").glob("*"))
    assert any(p.name.endswith("-attachment.json") for p in allure), "no Allure attachment"

    known = {
        "password": encoded(password),
        "e-mail": encoded(username),
        "token": {form for token in issued for form in encoded(token)},
    }
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    hits = scan(files, known)
    assert not hits, "secrets written:\n" + "\n".join(map(str, hits[:40]))
    print(f"\nchannels: {len(files)} files scanned, {len(issued)} tokens: 0 hits")

    # The same scan finds a secret planted in a copy of each channel's own file.
    planted_dir = tmp_path / "planted"
    planted_dir.mkdir()
    samples = {name: tmp_path / rel for name, rel in CHANNELS.items()}
    samples["Allure result"] = next(p for p in allure if p.name.endswith("-result.json"))
    samples["Allure attachment"] = next(p for p in allure if p.name.endswith("attachment.json"))
    samples["cassette"] = cassettes[0]
    samples["Hypothesis database"] = next(p for p in hypothesis_db if p.is_file())
    forms = [*sorted(known["password"]), *sorted(known["token"])[:3], username]
    for number, (name, source) in enumerate(sorted(samples.items())):
        assert source.is_file(), f"{name}: {source} was not written"
        copy = planted_dir / f"{number}-{source.name}"
        shutil.copy(source, copy)
        with copy.open("ab") as out:
            out.write(forms[number % len(forms)].encode("utf-8"))
        assert scan([copy], known), f"a secret planted in the {name} is not found"
