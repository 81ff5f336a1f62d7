"""normalize.value_format: how a value is written, the one thing compared at a noise path."""

from __future__ import annotations

import pytest

from parity.core.normalize import value_format


@pytest.mark.parametrize(
    ("value", "name", "written"),
    [
        ("2026-12-06T20:38:18.123Z", "createdAt", "ISO 8601 (ms, Z)"),
        (1796589945100, "createdAt", "epoch ms"),
        ("42", "id", "integer as text"),
        ("6b094843-6dd8-4d20-8f2f-8147af9d50b1", "id", "uuid"),
        ("65a1f0c2e4b0a1b2c3d4e5f6", "ref", "opaque id (24 chars)"),
        # a nanoid, short and maybe without a digit: an id under an id's name only
        ("V1StGXR", "id", "opaque id (7 chars)"),
        ("aBcDeFg", "labelId", "opaque id (7 chars)"),
        ("aBcDeFg", "post_id", "opaque id (7 chars)"),
        ("aBcDeFg", "title", None),
        ("abc", "id", None),  # too short to say
        ("two words", "id", None),
    ],
)
def test_how_a_value_is_written(value: object, name: str, written: str | None) -> None:
    assert value_format(value, name) == written


def test_a_nanoid_and_a_uuid_are_two_formats() -> None:
    # json-server's created ids against json-server-py's (JS-29 of examples/json-server)
    nanoid = value_format("V1StGXR", "id")
    assert nanoid != value_format("6b094843-6dd8-4d20-8f2f-8147af9d50b1", "id")
    assert nanoid == value_format("x_9-kLm", "id")  # two nanoids agree
