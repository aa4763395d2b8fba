"""The request bodies of ``kubectl rollout undo|pause|resume|restart``, built from the raw objects.

kubectl finds the ReplicaSet of the wanted revision, copies its pod template (minus the
``pod-template-hash`` label) and its annotations into the Deployment with one JSON patch. The
deployment controller then sees a template equal to the old ReplicaSet's and scales that
ReplicaSet back up. Pause, resume and restart set ``spec.paused`` or the template's
``restartedAt`` annotation.

Each of our patches starts with ``test`` operations on what the preview was built from: the
Deployment's ``metadata.generation`` (bumped by every spec change, never by a status update)
and, for an undo, which replaces them, its annotations. So a Deployment edited since the
preview is never overwritten, while one whose status moves on (a crash-looping rollout updates
it every few seconds, exactly when an undo is wanted) is not refused for it. This lives in the
kube layer because it copies raw JSON from one object into a write to another.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
TEMPLATE_HASH = "pod-template-hash"
# Deployment annotations kubectl keeps from the Deployment instead of copying from the RS.
ANNOTATIONS_TO_SKIP = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
})


def undo_patch(deployment: dict, replicaset: dict) -> list[dict[str, Any]]:
    """The JSON patch kubectl sends for an undo to ``replicaset``, guarded by tests of the
    generation and the annotations it replaces."""
    template = _template_without_hash(replicaset)
    guard = _generation_test(deployment)
    if _meta(deployment).get("annotations"):
        guard.append({"op": "test", "path": "/metadata/annotations", "value": _meta(deployment)["annotations"]})
    return [
        *guard,
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "add", "path": "/metadata/annotations", "value": _undo_annotations(deployment, replicaset)},
    ]


def paused_patch(deployment: dict, paused: bool) -> list[dict[str, Any]]:
    """``spec.paused`` set (pause) or cleared (resume), guarded by a generation test."""
    return [*_generation_test(deployment), {"op": "add", "path": "/spec/paused", "value": paused}]


def restart_patch(deployment: dict, stamp: str) -> list[dict[str, Any]]:
    """The template's ``restartedAt`` annotation set to ``stamp``, guarded by a generation test."""
    template_meta = ((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}
    if template_meta.get("annotations"):
        change = {"op": "add", "path": "/spec/template/metadata/annotations/" + RESTARTED_AT.replace("/", "~1"),
                  "value": stamp}
    elif template_meta:
        change = {"op": "add", "path": "/spec/template/metadata/annotations", "value": {RESTARTED_AT: stamp}}
    else:
        change = {"op": "add", "path": "/spec/template/metadata", "value": {"annotations": {RESTARTED_AT: stamp}}}
    return [*_generation_test(deployment), change]


def spec_version(deployment: dict, *, with_annotations: bool = False) -> str:
    """What a preview was built from, as the patches above test it: ``generation 3`` (and a digest
    of the annotations for an undo); a status update leaves it as it is."""
    version = f"generation {_meta(deployment).get('generation', 0)}"
    if with_annotations:
        text = json.dumps(_meta(deployment).get("annotations") or {}, sort_keys=True)
        version += f", annotations {hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return version


def _generation_test(deployment: dict) -> list[dict[str, Any]]:
    return [{"op": "test", "path": "/metadata/generation", "value": _meta(deployment).get("generation", 0)}]


def template_matches(deployment: dict, replicaset: dict) -> bool:
    """Whether the Deployment's template already equals the ReplicaSet's (kubectl then skips)."""
    return _template_without_hash(deployment) == _template_without_hash(replicaset)


def _template_without_hash(obj: dict) -> dict:
    template = copy.deepcopy((obj.get("spec") or {}).get("template") or {})
    (template.get("metadata") or {}).get("labels", {}).pop(TEMPLATE_HASH, None)
    return template


def _undo_annotations(deployment: dict, replicaset: dict) -> dict[str, str]:
    kept = {k: v for k, v in (_meta(deployment).get("annotations") or {}).items() if k in ANNOTATIONS_TO_SKIP}
    copied = {k: v for k, v in (_meta(replicaset).get("annotations") or {}).items() if k not in ANNOTATIONS_TO_SKIP}
    return {**kept, **copied}


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}
