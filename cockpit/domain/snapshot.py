"""A point-in-time view of the cluster as records, with the few indexes the detectors share.

The timeline's transition tracker, the runbook detectors and the report all read the same
:class:`ClusterSnapshot`; whoever holds the records (the TUI's store, a one-shot list for the
report, a test's builders) makes one with :meth:`ClusterSnapshot.of`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cockpit.domain.records import (
    DeploymentRecord,
    EndpointSliceRecord,
    EventRecord,
    LeaseRecord,
    NodeRecord,
    PdbRecord,
    PodRecord,
    Record,
    ReplicaSetRecord,
    ServiceRecord,
)

NODE_LEASE_NAMESPACE = "kube-node-lease"
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class ClusterSnapshot:
    """The records of one moment, by kind (each tuple in no particular order)."""

    nodes: tuple[NodeRecord, ...] = ()
    pods: tuple[PodRecord, ...] = ()
    deployments: tuple[DeploymentRecord, ...] = ()
    replicasets: tuple[ReplicaSetRecord, ...] = ()
    services: tuple[ServiceRecord, ...] = ()
    endpointslices: tuple[EndpointSliceRecord, ...] = ()
    pdbs: tuple[PdbRecord, ...] = ()
    events: tuple[EventRecord, ...] = ()
    leases: tuple[LeaseRecord, ...] = ()
    taken_at: datetime | None = None
    _pods_by_node: dict[str, list[PodRecord]] = field(default_factory=dict, compare=False, repr=False)
    # Lazy indexes (built on first use): the detectors ask per object, and a scan per question
    # is O(objects squared) on a big cluster (5,000 Deployments x 5,000 ReplicaSets).
    _indexes: dict[str, dict] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, records: Iterable[Record], taken_at: datetime | None = None) -> ClusterSnapshot:
        """Sort any mix of records into a snapshot (unknown record types are ignored)."""
        buckets: dict[type, list[Record]] = {t: [] for t in _FIELDS}
        for record in records:
            bucket = buckets.get(type(record))
            if bucket is not None:
                bucket.append(record)
        return cls(**{name: tuple(buckets[t]) for t, name in _FIELDS.items()}, taken_at=taken_at)

    def pods_on(self, node: str) -> list[PodRecord]:
        """The pods bound to ``node``."""
        if not self._pods_by_node and self.pods:
            for pod in self.pods:
                self._pods_by_node.setdefault(pod.node_name, []).append(pod)
        return list(self._pods_by_node.get(node, ()))

    def _index(self, name: str, records: Iterable[Record], key) -> dict:
        """records grouped by ``key(record)``, built once per snapshot."""
        index = self._indexes.get(name)
        if index is None:
            index = {}
            for record in records:
                index.setdefault(key(record), []).append(record)
            self._indexes[name] = index
        return index

    def replicasets_of(self, deployment: DeploymentRecord) -> list[ReplicaSetRecord]:
        """The ReplicaSets the Deployment owns, newest revision first."""
        owned = self._index("rs_by_owner", self.replicasets, lambda rs: rs.owner_uid).get(deployment.uid, ())
        return sorted(owned, key=lambda rs: rs.revision, reverse=True)

    def pods_of(self, replicaset: ReplicaSetRecord) -> list[PodRecord]:
        """The pods the ReplicaSet owns."""
        return list(self._index("pods_by_owner", self.pods, lambda p: p.owner_uid).get(replicaset.uid, ()))

    def pods_in(self, namespace: str) -> list[PodRecord]:
        """The pods of one namespace."""
        return list(self._index("pods_by_ns", self.pods, lambda p: p.namespace).get(namespace, ()))

    def slices_of(self, service: ServiceRecord) -> list[EndpointSliceRecord]:
        """The EndpointSlices of a Service."""
        index = self._index("slices_by_service", self.endpointslices, lambda s: (s.namespace, s.service_name))
        return list(index.get((service.namespace, service.name), ()))

    def deployment_of(self, pod: PodRecord) -> DeploymentRecord | None:
        """The Deployment behind a pod (through its ReplicaSet), if any."""
        if pod.owner_kind != "ReplicaSet":
            return None
        rs = next(iter(self._index("rs_by_uid", self.replicasets, lambda r: r.uid).get(pod.owner_uid, ())), None)
        if rs is None or rs.owner_kind != "Deployment":
            return None
        return next(iter(self._index("deployments_by_uid", self.deployments, lambda d: d.uid).get(rs.owner_uid, ())),
                    None)

    def node_lease(self, node: str) -> LeaseRecord | None:
        """The node's heartbeat Lease in kube-node-lease."""
        return next((le for le in self.leases if le.namespace == NODE_LEASE_NAMESPACE and le.name == node), None)

    def events_about(self, kind: str, namespace: str, name: str) -> list[EventRecord]:
        """Events regarding one object, oldest first (``namespace`` "" for cluster-scoped objects)."""
        found = [e for e in self.events if e.object_kind == kind and e.object_name == name
                 and e.object_namespace == namespace]
        return sorted(found, key=lambda e: e.last_seen or e.created or _EPOCH)


_FIELDS: dict[type, str] = {
    NodeRecord: "nodes", PodRecord: "pods", DeploymentRecord: "deployments", ReplicaSetRecord: "replicasets",
    ServiceRecord: "services", EndpointSliceRecord: "endpointslices", PdbRecord: "pdbs", EventRecord: "events",
    LeaseRecord: "leases",
}
