"""A small API of the kind the sandbox is not: users log in by a JSON request to a login
endpoint and get an opaque token (no JWT shape to recognise), and the API echoes what it
is sent, secrets included, in JSON, text and error answers.

The worst case for a suite that writes reports: every channel then carries the password,
the token and the user's e-mail unless the suite redacts them. Two flavours on real
sockets (threads of the test process), like a reference backend and its rewrite:

- ``reference``: answers every route in JSON;
- ``candidate``: answers the form echo in plain text, ``GET /me`` with a 500 whose body
  holds the caller's token and e-mail (a failing check then quotes both), and a JSON echo
  whose ``account.note`` is not a string with a 422 quoting the body (body fuzzing finds
  it and saves the example in Hypothesis' database).

Routes: ``POST /auth/login`` (JSON ``{"username", "password"}`` -> ``{"token", "user"}``),
``GET /me``, ``POST /echo/json``, ``POST /echo/form``, ``POST /echo/multipart``,
``GET /echo/query``. Every token issued is kept in :attr:`LoginApi.issued`, so the test
knows exactly which secrets to look for.
"""

from __future__ import annotations

import json
import secrets
import threading
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from tests.hardening.bad_servers import _Handler, _Running

__all__ = ["FLAVOURS", "LoginApi"]

FLAVOURS = ("reference", "candidate")


class _LoginHandler(_Handler):
    def handle_any(self) -> None:
        api: LoginApi = self.owner
        path = urlsplit(self.path).path
        body = self._body()
        ctype = self.headers.get("Content-Type", "")
        api.saw(path, self.path.encode() + b"\n" + body)
        if self.command == "POST" and path == "/auth/login":
            self._login(api, body)
        elif path == "/me":
            self._me(api)
        elif self.command == "POST" and path == "/echo/json":
            doc = json.loads(body or b"null")
            account = doc.get("account") if isinstance(doc, dict) else None
            note = account.get("note") if isinstance(account, dict) else None
            if api.flavour == "candidate" and not isinstance(note, str):  # stricter schema
                self._json(422, {"error": "account.note must be a string", "got": doc})
            else:
                self._json(200, {"received": doc})
        elif self.command == "POST" and path == "/echo/form":
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            if api.flavour == "candidate":  # a plain-text answer quoting the raw body
                self._send(200, b"received " + body, "text/plain; charset=utf-8")
            else:
                self._json(200, {"received": fields})
        elif self.command == "POST" and path == "/echo/multipart":
            head = f"Content-Type: {ctype}\r\n\r\n".encode()
            message = BytesParser(policy=HTTP).parsebytes(head + body)
            fields = {
                str(part.get_param("name", header="content-disposition")): part.get_content()
                for part in message.iter_parts()
            }
            self._json(200, {"received": fields})
        elif self.command == "GET" and path == "/echo/query":
            self._json(200, {"received": dict(parse_qsl(urlsplit(self.path).query))})
        else:
            self._json(404, {"error": f"no route {self.command} {path}"})

    def _login(self, api: LoginApi, body: bytes) -> None:
        try:
            given = json.loads(body)
        except ValueError:
            given = {}
        user = api.users.get(str(given.get("username")))
        if user is None or user["password"] != given.get("password"):
            self._json(401, {"error": "bad credentials"})
            return
        token = api.issue(str(given["username"]))
        self._json(200, {"token": token, "user": {"email": user["email"]}})

    def _me(self, api: LoginApi) -> None:
        auth = self.headers.get("Authorization", "")
        name = api.sessions.get(auth.removeprefix("Bearer "))
        if name is None:
            self._json(401, {"error": "no session"})
            return
        email = api.users[name]["email"]
        if api.flavour == "candidate":  # the rewrite's bug: it dumps the session
            self._json(500, {"error": "session store", "session": {"bearer": auth, "who": email}})
        else:
            self._json(200, {"user": {"name": name, "email": email}})

    def _json(self, status: int, doc: Any) -> None:
        self._send(status, json.dumps(doc).encode(), "application/json")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LoginApi(_Running):
    """One flavour of the API on a free loopback port (``url`` once started)."""

    def __init__(self, flavour: str, users: dict[str, dict[str, str]]) -> None:
        super().__init__(_LoginHandler)
        self.flavour = flavour
        self.users = users
        self.issued: list[str] = []
        self.sessions: dict[str, str] = {}
        #: Paths whose request carried a test user's password (plain or URL-encoded).
        self.carried_password: set[str] = set()
        self._lock = threading.Lock()

    def saw(self, path: str, raw: bytes) -> None:
        for user in self.users.values():
            forms = {user["password"], quote(user["password"]), quote_plus(user["password"])}
            if any(f.encode() in raw for f in forms):
                with self._lock:
                    self.carried_password.add(path)

    def issue(self, username: str) -> str:
        token = secrets.token_urlsafe(24)  # opaque: found by value only, never by shape
        with self._lock:
            self.issued.append(token)
            self.sessions[token] = username
        return token
