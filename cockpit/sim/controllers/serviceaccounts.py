"""ServiceAccounts controller: every active namespace has a ``default`` ServiceAccount (created
with the namespace, recreated if deleted), as kube-controller-manager ensures."""

from __future__ import annotations

from cockpit.sim.controllers.base import Controller
from cockpit.sim.errors import ApiError
from cockpit.sim.objects import backdate

DEFAULT = "default"


class ServiceAccountsController(Controller):
    """Creates the ``default`` ServiceAccount of each namespace."""

    name = "serviceaccount-controller"

    def handlers(self):
        """New namespaces, and deletions of a default ServiceAccount."""
        return {"namespaces": self._on_namespace, "serviceaccounts": self._on_account}

    def _on_namespace(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype == "ADDED":
            self.enqueue(obj["metadata"]["name"])

    def _on_account(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype == "DELETED" and obj["metadata"]["name"] == DEFAULT:
            self.enqueue(obj["metadata"]["namespace"])

    def sync(self, namespace) -> None:
        """Create ``default`` in ``namespace`` unless it exists or the namespace is going away."""
        ns = self.store.get("namespaces", None, namespace)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return
        if self.store.get("serviceaccounts", namespace, DEFAULT) is not None:
            return
        account = {"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": DEFAULT, "namespace": namespace}}
        try:
            self.store.create("serviceaccounts", backdate(account, self.clock.now(), self.cluster.seed_age_days))
        except ApiError:
            pass  # created meanwhile: nothing to do
