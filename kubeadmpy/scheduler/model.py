"""Typed views of Pods and Nodes, parsed once from the dicts the API returns.

Every filter and score reads the same few facts (requests, taints, tolerations, ports,
affinity terms) for every node of every pod; parsing them once per object change keeps the
per-node work down to integer comparisons. Requests are computed as upstream's resource helpers
do: regular containers summed, restartable (sidecar) init containers added to that sum, each
ordinary init container's request (plus the sidecars started before it) as a floor, then the
pod overhead on top. The "non-zero" CPU/memory used for spreading gives a container without a
request upstream's defaults (100m CPU, 200 MiB).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeadmpy.machinery.objects import parse_rfc3339
from kubeadmpy.machinery.selectors import LabelSelector
from kubeadmpy.scheduler.quantities import lenient
from kubeadmpy.scheduler.selection import NodeSelector, label_selector, node_selector

DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
DEFAULT_SCHEDULER_NAME = "default-scheduler"
UNSCHEDULABLE_TAINT_KEY = "node.kubernetes.io/unschedulable"
_CORE = ("cpu", "memory", "ephemeral-storage", "pods")


@dataclass(slots=True)
class Resources:
    """CPU in millicores; memory and ephemeral storage in bytes; extended resources in units."""

    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    scalar: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_map(cls, values: Mapping[str, Any] | None) -> Resources:
        values = values or {}
        return cls(
            milli_cpu=lenient(values.get("cpu"), milli=True),
            memory=lenient(values.get("memory"), milli=False),
            ephemeral_storage=lenient(values.get("ephemeral-storage"), milli=False),
            scalar={name: lenient(v, milli=False) for name, v in values.items() if name not in _CORE},
        )

    def copy(self) -> Resources:
        return Resources(self.milli_cpu, self.memory, self.ephemeral_storage, dict(self.scalar))

    def add(self, other: Resources, sign: int = 1) -> None:
        self.milli_cpu += sign * other.milli_cpu
        self.memory += sign * other.memory
        self.ephemeral_storage += sign * other.ephemeral_storage
        for name, value in other.scalar.items():
            self.scalar[name] = self.scalar.get(name, 0) + sign * value

    def raise_to(self, other: Resources) -> None:
        """Each resource becomes the larger of the two (the init-container rule)."""
        self.milli_cpu = max(self.milli_cpu, other.milli_cpu)
        self.memory = max(self.memory, other.memory)
        self.ephemeral_storage = max(self.ephemeral_storage, other.ephemeral_storage)
        for name, value in other.scalar.items():
            self.scalar[name] = max(self.scalar.get(name, 0), value)


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str
    operator: str  # Equal | Exists
    value: str
    effect: str  # "" means every effect

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.operator == "Equal" and self.value == taint.value


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str


def tolerated(taint: Taint, tolerations: tuple[Toleration, ...]) -> bool:
    return any(t.tolerates(taint) for t in tolerations)


@dataclass(frozen=True, slots=True)
class HostPort:
    protocol: str
    host_ip: str
    port: int


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """A PodAffinityTerm: pods matching `selector` in the term's namespaces, per topology domain."""

    selector: LabelSelector
    namespaces: frozenset[str]
    namespace_selector: LabelSelector | None  # None: only `namespaces`; empty: every namespace
    topology_key: str
    weight: int = 0

    def matches(self, pod: PodInfo, namespace_labels: Mapping[str, Mapping[str, str]]) -> bool:
        if pod.namespace not in self.namespaces:
            if self.namespace_selector is None:
                return False
            if not self.namespace_selector.matches(namespace_labels.get(pod.namespace, {})):
                return False
        return self.selector.matches(pod.labels)


def _affinity_term(term: Mapping[str, Any], own_namespace: str, weight: int = 0) -> AffinityTerm:
    namespaces = frozenset(term.get("namespaces") or ())
    raw_ns_selector = term.get("namespaceSelector")
    if not namespaces and raw_ns_selector is None:
        namespaces = frozenset((own_namespace,))
    return AffinityTerm(
        selector=label_selector(term.get("labelSelector")),
        namespaces=namespaces,
        namespace_selector=None if raw_ns_selector is None else label_selector(raw_ns_selector),
        topology_key=str(term.get("topologyKey", "")),
        weight=weight,
    )


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    max_skew: int
    topology_key: str
    hard: bool  # whenUnsatisfiable DoNotSchedule
    selector: LabelSelector
    min_domains: int
    honor_node_affinity: bool  # nodeAffinityPolicy (default Honor)
    honor_node_taints: bool  # nodeTaintsPolicy (default Ignore)


