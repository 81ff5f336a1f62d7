"""A Schemathesis failure is a difference of the pair only where the other backend answers
the same generated request otherwise (issue 16): the same crash on both is information."""

from __future__ import annotations

from parity.checks.fuzz import SingleOutcome, same_failure


def test_the_same_failure_on_both_backends_is_no_difference() -> None:
    crash = SingleOutcome(500, frozenset({"not_a_server_error"}))
    assert same_failure(crash, SingleOutcome(500, frozenset({"not_a_server_error"})))
    # the other failed more checks on the same answer class: still the same failure
    both = SingleOutcome(502, frozenset({"not_a_server_error", "content_type_conformance"}))
    assert same_failure(crash, both)


def test_a_failure_the_other_backend_does_not_share_is_a_difference() -> None:
    crash = SingleOutcome(500, frozenset({"not_a_server_error"}))
    assert not same_failure(crash, SingleOutcome(200))  # the other answers fine
    assert not same_failure(crash, SingleOutcome(422))  # another status class
    schema = SingleOutcome(200, frozenset({"response_schema_conformance"}))
    assert not same_failure(schema, SingleOutcome(200, frozenset({"content_type_conformance"})))
    assert not same_failure(SingleOutcome(200), SingleOutcome(200))  # nothing failed
