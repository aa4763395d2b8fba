"""The request body of ``kubectl rollout undo``, built from the raw objects it copies.

kubectl finds the ReplicaSet of the wanted revision, copies its pod template (minus the
``pod-template-hash`` label) and its annotations into the Deployment with one JSON patch. The
deployment controller then sees a template equal to the old ReplicaSet's and scales that
ReplicaSet back up. Our patch starts with a ``test`` of ``metadata.resourceVersion`` so a
Deployment edited since the preview is never overwritten. This lives in the kube layer because
it copies raw JSON from one object into a write to another.
"""

from __future__ import annotations

import copy
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
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
    """The JSON patch kubectl sends for an undo to ``replicaset``, guarded by a resourceVersion test."""
    template = _template_without_hash(replicaset)
    return [
        {"op": "test", "path": "/metadata/resourceVersion", "value": _meta(deployment)["resourceVersion"]},
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "add", "path": "/metadata/annotations", "value": _undo_annotations(deployment, replicaset)},
    ]


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
