"""403 messages give advice that can work: narrowing the namespace never helps a cluster-scoped kind."""

from cockpit.kube.errors import Forbidden, api_error_from_status


def forbidden(message: str):
    return api_error_from_status(403, {"kind": "Status", "code": 403, "reason": "Forbidden", "message": message},
                                 user="viewer")


def test_cluster_scoped_kind_gets_no_namespace_advice():
    error = forbidden('nodes is forbidden: User "viewer" cannot list resource "nodes" in API group "" '
                      'at the cluster scope')
    assert isinstance(error, Forbidden)
    assert "narrow --namespace" not in str(error) and "ask for RBAC access" in str(error)


def test_namespaced_kind_may_narrow_the_namespace():
    error = forbidden('pods is forbidden: User "viewer" cannot list resource "pods" in API group "" '
                      'in the namespace "kube-system"')
    assert "narrow --namespace" in str(error)
