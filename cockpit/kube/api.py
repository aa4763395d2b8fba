"""The Kubernetes API as the controllers see it: a typed protocol over raw JSON requests.

``KubeClient`` implements it against a real API server (or the simulator). Controllers and
operations depend on this protocol, never on the concrete client, so what an operation may
send to a cluster is visible from its constructor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class KubeApi(Protocol):
    """The verbs cockpit's operations use. Paths come from :func:`cockpit.kube.paths.path_for`."""

    async def get(self, path: str, params: dict | None = None) -> dict:
        """GET one object (raises ApiError, e.g. 404)."""

    async def list(self, path: str, params: dict | None = None) -> dict:
        """GET a list (``items``, ``metadata.continue``)."""

    async def create(self, path: str, body: dict, dry_run: bool = False) -> dict:
        """POST a new object (``dryRun=All`` when ``dry_run``)."""

    async def replace(self, path: str, body: dict, dry_run: bool = False) -> dict:
        """PUT a whole object."""

    async def patch(self, path: str, body: Any, patch_type: str = "strategic", dry_run: bool = False) -> dict:
        """PATCH with ``json``, ``merge`` or ``strategic`` patch type."""

    async def delete(self, path: str, body: dict | None = None, dry_run: bool = False) -> dict:
        """DELETE (with DeleteOptions as the body)."""


@dataclass(frozen=True)
class ObjectRef:
    """Which object an action is about: what a Kubernetes Event's ``regarding`` names."""

    kind: str
    api_version: str
    name: str
    namespace: str = ""
    uid: str = ""

    def to_dict(self) -> dict[str, str]:
        """The ``ObjectReference`` JSON (empty fields left out)."""
        ref = {"kind": self.kind, "apiVersion": self.api_version, "name": self.name,
               "namespace": self.namespace, "uid": self.uid}
        return {k: v for k, v in ref.items() if v}

    @classmethod
    def of(cls, obj: dict) -> "ObjectRef":
        """The reference to a raw object as returned by the API server."""
        meta = obj.get("metadata") or {}
        return cls(obj.get("kind", ""), obj.get("apiVersion", ""), meta.get("name", ""),
                   meta.get("namespace", ""), meta.get("uid", ""))
