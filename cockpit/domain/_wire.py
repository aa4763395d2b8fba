"""Wire shapes: msgspec Structs mirroring the Kubernetes JSON, declaring only the fields the
records read. msgspec skips undeclared fields without materialising them, which is where the
decoding speed comes from. Private to :mod:`cockpit.domain.records`.

Every field has a default so objects with missing optional parts (as the apiserver omits empty
fields) still decode.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct, field

IntOrStr = int | str | None


class W(Struct, rename="camel", frozen=True):
    """Base for wire structs: Kubernetes JSON uses camelCase keys."""


class OwnerRef(W):
    api_version: str = ""
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool = False


class Meta(W):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    owner_references: list[OwnerRef] | None = None


class BookmarkMeta(W):
    resource_version: str = ""


class Bookmark(W):
    metadata: BookmarkMeta = BookmarkMeta()


class Condition(W):
    type: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None
    last_update_time: datetime | None = None


class Expression(W):
    key: str = ""
    operator: str = ""
    values: list[str] | None = None


class Selector(W):
    match_labels: dict[str, str] | None = None
    match_expressions: list[Expression] | None = None


class ContainerPortW(W):
    container_port: int = 0
    name: str = ""
    protocol: str = "TCP"


class ContainerSpec(W):
    name: str = ""
    image: str = ""
    ports: list[ContainerPortW] | None = None


class Volume(W):
    name: str = ""
    empty_dir: dict | None = None


class TolerationW(W):
    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""
    toleration_seconds: int | None = None


class PodSpec(W):
    node_name: str = ""
    containers: list[ContainerSpec] = []
    init_containers: list[ContainerSpec] | None = None
    volumes: list[Volume] | None = None
    tolerations: list[TolerationW] | None = None
    priority: int | None = None
    priority_class_name: str = ""


class TemplateMeta(W):
    labels: dict[str, str] | None = None


class Template(W):
    metadata: TemplateMeta = TemplateMeta()
    spec: PodSpec | None = None


# ----- pods --------------------------------------------------------------------------------


class Waiting(W):
    reason: str = ""


class Terminated(W):
    reason: str = ""
    exit_code: int = 0


class State(W):
    waiting: Waiting | None = None
    terminated: Terminated | None = None


class ContainerStatus(W):
    name: str = ""
    ready: bool = False
    restart_count: int = 0
    state: State = State()


class PodStatus(W):
    phase: str = ""
    reason: str = ""
    pod_ip: str = field(default="", name="podIP")
    start_time: datetime | None = None
    conditions: list[Condition] | None = None
    container_statuses: list[ContainerStatus] | None = None
    init_container_statuses: list[ContainerStatus] | None = None


class Pod(W):
    metadata: Meta = Meta()
    spec: PodSpec = PodSpec()
    status: PodStatus = PodStatus()


# ----- nodes -------------------------------------------------------------------------------


class TaintW(W):
    key: str = ""
    value: str = ""
    effect: str = ""


class NodeSpec(W):
    unschedulable: bool = False
    taints: list[TaintW] | None = None


class Address(W):
    type: str = ""
    address: str = ""


class NodeInfo(W):
    kubelet_version: str = ""
    kube_proxy_version: str = ""
    os_image: str = ""
    kernel_version: str = ""
    container_runtime_version: str = ""
    architecture: str = ""


class NodeStatus(W):
    conditions: list[Condition] | None = None
    addresses: list[Address] | None = None
    node_info: NodeInfo = NodeInfo()
    allocatable: dict[str, str | int] | None = None


class SpecFields(W):
    # managedFields' fieldsV1 keys are literal ("f:spec"), not camelCase
    spec: dict | None = field(default=None, name="f:spec")


class ManagedFields(W):
    manager: str = ""
    fields_v1: SpecFields = field(default_factory=SpecFields, name="fieldsV1")


class NodeMeta(Meta):
    managed_fields: list[ManagedFields] | None = None


class Node(W):
    metadata: NodeMeta = NodeMeta()
    spec: NodeSpec = NodeSpec()
    status: NodeStatus = NodeStatus()


# ----- workloads ---------------------------------------------------------------------------


class RollingUpdate(W):
    max_surge: IntOrStr = None
    max_unavailable: IntOrStr = None


class Strategy(W):
    type: str = ""
    rolling_update: RollingUpdate | None = None


class DeploymentSpec(W):
    replicas: int | None = None
    selector: Selector | None = None
    template: Template = Template()
    strategy: Strategy = Strategy()
    paused: bool = False
    progress_deadline_seconds: int | None = None
    min_ready_seconds: int = 0


class DeploymentStatus(W):
    observed_generation: int = 0
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    unavailable_replicas: int = 0
    conditions: list[Condition] | None = None


class Deployment(W):
    metadata: Meta = Meta()
    spec: DeploymentSpec = DeploymentSpec()
    status: DeploymentStatus = DeploymentStatus()


class ReplicaSetSpec(W):
    replicas: int | None = None
    selector: Selector | None = None
    template: Template | None = None


class ReplicaSetStatus(W):
    replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0


class ReplicaSet(W):
    metadata: Meta = Meta()
    spec: ReplicaSetSpec = ReplicaSetSpec()
    status: ReplicaSetStatus = ReplicaSetStatus()


# ----- networking --------------------------------------------------------------------------


class ServicePortW(W):
    port: int = 0
    name: str = ""
    protocol: str = "TCP"
    target_port: IntOrStr = None
    node_port: int | None = None


class ServiceSpec(W):
    type: str = "ClusterIP"
    selector: dict[str, str] | None = None
    ports: list[ServicePortW] | None = None
    cluster_ip: str = field(default="", name="clusterIP")


class Service(W):
    metadata: Meta = Meta()
    spec: ServiceSpec = ServiceSpec()


class EndpointConditions(W):
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class TargetRef(W):
    kind: str = ""
    name: str = ""
    uid: str = ""


class Endpoint(W):
    addresses: list[str] = []
    conditions: EndpointConditions = EndpointConditions()
    node_name: str = ""
    target_ref: TargetRef | None = None


class SlicePort(W):
    name: str = ""
    port: int | None = None
    protocol: str = "TCP"


class EndpointSlice(W):
    metadata: Meta = Meta()
    address_type: str = ""
    endpoints: list[Endpoint] | None = None
    ports: list[SlicePort] | None = None


class PathMatch(W):
    type: str = ""
    value: str = ""


class RouteMatch(W):
    path: PathMatch | None = None
    method: str = ""


class BackendRefW(W):
    name: str = ""
    namespace: str = ""
    port: int | None = None
    weight: int | None = None
    kind: str = "Service"
    group: str = ""


class RouteRule(W):
    backend_refs: list[BackendRefW] | None = None
    matches: list[RouteMatch] | None = None


class ParentRef(W):
    name: str = ""


class HTTPRouteSpec(W):
    parent_refs: list[ParentRef] | None = None
    hostnames: list[str] | None = None
    rules: list[RouteRule] | None = None


class HTTPRoute(W):
    metadata: Meta = Meta()
    spec: HTTPRouteSpec = HTTPRouteSpec()


# ----- policy, events, leases --------------------------------------------------------------


class PdbSpec(W):
    min_available: IntOrStr = None
    max_unavailable: IntOrStr = None
    selector: Selector | None = None
    unhealthy_pod_eviction_policy: str = ""


class PdbStatus(W):
    current_healthy: int = 0
    desired_healthy: int = 0
    disruptions_allowed: int = 0
    expected_pods: int = 0
    observed_generation: int = 0


class Pdb(W):
    metadata: Meta = Meta()
    spec: PdbSpec = PdbSpec()
    status: PdbStatus = PdbStatus()


class InvolvedObject(W):
    kind: str = ""
    name: str = ""
    namespace: str = ""
    uid: str = ""


class EventSource(W):
    component: str = ""


class EventSeries(W):
    count: int = 0
    last_observed_time: datetime | None = None


class Event(W):
    metadata: Meta = Meta()
    involved_object: InvolvedObject = InvolvedObject()
    type: str = ""
    reason: str = ""
    message: str = ""
    count: int | None = None
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    event_time: datetime | None = None
    series: EventSeries | None = None
    source: EventSource | None = None
    reporting_component: str = ""


class LeaseSpec(W):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    lease_transitions: int | None = None


class Lease(W):
    metadata: Meta = Meta()
    spec: LeaseSpec = LeaseSpec()
