"""RBAC in the simulator, through the real kubectl (fresh --cache-dir) with the kubeconfig's users:
the admin (default context) may do everything; ``viewer`` only reads; ``editor`` writes in
namespace shop only; ``service-patcher`` may patch Services but not update them."""

from __future__ import annotations

import pytest
import yaml

from tests.support.api import Api

pytestmark = pytest.mark.kubectl


@pytest.fixture
def rbac_sim(sim, wait_for):
    """The demo simulator once its bootstrap ClusterRoles (view, edit) exist."""
    api = Api(sim)
    wait_for(lambda: api("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/edit").status_code == 200,
             what="bootstrap ClusterRoles")
    return sim


def _pod(kubectl) -> str:
    return kubectl("get", "pods", "-n", "shop", "-o", "name").stdout.split()[0].removeprefix("pod/")


def _forbidden(result, message: str) -> None:
    """kubectl failed and printed the server's 403 message (some commands wrap it in their own words)."""
    assert result.returncode != 0, result.stdout
    assert message in result.stderr, result.stderr


def test_kubeconfig_keeps_the_admin_as_default(rbac_sim, kubectl):
    config = yaml.safe_load(open(rbac_sim.kubeconfig))
    assert config["current-context"] == "cockpit-sim"
    assert config["users"][0] == {"name": "cockpit-sim", "user": {"token": rbac_sim.token}}
    assert {u["name"] for u in config["users"]} == {"cockpit-sim", "viewer", "editor", "service-patcher"}
    assert "kubernetes-admin" in kubectl("auth", "whoami").stdout
    assert "Username    viewer" in kubectl("--context", "cockpit-sim-viewer", "auth", "whoami").stdout


def test_viewer_reads_but_cannot_write(rbac_sim, kubectl):
    pod = _pod(kubectl)
    assert pod in kubectl("--user", "viewer", "get", "pods", "-n", "shop").stdout
    _forbidden(kubectl("--user", "viewer", "delete", "pod", pod, "-n", "shop", check=False),
               f'Error from server (Forbidden): pods "{pod}" is forbidden: User "viewer" cannot delete resource '
               '"pods" in API group "" in the namespace "shop"')
    _forbidden(kubectl("--user", "viewer", "scale", "deploy/web-blue", "--replicas=1", "-n", "shop", check=False),
               'deployments.apps "web-blue" is forbidden: User "viewer" cannot patch resource "deployments/scale" '
               'in API group "apps" in the namespace "shop"')
    _forbidden(kubectl("--user", "viewer", "get", "nodes", check=False),
               'nodes is forbidden: User "viewer" cannot list resource "nodes" in API group "" at the cluster scope')
    can = lambda verb: kubectl("--user", "viewer", "auth", "can-i", verb, "pods", "-n", "shop",  # noqa: E731
                               check=False).stdout.strip()
    assert (can("delete"), can("list")) == ("no", "yes")
    assert pod in kubectl("get", "pods", "-n", "shop").stdout  # nothing was deleted


def test_editor_is_limited_to_its_namespace(rbac_sim, kubectl):
    pod = _pod(kubectl)
    assert "deleted" in kubectl("--user", "editor", "delete", "pod", pod, "-n", "shop", "--wait=false").stdout
    _forbidden(kubectl("--user", "editor", "get", "pods", "-n", "kube-system", check=False),
               'pods is forbidden: User "editor" cannot list resource "pods" in API group "" '
               'in the namespace "kube-system"')
    can = lambda *args: kubectl("--user", "editor", "auth", "can-i", *args, check=False).stdout.strip()  # noqa: E731
    assert (can("create", "deployments", "-n", "shop"), can("create", "deployments", "-n", "default")) == ("yes", "no")
    listing = kubectl("--user", "editor", "auth", "can-i", "--list", "-n", "shop").stdout
    assert "deployments.apps" in listing and "*.*" not in listing


def test_patch_without_update(rbac_sim, kubectl, tmp_path):
    out = kubectl("--user", "service-patcher", "patch", "svc", "web", "-n", "shop",
                  "-p", '{"metadata":{"labels":{"patched-by":"service-patcher"}}}').stdout
    assert "service/web patched" in out
    manifest = tmp_path / "svc.yaml"
    manifest.write_text(kubectl("get", "svc", "web", "-n", "shop", "-o", "yaml").stdout)
    _forbidden(kubectl("--user", "service-patcher", "replace", "-f", str(manifest), check=False),
               'services "web" is forbidden: User "service-patcher" cannot update resource "services" '
               'in API group "" in the namespace "shop"')
    can = lambda verb: kubectl("--user", "service-patcher", "auth", "can-i", verb,  # noqa: E731
                               "services", "-n", "shop", check=False).stdout.strip()
    assert (can("patch"), can("update")) == ("yes", "no")


