"""Reading what an incident record is written from: the cluster, its Events, the journal, certificates.

Everything here only reads. The cluster is listed once per kind (the records the detectors and
the report need), Events through events.k8s.io/v1 (which holds both the core Events of
kubelets and controllers and the Events cockpits record), the journal from its file, and
control-plane certificates by running ``kubeadm certs check-expiration`` over SSH.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cockpit.domain.certs import CertificateReport, parse_check_expiration
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
from cockpit.domain.report import ReportInput
from cockpit.domain.runbooks import detect_all
from cockpit.domain.snapshot import ClusterSnapshot
from cockpit.domain.timeline import event_time, parse_time
from cockpit.kube.events import event_record
from cockpit.journal import read_journal
from cockpit.kube.paths import path_for
from cockpit.kube.typed import list_objects, list_records

SNAPSHOT_KINDS: tuple[tuple[str, type[Record]], ...] = (
    ("nodes", NodeRecord), ("pods", PodRecord), ("deployments", DeploymentRecord),
    ("replicasets", ReplicaSetRecord), ("services", ServiceRecord), ("endpointslices", EndpointSliceRecord),
    ("poddisruptionbudgets", PdbRecord), ("leases", LeaseRecord),
)
EVENTS_PATH = "/apis/events.k8s.io/v1/events"
CERTS_COMMAND = ("kubeadm", "certs", "check-expiration")
CERTS_TIMEOUT = 30.0


async def read_snapshot(api: Any, events: Iterable[EventRecord] = ()) -> ClusterSnapshot:
    """Every record the detectors read, listed now (all namespaces)."""
    lists = await asyncio.gather(*(list_records(api, record_type, path_for(kind))
                                   for kind, record_type in SNAPSHOT_KINDS))
    records = [record for batch in lists for record in batch]
    return ClusterSnapshot.of([*records, *events], taken_at=datetime.now(timezone.utc))


async def read_events(api: Any, since: datetime | None = None) -> list[EventRecord]:
    """Events (events.k8s.io/v1, all namespaces) that happened at or after ``since``, oldest first."""
    out = [event_record(raw) for raw in await list_objects(api, EVENTS_PATH)]
    kept = [e for e in out if since is None or event_time(e) >= since]
    return sorted(kept, key=event_time)


def read_journal_since(path: str | Path, since: datetime | None = None) -> list[dict[str, Any]]:
    """The journal's entries at or after ``since`` (torn lines skipped, as the journal reader does)."""
    entries = []
    for entry in read_journal(path):
        ts = parse_time(entry.get("ts"))
        if ts is not None and (since is None or ts >= since):
            entries.append(entry)
    return entries


async def api_version(api: Any) -> str:
    """``/version``'s gitVersion, or "" when the server does not say."""
    try:
        info = await api.get("/version")
    except Exception:  # noqa: BLE001 - the version only decorates the record; a read error must not stop it
        return ""
    return str(info.get("gitVersion") or "")


async def read_certificates(pool: Any, nodes: Iterable[NodeRecord],
                            timeout: float = CERTS_TIMEOUT) -> tuple[list[CertificateReport], list[str]]:
    """``kubeadm certs check-expiration`` on each control-plane node: (reports, problems reaching them)."""
    control_planes = [n for n in nodes if n.is_control_plane]
    results = await asyncio.gather(*(_certs_of(pool, n, timeout) for n in control_planes), return_exceptions=True)
    reports, errors = [], []
    for node, result in zip(control_planes, results):
        if isinstance(result, CertificateReport):
            reports.append(result)
        else:
            errors.append(f"{node.name}: {result}")
    return reports, errors


async def _certs_of(pool: Any, node: NodeRecord, timeout: float) -> CertificateReport:
    result = await pool.run(node.name, list(CERTS_COMMAND), timeout=timeout, address=node.internal_ip or None)
    if not result.ok:
        raise RuntimeError(f"kubeadm certs check-expiration exited {result.exit_status}: "
                           f"{' | '.join(result.tail(2)) or 'no output'}")
    return parse_check_expiration(node.name, result.stdout)


async def gather_report_input(api: Any, journal_path: str | Path, since: datetime, *, context: str | None,
                              generated_by: str, pool: Any = None, all_events: bool = False) -> ReportInput:
    """Read the cluster, its Events, the journal (and, with an SSH ``pool``, certificates) for a report."""
    now = datetime.now(timezone.utc)
    # Events before the window still explain the state at its start (a node NotReady since before).
    events = await read_events(api, since - timedelta(hours=1))
    snapshot = await read_snapshot(api, events)
    certs: list[CertificateReport] = []
    notes: list[str] = []
    if pool is not None:
        certs, errors = await read_certificates(pool, snapshot.nodes)
        notes += [f"certificates not checked on {e}" for e in errors]
    problems = detect_all(snapshot, now, certs)
    return ReportInput(context, since, now, tuple(read_journal_since(journal_path, since)), tuple(events), snapshot,
                       tuple(problems), await api_version(api), str(journal_path), generated_by, all_events,
                       tuple(notes))
