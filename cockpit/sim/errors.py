"""API errors of the simulated cluster, rendered as Kubernetes ``Status`` objects."""

from __future__ import annotations

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


class ApiError(Exception):
    """An error the API server answers with a v1 Status body and the HTTP ``code``."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason or _REASONS.get(code, "")
        self.message = message
        self.details = details

    def status(self) -> dict:
        """The error as a ``v1 Status`` dict (what kubectl prints as ``Error from server (Reason)``)."""
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code  # last, in the apiserver's field order
        return body

    def __repr__(self) -> str:
        return f"ApiError({self.code}, {self.reason!r}, {self.message!r})"


def details(name: str, group: str, kind: str, **extra) -> dict:
    """StatusDetails as the apiserver writes them: ``group`` omitted for the core group."""
    out = {"name": name, "group": group, "kind": kind} if group else {"name": name, "kind": kind}
    out.update(extra)
    return out


def not_found(kind_plural: str, name: str, group: str = "") -> ApiError:
    """404 the way the apiserver words it: ``pods "x" not found``."""
    what = f"{kind_plural}.{group}" if group else kind_plural
    return ApiError(404, "NotFound", f'{what} "{name}" not found',
                    details(name, group, kind_plural))


def already_exists(kind_plural: str, name: str, group: str = "") -> ApiError:
    """409 AlreadyExists for a create of an existing name."""
    what = f"{kind_plural}.{group}" if group else kind_plural
    return ApiError(409, "AlreadyExists", f'{what} "{name}" already exists',
                    details(name, group, kind_plural))


def conflict(kind_plural: str, name: str, group: str = "") -> ApiError:
    """409 Conflict for an update carrying a stale resourceVersion."""
    what = f"{kind_plural}.{group}" if group else kind_plural
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {what} "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again",
                    details(name, group, kind_plural))


def bad_request(message: str) -> ApiError:
    """400 BadRequest."""
    return ApiError(400, "BadRequest", message)


def invalid(kind: str, name: str, message: str, group: str = "") -> ApiError:
    """422 Invalid (validation failure)."""
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {message}',
                    {**details(name, group, kind), "causes": [{"message": message}]})


def success_status(code: int = 200, status_details: dict | None = None) -> dict:
    """A ``Status`` with status Success (eviction 201, DELETE of most kinds)."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if status_details is not None:
        body["details"] = status_details
    body["code"] = code
    return body