def test_binding_changes_apply_at_once(rbac_sim, kubectl, tmp_path, wait_for):
    """The rule index is rebuilt when RBAC objects change: a new RoleBinding grants, deleting it revokes."""
    cm = ["--user", "viewer", "create", "configmap", "granted", "-n", "default", "--from-literal=a=b"]
    _forbidden(kubectl(*cm, check=False), 'configmaps is forbidden: User "viewer" cannot create resource "configmaps"')
    kubectl("create", "rolebinding", "viewer-edits-default", "-n", "default", "--clusterrole=edit", "--user=viewer")
    assert "configmap/granted created" in kubectl(*cm).stdout
    kubectl("delete", "rolebinding", "viewer-edits-default", "-n", "default")
    _forbidden(kubectl("--user", "viewer", "delete", "configmap", "granted", "-n", "default", check=False),
               'configmaps "granted" is forbidden')


def test_access_review_explains_an_allowed_request(rbac_sim):
    api = Api(rbac_sim)
    api.session.headers["Authorization"] = f"Bearer {rbac_sim.server.authenticator.user_tokens['editor']}"
    review = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
              "spec": {"resourceAttributes": {"namespace": "shop", "verb": "patch", "group": "apps",
                                              "resource": "deployments"}}}
    status = api("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review).json()["status"]
    assert status == {"allowed": True, "reason": 'RBAC: allowed by RoleBinding "cockpit-sim:editor" of '
                                                 'ClusterRole "edit" to User "editor"'}


def test_the_admin_never_touches_the_rule_index(api_sim):
    """system:masters short-circuits: admin requests leave the index unbuilt (the hot path stays cheap)."""
    api = Api(api_sim)
    api.get("/api/v1/namespaces/shop/pods")
    assert api("DELETE", "/api/v1/namespaces/shop/pods/web-0").status_code == 200
    assert api_sim.server.authorizer._cluster is None


def test_non_resource_paths_are_authorized_too(rbac_sim):
    """Discovery and health are open to every user (system:discovery); the simulator's fault switch is not."""
    api = Api(rbac_sim)
    api.session.headers["Authorization"] = f"Bearer {rbac_sim.server.authenticator.user_tokens['viewer']}"
    assert api("GET", "/apis").status_code == 200 and api("GET", "/openapi/v3").status_code == 200
    denied = api("GET", "/_sim/faults")
    assert denied.status_code == 403
    assert denied.json()["message"] == 'forbidden: User "viewer" cannot get path "/_sim/faults"'


def test_official_client_reviews_metrics_and_forbidden(rbac_sim):
    """The strict v37 models accept the reviews and metrics; a 403 is an ApiException with the Status."""
    from kubernetes import client, config
    from kubernetes.dynamic import DynamicClient

    admin = config.new_client_from_config(rbac_sim.kubeconfig)
    viewer = config.new_client_from_config(rbac_sim.kubeconfig, context="cockpit-sim-viewer")
    try:
        who = client.AuthenticationV1Api(viewer).create_self_subject_review(client.V1SelfSubjectReview())
        assert who.status.user_info.username == "viewer"
        attrs = client.V1ResourceAttributes(namespace="shop", verb="patch", resource="services")
        review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attrs))
        assert client.AuthorizationV1Api(admin).create_self_subject_access_review(review).status.allowed is True
        assert client.AuthorizationV1Api(viewer).create_self_subject_access_review(review).status.allowed is False
        rules = client.AuthorizationV1Api(viewer).create_self_subject_rules_review(
            client.V1SelfSubjectRulesReview(spec=client.V1SelfSubjectRulesReviewSpec(namespace="shop")))
        assert any("pods" in r.resources and "list" in r.verbs for r in rules.status.resource_rules)
        pods = DynamicClient(admin).resources.get(api_version="metrics.k8s.io/v1beta1", kind="PodMetrics")
        assert pods.get(namespace="shop").items
        with pytest.raises(client.rest.ApiException) as denied:
            client.CoreV1Api(viewer).delete_namespaced_pod("any", "shop")
        assert denied.value.status == 403 and '"reason":"Forbidden"' in denied.value.body
    finally:
        admin.close()
        viewer.close()
