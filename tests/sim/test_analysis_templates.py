"""Argo Rollouts AnalysisTemplates applied with the real kubectl are read back as analyses."""

from __future__ import annotations

import json

from cockpit.kube.analysis_templates import read_analysis_templates
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config

TEMPLATE = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
    "metadata": {"name": "success-rate", "namespace": "shop"},
    "spec": {"args": [{"name": "service-name"}], "metrics": [{
        "name": "success-rate", "interval": "30s", "count": 4, "failureLimit": 1,
        "successCondition": "result[0] >= 0.95",
        "provider": {"prometheus": {"address": "http://prometheus.monitoring:9090", "query":
                     'sum(rate(istio_requests_total{destination_service_name="{{args.service-name}}",'
                     'response_code!~"5.."}[1m])) / '
                     'sum(rate(istio_requests_total{destination_service_name="{{args.service-name}}"}[1m]))'}}}]},
}
CLUSTER_TEMPLATE = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "ClusterAnalysisTemplate", "metadata": {"name": "p99"},
    "spec": {"metrics": [{"name": "p99", "successCondition": "result[0] < 500", "provider": {"prometheus": {
        "query": "histogram_quantile(0.99, sum(rate(x_bucket[1m])) by (le))"}}}]},
}


async def test_templates_from_the_cluster(sim, kubectl):
    for template in (TEMPLATE, CLUSTER_TEMPLATE):
        kubectl("apply", "-f", "-", input=json.dumps(template))
    assert "success-rate" in kubectl("-n", "shop", "get", "analysistemplates").stdout
    client = KubeClient(load_cluster_config(sim.kubeconfig, None))
    try:
        imported = await read_analysis_templates(client, "shop")
        empty = await read_analysis_templates(client, "default")
    finally:
        await client.close()
    names = {a.name: a for a in imported.analyses}
    assert set(names) == {"success-rate", "p99"}
    assert names["success-rate"].source == "AnalysisTemplate shop/success-rate"
    assert names["success-rate"].query.placeholders == {"service"} and names["success-rate"].count == 4
    assert names["p99"].source == "ClusterAnalysisTemplate p99"
    assert [a.name for a in empty.analyses] == ["p99"]