def _spread_constraint(raw: Mapping[str, Any], pod_labels: Mapping[str, str]) -> SpreadConstraint:
    selector = label_selector(raw.get("labelSelector"))
    keys = [k for k in raw.get("matchLabelKeys") or () if k in pod_labels]
    if keys:  # matchLabelKeys: the pod's own values for those keys join the selector
        extra = {"matchLabels": {k: pod_labels[k] for k in keys}}
        selector = LabelSelector(selector.requirements + label_selector(extra).requirements)
    return SpreadConstraint(
        max_skew=int(raw.get("maxSkew", 1)),
        topology_key=str(raw.get("topologyKey", "")),
        hard=raw.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule",
        selector=selector,
        min_domains=int(raw.get("minDomains") or 1),
        honor_node_affinity=raw.get("nodeAffinityPolicy", "Honor") == "Honor",
        honor_node_taints=raw.get("nodeTaintsPolicy", "Ignore") == "Honor",
    )


def normalized_image_name(name: str) -> str:
    """Upstream's rule: an image without a tag or digest means ':latest'."""
    if "@" in name or ":" in name.rsplit("/", 1)[-1]:
        return name
    return name + ":latest"


@dataclass(eq=False, slots=True)
class PodInfo:
    raw: dict[str, Any]
    namespace: str
    name: str
    uid: str
    labels: dict[str, str]
    node_name: str
    scheduler_name: str
    priority: int
    created: float
    terminating: bool
    finished: bool
    requests: Resources
    non_zero_cpu: int
    non_zero_memory: int
    host_ports: tuple[HostPort, ...]
    tolerations: tuple[Toleration, ...]
    node_selector: dict[str, str]
    required_node_affinity: NodeSelector | None
    preferred_node_affinity: tuple[tuple[int, NodeSelector], ...]
    required_affinity: tuple[AffinityTerm, ...]
    required_anti_affinity: tuple[AffinityTerm, ...]
    preferred_affinity: tuple[AffinityTerm, ...]
    preferred_anti_affinity: tuple[AffinityTerm, ...]
    spread_constraints: tuple[SpreadConstraint, ...]
    claim_names: tuple[str, ...]
    images: tuple[str, ...]
    controller: tuple[str, str] | None  # (kind, name) of the controlling owner

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def has_affinity(self) -> bool:
        return bool(self.required_affinity or self.required_anti_affinity
                    or self.preferred_affinity or self.preferred_anti_affinity)


def _effective_requests(container: Mapping[str, Any]) -> dict[str, Any]:
    """Requests, with a limit standing in for a missing request: upstream's API server stores
    pods defaulted that way, so a pod read from any server is accounted the same."""
    resources = container.get("resources") or {}
    return {**(resources.get("limits") or {}), **(resources.get("requests") or {})}


def _pod_requests(spec: Mapping[str, Any]) -> tuple[Resources, int, int]:
    total, non_zero_cpu, non_zero_memory = Resources(), 0, 0
    for container in spec.get("containers") or ():
        requests = _effective_requests(container)
        parsed = Resources.from_map(requests)
        total.add(parsed)
        non_zero_cpu += parsed.milli_cpu if "cpu" in requests else DEFAULT_MILLI_CPU_REQUEST
        non_zero_memory += parsed.memory if "memory" in requests else DEFAULT_MEMORY_REQUEST
    sidecars, init_floor = Resources(), Resources()
    sidecar_cpu = sidecar_memory = 0
    init_cpu = init_memory = 0
    for container in spec.get("initContainers") or ():
        requests = _effective_requests(container)
        parsed = Resources.from_map(requests)
        cpu = parsed.milli_cpu if "cpu" in requests else DEFAULT_MILLI_CPU_REQUEST
        memory = parsed.memory if "memory" in requests else DEFAULT_MEMORY_REQUEST
        if container.get("restartPolicy") == "Always":  # a sidecar runs alongside the pod
            total.add(parsed)
            sidecars.add(parsed)
            non_zero_cpu += cpu
            non_zero_memory += memory
            sidecar_cpu += cpu
            sidecar_memory += memory
            init_floor.raise_to(sidecars)
            init_cpu, init_memory = max(init_cpu, sidecar_cpu), max(init_memory, sidecar_memory)
        else:
            during = parsed.copy()
            during.add(sidecars)
            init_floor.raise_to(during)
            init_cpu = max(init_cpu, cpu + sidecar_cpu)
            init_memory = max(init_memory, memory + sidecar_memory)
    total.raise_to(init_floor)
    non_zero_cpu, non_zero_memory = max(non_zero_cpu, init_cpu), max(non_zero_memory, init_memory)
    overhead = Resources.from_map(spec.get("overhead"))
    total.add(overhead)
    return total, non_zero_cpu + overhead.milli_cpu, non_zero_memory + overhead.memory


def _host_ports(spec: Mapping[str, Any]) -> tuple[HostPort, ...]:
    ports = []
    for container in spec.get("containers") or ():
        for port in container.get("ports") or ():
            host_port = int(port.get("hostPort") or 0)
            if host_port > 0:
                ports.append(HostPort(str(port.get("protocol") or "TCP"),
                                      str(port.get("hostIP") or "0.0.0.0"), host_port))
    return tuple(ports)


