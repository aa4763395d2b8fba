"""Errors raised by :mod:`cockpit.kube`: API failures and connection problems, one line each.

``ApiError(status, reason, message, body)`` is raised for every non-2xx answer; ``body`` is
the decoded v1 ``Status`` (or ``{}``). Subclasses let callers branch without comparing codes:

* :class:`Unauthorized` (401) is also a ConnectionProblem: credentials are wrong or expired.
* :class:`Forbidden` (403): RBAC denies this verb on this kind (informers mark the kind).
* :class:`NotFound` (404), :class:`Conflict` (409), :class:`Gone` (410 Expired, relist),
  :class:`TooManyRequests` (429, e.g. an eviction blocked by a PodDisruptionBudget).
* :class:`Unreachable` (connection refused, DNS, timeout, dropped) and :class:`TlsProblem`
  (certificate verification) are ConnectionProblems without an HTTP status.
"""

from __future__ import annotations

from cockpit.errors import CockpitError, ConnectionProblem


class ApiError(CockpitError):
    """A non-2xx answer from the API server; ``str()`` is a one-line message."""

    def __init__(self, status: int, reason: str, message: str, body: dict | None = None):
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body or {}
        super().__init__(_one_line(message or reason or f"HTTP {status}"))

    @property
    def details(self) -> dict:
        """The Status ``details`` (name, kind, causes), ``{}`` when absent."""
        return self.body.get("details") or {}


class Unauthorized(ApiError, ConnectionProblem):
    """401: the server rejected our credentials."""


class Forbidden(ApiError):
    """403: RBAC forbids this request."""


class NotFound(ApiError):
    """404: the object (or the whole resource type) does not exist."""


class Conflict(ApiError):
    """409: stale resourceVersion on update, or AlreadyExists on create."""


class Gone(ApiError):
    """410 Expired: the resourceVersion is too old; the caller must relist."""


class TooManyRequests(ApiError):
    """429: throttled, or an eviction refused by a PodDisruptionBudget; retry later."""


class Unreachable(ConnectionProblem):
    """The API server could not be reached (refused, DNS, timeout, connection dropped)."""


class TlsProblem(ConnectionProblem):
    """TLS handshake or certificate verification failed."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    429: TooManyRequests,
}


def api_error_from_status(status: int, body: dict | None, *, host: str = "", user: str = "") -> ApiError:
    """Build the right ApiError subclass from an HTTP status and a (maybe) ``Status`` body.

    A Status ``code`` inside the body (watch ERROR events) wins over ``status``.
    """
    body = body if isinstance(body, dict) else {}
    code = int(body.get("code") or status or 0)
    reason = str(body.get("reason") or _default_reason(code))
    message = str(body.get("message") or "")
    cls = _BY_STATUS.get(code, ApiError)
    return cls(code, reason, _actionable(code, reason, message, host, user), body)


def _actionable(code: int, reason: str, message: str, host: str, user: str) -> str:
    who = f" for user {user!r}" if user else ""
    where = f" at {host}" if host else ""
    if code == 401:
        return (
            f"the API server{where} rejected the credentials{who} (401 Unauthorized): "
            "refresh your token or pick another --context"
        )
    if code == 403:
        # Narrowing the namespace cannot help with cluster-scoped kinds (nodes, namespaces...).
        hint = "ask for RBAC access" if "cluster scope" in message else "ask for RBAC access or narrow --namespace"
        return f"forbidden{who}: {message or reason} ({hint})"
    if not message:
        return f"{reason} ({code})"
    return message


def _default_reason(code: int) -> str:
    return {
        400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
        405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType",
        422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
        504: "Timeout",
    }.get(code, "Unknown")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
