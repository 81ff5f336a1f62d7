"""redact.py: every kind of secret the suite could write is replaced by a fixed placeholder."""

from __future__ import annotations

import pytest

from parity.core.redact import PLACEHOLDERS, is_sensitive_key, redact, redact_text
from tests.fakes import fake_jwt, fake_signature

JWT = fake_jwt({"sub": "abc", "email": "alice@example.com"}, {"alg": "RS256", "kid": "k1"})
SIGNATURE = fake_signature(10)
PRESIGNED = (
    "https://bucket.s3.amazonaws.com/uploads/a.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
    "&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE&X-Amz-Signature=" + SIGNATURE
)


@pytest.mark.parametrize(
    ("header", "placeholder"),
    [
        ("Authorization", "token"),
        ("authorization", "token"),
        ("Proxy-Authorization", "token"),
        ("Cookie", "cookie"),
        ("Set-Cookie", "cookie"),
        ("X-Amz-Security-Token", "token"),
        ("X-Amz-Date", "header"),
        ("x-api-key", "secret"),
    ],
)
def test_sensitive_headers_are_replaced(header: str, placeholder: str) -> None:
    out = redact({header: "Bearer something-secret", "Content-Type": "application/json"})
    assert out == {header: PLACEHOLDERS[placeholder], "Content-Type": "application/json"}


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "idToken",
        "accessToken",
        "refreshToken",
        "id_token",
        "password",
        "secret",
        "clientSecret",
        "newPassword",
        "csrf-token",
    ],
)
def test_sensitive_json_keys_anywhere_in_a_body(key: str) -> None:
    body = {"data": {"session": {key: "opaque-value-1234"}, "items": [{key: "x-1234"}]}}
    out = redact(body)
    assert "opaque-value-1234" not in str(out) and "x-1234" not in str(out)
    assert is_sensitive_key(key)


def test_ordinary_keys_and_non_string_values_are_kept() -> None:
    body = {
        "id": "3f2a",
        "title": "Castle",
        "pieceCount": 12,
        "key": "uploads/a.pdf",
        "tokenCount": 3,
        "ok": True,
        "data": None,
    }
    assert redact(body) == body  # tokenCount is a number: kept (a type change would lie)


def test_a_jwt_is_replaced_anywhere_in_text() -> None:
    text = f"curl -H 'Authorization: Bearer {JWT}' https://api.example.com"
    out = redact_text(text)
    assert JWT not in out and PLACEHOLDERS["jwt"] in out
    assert redact({"note": JWT}) == {"note": PLACEHOLDERS["jwt"]}


def test_presigned_url_signatures_and_credentials_are_replaced() -> None:
    out = redact_text(PRESIGNED)
    for secret in (SIGNATURE, "AKIAEXAMPLE", "FwoGZXIvYXdzEXAMPLE"):
        assert secret not in out
    # the URL stays readable: path, algorithm and expiry are no secrets
    assert out.startswith("https://bucket.s3.amazonaws.com/uploads/a.pdf?X-Amz-Algorithm=")
    assert "X-Amz-Expires=900" in out
    assert out.count(PLACEHOLDERS["signature"]) == 3
    assert PLACEHOLDERS["signature"] in redact_text("https://cdn.example.com/a.png?Signature=abc")


def test_emails_are_replaced() -> None:
    out = redact({"contact": "write to alice.smith+lego@example.co.uk today", "by": "bob@x.io"})
    assert out == {
        "contact": f"write to {PLACEHOLDERS['email']} today",
        "by": PLACEHOLDERS["email"],
    }


def test_a_file_name_with_an_at_sign_is_no_email() -> None:
    # a Playwright trace names its frames so; redacting them would break the trace
    frame = "screencast/page@6b0948436dd8d20ff9d2f8147af9d50b-1796589945100.jpeg"
    assert redact_text(frame) == frame
    assert redact_text("page@host.example.com") == PLACEHOLDERS["email"]


def test_known_secrets_are_replaced_exactly() -> None:
    out = redact({"log": "login with hunter2-pass-word failed"}, secrets=["hunter2-pass-word"])
    assert out == {"log": f"login with {PLACEHOLDERS['secret']} failed"}


def test_cookie_lists_keep_their_shape() -> None:
    assert redact({"cookies": ["a=1", "b=2"]}) == {"cookies": [PLACEHOLDERS["cookie"]] * 2}


def test_redaction_is_idempotent_and_copies() -> None:
    body = {"Authorization": "Bearer x", "nested": [{"email": "a@b.example"}]}
    once = redact(body)
    assert redact(once) == once
    assert body["nested"][0]["email"] == "a@b.example"  # the input is untouched
