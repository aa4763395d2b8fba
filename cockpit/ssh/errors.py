"""Errors raised by the SSH layer, each with a one-line, actionable message.

All of them are :class:`cockpit.errors.CockpitError` subclasses, so the CLI prints them as
``cockpit: <message>`` and the UI shows them as a notification.
"""

from __future__ import annotations

from cockpit.errors import CockpitError, ConnectionProblem, UsageError


class SshError(CockpitError):
    """Base class of every SSH-layer error."""


class UnsafeArgument(UsageError):
    """A node name, version or other argument failed validation before reaching a shell."""


class SshConfigError(UsageError):
    """The OpenSSH client configuration could not be read."""


class HostKeyUnknown(SshError):
    """The node presented a host key that is not in known_hosts (refused: strict checking)."""

    def __init__(self, message: str, *, host: str, port: int, fingerprint: str, known_hosts: str) -> None:
        super().__init__(message)
        self.host, self.port, self.fingerprint, self.known_hosts = host, port, fingerprint, known_hosts


class HostKeyChanged(SshError):
    """The node presented a key different from the one in known_hosts (always refused)."""

    def __init__(self, message: str, *, host: str, port: int, fingerprint: str,
                 old_fingerprints: list[str], known_hosts: str) -> None:
        super().__init__(message)
        self.host, self.port, self.fingerprint = host, port, fingerprint
        self.old_fingerprints, self.known_hosts = old_fingerprints, known_hosts


class SshUnreachable(SshError, ConnectionProblem):
    """The node could not be reached or refused our credentials."""

    exit_status = 2


class SshAuthFailed(SshUnreachable):
    """The node rejected every key we offered."""


class SshDropped(SshUnreachable):
    """The connection dropped while a command was running (its outcome on the node is unknown)."""


class CommandTimeout(SshError):
    """A remote command did not finish within its timeout (the channel was closed)."""


class CommandFailed(SshError):
    """A remote command exited non-zero (raised by ``SshPool.run(check=True)``)."""

    def __init__(self, message: str, result: object) -> None:
        super().__init__(message)
        self.result = result
