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
from typing import Literal

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
