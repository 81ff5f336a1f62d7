"""Cognito for the sandbox: user pool set-up on moto, IdToken verification, test tokens.

- ``setup_user_pool`` creates the pool, an app client (USER_PASSWORD_AUTH and
  REFRESH_TOKEN_AUTH, no secret), users alice, bob and admin (group ``admin``).
- ``TokenVerifier`` checks an IdToken like API Gateway's JWT authorizer and the Express
  middleware do: RS256 signature against the pool's JWKS, ``exp``, ``iss``, ``aud`` =
  app client id, ``token_use`` = ``id``.
- ``sign_claims`` / ``mint_expired_token`` sign tokens with the key moto's pools sign
  with (moto ships it), so tests can get an expired token that is otherwise genuine, or
  a wrongly signed one (``foreign=True``).

moto puts ``iss = https://cognito-idp.{region}.amazonaws.com/{pool_id}`` in its tokens
(moto/cognitoidp/models.py ``create_jwt``), exactly like AWS, so the issuer is checked.
"""

from __future__ import annotations

import gzip
import json
import secrets
import string
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import boto3
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

__all__ = [
    "ROLES",
    "InvalidToken",
    "PoolInfo",
    "TokenVerifier",
    "cognito_client",
    "get_id_token",
    "issuer_for",
    "jwks_url_for",
    "mint_expired_token",
    "setup_user_pool",
    "sign_claims",
]

ROLES = ("alice", "bob", "admin")
_MOTO_KID = "dummy"  # the kid moto puts in every token header (jwks-public.json)


@dataclass(frozen=True)
class PoolInfo:
    pool_id: str
    client_id: str
    users: dict[str, tuple[str, str]]  # role -> (username, password)
    subs: dict[str, str] = field(default_factory=dict)  # role -> Cognito sub
    emails: dict[str, str] = field(default_factory=dict)  # role -> email
    region: str = "us-east-1"
    endpoint: str = ""  # the Cognito (moto) endpoint the pool lives on

    @property
    def issuer(self) -> str:
        return issuer_for(self.region, self.pool_id)

    @property
    def jwks_url(self) -> str:
        return jwks_url_for(self.endpoint, self.pool_id)


def issuer_for(region: str, pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def jwks_url_for(cognito_endpoint: str, pool_id: str) -> str:
    # moto in server mode serves the JWKS under the pool id at its root
    return f"{cognito_endpoint.rstrip('/')}/{pool_id}/.well-known/jwks.json"


def cognito_client(cognito_endpoint: str, region: str) -> Any:
    return boto3.client(
        "cognito-idp",
        endpoint_url=cognito_endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _password() -> str:
    # satisfies Cognito's default policy: upper, lower, digit, symbol, length >= 8
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16)) + "Aa1!"


def setup_user_pool(cognito_endpoint: str, region: str) -> PoolInfo:
    client = cognito_client(cognito_endpoint, region)
    pool_id = client.create_user_pool(
        PoolName="moc-sandbox",
        AutoVerifiedAttributes=["email"],
        Schema=[{"Name": "email", "AttributeDataType": "String", "Required": False}],
    )["UserPool"]["Id"]
    client_id = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="moc-web",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["email"],
    )["UserPoolClient"]["ClientId"]
    client.create_group(GroupName="admin", UserPoolId=pool_id, Description="administrators")
    users: dict[str, tuple[str, str]] = {}
    subs: dict[str, str] = {}
    emails: dict[str, str] = {}
    for role in ROLES:
        username, password, email = role, _password(), f"{role}@example.com"
        created = client.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        client.admin_set_user_password(
            UserPoolId=pool_id, Username=username, Password=password, Permanent=True
        )
        attributes = {a["Name"]: a["Value"] for a in created["User"].get("Attributes", [])}
        sub = attributes.get("sub")
        if not sub:  # older moto versions only return it from admin_get_user
            got = client.admin_get_user(UserPoolId=pool_id, Username=username)
            sub = {a["Name"]: a["Value"] for a in got["UserAttributes"]}["sub"]
        users[role], subs[role], emails[role] = (username, password), sub, email
    client.admin_add_user_to_group(UserPoolId=pool_id, Username="admin", GroupName="admin")
    return PoolInfo(
        pool_id=pool_id,
        client_id=client_id,
        users=users,
        subs=subs,
        emails=emails,
        region=region,
        endpoint=cognito_endpoint.rstrip("/"),
    )


