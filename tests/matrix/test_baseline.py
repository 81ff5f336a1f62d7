"""parity-baseline.toml: loading (errors name file, entry, field), matching, expiry, stale."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from parity.core.results import CheckResult
from parity.engine.baseline import BASELINE_KEY, Baseline, BaselineError, load_baseline
from parity.engine.diff import Difference

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 25)

ENTRY = """
[[accept]]
id = "authorizer-401"
endpoint = "* /api/*"
check = "envelope"
path = "*"
origin = "gateway"
status = 401
reason = "the authorizer answers first"
expires = {expires}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "parity-baseline.toml"
    p.write_text(text, encoding="utf-8")
    return p


def gateway_diff(path: str = "status") -> Difference:
    return Difference(path, "removed", "error", "(absent)", "breaking", "gateway")


def test_loads_entries(tmp_path: Path) -> None:
    b = load_baseline(write(tmp_path, "version = 1\n" + ENTRY.format(expires="2027-01-31")))
    (e,) = b.entries
    assert (e.id, e.endpoint, e.status, e.expires) == (
        "authorizer-401",
        "* /api/*",
        401,
        date(2027, 1, 31),
    )


def test_missing_file_is_empty_unless_named(tmp_path: Path) -> None:
    assert load_baseline(tmp_path / "none.toml").entries == []
    with pytest.raises(BaselineError, match=r"none\.toml: cannot read the baseline"):
        load_baseline(tmp_path / "none.toml", required=True)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            "[[accept]]\nendpoint='GET /x'\ncheck='status'\npath='*'\nexpires=2027-01-01\n",
            r"\[\[accept\]\] entry 1: missing required field 'reason'\. Add reason =",
        ),
        (
            ENTRY.format(expires="2027-01-01").replace("reason =", 'reasn = "x"\nreason ='),
            r"entry 1 \(authorizer-401\), field reasn: unknown field 'reasn'",
        ),
        (
            ENTRY.format(expires='"soon"'),
            r"entry 1 \(authorizer-401\), field expires: not a date \(got 'soon'\)",
        ),
        (
            ENTRY.format(expires="2027-01-01").replace('"gateway"', '"lambda"'),
            r"field origin: unknown origin 'lambda'",
        ),
        (
            ENTRY.format(expires="2027-01-01").replace('"* /api/*"', '"/api/x"'),
            r"field endpoint: '/api/x' is not 'METHOD /route'",
        ),
        (ENTRY.format(expires="2027-01-01") * 2, r"entry 2 \(authorizer-401\): duplicate id"),
        ("accept = [", r"not valid TOML"),
        ("versio = 1\n", r"key versio: unknown key 'versio'"),
    ],
)
def test_errors_name_file_entry_and_field(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(BaselineError, match=needle) as info:
        load_baseline(path)
    assert str(info.value).startswith(str(path))
    assert info.value.exit_code == 2


def test_active_entry_accepts_matching_differences(tmp_path: Path) -> None:
    b = load_baseline(write(tmp_path, ENTRY.format(expires="2027-01-31")))
    diffs = [gateway_diff("status"), gateway_diff("error")]
    used = b.apply("POST /api/mocs", "envelope", diffs, status=401, today=TODAY)
    assert used == ["authorizer-401"]
    assert all(d.accepted_by == "authorizer-401" for d in diffs)


@pytest.mark.parametrize(
    ("endpoint", "check", "status", "origin"),
    [
        ("GET /health", "envelope", 401, "gateway"),  # endpoint outside the glob
        ("POST /api/mocs", "status", 401, "gateway"),  # other check
        ("POST /api/mocs", "envelope", 403, "gateway"),  # other status
        ("POST /api/mocs", "envelope", 401, "application"),  # other origin
    ],
)
def test_conditions_must_all_hold(
    tmp_path: Path, endpoint: str, check: str, status: int, origin: str
) -> None:
    b = load_baseline(write(tmp_path, ENTRY.format(expires="2027-01-31")))
    d = Difference("status", "removed", "error", "(absent)", "breaking", origin)  # type: ignore[arg-type]
    assert b.apply(endpoint, check, [d], status=status, today=TODAY) == []
    assert d.accepted_by is None


def test_brackets_in_paths_are_literal(tmp_path: Path) -> None:
    text = ENTRY.format(expires="2027-01-31").replace('path = "*"', 'path = "data.items[*].id"')
    b = load_baseline(write(tmp_path, text))
    hit, miss = gateway_diff("data.items[3].id"), gateway_diff("data.items3.id")
    b.apply("POST /api/mocs", "envelope", [hit, miss], status=401, today=TODAY)
    assert hit.accepted_by == "authorizer-401" and miss.accepted_by is None


def test_expired_entry_accepts_nothing_and_says_so(tmp_path: Path) -> None:
    b = load_baseline(write(tmp_path, ENTRY.format(expires="2026-11-24")))
    d = gateway_diff()
    assert b.apply("POST /api/mocs", "envelope", [d], status=401, today=TODAY) == []
    assert d.accepted_by is None
    assert "expired on 2026-11-24" in d.note
    # the last day still counts
    b2 = load_baseline(write(tmp_path, ENTRY.format(expires="2026-11-25")))
    assert b2.apply("POST /api/mocs", "envelope", [gateway_diff()], status=401, today=TODAY)


def record(
    endpoint: str,
    check: str,
    state: str = "pass",
    status: int | None = None,
    used: list[str] | None = None,
) -> CheckResult:
    evidence: dict[str, object] = {}
    if status is not None:
        answer = {"status": status, "json": {"message": "Unauthorized"}}
        evidence = {
            "candidate": "serverless",
            "responses": {"serverless": answer},
            "candidate_gateway": True,  # run_case judged it with the catalog's gateway
        }
    if used:
        evidence[BASELINE_KEY] = used
    return CheckResult(endpoint, check, state, evidence=evidence)  # type: ignore[arg-type]


def test_usage_used_stale_expired_not_evaluated(tmp_path: Path) -> None:
    text = ENTRY.format(expires="2027-01-31")
    text += (
        ENTRY.format(expires="2027-01-31")
        .replace("authorizer-401", "gone")
        .replace("* /api/*", "GET /api/users/me")
    )
    text += ENTRY.format(expires="2026-01-01").replace("authorizer-401", "old")
    text += (
        ENTRY.format(expires="2027-01-31")
        .replace("authorizer-401", "boundary")
        .replace('check = "envelope"', 'check = "boundary"')
    )
    b = load_baseline(write(tmp_path, text))
    records = [
        record("POST /api/mocs", "envelope", "accepted", 401, ["authorizer-401"]),
        record("GET /api/users/me", "envelope", "pass", 401),  # 401 again, nothing to accept
    ]
    usage = {u.entry.id: u.state for u in b.usage(records, today=TODAY)}
    assert usage == {
        "authorizer-401": "used",
        "gone": "stale",
        "old": "expired",
        "boundary": "not-evaluated",
    }


def test_an_application_answer_does_not_judge_a_gateway_entry(tmp_path: Path) -> None:
    b = load_baseline(write(tmp_path, ENTRY.format(expires="2027-01-31")))
    envelope = {"status": "error", "message": "Unauthorized", "data": None}
    rec_ = record("POST /api/mocs", "envelope", "pass")
    rec_.evidence = {
        "candidate": "serverless",
        "responses": {"serverless": {"status": 401, "json": envelope}},
    }
    assert [u.state for u in b.usage([rec_], today=TODAY)] == ["not-evaluated"]


def test_an_entry_whose_status_never_came_up_is_not_stale(tmp_path: Path) -> None:
    b = load_baseline(write(tmp_path, ENTRY.format(expires="2027-01-31")))
    records = [record("POST /api/mocs", "envelope", "pass", 201), record("GET /api/x", "envelope")]
    assert [u.state for u in b.usage(records, today=TODAY)] == ["not-evaluated"]


def test_unjudged_cells_do_not_make_entries_stale(tmp_path: Path) -> None:
    b = load_baseline(write(tmp_path, ENTRY.format(expires="2027-01-31")))
    records = [record("POST /api/mocs", "envelope", "error", 401)]
    assert [u.state for u in b.usage(records, today=TODAY)] == ["not-evaluated"]


def test_shipped_baseline_accepts_only_gateway_by_design_differences() -> None:
    b = load_baseline(ROOT / "parity-baseline.toml", required=True)
    ids = {e.id for e in b.entries}
    assert {"authorizer-401-shape", "gateway-413-shape"} <= ids
    for e in b.entries:
        # each one the real gateway has by design, with its reason, and none forever (a
        # probe's entry may match answers of either origin, e.g. an empty HEAD answer: its
        # reason then says it is API Gateway's behaviour)
        assert e.origin == "gateway" or "API Gateway" in e.reason, e.id
        assert len(e.reason) > 40, e.id
        assert TODAY < e.expires <= date(2028, 1, 1), e.id


def test_empty_baseline_changes_nothing() -> None:
    d = gateway_diff()
    assert Baseline().apply("GET /x", "status", [d]) == [] and d.accepted_by is None


def test_a_varietys_entry_is_tried_before_its_checks(tmp_path: Path) -> None:
    # a probe's variety (probe:method:head) first, then its kind (probe:method)
    base = load_baseline(
        write(
            tmp_path,
            "[[accept]]\n"
            'id = "kind"\nendpoint = "*"\ncheck = "probe:method"\npath = "*"\n'
            'reason = "r"\nexpires = 2999-01-01\n'
            "[[accept]]\n"
            'id = "head"\nendpoint = "*"\ncheck = "probe:method:head"\npath = "status"\n'
            'reason = "r"\nexpires = 2999-01-01\n',
        )
    )
    status = Difference("status", "value", 200, 405, "breaking", "application")
    header = Difference("allow", "value", "GET", None, "breaking", "application")
    used = base.for_variety("head").apply("GET /x", "probe:method", [header, status])
    assert used == ["head", "kind"]
    assert (status.accepted_by, header.accepted_by) == ("head", "kind")
    assert base.variety is None and base.for_variety("head").entries == base.entries
