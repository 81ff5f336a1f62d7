"""errors.py and config.py: message formats, precedence, validation, secrets."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from parity.core.config import Secret, Settings, parse_env_file
from parity.core.errors import (
    AuthError,
    BackendError,
    BackendUnreachable,
    CatalogError,
    ConfigError,
    InternalError,
    ParityError,
    UsageError,
    connect_failure_reason,
)

# --- errors -------------------------------------------------------------------------------


def test_file_error_formats_as_one_line() -> None:
    err = CatalogError(
        "unknown key 'expext'",
        path="fixtures/catalog.yaml",
        location="line 12, endpoint mocs.get, scenario existing",
        hint="Did you mean 'expect'?",
    )
    assert str(err) == (
        "fixtures/catalog.yaml: line 12, endpoint mocs.get, scenario existing: "
        "unknown key 'expext'. Did you mean 'expect'?"
    )
    assert "\n" not in str(err)
    assert (err.path, err.location) == (Path("fixtures/catalog.yaml"), err.location)


def test_tree_and_exit_codes() -> None:
    assert issubclass(ConfigError, UsageError) and issubclass(CatalogError, UsageError)
    assert issubclass(BackendUnreachable, BackendError) and issubclass(AuthError, BackendError)
    assert all(issubclass(c, ParityError) for c in (UsageError, BackendError, InternalError))
    assert UsageError("x").exit_code == 2
    assert ConfigError("x").exit_code == 2
    assert BackendUnreachable("express", "http://h", "r").exit_code != 0


def test_backend_unreachable_message_names_backend_url_and_fix() -> None:
    err = BackendUnreachable("express", "http://127.0.0.1:9", "connection refused")
    assert str(err) == (
        "express backend at http://127.0.0.1:9 is unreachable (connection refused). "
        "Start it, or pass --express-url / PARITY_EXPRESS_URL."
    )
    assert (err.backend, err.url) == ("express", "http://127.0.0.1:9")


def test_auth_error_names_backend_role_and_setting() -> None:
    err = AuthError(
        "bad password", backend="serverless", role="alice", hint="Check PARITY_USER_ALICE_PASSWORD"
    )
    assert str(err) == (
        "serverless: login as 'alice' failed: bad password. Check PARITY_USER_ALICE_PASSWORD."
    )


def test_errors_survive_pickling_for_xdist() -> None:
    err = BackendUnreachable("serverless", "http://x:1", "connection refused")
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is BackendUnreachable and str(clone) == str(err)
    assert clone.backend == "serverless"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[Errno 111] Connection refused", "connection refused"),
        ("[Errno -2] Name or service not known", "DNS lookup failed"),
        ("timed out", "connect timed out"),
    ],
)
def test_connect_failure_reason(text: str, reason: str) -> None:
    assert connect_failure_reason(OSError(text)) == reason


# --- config -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_project_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test in an empty directory so a developer's parity.toml is not read."""
    monkeypatch.chdir(tmp_path)


def load(
    overrides: dict[str, object] | None = None,
    env: dict[str, str] | None = None,
    toml: str | None = None,
    tmp: Path | None = None,
) -> Settings:
    path = None
    if toml is not None:
        assert tmp is not None
        path = tmp / "parity.toml"
        path.write_text(toml)
    return Settings.load(overrides, env or {}, path)


def test_defaults() -> None:
    s = load()
    assert s.backend == "both" and s.selected_backends == ("express", "serverless")
    assert (s.express_url, s.serverless_url, s.web_url, s.stage) == (None, None, None, None)
    assert s.target_env == "sandbox" and s.allow_writes is False and s.writes_allowed
    assert s.catalog == Path("fixtures/catalog.yaml") and s.reports_dir == Path("reports")
    assert s.timeout == 30.0 and s.sandbox_drift == () and s.users == {}
    assert s.auth["express"].mode == "cognito" and s.missing_urls() == ("express", "serverless")


