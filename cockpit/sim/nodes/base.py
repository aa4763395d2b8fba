"""Shared pieces of the simulated node shell (constants, the output protocol, version parsing)."""

from __future__ import annotations

import json
from typing import Any, Protocol

from cockpit.domain.versions import try_parse

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
K8S_PACKAGES = ("kubeadm", "kubelet", "kubectl")
DEB_REVISION = "1.1"
RPM_REVISION = "150500.1.1"


class ShellIO(Protocol):
    """Where a command writes (the SSH channel's stdout and stderr)."""

    def out(self, text: str) -> None: ...

    def err(self, text: str) -> None: ...


class DropConnection(Exception):
    """Raised by the ``ssh_drop`` fault: the SSH server aborts the whole connection."""


def parse_version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of ``v1.33.1`` / ``1.33.1`` / ``v1.32.0-beta.0``, None if it is not one."""
    parsed = try_parse(text.strip())
    return (parsed.major, parsed.minor, parsed.patch) if parsed else None


def json_dump(value: Any) -> str:
    """Pretty JSON as kubeadm prints it (two-space indent, trailing newline)."""
    return json.dumps(value, indent=2) + "\n"