def _tolerations(spec: Mapping[str, Any]) -> tuple[Toleration, ...]:
    return tuple(
        Toleration(str(t.get("key") or ""), str(t.get("operator") or "Equal"),
                   str(t.get("value") or ""), str(t.get("effect") or ""))
        for t in spec.get("tolerations") or ())


def pod_info(raw: dict[str, Any]) -> PodInfo:
    meta, spec = raw.get("metadata") or {}, raw.get("spec") or {}
    namespace = str(meta.get("namespace") or "default")
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    affinity = spec.get("affinity") or {}
    node_affinity = affinity.get("nodeAffinity") or {}
    required_nodes = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    pod_aff = affinity.get("podAffinity") or {}
    anti = affinity.get("podAntiAffinity") or {}

    def preferred(block: Mapping[str, Any]) -> tuple[AffinityTerm, ...]:
        return tuple(_affinity_term(w.get("podAffinityTerm") or {}, namespace, int(w.get("weight", 0)))
                     for w in block.get("preferredDuringSchedulingIgnoredDuringExecution") or ())

    requests, non_zero_cpu, non_zero_memory = _pod_requests(spec)
    status = raw.get("status") or {}
    containers = [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
    return PodInfo(
        raw=raw, namespace=namespace, name=str(meta.get("name", "")), uid=str(meta.get("uid", "")),
        labels=labels, node_name=str(spec.get("nodeName") or ""),
        scheduler_name=str(spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME),
        priority=int(spec.get("priority") or 0),
        created=parse_rfc3339(meta["creationTimestamp"]) if meta.get("creationTimestamp") else 0.0,
        terminating=bool(meta.get("deletionTimestamp")),
        finished=status.get("phase") in ("Succeeded", "Failed"),
        requests=requests, non_zero_cpu=non_zero_cpu, non_zero_memory=non_zero_memory,
        host_ports=_host_ports(spec), tolerations=_tolerations(spec),
        node_selector={str(k): str(v) for k, v in (spec.get("nodeSelector") or {}).items()},
        required_node_affinity=node_selector(required_nodes) if required_nodes is not None else None,
        preferred_node_affinity=tuple(
            (int(p.get("weight", 0)), node_selector({"nodeSelectorTerms": [p.get("preference") or {}]}))
            for p in node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or ()),
        required_affinity=tuple(_affinity_term(t, namespace) for t in
                                pod_aff.get("requiredDuringSchedulingIgnoredDuringExecution") or ()),
        required_anti_affinity=tuple(_affinity_term(t, namespace) for t in
                                     anti.get("requiredDuringSchedulingIgnoredDuringExecution") or ()),
        preferred_affinity=preferred(pod_aff),
        preferred_anti_affinity=preferred(anti),
        spread_constraints=tuple(_spread_constraint(c, labels)
                                 for c in spec.get("topologySpreadConstraints") or ()),
        claim_names=tuple(str(v["persistentVolumeClaim"].get("claimName", ""))
                          for v in spec.get("volumes") or () if v.get("persistentVolumeClaim")),
        images=tuple(normalized_image_name(str(c.get("image", ""))) for c in containers),
        controller=next(((str(o.get("kind", "")), str(o.get("name", "")))
                         for o in meta.get("ownerReferences") or () if o.get("controller")), None),
    )


@dataclass(eq=False, slots=True)
class NodeView:
    raw: dict[str, Any]
    name: str
    labels: dict[str, str]
    unschedulable: bool
    taints: tuple[Taint, ...]
    allocatable: Resources
    allowed_pods: int
    ready: bool  # a Ready condition that is not "True" makes this False; no conditions: True
    images: dict[str, int]  # normalized image name -> size in bytes


def node_view(raw: dict[str, Any]) -> NodeView:
    meta, spec, status = raw.get("metadata") or {}, raw.get("spec") or {}, raw.get("status") or {}
    allocatable_map = status.get("allocatable") or status.get("capacity") or {}
    ready = all(c.get("status") == "True" for c in status.get("conditions") or ()
                if c.get("type") == "Ready")
    images: dict[str, int] = {}
    for image in status.get("images") or ():
        for image_name in image.get("names") or ():
            images[normalized_image_name(str(image_name))] = int(image.get("sizeBytes") or 0)
    return NodeView(
        raw=raw, name=str(meta.get("name", "")),
        labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        unschedulable=bool(spec.get("unschedulable")),
        taints=tuple(Taint(str(t.get("key", "")), str(t.get("value") or ""), str(t.get("effect", "")))
                     for t in spec.get("taints") or ()),
        allocatable=Resources.from_map(allocatable_map),
        allowed_pods=lenient(allocatable_map.get("pods"), milli=False),
        ready=ready,
        images=images,
    )