def test_precedence_overrides_env_toml_default(tmp_path: Path) -> None:
    toml = 'backend = "express"\nstage = 10\ntimeout = 5\nexpress_url = "http://toml:1"\n'
    env = {"PARITY_STAGE": "25", "PARITY_EXPRESS_URL": "http://env:2/"}
    s = load({"stage": 50, "backend": None}, env, toml, tmp_path)
    assert s.stage == 50  # override beats env and toml
    assert s.express_url == "http://env:2"  # env beats toml; trailing slash dropped
    assert s.backend == "express"  # None override = not given; toml beats default
    assert s.timeout == 5.0
    assert s.config_path == tmp_path / "parity.toml"


def test_empty_env_var_counts_as_unset() -> None:
    s = load(env={"PARITY_BACKEND": "", "PARITY_SANDBOX_DRIFT": ""})
    assert s.backend == "both" and s.sandbox_drift == ()


def test_toml_found_via_parity_config_and_paths_relative_to_it(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / "mine.toml").write_text('catalog = "cat.yaml"\nreports_dir = "/abs/reports"\n')
    s = Settings.load({}, {"PARITY_CONFIG": str(sub / "mine.toml")})
    assert s.catalog == sub / "cat.yaml" and s.reports_dir == Path("/abs/reports")


def test_project_toml_in_cwd_is_optional_and_found(tmp_path: Path) -> None:
    assert Settings.load({}, {}).config_path is None
    (tmp_path / "parity.toml").write_text('target_env = "staging"\n')
    assert Settings.load({}, {}).target_env == "staging"


def test_missing_parity_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PARITY_CONFIG: config file not found"):
        Settings.load({}, {"PARITY_CONFIG": str(tmp_path / "nope.toml")})


def test_unknown_toml_key_names_key_and_suggests(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(toml='bakend = "express"\n', tmp=tmp_path)
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 'parity.toml'}: key bakend: unknown key 'bakend'.")
    assert "Did you mean 'backend'?" in msg


def test_unknown_nested_toml_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"key auth\.express\.cognito\.clientid: unknown key"):
        load(toml='[auth.express.cognito]\nclientid = "x"\n', tmp=tmp_path)


def test_toml_syntax_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load(toml="stage = 10\nbackend = \n", tmp=tmp_path)
    # the position is the error's location, not left inside the parser's message
    assert info.value.location == "line 2, column 11", str(info.value)
    assert "(at line" not in str(info.value)


def test_env_file_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    env = tmp_path / "sandbox.env"
    env.write_bytes(b"A=1\nB=caf\xe9\n")
    with pytest.raises(ConfigError, match=r"sandbox\.env: line 2, column 6: not UTF-8 text"):
        parse_env_file(env)


