"""The exception tree of the parity engine.

Every error the suite raises on purpose is a :class:`ParityError`. Its message is meant
to be read by whoever ran the command, so it says what went wrong *and* how to fix it::

    ParityError
    +-- UsageError            the user's input is wrong (CLI exit code 2)
    |   +-- ConfigError       option, PARITY_* variable or parity.toml
    |   +-- CatalogError      fixtures/catalog.yaml
    |   +-- CassetteError     a cassette (JSON Lines) or a HAR file
    |   +-- ContractError     a schema file under contracts/
    |   +-- GuardRefused      the production guard refused a request (a test-only hook)
    +-- BackendError          a backend misbehaves or cannot be reached
    |   +-- BackendUnreachable
    |   |   +-- BackendDown   marked down after repeated connection failures
    |   +-- BackendTimeout
    |   +-- ResponseTooLarge  a body over the size limit (not read past it)
    |   +-- UnexpectedAnswer  not JSON where JSON was expected, a redirect loop
    |   +-- AuthError         a login failed
    |   +-- SetupError        a scenario's setup request failed
    |   +-- StorageError      the test bucket could not be listed or written
    +-- InternalError         a bug in the suite itself

Errors that concern a file carry ``path``, ``location`` (entry, field, line) and ``hint``
and render as one line: ``<file>: <location>: <problem>. <fix>``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AuthError",
    "BackendDown",
    "BackendError",
    "BackendTimeout",
    "BackendUnreachable",
    "CassetteError",
    "CatalogError",
    "ConfigError",
    "ContractError",
    "GuardRefused",
    "InternalError",
    "ParityError",
    "ResponseTooLarge",
    "SetupError",
    "StorageError",
    "UnexpectedAnswer",
    "UsageError",
    "connect_failure_reason",
]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def connect_failure_reason(exc: BaseException) -> str:
    """A short reason for a failed connection, from the exception's text.

    Works on httpx and socket errors alike without importing either.
    """
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if any(
        s in text
        for s in (
            "name or service not known",
            "nodename nor servname",
            "getaddrinfo",
            "name resolution",
            "no address",
        )
    ):
        return "DNS lookup failed"
    if "timed out" in text or "timeout" in type(exc).__name__.lower():
        return "connect timed out"
    if "unreachable" in text:
        return "network unreachable"
    return str(exc) or type(exc).__name__


class ParityError(Exception):
    """Base class of every error the suite raises deliberately.

    ``problem`` says what is wrong, ``hint`` how to fix it; ``path`` and ``location``
    point at the file and the place in it when the problem is in a file.
    """

    #: Process exit code the CLI uses for this kind of error.
    exit_code: int = 1
    #: Failures of clean-up that ran while this error was propagating (see the runner).
    teardown_errors: tuple[str, ...] = ()

    def __init__(
        self,
        problem: str,
        *,
        hint: str | None = None,
        path: str | Path | None = None,
        location: str | None = None,
    ) -> None:
        self.problem = problem
        self.hint = hint
        self.path = Path(path) if path is not None else None
        self.location = location
        super().__init__(self._format())

    def _format(self) -> str:
        parts = [str(self.path)] if self.path is not None else []
        if self.location:
            parts.append(self.location)
        text = _sentence(self.problem)
        if self.hint:
            text = f"{text} {_sentence(self.hint)}"
        return ": ".join([*parts, text])

    def __str__(self) -> str:
        return self._format()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._format()!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments do not survive the default pickling, and pytest-xdist
        # pickles exceptions raised in workers.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[ParityError], state: dict[str, object]) -> ParityError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err._format())
    return err


class UsageError(ParityError):
    """The user's input (options, environment, config or catalog files) is wrong."""

    exit_code = 2


class ConfigError(UsageError):
    """A setting is missing or invalid; names the option, variable or TOML key."""


class CatalogError(UsageError):
    """The endpoint catalog is malformed; names the file, the entry and the field."""


class CassetteError(UsageError):
    """A cassette or HAR file cannot be read; names the file and the line."""


class ContractError(UsageError):
    """A contract schema is not valid JSON or not a valid JSON Schema; names file and line."""


class GuardRefused(UsageError):
    """The production guard refused to send a request (e.g. a test-only fault header to a
    target marked production); the check that asked is not testable there."""


class BackendError(ParityError):
    """A backend could not be used. ``backend`` is its name, ``url`` its base URL."""

    exit_code = 3

    def __init__(
        self,
        problem: str,
        *,
        backend: str | None = None,
        url: str | None = None,
        hint: str | None = None,
        path: str | Path | None = None,
        location: str | None = None,
    ) -> None:
        self.backend = backend
        self.url = url
        super().__init__(problem, hint=hint, path=path, location=location)


class BackendUnreachable(BackendError):
    """No connection could be made (refused, DNS failure, connect timeout)."""

    def __init__(self, backend: str, url: str, reason: str, *, hint: str | None = None) -> None:
        self.reason = reason
        if hint is None:
            env = f"PARITY_{backend.upper()}_URL"
            hint = f"Start it, or pass --{backend}-url / {env}"
        super().__init__(
            f"{backend} backend at {url} is unreachable ({reason})",
            backend=backend,
            url=url,
            hint=hint,
        )


class BackendDown(BackendUnreachable):
    """The backend failed so often in a row that the run stopped sending to it."""


class BackendTimeout(BackendError):
    """The backend accepted the connection but did not answer in time."""

    def __init__(self, backend: str, url: str, timeout: float, *, setting: str) -> None:
        self.timeout = timeout
        super().__init__(
            f"{backend} backend did not answer {url} within {timeout:g} s",
            backend=backend,
            url=url,
            hint=f"Check that it is healthy, or raise the timeout with {setting}",
        )


class ResponseTooLarge(BackendError):
    """The answer's body is larger than the configured limit; reading stopped there."""

    def __init__(self, backend: str, what: str, limit_mb: float, *, setting: str) -> None:
        self.limit_mb = limit_mb
        super().__init__(
            f"{backend} backend answered {what} with a response larger than {limit_mb:g} MB "
            "(not read past the limit)",
            backend=backend,
            hint=f"Fix the backend, or raise the limit with {setting} if that size is expected",
        )


class UnexpectedAnswer(BackendError):
    """An answer the checks cannot judge: not JSON where JSON was expected, a redirect loop."""


class AuthError(BackendError):
    """Getting a token for ``role`` on ``backend`` failed. Never carries the secret."""

    def __init__(
        self,
        problem: str,
        *,
        backend: str,
        role: str,
        hint: str,
        url: str | None = None,
    ) -> None:
        self.role = role
        super().__init__(
            f"{backend}: login as {role!r} failed: {problem}",
            backend=backend,
            url=url,
            hint=hint,
        )


class SetupError(BackendError):
    """A scenario's setup request (resource creation or step) did not succeed."""


class StorageError(BackendError):
    """The test bucket (``s3_bucket``) could not be listed or written."""


class InternalError(ParityError):
    """A bug in the suite itself; the message says what to report."""

    exit_code = 4
