"""Which files a run reads: the repository's (the MOC API's) only without a config file;
with one, the catalog, baseline, cassettes and contracts beside it unless named."""

from __future__ import annotations

from pathlib import Path

from parity.core.config import DEFAULT_FILES, Settings


def test_without_a_config_file_the_repository_files_are_used() -> None:
    s = Settings.load(environ={})
    assert {n: getattr(s, n) for n in DEFAULT_FILES} == dict(DEFAULT_FILES)
    assert set(s.file_sources.values()) == {"default"}


def test_a_config_for_another_api_loads_no_moc_file(tmp_path: Path) -> None:
    toml = tmp_path / "api" / "parity.toml"
    toml.parent.mkdir()
    toml.write_text('backend = "both"\n', encoding="utf-8")
    (toml.parent / "catalog.yaml").write_text("version: 1\n", encoding="utf-8")
    s = Settings.load(environ={"PARITY_CONFIG": str(toml)})
    assert s.catalog == toml.parent / "catalog.yaml"
    assert s.baseline == toml.parent / "parity-baseline.toml"
    assert s.cassettes == toml.parent / "cassettes"
    assert s.contracts == toml.parent / "contracts"
    assert set(s.file_sources.values()) == {"beside parity.toml"}
    line = s.describe_files()
    assert f"config={toml}" in line and "absent" in line and "fixtures/" not in line
    (toml.parent / "catalog.yaml").unlink()  # a config that only tunes: the repository's API
    assert Settings.load(environ={"PARITY_CONFIG": str(toml)}).catalog == DEFAULT_FILES["catalog"]


def test_named_files_win_and_toml_paths_are_relative_to_the_toml(tmp_path: Path) -> None:
    toml = tmp_path / "parity.toml"
    toml.write_text('catalog = "apis/x.yaml"\ncontracts = "schemas"\n', encoding="utf-8")
    env = {"PARITY_CONFIG": str(toml), "PARITY_BASELINE": str(tmp_path / "b.toml")}
    s = Settings.load(environ=env, overrides={"cassettes": str(tmp_path / "tapes")})
    assert s.catalog == tmp_path / "apis" / "x.yaml"
    assert s.contracts == tmp_path / "schemas"
    assert s.baseline == tmp_path / "b.toml"
    assert s.cassettes == tmp_path / "tapes"
    assert s.file_sources == {
        "catalog": "key catalog",
        "baseline": "PARITY_BASELINE",
        "cassettes": "--cassettes",
        "contracts": "key contracts",
    }
