"""Fixtures of the browser flows (``pytest -m e2e``).

- One headless Chromium per session (pytest-playwright's ``browser``): Debian's
  ``/usr/bin/chromium`` when it exists (Playwright's own download elsewhere), one fresh
  context and page per test.
- ``web``: the web app under test: the embedded sandbox's, or ``--web-url``.
- ``flow_backend``: maps ``--backend`` onto the SPA. On the sandbox it points the runtime
  config at that backend (test-only ``/__sandbox/config``); on a real deployment the deployed
  config decides and the flows assert that the API calls went to that backend.
- Artifacts: unless given on the command line, ``--output reports/playwright --tracing
  retain-on-failure --screenshot only-on-failure --video retain-on-failure``; a failed test's
  files are attached to Allure too. Video needs ffmpeg: Playwright's own, or Debian's (wired
  in through a private ``PLAYWRIGHT_BROWSERS_PATH``); without either, video is off.
- ``PARITY_E2E_HAR=DIR`` records one HAR per test (``DIR/<test>.har``) for ``parity capture
  --har``; ``PARITY_E2E_SCREENSHOTS=DIR`` keeps each flow's end state (``docs/e2e/``).
- The matrix: every flow reports into it, so its headline agrees with the exit code. The
  rows are ``FLOW /<module>`` (``FLOW /upload``), the check ``browser-flow``, one record per
  flow and backend: ``pass``; ``drift`` when the flow saw the wrong thing (a failed
  assertion or ``expect``, an element that never came), the failure text as evidence;
  ``error`` when it crashed otherwise; a skip or a set-up error becomes ``skipped`` /
  ``error`` through the ``parity_check`` marker added here (:mod:`parity.plugin.collect`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from parity.core.config import BACKENDS
from parity.core.extras import missing_extra
from parity.core.payloads import make_payload
from parity.core.redact import redact, redact_text
from parity.core.redact_files import redact_file
from parity.core.results import CheckResult
from parity.plugin import ParityRun, ResultSink, get_state
from parity.plugin.collect import target_of
from parity.plugin.extras import ExtraMissingModule

# Without the [e2e] extra (Playwright, pytest-playwright) each flow module is collected
# without being imported, as one not-applicable cell naming the install command; the
# fixtures below are then never set up.
E2E_MISSING = missing_extra("e2e")
if E2E_MISSING is None:
    from playwright.sync_api import BrowserContext, Page, expect
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from slugify import slugify

    from e2e.pages import AppShell, GalleryPage, LoginPage, MocsPage, UploadPage
    from e2e.support import (
        ConfigControl,
        NetworkLog,
        RoutedConfig,
        SandboxConfig,
        WebTarget,
        screenshot_dir,
    )


def pytest_pycollect_makemodule(
    module_path: Path, parent: pytest.Collector
) -> pytest.Module | None:
    return ExtraMissingModule.unless_installed("e2e", module_path, parent, check=FLOW_CHECK)


DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A missing element fails in seconds (slow steps pass their own timeout);
# PARITY_E2E_TIMEOUT=SECONDS changes it (a slow staging, or a quick self-test).
ACTION_TIMEOUT_MS = int(float(os.environ.get("PARITY_E2E_TIMEOUT") or 10) * 1000)
VIEWPORT = {"width": 1024, "height": 700}

# option dest -> (pytest-playwright's default, ours)
_ARTIFACT_DEFAULTS = {
    "output": ("test-results", "reports/playwright"),
    "tracing": ("off", "retain-on-failure"),
    "screenshot": ("off", "only-on-failure"),
    "video": ("off", "retain-on-failure"),
}
_VIDEO_NOTE = pytest.StashKey[str]()
_HAR_KEY = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    if E2E_MISSING is not None:
        return  # no pytest-playwright options to adjust
    option = config.option
    for dest, (default, ours) in _ARTIFACT_DEFAULTS.items():
        if getattr(option, dest, None) == default:
            value = str(config.rootpath / ours) if dest == "output" else ours
            setattr(option, dest, value)
    if getattr(option, "video", "off") != "off":
        note = _wire_ffmpeg(config.rootpath)
        if note:
            option.video = "off"
            config.stash[_VIDEO_NOTE] = note
    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    # pytest-base-url (a pytest-playwright dependency) defines base_url as an instance method
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Session-scoped fixtures defined as instance methods"
        ":pytest.PytestRemovedIn10Warning",
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    note = config.stash.get(_VIDEO_NOTE, None)
    return [f"e2e: video off ({note})"] if note else []


def _chromium_executable() -> str | None:
    override = os.environ.get("PARITY_E2E_CHROMIUM", "").strip()
    if override:
        return override
    return str(DEBIAN_CHROMIUM) if DEBIAN_CHROMIUM.exists() else None


def _wire_ffmpeg(root: Path) -> str | None:
    """Make video recording possible; returns why it is not, or None when it is."""
    if not sys.platform.startswith("linux"):
        return None  # Playwright's own install brings ffmpeg there
    browsers = Path(
        os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright"
    )
    if any(browsers.glob("ffmpeg-*/ffmpeg-linux")):
        return None
    system = shutil.which("ffmpeg")
    if system is None:
        return "no ffmpeg: install Debian's ffmpeg (make browser) or `playwright install ffmpeg`"
    if os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or _chromium_executable() is None:
        return f"Playwright's ffmpeg is missing from {browsers}"
    import playwright

    browsers_json = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    revision = next(
        b["revision"]
        for b in json.loads(browsers_json.read_text())["browsers"]
        if b["name"] == "ffmpeg"
    )
    shim_root = root / "reports" / ".playwright-browsers"
    shim = shim_root / f"ffmpeg-{revision}" / "ffmpeg-linux"
    shim.parent.mkdir(parents=True, exist_ok=True)
    if not shim.exists():
        tmp = shim.with_name(f".ffmpeg-linux.{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(system)
        os.replace(tmp, shim)  # atomic: xdist workers may race here
    # Only ffmpeg is looked up there: the browser itself is given by executable_path.
    os.environ["PLAYWRIGHT_BROWSERS_PATH"] = str(shim_root)
    return None


# -- the browser (pytest-playwright's fixtures, adjusted) ----------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], browser_name: str
) -> dict[str, Any]:
    args = dict(browser_type_launch_args)
    if browser_name == "chromium":
        executable = _chromium_executable()
        if executable and "channel" not in args and "executable_path" not in args:
            args["executable_path"] = executable
        args["args"] = [*args.get("args", []), *CHROMIUM_ARGS]
    return args


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": VIEWPORT}


def _har_path(request: pytest.FixtureRequest) -> Path | None:
    raw = os.environ.get("PARITY_E2E_HAR", "").strip()
    if not raw:
        return None
    directory = Path(raw)
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{slugify(request.node.name)}.har"


@pytest.fixture
def context(
    new_context: Callable[..., BrowserContext], request: pytest.FixtureRequest
) -> BrowserContext:
    kwargs: dict[str, Any] = {}
    har = _har_path(request)
    if har is not None:
        kwargs.update(record_har_path=str(har), record_har_content="embed")
        request.node.stash[_HAR_KEY] = har  # redacted once the context has written it
    ctx = new_context(**kwargs)
    ctx.set_default_timeout(ACTION_TIMEOUT_MS)
    return ctx


# -- the flows in the parity matrix -------------------------------------------------------

FLOW_CHECK = "browser-flow"
FLOW_METHOD = "FLOW"
_HERE = Path(__file__).resolve().parent
_FAILURE_TEXT_LIMIT = 4000


def _is_flow(item: pytest.Item) -> bool:
    return Path(str(item.path)).resolve().is_relative_to(_HERE)


def _flow_scenario(item: pytest.Item) -> str:
    """``upload-a-moc[11MB]``: the flow's name and its own parameters (the browser and the
    backend are the record's, not the scenario's)."""
    name = getattr(item, "originalname", item.name).removeprefix("test_").replace("_", "-")
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return name
    drop = {str(callspec.params.get(k)) for k in ("backend_name", "browser_name")}
    rest = [part for part in callspec.id.split("-") if part not in drop]
    return f"{name}[{'-'.join(rest)}]" if rest else name


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Before the plugin's (trylast) hook turns markers into targets: a flow that is skipped
    # or errors in set-up still gets its cell.
    for item in items:
        if not _is_flow(item) or item.get_closest_marker("parity_check") is not None:
            continue
        module = Path(str(item.path)).stem.removeprefix("test_").replace("_", "-")
        endpoint = f"{FLOW_METHOD} /{module}"
        item.add_marker(
            pytest.mark.parity_check(FLOW_CHECK, endpoint=endpoint, scenario=_flow_scenario(item))
        )


def flow_record(item: pytest.Item, call: pytest.CallInfo[None]) -> CheckResult | None:
    """The flow's record from its call phase; ``None`` for a skip (the collector makes it)."""
    target = target_of(item)
    if target is None:
        return None
    excinfo = call.excinfo
    if excinfo is None:
        state, summary, evidence = "pass", "the flow passed", {}
    elif excinfo.errisinstance((pytest.skip.Exception, pytest.xfail.Exception)):
        return None
    else:
        # the exception's short name and its whole message (Playwright's call log included)
        text = redact_text(f"{excinfo.typename}: {excinfo.value}".strip())
        if len(text) > _FAILURE_TEXT_LIMIT:
            text = text[:_FAILURE_TEXT_LIMIT] + f"... ({len(text)} characters)"
        # A failed assertion (ours or Playwright's expect), pytest.fail, or an element that
        # never came: the flow judged and found the app wrong. Anything else: it crashed.
        found = excinfo.errisinstance((AssertionError, PlaywrightTimeout, pytest.fail.Exception))
        state = "drift" if found else "error"
        first = text.splitlines()[0] if text else excinfo.typename
        summary = f"the flow failed: {first}" if found else f"the flow crashed: {first}"
        summary = summary if len(summary) <= 300 else summary[:297] + "..."
        # under "error": the key the matrix page shows as text, whatever the cell's state
        evidence = {"flow": item.nodeid, "error": text}
    return CheckResult(
        endpoint=target["endpoint"],
        check=target["check"],
        state=state,  # type: ignore[arg-type]
        summary=summary,
        backend=target.get("backend"),
        scenario=target.get("scenario"),
        evidence=redact(evidence),
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Put a flow's record on it before its call report is made (so that report carries
    it to the matrix); attach a failed flow's screenshot, trace and video to Allure (when
    it is active).

    pytest-playwright keeps them in its own (trylast) wrapper of the teardown report and lists
    them in ``user_properties``; this wrapper's code after ``yield`` runs after it, while the
    Allure test result is still open.
    """
    if call.when == "call" and _is_flow(item):
        record = flow_record(item, call)
        if record is not None:
            ResultSink(item).add(record)
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when != "teardown":
        return
    kept = [str(v) for k, v in report.user_properties if str(k).startswith("playwright_")]
    paths = [
        Path(raw) if Path(raw).is_absolute() else item.config.invocation_params.dir / raw
        for raw in kept
    ]
    # Playwright wrote them with the typed password, Cognito's tokens, the user's e-mail
    har = item.stash.get(_HAR_KEY, None)
    for path in [*paths, *([har] if har is not None else [])]:
        if path.is_file() and path.suffix in (".zip", ".har"):
            redact_file(path)
    if not paths:
        return
    import allure

    types = {".png": allure.attachment_type.PNG, ".webm": allure.attachment_type.WEBM}
    for path in paths:
        if not path.is_file():
            continue
        if path.suffix in types:
            allure.attach.file(str(path), name=path.name, attachment_type=types[path.suffix])
        else:  # trace.zip: open with `playwright show-trace`
            allure.attach.file(
                str(path),
                name=f"{path.name} (playwright show-trace)",
                extension=path.suffix.lstrip("."),
            )


# -- the target ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def web(parity_run: ParityRun, pytestconfig: pytest.Config) -> WebTarget:
    settings = parity_run.settings
    given = get_state(pytestconfig).base_settings.web_url
    web_url = given or parity_run.sandbox_env.get("PARITY_WEB_URL")
    if not web_url:
        pytest.skip("no web app to test: pass --web-url (env PARITY_WEB_URL)")
    try:
        httpx.get(web_url, timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        pytest.fail(f"the web app at {web_url} does not answer: {exc}", pytrace=False)
    try:
        probe = httpx.get(web_url.rstrip("/") + "/__sandbox/config", timeout=10)
        is_sandbox = probe.status_code == 200 and "apiBaseUrl" in probe.json()
    except (httpx.HTTPError, ValueError):
        is_sandbox = False
    backends = {name: url for name in BACKENDS if (url := settings.url_for(name))}
    users = {
        role: (cred.username, cred.password.reveal())
        for role, cred in settings.users.items()
        if cred.password
    }
    return WebTarget(web_url.rstrip("/"), is_sandbox, backends, users)


@pytest.fixture
def config_control(web: WebTarget, context: BrowserContext) -> Iterator[ConfigControl]:
    """Changes ``/config.json``: on the sandbox's server, elsewhere through the router."""
    control: ConfigControl = (
        SandboxConfig(web.web_url) if web.is_sandbox else RoutedConfig(context, web.web_url)
    )
    yield control
    control.reset()


