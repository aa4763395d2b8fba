"""Errors every layer may raise that the CLI and the UI turn into one-line messages."""

from __future__ import annotations


class CockpitError(Exception):
    """An error with a one-line, actionable message for the user (never a traceback).

    ``exit_status`` is what the CLI exits with: 2 for usage and connection problems,
    1 for a refused or failed action.
    """

    exit_status = 1


class UsageError(CockpitError):
    """Bad command-line input or configuration."""

    exit_status = 2


class ConnectionProblem(CockpitError):
    """The cluster cannot be reached or rejected our credentials."""

    exit_status = 2


class ReadOnlyRefusal(CockpitError):
    """A mutating action was asked for in read-only mode."""

    exit_status = 1
