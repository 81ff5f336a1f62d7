"""provenance.py: a declared-noise value that is an earlier value of the scenario on one
backend only (json-server's reused id, JS-27 of examples/json-server) is a difference."""

from __future__ import annotations

from parity.core.normalize import Rules
from parity.engine.provenance import provenance_differences

IDS = Rules.from_lists(["id"], [])


def test_a_reused_id_on_one_side_only_is_a_value_difference() -> None:
    # both deleted their post 6 first; the reference gives 6 to the next create
    (diff,) = provenance_differences({"id": 6}, {"id": 7}, {"postId": 6}, {"postId": 6}, IDS)
    assert (diff.path, diff.kind, diff.expected, diff.actual) == ("id", "value", 6, 7)
    assert diff.severity == "breaking"
    assert "the scenario's {postId} on the reference, a new value on the candidate" in diff.note


def test_the_same_provenance_on_both_sides_is_no_difference() -> None:
    # each backend answers its own post: the values differ, where they come from does not
    assert not provenance_differences(
        {"id": "a1b2c3d4"}, {"id": "ffff0000"}, {"postId": "a1b2c3d4"}, {"postId": "ffff0000"}, IDS
    )
    assert not provenance_differences({"id": 8}, {"id": 9}, {"postId": 6}, {"postId": 6}, IDS)


def test_only_declared_noise_and_values_that_can_be_traced() -> None:
    # not under an ignore rule: the ordinary comparison owns it
    assert not provenance_differences(
        {"postId": 6}, {"postId": 7}, {"p": 6}, {"p": 6}, Rules.from_lists([], [])
    )
    # booleans and short strings equal some variable by chance
    assert not provenance_differences({"id": True}, {"id": False}, {"x": True}, {}, IDS)
    assert not provenance_differences({"id": "ab"}, {"id": "cd"}, {"x": "ab"}, {}, IDS)


def test_values_saved_from_this_very_answer_are_left_out() -> None:
    # creates.save {newId: id} saves the answer's own id: no provenance at all
    assert not provenance_differences(
        {"id": 6}, {"id": 7}, {"newId": 6}, {"newId": 7}, IDS, exclude=["newId"]
    )


def test_a_path_that_already_differs_is_explained_there() -> None:
    # the id-format drift: the id is another format *and* not the saved one; one cause
    assert not provenance_differences(
        {"id": "a1b2c3d4"},
        {"id": "12345678"},
        {"x": "a1b2c3d4"},
        {"x": "ffff0000"},
        IDS,
        differing={"id"},
    )