def test_password_in_toml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(toml='[users.alice]\nusername = "a"\npassword = "hunter2"\n', tmp=tmp_path)
    assert "PARITY_USER_ALICE_PASSWORD" in str(info.value)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "env", "where", "fix"),
    [
        ({"backend": "lambda"}, {}, "--backend", "express, serverless, both"),
        ({}, {"PARITY_BACKEND": "lambda"}, "PARITY_BACKEND", "express, serverless, both"),
        ({}, {"PARITY_STAGE": "30"}, "PARITY_STAGE", "10, 25, 50, 100"),
        ({}, {"PARITY_EXPRESS_URL": "localhost:9000"}, "PARITY_EXPRESS_URL", "http://"),
        ({}, {"PARITY_TIMEOUT": "-1"}, "PARITY_TIMEOUT", "30"),
        ({}, {"PARITY_ALLOW_WRITES": "maybe"}, "PARITY_ALLOW_WRITES", "true or false"),
        ({}, {"PARITY_TARGET_ENV": "prod"}, "PARITY_TARGET_ENV", "production"),
        ({}, {"PARITY_AUTH_MODE": "oauth"}, "PARITY_AUTH_MODE", "cognito, login, static"),
        ({}, {"PARITY_USERS": "alice,anonymous"}, "PARITY_USERS", "Remove it"),
        ({}, {"PARITY_S3_ENDPOINT": "minio:9000"}, "PARITY_S3_ENDPOINT", "http://"),
        ({"s3_bucket": " "}, {}, "--s3-bucket", "Set it to text"),
    ],
)
def test_invalid_values_name_source_and_fix(
    overrides: dict[str, object], env: dict[str, str], where: str, fix: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(overrides, env)
    assert str(info.value).startswith(f"{where}: ")
    assert fix in str(info.value)


def test_invalid_toml_value_names_file_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(toml="stage = 33\n", tmp=tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'parity.toml'}: key stage: invalid rollout")


def test_stage_spellings() -> None:
    assert load(env={"PARITY_STAGE": "25%"}).stage == 25
    assert load({"stage": "100"}).stage == 100


def test_unknown_override_is_a_caller_bug() -> None:
    with pytest.raises(InternalError, match="unknown settings override 'bakend'"):
        load({"bakend": "x"})


def test_allow_writes_false_override_does_not_mask_env() -> None:
    s = load({"allow_writes": False}, {"PARITY_ALLOW_WRITES": "yes"})
    assert s.allow_writes is True


def test_production_refuses_writes_unless_allowed() -> None:
    prod = load(env={"PARITY_TARGET_ENV": "production"})
    assert not prod.writes_allowed
    with pytest.raises(ConfigError, match="--allow-writes"):
        prod.require_writes("mocs.create/created")
    assert load({"allow_writes": True}, {"PARITY_TARGET_ENV": "production"}).writes_allowed


def test_users_from_env_with_secret_passwords() -> None:
    env = {
        "PARITY_USERS": "alice, bob,power-user",
        "PARITY_USER_ALICE_USERNAME": "alice@example.com",
        "PARITY_USER_ALICE_PASSWORD": "s3cret-pw",
        "PARITY_USER_POWER_USER_PASSWORD": "pw2",
    }
    s = load(env=env)
    assert list(s.users) == ["alice", "bob", "power-user"]
    alice = s.users["alice"]
    assert alice.username == "alice@example.com"
    assert alice.password is not None and alice.password.reveal() == "s3cret-pw"
    assert s.users["bob"].username == "bob" and s.users["bob"].password is None
    assert s.users["power-user"].password == Secret("pw2")
    assert "s3cret-pw" not in repr(s) and "s3cret-pw" not in str(alice)


def test_users_from_toml(tmp_path: Path) -> None:
    s = load(toml='[users.alice]\nusername = "a@x"\n[users.bob]\n', tmp=tmp_path)
    assert {r: u.username for r, u in s.users.items()} == {"alice": "a@x", "bob": "bob"}
    s = load(toml='users = ["alice", "admin"]\n', tmp=tmp_path)
    assert list(s.users) == ["alice", "admin"]


def test_auth_per_backend_sources_keep_precedence(tmp_path: Path) -> None:
    toml = """
[auth]
mode = "static"
[auth.express]
mode = "login"
template = "Token {token}"
[auth.express.login]
path = "/api/auth/login"
token_path = "token"
"""
    s = load(toml=toml, tmp=tmp_path)
    assert s.auth["express"].mode == "login" and s.auth["serverless"].mode == "static"
    login = s.auth["express"].login
    assert login is not None and (login.path, login.method, login.token_path) == (
        "/api/auth/login",
        "POST",
        "token",
    )
    assert s.auth["express"].template == "Token {token}"
    assert s.auth["serverless"].template == "Bearer {token}"
    # The environment beats the file, however specific the file is (a sandbox says cognito).
    s = load(env={"PARITY_AUTH_MODE": "cognito"}, toml=toml, tmp=tmp_path)
    assert s.auth["express"].mode == "cognito"
    # Within a source, per-backend beats generic.
    s = load(env={"PARITY_AUTH_MODE": "cognito", "PARITY_SERVERLESS_AUTH_MODE": "static"})
    assert (s.auth["express"].mode, s.auth["serverless"].mode) == ("cognito", "static")
    s = load({"express_auth_mode": "none"}, {"PARITY_EXPRESS_AUTH_MODE": "static"})
    assert s.auth["express"].mode == "none"


def test_login_mode_without_endpoint_names_the_settings() -> None:
    with pytest.raises(ConfigError) as info:
        load(env={"PARITY_EXPRESS_AUTH_MODE": "login"})
    assert "PARITY_EXPRESS_LOGIN_PATH" in str(info.value)
    assert "auth.express.login.path" in str(info.value)


def test_login_settings_from_env() -> None:
    env = {
        "PARITY_AUTH_MODE": "login",
        "PARITY_LOGIN_PATH": "/login",
        "PARITY_LOGIN_BODY": '{"email": "{username}", "pw": "{password}"}',
        "PARITY_EXPRESS_AUTH_TEMPLATE": "Token {token}",
    }
    s = load(env=env)
    assert s.auth["serverless"].login is not None
    assert s.auth["serverless"].login.body == {"email": "{username}", "pw": "{password}"}
    assert s.auth["express"].template == "Token {token}"
    with pytest.raises(ConfigError, match=r"has no \{token\}"):
        load(env={"PARITY_AUTH_TEMPLATE": "Bearer"})


def test_cognito_and_static_tokens() -> None:
    env = {
        "PARITY_USERS": "alice",
        "PARITY_COGNITO_REGION": "us-east-1",
        "PARITY_COGNITO_CLIENT_ID": "generic",
        "PARITY_EXPRESS_COGNITO_CLIENT_ID": "legacy",
        "PARITY_COGNITO_ENDPOINT": "http://127.0.0.1:5000",
        "PARITY_EXPRESS_TOKEN_ALICE": "tok-express",
        "PARITY_TOKEN_ALICE": "tok-any",
    }
    s = load(env=env)
    assert s.auth["express"].cognito.client_id == "legacy"
    assert s.auth["serverless"].cognito.client_id == "generic"
    assert s.auth["serverless"].cognito.endpoint == "http://127.0.0.1:5000"
    assert s.auth["express"].tokens["ALICE"].reveal() == "tok-express"
    assert s.auth["serverless"].tokens["ALICE"].reveal() == "tok-any"
    assert "tok-express" not in repr(s)


def test_with_env_layers_sandbox_file_under_overrides(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox.env"
    env_file.write_text(
        "# written by the sandbox\n"
        "PARITY_EXPRESS_URL=http://127.0.0.1:9100\n"
        "PARITY_SERVERLESS_URL=http://127.0.0.1:3100\n"
        'PARITY_WEB_URL="http://127.0.0.1:3102"\n'
        "PARITY_TARGET_ENV=sandbox\n"
        "PARITY_SANDBOX_DRIFT=renamed-field,cors-header\n"
        "PARITY_USERS=alice\n"
        "PARITY_USER_ALICE_PASSWORD=pw\n"
        "export PARITY_S3_BUCKET=moc-files\n"
        "\n"
    )
    base = load({"serverless_url": "http://explicit:1"}, {"PARITY_TIMEOUT": "7"})
    s = base.with_env(parse_env_file(env_file))
    assert s.express_url == "http://127.0.0.1:9100"
    assert s.serverless_url == "http://explicit:1"  # explicit option still wins
    assert s.web_url == "http://127.0.0.1:3102" and s.timeout == 7.0
    assert s.sandbox_drift == ("renamed-field", "cors-header")
    assert s.env["PARITY_S3_BUCKET"] == "moc-files"
    assert s.users["alice"].password == Secret("pw")


def test_parse_env_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text("OK=1\nthis is not a pair\n")
    with pytest.raises(ConfigError, match=r"bad\.env: line 2: not a KEY=value line"):
        parse_env_file(bad)
    with pytest.raises(ConfigError, match="cannot read the env file"):
        parse_env_file(tmp_path / "missing.env")


def test_describe_is_one_line_without_secrets() -> None:
    env = {
        "PARITY_EXPRESS_URL": "https://user:topsecret@legacy.example.com",
        "PARITY_SERVERLESS_URL": "https://api.example.com",
        "PARITY_TARGET_ENV": "staging",
        "PARITY_STAGE": "25",
        "PARITY_USERS": "alice",
        "PARITY_USER_ALICE_PASSWORD": "pw-should-not-show",
        "PARITY_SANDBOX_DRIFT": "renamed-field",
    }
    line = load(env=env).describe()
    assert "\n" not in line
    assert "topsecret" not in line and "pw-should-not-show" not in line
    for part in (
        "backend=both",
        "express=https://legacy.example.com",
        "serverless=https://api.example.com",
        "target=staging",
        "stage=25",
        "drift=renamed-field",
    ):
        assert part in line
    assert "express=(sandbox)" in load().describe()
