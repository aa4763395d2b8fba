"""Argo Rollouts analysis templates in the cluster, read as cockpit analyses.

A cluster without the Argo Rollouts CRDs answers 404 (or 403 without RBAC on them): that means
"no templates", not an error, so a gated shift still runs on the configured analyses.
"""

from __future__ import annotations

from urllib.parse import quote

from cockpit.domain.analysis_argo import ArgoTemplate, Imported, from_analysis_template
from cockpit.kube.api import KubeApi
from cockpit.kube.errors import Forbidden, NotFound
from cockpit.kube.typed import list_objects

GROUP_VERSION = "/apis/argoproj.io/v1alpha1"


async def read_analysis_templates(api: KubeApi, namespace: str) -> Imported:
    """Every AnalysisTemplate of ``namespace`` and every ClusterAnalysisTemplate, converted."""
    objects = await _list(api, f"{GROUP_VERSION}/namespaces/{quote(namespace, safe='')}/analysistemplates",
                          "AnalysisTemplate")
    objects += await _list(api, f"{GROUP_VERSION}/clusteranalysistemplates", "ClusterAnalysisTemplate")
    analyses, skipped = [], []
    for obj in objects:
        imported = from_analysis_template(argo_template(obj))
        analyses += imported.analyses
        skipped += imported.skipped
    return Imported(tuple(analyses), tuple(skipped))


async def _list(api: KubeApi, path: str, kind: str) -> list[dict]:
    try:
        items = await list_objects(api, path)
    except (NotFound, Forbidden):
        return []
    return [{**item, "kind": item.get("kind") or kind} for item in items]  # list items may omit their kind


def argo_template(obj: dict) -> ArgoTemplate:
    """The parts of a raw AnalysisTemplate object that the conversion reads."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    return ArgoTemplate(obj.get("kind", "AnalysisTemplate"), meta.get("name", ""), meta.get("namespace", ""),
                        tuple(spec.get("args") or ()), tuple(spec.get("metrics") or ()))
