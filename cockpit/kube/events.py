"""Recording what cockpit did as Kubernetes Events (events.k8s.io/v1) on the object it changed.

Another cockpit, ``kubectl get events`` and a post-mortem all see the same record: the reason
names the action, ``reportingController`` is ``cockpit``, and the note names the operator and
the kube context. Events of cluster-scoped objects (Nodes) go to the ``default`` namespace, as
the kubelet's do.
"""

from __future__ import annotations

import secrets
import socket
from datetime import datetime, timezone
from collections.abc import Mapping
from typing import Any, Literal

from cockpit.domain.records import EventRecord
from cockpit.domain.timeline import parse_time
from cockpit.kube.api import KubeApi, ObjectRef

REPORTING_CONTROLLER = "cockpit"
NOTE_LIMIT = 1024  # the API server refuses longer notes
EventType = Literal["Normal", "Warning"]


def micro_time(moment: datetime | None = None) -> str:
    """A MicroTime (``2026-12-02T07:00:00.123456Z``), what ``eventTime`` requires."""
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EventRecorder:
    """Posts one Event per finished action; the caller decides what a failure to record means."""

    def __init__(self, api: KubeApi, *, instance: str | None = None) -> None:
        self.api = api
        self.instance = (instance or f"cockpit-{socket.gethostname()}")[:128]

    async def record(self, regarding: ObjectRef, reason: str, action: str, note: str,
                     event_type: EventType = "Normal") -> dict:
        """Create the Event and return it as the server stored it (raises ApiError)."""
        body = self.event_body(regarding, reason, action, note, event_type)
        namespace = body["metadata"]["namespace"]
        return await self.api.create(f"/apis/events.k8s.io/v1/namespaces/{namespace}/events", body)

    def event_body(self, regarding: ObjectRef, reason: str, action: str, note: str,
                   event_type: EventType = "Normal") -> dict:
        """The events.k8s.io/v1 Event cockpit records for one action."""
        namespace = regarding.namespace or "default"
        # kubectl and the client libraries name events "<object>.<unique hex>" too.
        name = f"{regarding.name}.{secrets.token_hex(8)}"
        return {
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "eventTime": micro_time(), "type": event_type, "reason": reason[:128],
            "action": action[:128], "note": note[:NOTE_LIMIT],
            "regarding": regarding.to_dict(),
            "reportingController": REPORTING_CONTROLLER, "reportingInstance": self.instance,
        }


def event_record(raw: Mapping[str, Any]) -> EventRecord:
    """An events.k8s.io/v1 Event as an EventRecord (``source`` is its reportingController).

    Reading the v1 API sees both the core Events of kubelets and controllers and the Events
    cockpit records, in one list.
    """
    meta = raw.get("metadata") or {}
    regarding = raw.get("regarding") or {}
    series = raw.get("series") or {}
    created = parse_time(meta.get("creationTimestamp"))
    first = parse_time(raw.get("eventTime")) or parse_time(raw.get("deprecatedFirstTimestamp")) or created
    last = (parse_time(series.get("lastObservedTime")) or parse_time(raw.get("deprecatedLastTimestamp"))
            or first)
    source = raw.get("reportingController") or (raw.get("deprecatedSource") or {}).get("component", "")
    return EventRecord(
        uid=meta.get("uid", ""), name=meta.get("name", ""), namespace=meta.get("namespace", ""),
        resource_version=meta.get("resourceVersion", ""), created=created,
        type=raw.get("type", ""), reason=raw.get("reason", ""), message=raw.get("note", ""),
        object_kind=regarding.get("kind", ""), object_name=regarding.get("name", ""),
        object_namespace=regarding.get("namespace", ""), object_uid=regarding.get("uid", ""),
        count=int(series.get("count") or raw.get("deprecatedCount") or 1), first_seen=first, last_seen=last,
        source=source or "",
    )
