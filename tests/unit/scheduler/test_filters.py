"""Filters, table-driven: a pod, the cluster, the node asked about, and upstream's verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from scheduler_objects import cluster, pod_dict, zoned_node

from kubeadmpy.scheduler.algorithm import default_filters
from kubeadmpy.scheduler.framework import SKIP, Code, Status
from kubeadmpy.scheduler.model import pod_info
from kubeadmpy.scheduler.simulated import simulated_node
from kubeadmpy.scheduler.volumes import plan_volumes, release_volumes

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


@dataclass
class Case:
    id: str
    pod: dict[str, Any]
    nodes: list[dict[str, Any]]
    node: str
    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    existing: list[dict[str, Any]] = field(default_factory=list)
    objects: dict[str, Any] = field(default_factory=dict)


def required_node_affinity(*expressions: dict[str, Any], fields: list[Any] | None = None
                           ) -> dict[str, Any]:
    term: dict[str, Any] = {"matchExpressions": list(expressions)}
    if fields:
        term["matchFields"] = fields
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term]}}}}


def pod_affinity(kind: str, selector: dict[str, str], key: str = HOST,
                 **term: Any) -> dict[str, Any]:
    return {"affinity": {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": selector}, "topologyKey": key, **term}]}}}


def spread(max_skew: int, key: str, **extra: Any) -> dict[str, Any]:
    return {"topologySpreadConstraints": [{
        "maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}}, **extra}]}


def ports(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"containers": [{"name": "c", "image": "x", "ports": list(entries)}]}


def claim_volume(name: str) -> dict[str, Any]:
    return {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}]}


def pv(name: str, node: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"phase": spec.pop("phase", "Bound")},
            "spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOST, "operator": "In", "values": [node]}]}]}}, **spec}}


N1, N2 = simulated_node("n1"), simulated_node("n2")
WEB = {"app": "web"}

CASES = [
    # --- node condition and unschedulable ---
    Case("a ready node passes", pod_dict(), [N1], "n1"),
    Case("a not-ready node is refused", pod_dict(), [simulated_node("n1", ready=False)], "n1",
         Code.UNRESOLVABLE, ("node(s) were not ready",)),
    Case("a cordoned node is refused", pod_dict(), [simulated_node("n1", unschedulable=True)],
         "n1", Code.UNRESOLVABLE, ("node(s) were unschedulable",)),
    Case("a cordoned node takes a pod tolerating the unschedulable taint",
         pod_dict(spec={"tolerations": [{"key": "node.kubernetes.io/unschedulable",
                                         "operator": "Exists", "effect": "NoSchedule"}]}),
         [simulated_node("n1", unschedulable=True)], "n1"),
    # --- node selector and node affinity ---
    Case("nodeSelector matches the labels", pod_dict(spec={"nodeSelector": {"disk": "ssd"}}),
         [simulated_node("n1", labels={"disk": "ssd"})], "n1"),
    Case("nodeSelector mismatch", pod_dict(spec={"nodeSelector": {"disk": "ssd"}}), [N1], "n1",
         Code.UNRESOLVABLE, ("node(s) didn't match Pod's node affinity/selector",)),
    Case("affinity In matches", pod_dict(spec=required_node_affinity(
        {"key": "disk", "operator": "In", "values": ["ssd", "nvme"]})),
        [simulated_node("n1", labels={"disk": "nvme"})], "n1"),
    Case("affinity NotIn with the label absent matches", pod_dict(spec=required_node_affinity(
        {"key": "disk", "operator": "NotIn", "values": ["hdd"]})), [N1], "n1"),
    Case("affinity DoesNotExist refuses a labelled node", pod_dict(spec=required_node_affinity(
        {"key": "disk", "operator": "DoesNotExist"})),
        [simulated_node("n1", labels={"disk": "x"})], "n1",
        Code.UNRESOLVABLE, ("node(s) didn't match Pod's node affinity/selector",)),
    Case("affinity Exists", pod_dict(spec=required_node_affinity(
        {"key": "kubernetes.io/os", "operator": "Exists"})), [N1], "n1"),
    Case("affinity Gt compares integers", pod_dict(spec=required_node_affinity(
        {"key": "cores", "operator": "Gt", "values": ["8"]})),
        [simulated_node("n1", labels={"cores": "16"})], "n1"),
    Case("affinity Lt refuses a larger value", pod_dict(spec=required_node_affinity(
        {"key": "cores", "operator": "Lt", "values": ["8"]})),
        [simulated_node("n1", labels={"cores": "16"})], "n1",
        Code.UNRESOLVABLE, ("node(s) didn't match Pod's node affinity/selector",)),
    Case("matchFields metadata.name selects the node by name", pod_dict(spec=required_node_affinity(
        fields=[{"key": "metadata.name", "operator": "In", "values": ["n2"]}])), [N1, N2], "n2"),
    Case("matchFields metadata.name refuses other nodes", pod_dict(spec=required_node_affinity(
        fields=[{"key": "metadata.name", "operator": "In", "values": ["n2"]}])), [N1, N2], "n1",
        Code.UNRESOLVABLE, ("node(s) didn't match Pod's node affinity/selector",)),
    # --- taints ---
    Case("an untolerated NoSchedule taint is named with its key and value", pod_dict(),
         [simulated_node("n1", taints=[CP_TAINT])], "n1", Code.UNRESOLVABLE,
         ("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",)),
    Case("a NoExecute taint with a value", pod_dict(),
         [simulated_node("n1", taints=[{"key": "k", "value": "v", "effect": "NoExecute"}])], "n1",
         Code.UNRESOLVABLE, ("node(s) had untolerated taint {k: v}",)),
    Case("PreferNoSchedule does not filter", pod_dict(),
         [simulated_node("n1", taints=[{"key": "k", "effect": "PreferNoSchedule"}])], "n1"),
    Case("Equal toleration with the right value",
         pod_dict(spec={"tolerations": [{"key": "k", "operator": "Equal", "value": "v"}]}),
         [simulated_node("n1", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}])], "n1"),
    Case("Equal toleration with another value does not tolerate",
         pod_dict(spec={"tolerations": [{"key": "k", "value": "w"}]}),
         [simulated_node("n1", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}])], "n1",
         Code.UNRESOLVABLE, ("node(s) had untolerated taint {k: v}",)),
    Case("an empty key with Exists tolerates every taint",
         pod_dict(spec={"tolerations": [{"operator": "Exists"}]}),
         [simulated_node("n1", taints=[CP_TAINT, {"key": "a", "effect": "NoExecute"}])], "n1"),
    Case("a toleration for another effect does not tolerate",
         pod_dict(spec={"tolerations": [{"key": "k", "operator": "Exists",
                                         "effect": "NoExecute"}]}),
         [simulated_node("n1", taints=[{"key": "k", "effect": "NoSchedule"}])], "n1",
         Code.UNRESOLVABLE, ("node(s) had untolerated taint {k: }",)),
    # --- resources ---
    Case("requests that fit", pod_dict(cpu="1", memory="1Gi"),
         [simulated_node("n1", cpu="2", memory="2Gi")], "n1",
         existing=[pod_dict("x", cpu="1", memory="1Gi", node="n1")]),
    Case("cpu and memory both short give two reasons", pod_dict(cpu="1", memory="2Gi"),
         [simulated_node("n1", cpu="2", memory="2Gi")], "n1", Code.UNSCHEDULABLE,
         ("Insufficient cpu", "Insufficient memory"),
         existing=[pod_dict("x", cpu="1500m", memory="1Gi", node="n1")]),
    Case("the pod count is a resource", pod_dict(), [simulated_node("n1", pods=1)], "n1",
         Code.UNSCHEDULABLE, ("Too many pods",), existing=[pod_dict("x", node="n1")]),
    Case("an extended resource the node lacks",
         pod_dict(spec={"containers": [{"name": "c", "image": "x", "resources": {
             "requests": {"example.com/gpu": "1"}}}]}), [N1], "n1",
         Code.UNSCHEDULABLE, ("Insufficient example.com/gpu",)),
    Case("ephemeral storage", pod_dict(spec={"containers": [{"name": "c", "image": "x",
         "resources": {"requests": {"ephemeral-storage": "200Gi"}}}]}), [N1], "n1",
         Code.UNSCHEDULABLE, ("Insufficient ephemeral-storage",)),
    # --- host ports ---
    Case("the same host port and protocol conflict", pod_dict(spec=ports(
        {"containerPort": 80, "hostPort": 8080})), [N1], "n1", Code.UNSCHEDULABLE,
        ("node(s) didn't have free ports for the requested pod ports",),
        existing=[pod_dict("x", node="n1", spec=ports({"containerPort": 1, "hostPort": 8080}))]),
    Case("another protocol does not conflict", pod_dict(spec=ports(
        {"containerPort": 80, "hostPort": 8080, "protocol": "UDP"})), [N1], "n1",
        existing=[pod_dict("x", node="n1", spec=ports({"containerPort": 1, "hostPort": 8080}))]),
    Case("two specific host IPs do not conflict", pod_dict(spec=ports(
        {"containerPort": 80, "hostPort": 53, "hostIP": "10.0.0.2"})), [N1], "n1",
        existing=[pod_dict("x", node="n1", spec=ports(
            {"containerPort": 1, "hostPort": 53, "hostIP": "10.0.0.1"}))]),
    Case("a specific host IP conflicts with a wildcard one", pod_dict(spec=ports(
        {"containerPort": 80, "hostPort": 53, "hostIP": "10.0.0.2"})), [N1], "n1",
        Code.UNSCHEDULABLE, ("node(s) didn't have free ports for the requested pod ports",),
        existing=[pod_dict("x", node="n1", spec=ports({"containerPort": 1, "hostPort": 53}))]),
    # --- inter-pod affinity ---
    Case("affinity to a pod in the same zone", pod_dict(spec=pod_affinity(
        "podAffinity", {"app": "db"}, ZONE)),
        [zoned_node("n1", "a"), zoned_node("n2", "a")], "n2",
        existing=[pod_dict("db", labels={"app": "db"}, node="n1")]),
    Case("affinity to a pod in another zone fails", pod_dict(spec=pod_affinity(
        "podAffinity", {"app": "db"}, ZONE)),
        [zoned_node("n1", "a"), zoned_node("n2", "b")], "n2", Code.UNRESOLVABLE,
        ("node(s) didn't match pod affinity rules",),
        existing=[pod_dict("db", labels={"app": "db"}, node="n1")]),
    Case("the first pod of a self-affine group may go anywhere",
         pod_dict(labels=WEB, spec=pod_affinity("podAffinity", WEB, ZONE)),
         [zoned_node("n1", "a")], "n1"),
    Case("affinity counts only the term's namespaces", pod_dict(spec=pod_affinity(
        "podAffinity", {"app": "db"}, ZONE)), [zoned_node("n1", "a")], "n1", Code.UNRESOLVABLE,
        ("node(s) didn't match pod affinity rules",),
        existing=[pod_dict("db", namespace="other", labels={"app": "db"}, node="n1")]),
    Case("a namespaceSelector widens the term", pod_dict(spec=pod_affinity(
        "podAffinity", {"app": "db"}, ZONE, namespaceSelector={"matchLabels": {"team": "x"}})),
        [zoned_node("n1", "a")], "n1",
        existing=[pod_dict("db", namespace="other", labels={"app": "db"}, node="n1")],
        objects={"namespaces": {"other": {"team": "x"}}}),
    Case("anti-affinity keeps replicas off a host", pod_dict(
        labels=WEB, spec=pod_affinity("podAntiAffinity", WEB)), [N1], "n1", Code.UNSCHEDULABLE,
        ("node(s) didn't match pod anti-affinity rules",),
        existing=[pod_dict("web-0", labels=WEB, node="n1")]),
    Case("anti-affinity allows another host", pod_dict(
        labels=WEB, spec=pod_affinity("podAntiAffinity", WEB)), [N1, N2], "n2",
        existing=[pod_dict("web-0", labels=WEB, node="n1")]),
    Case("an existing pod's anti-affinity is symmetric", pod_dict(labels=WEB), [N1], "n1",
         Code.UNSCHEDULABLE, ("node(s) didn't satisfy existing pods anti-affinity rules",),
         existing=[pod_dict("lonely", node="n1", spec=pod_affinity("podAntiAffinity", WEB))]),
    # --- topology spread ---
    Case("skew within maxSkew", pod_dict(labels=WEB, spec=spread(1, ZONE)),
         [zoned_node("n1", "a"), zoned_node("n2", "b")], "n2",
         existing=[pod_dict("w0", labels=WEB, node="n1")]),
    Case("skew above maxSkew", pod_dict(labels=WEB, spec=spread(1, ZONE)),
         [zoned_node("n1", "a"), zoned_node("n2", "b")], "n1", Code.UNSCHEDULABLE,
         ("node(s) didn't match pod topology spread constraints",),
         existing=[pod_dict("w0", labels=WEB, node="n1")]),
    Case("a node without the topology key", pod_dict(labels=WEB, spec=spread(1, ZONE)),
         [zoned_node("n1", "a"), N2], "n2", Code.UNRESOLVABLE,
         ("node(s) didn't match pod topology spread constraints (missing required label)",)),
    Case("minDomains above the domain count makes the minimum zero",
         pod_dict(labels=WEB, spec=spread(1, ZONE, minDomains=3)),
         [zoned_node("n1", "a"), zoned_node("n2", "b")], "n1", Code.UNSCHEDULABLE,
         ("node(s) didn't match pod topology spread constraints",),
         existing=[pod_dict("w0", labels=WEB, node="n1"), pod_dict("w1", labels=WEB, node="n2")]),
    Case("nodeAffinityPolicy Honor leaves unselectable domains out of the minimum",
         pod_dict(labels=WEB, spec={**spread(1, ZONE), "nodeSelector": {"pool": "x"}}),
         [zoned_node("n1", "a", labels={"pool": "x"}), zoned_node("n2", "b")], "n1",
         existing=[pod_dict("w0", labels=WEB, node="n1")]),
    Case("nodeTaintsPolicy Honor leaves tainted domains out of the minimum",
         pod_dict(labels=WEB, spec=spread(1, ZONE, nodeTaintsPolicy="Honor")),
         [zoned_node("n1", "a"), zoned_node("n2", "b", taints=[CP_TAINT])], "n1",
         existing=[pod_dict("w0", labels=WEB, node="n1")]),
    # --- volumes ---
    Case("a bound PV's node affinity is honoured", pod_dict(spec=claim_volume("data")),
         [N1, N2], "n2", Code.UNRESOLVABLE, ("node(s) had volume node affinity conflict",),
         objects={"claims": {"default/data": {"spec": {"volumeName": "pv1"}}},
                  "volumes": {"pv1": pv("pv1", "n1")}}),
    Case("a bound PV's node accepts the pod", pod_dict(spec=claim_volume("data")), [N1], "n1",
         objects={"claims": {"default/data": {"spec": {"volumeName": "pv1"}}},
                  "volumes": {"pv1": pv("pv1", "n1")}}),
    Case("a local PV waiting for its first consumer must be reachable",
         pod_dict(spec=claim_volume("data")), [N1, N2], "n2", Code.UNSCHEDULABLE,
         ("node(s) didn't find available persistent volumes to bind",),
         objects={"claims": {"default/data": {"spec": {"storageClassName": "local"}}},
                  "volumes": {"pv1": pv("pv1", "n1", phase="Available", storageClassName="local")},
                  "classes": {"local": {"provisioner": "kubernetes.io/no-provisioner",
                                        "volumeBindingMode": "WaitForFirstConsumer"}}}),
]


def verdict(case: Case) -> Status | None:
    snapshot = cluster(*case.nodes, pods=tuple(case.existing))
    snapshot.namespace_labels.update(case.objects.get("namespaces", {}))
    snapshot.claims.update(case.objects.get("claims", {}))
    snapshot.volumes.update(case.objects.get("volumes", {}))
    snapshot.storage_classes.update(case.objects.get("classes", {}))
    pod = pod_info(case.pod)
    for plugin in default_filters():
        state = plugin.pre_filter(pod, snapshot)
        if isinstance(state, Status):
            return state
        if state is SKIP:
            continue
        status = plugin.filter(state, pod, snapshot.nodes[case.node])
        if status is not None:
            return status
    return None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_filter(case: Case) -> None:
    status = verdict(case)
    if case.code == Code.SUCCESS:
        assert status is None
    else:
        assert status is not None
        assert (status.code, status.reasons) == (case.code, case.reasons)


@pytest.mark.parametrize(("claims", "classes", "reason"), [
    ({}, {}, 'persistentvolumeclaim "data" not found'),
    ({"default/data": {"spec": {"storageClassName": "fast"}}},
     {"fast": {"provisioner": "x", "volumeBindingMode": "Immediate"}},
     "pod has unbound immediate PersistentVolumeClaims"),
], ids=["a missing claim", "an unbound immediate claim"])
def test_claims_that_block_every_node_fail_before_any_node(
        claims: dict[str, Any], classes: dict[str, Any], reason: str) -> None:
    case = Case("", pod_dict(spec=claim_volume("data")), [N1], "n1",
                objects={"claims": claims, "classes": classes})
    status = verdict(case)
    assert status is not None and status.reasons == (reason,)
    assert status.code == Code.UNRESOLVABLE


def test_a_static_volume_chosen_for_one_pod_is_not_offered_to_the_next() -> None:
    snapshot = cluster(N1)
    snapshot.storage_classes["local"] = {"provisioner": "kubernetes.io/no-provisioner",
                                         "volumeBindingMode": "WaitForFirstConsumer"}
    snapshot.volumes["pv1"] = {**pv("pv1", "n1", phase="Available", storageClassName="local"),
                               "metadata": {"name": "pv1", "resourceVersion": "7"}}
    for claim in ("a", "b"):
        snapshot.claims[f"default/{claim}"] = {"spec": {"storageClassName": "local"}}
    first = plan_volumes(pod_info(pod_dict("one", spec=claim_volume("a"))), snapshot,
                         snapshot.nodes["n1"])
    assert [(claim, volume["metadata"]["name"]) for claim, volume in first.static] == [("a", "pv1")]
    second = pod_info(pod_dict("two", spec=claim_volume("b")))
    assert plan_volumes(second, snapshot, snapshot.nodes["n1"]).empty
    release_volumes(first, snapshot)  # the first pod's binding failed
    assert not plan_volumes(second, snapshot, snapshot.nodes["n1"]).empty