def get_id_token(pool: PoolInfo, role: str) -> str:
    """Log ``role`` in with USER_PASSWORD_AUTH and return the IdToken (for tests)."""
    username, password = pool.users[role]
    result = cognito_client(pool.endpoint, pool.region).initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return str(result["AuthenticationResult"]["IdToken"])


class InvalidToken(Exception):
    """The token must be rejected with 401; ``reason`` says why (for logs, not clients)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenVerifier:
    """Verifies Cognito IdTokens. Thread-safe; the JWKS is fetched once and re-fetched
    (at most every 30 s) when a token names a key id it does not know."""

    _REFETCH_INTERVAL_S = 30.0

    def __init__(self, jwks_url: str, issuer: str | None, audience: str) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        response = httpx.get(self.jwks_url, timeout=5.0)
        response.raise_for_status()
        keys: dict[str, Any] = {}
        for jwk in response.json().get("keys", []):
            if jwk.get("kty") == "RSA" and "kid" in jwk:
                keys[jwk["kid"]] = RSAAlgorithm.from_jwk(json.dumps(jwk))
        self._keys = keys
        self._fetched_at = time.monotonic()

    def refresh(self) -> None:
        """Fetch the JWKS now (e.g. at start-up, so no request pays for it)."""
        with self._lock:
            self._fetch()

    def _key(self, kid: str) -> Any:
        with self._lock:
            if kid not in self._keys and (
                not self._fetched_at
                or time.monotonic() - self._fetched_at > self._REFETCH_INTERVAL_S
            ):
                try:
                    self._fetch()
                except (httpx.HTTPError, ValueError) as exc:
                    raise InvalidToken(f"cannot fetch JWKS: {exc}") from exc
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken(f"unknown key id {kid!r}")
        return key

    def verify(self, token: str) -> dict[str, Any]:
        if not token or token.count(".") != 2:
            raise InvalidToken("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        if header.get("alg") != "RS256":
            raise InvalidToken(f"unexpected algorithm {header.get('alg')!r}")
        key = self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require": ["exp", "sub", "aud"],
                    "verify_iss": self.issuer is not None,
                },
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from exc
        if claims.get("token_use") != "id":
            raise InvalidToken(f"token_use is {claims.get('token_use')!r}, expected 'id'")
        return claims


_private_key_cache: list[Any] = []


def _moto_private_key() -> Any:
    if not _private_key_cache:
        raw = (
            resources.files("moto") / "cognitoidp" / "resources" / "jwks-private.json.gz"
        ).read_bytes()
        _private_key_cache.append(RSAAlgorithm.from_jwk(gzip.decompress(raw).decode()))
    return _private_key_cache[0]


def sign_claims(claims: Mapping[str, Any], *, foreign: bool = False) -> str:
    """Sign ``claims`` as moto's user pools do (RS256, kid ``dummy``).

    ``foreign=True`` signs with a throwaway key under the same kid: a token that looks
    right but whose signature must fail verification.
    """
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if foreign
        else _moto_private_key()
    )
    return jwt.encode(dict(claims), key, algorithm="RS256", headers={"kid": _MOTO_KID})


def mint_expired_token(id_token: str, *, seconds_ago: int = 3600) -> str:
    """The same claims as ``id_token`` (e.g. a fresh IdToken from InitiateAuth), validly
    signed by the pool's key, but expired ``seconds_ago`` seconds ago."""
    claims = jwt.decode(id_token, options={"verify_signature": False})
    now = int(time.time())
    lifetime = max(int(claims.get("exp", now)) - int(claims.get("iat", now)), 60)
    claims["exp"] = now - seconds_ago
    claims["iat"] = claims["exp"] - lifetime
    if "auth_time" in claims:
        claims["auth_time"] = claims["iat"]
    return sign_claims(claims)