@pytest.fixture
def flow_backend(backend_name: str, web: WebTarget, config_control: ConfigControl) -> str:
    """The backend the flow must use (``--backend``); on the sandbox the config points there."""
    if web.is_sandbox:
        config_control.set(
            apiBaseUrl=web.backends[backend_name], useServerless=backend_name == "serverless"
        )
    return backend_name


@pytest.fixture
def network(page: Page, web: WebTarget) -> NetworkLog:
    return NetworkLog(web).attach(page)


@pytest.fixture
def app(page: Page, web: WebTarget, network: NetworkLog) -> AppShell:
    return AppShell(page, web)


@pytest.fixture
def login_page(app: AppShell) -> LoginPage:
    return LoginPage(app)


@pytest.fixture
def mocs_page(app: AppShell) -> MocsPage:
    return MocsPage(app)


@pytest.fixture
def gallery_page(app: AppShell) -> GalleryPage:
    return GalleryPage(app)


@pytest.fixture
def upload_page(app: AppShell) -> UploadPage:
    return UploadPage(app)


@pytest.fixture
def sign_in(app: AppShell, login_page: LoginPage, web: WebTarget) -> Callable[[str], str]:
    """Log ``role`` in through the login screen; returns the username."""

    def do(role: str = "alice") -> str:
        username, password = web.credentials(role)
        login_page.open()
        login_page.login(username, password)
        login_page.expect_logged_in(username)
        return username

    return do


@pytest.fixture(scope="session")
def upload_files(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int, str], Path]:
    """``make(size, name)`` -> a deterministic PDF of ``size`` bytes on disk."""
    directory = tmp_path_factory.mktemp("uploads")

    def make(size: int, name: str) -> Path:
        path = directory / name
        if not path.exists():
            path.write_bytes(make_payload(size, "application/pdf"))
        return path

    return make


@pytest.fixture
def end_state(page: Page, request: pytest.FixtureRequest) -> Callable[[str], None]:
    """``end_state(name)``: keep the page as ``$PARITY_E2E_SCREENSHOTS/<name>.png`` (one picture
    per flow: taken on the serverless run of backend-parametrized flows)."""
    directory = screenshot_dir()
    callspec = getattr(request.node, "callspec", None)
    backend = callspec.params.get("backend_name") if callspec else None

    def capture(name: str) -> None:
        if directory is None or backend not in (None, "serverless"):
            return
        directory.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(directory / f"{name}.png"), full_page=True)

    return capture
