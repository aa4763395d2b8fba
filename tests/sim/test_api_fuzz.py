"""Random PATCH/PUT bodies never make the API server fail (5xx) or break later reads."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.api import Api

_KEYS = ["metadata", "spec", "status", "labels", "name", "containers", "image", "selector", "ports", "port",
         "replicas", "template", "matchLabels", "$patch", "$setElementOrder/containers", "$retainKeys",
         "finalizers", "annotations", "nodeName", "minAvailable"]
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.text(max_size=4))
_JSON = st.recursive(_LEAF, lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.sampled_from(_KEYS), c,
                                                                                           max_size=4)),
                     max_leaves=12)
_PATHS = ["/api/v1/namespaces/shop/pods/web-1", "/api/v1/namespaces/shop/services/web", "/api/v1/nodes/node-1",
          "/api/v1/namespaces/shop/pods/web-1/status", "/apis/policy/v1/namespaces/shop/poddisruptionbudgets/web"]
_TYPES = ["application/strategic-merge-patch+json", "application/merge-patch+json", "application/json-patch+json"]


def test_random_writes_never_fail_the_server(api_sim):
    api = Api(api_sim)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=_JSON, ctype=st.sampled_from(_TYPES), path=st.sampled_from(_PATHS))
    def write(body, ctype, path):
        patched = api("PATCH", path, body, ctype)
        assert patched.status_code < 500, patched.text
        put = api("PUT", path, body if isinstance(body, dict) else {"x": body})
        assert put.status_code < 500, put.text
        assert api("GET", "/api/v1/pods", labelSelector="app=web").status_code == 200
    write()
