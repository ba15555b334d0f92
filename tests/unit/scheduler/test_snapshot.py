"""The cluster snapshot: parsed quantities, upstream's request arithmetic, incremental sums."""

from __future__ import annotations

from typing import Any

import pytest
from scheduler_objects import cluster, pod, pod_dict

from kubeadmpy.scheduler.model import node_view, pod_info
from kubeadmpy.scheduler.quantities import QuantityError, milli_value, whole_value
from kubeadmpy.scheduler.simulated import simulated_node

MI = 1024 * 1024


@pytest.mark.parametrize(("text", "milli", "whole"), [
    ("100m", 100, 1),
    ("0.1", 100, 1),
    ("2", 2000, 2),
    ("1.5", 1500, 2),
    ("1Ki", 1024000, 1024),
    ("512Mi", 512 * MI * 1000, 512 * MI),
    ("1G", 10**12, 10**9),
    ("2e3", 2_000_000, 2000),
    ("1u", 1, 1),
], ids=lambda v: str(v))
def test_quantities_read_as_millis_and_whole_units_rounded_up(text: str, milli: int, whole: int) -> None:
    assert milli_value(text) == milli
    assert whole_value(text) == whole


def test_a_malformed_quantity_names_the_field_and_the_fix() -> None:
    with pytest.raises(QuantityError, match=r"spec.cpu: '12 cores' is not a quantity.*100m"):
        milli_value("12 cores", "spec.cpu")


def container(name: str, cpu: str | None = None, memory: str | None = None,
              **extra: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    return {"name": name, "image": "x", "resources": {"requests": requests}, **extra}


REQUEST_CASES = [
    pytest.param({"containers": [container("a", "100m", "64Mi"), container("b", "200m", "64Mi")]},
                 300, 128 * MI, 300, 128 * MI, id="containers are summed"),
    pytest.param({"containers": [container("a", "100m")],
                  "initContainers": [container("init", "500m", "10Mi")]},
                 500, 10 * MI, 500, 200 * MI, id="an init container sets a floor"),
    pytest.param({"containers": [container("a", "100m", "10Mi")],
                  "initContainers": [container("side", "50m", "5Mi", restartPolicy="Always"),
                                     container("init", "100m", "1Mi")]},
                 150, 15 * MI, 150, 15 * MI, id="a sidecar adds to the pod and to later init containers"),
    pytest.param({"containers": [container("a", "100m", "10Mi")],
                  "overhead": {"cpu": "250m", "memory": "120Mi"}},
                 350, 130 * MI, 350, 130 * MI, id="pod overhead is added on top"),
    pytest.param({"containers": [container("a")]}, 0, 0, 100, 200 * MI,
                 id="no requests count as 100m and 200Mi for spreading only"),
]


@pytest.mark.parametrize(("spec", "cpu", "memory", "nz_cpu", "nz_memory"), REQUEST_CASES)
def test_pod_requests_are_computed_as_upstream(spec: dict[str, Any], cpu: int, memory: int,
                                               nz_cpu: int, nz_memory: int) -> None:
    info = pod_info({"metadata": {"name": "p"}, "spec": spec})
    assert (info.requests.milli_cpu, info.requests.memory) == (cpu, memory)
    assert (info.non_zero_cpu, info.non_zero_memory) == (nz_cpu, nz_memory)


def test_extended_resources_and_node_allocatable_are_parsed() -> None:
    view = node_view(simulated_node("n", cpu="3500m", memory="8Gi", pods=30,
                                    extra={"example.com/gpu": "2"}))
    assert view.allocatable.milli_cpu == 3500
    assert view.allocatable.memory == 8 * 1024 * MI
    assert view.allocatable.scalar == {"example.com/gpu": 2}
    assert view.allowed_pods == 30
    assert view.ready


def test_node_sums_follow_pod_add_update_and_delete() -> None:
    snapshot = cluster(simulated_node("n1"))
    snapshot.set_pod(pod_dict("a", cpu="100m", node="n1"))
    snapshot.set_pod(pod_dict("b", cpu="300m", node="n1"))
    assert snapshot.nodes["n1"].requested.milli_cpu == 400
    snapshot.set_pod(pod_dict("a", cpu="1", node="n1"))  # an update replaces the old request
    assert snapshot.nodes["n1"].requested.milli_cpu == 1300
    snapshot.remove_pod("default/b")
    assert snapshot.nodes["n1"].requested.milli_cpu == 1000
    assert list(snapshot.nodes["n1"].pods) == ["default/a"]


def test_finished_pods_free_their_node() -> None:
    snapshot = cluster(simulated_node("n1"))
    done = pod_dict("a", cpu="1", node="n1")
    snapshot.set_pod(done)
    done["status"] = {"phase": "Succeeded"}
    snapshot.set_pod(done)
    assert snapshot.nodes["n1"].requested.milli_cpu == 0


def test_pods_seen_before_their_node_count_once_the_node_arrives() -> None:
    snapshot = cluster(pods=(pod_dict("a", cpu="250m", node="late"),))
    snapshot.set_node(simulated_node("late"))
    assert snapshot.nodes["late"].requested.milli_cpu == 250


def test_deleting_a_node_keeps_the_rotation_order_consistent() -> None:
    snapshot = cluster(*(simulated_node(f"n{i}") for i in range(4)))
    snapshot.delete_node("n1")
    assert sorted(snapshot.node_order) == ["n0", "n2", "n3"]
    assert set(snapshot.node_order) == set(snapshot.nodes)


def test_an_assumed_pod_counts_until_forgotten_and_confirmation_replaces_it() -> None:
    snapshot = cluster(simulated_node("n1"))
    pending = pod("a", cpu="500m")
    snapshot.assume(pending, "n1")
    assert snapshot.nodes["n1"].requested.milli_cpu == 500
    snapshot.forget("default/a")
    assert snapshot.nodes["n1"].requested.milli_cpu == 0
    snapshot.assume(pending, "n1")
    snapshot.set_pod(pod_dict("a", cpu="500m", node="n1"))  # the watch confirms the binding
    snapshot.forget("default/a")  # a late failure report must not undo a confirmed pod
    assert snapshot.nodes["n1"].requested.milli_cpu == 500


def test_host_ports_and_affinity_indexes_are_maintained() -> None:
    snapshot = cluster(simulated_node("n1"))
    spec = {"containers": [{"name": "c", "image": "x",
                            "ports": [{"containerPort": 80, "hostPort": 8080}]}],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "db"}},
                 "topologyKey": "kubernetes.io/hostname"}]}}}
    snapshot.set_pod(pod_dict("a", node="n1", spec=spec))
    info = snapshot.nodes["n1"]
    assert info.used_ports == {("TCP", 8080): {"0.0.0.0"}}
    assert list(info.pods_with_required_anti_affinity) == ["default/a"]
    snapshot.remove_pod("default/a")
    assert not info.used_ports and not info.pods_with_required_anti_affinity


def test_a_limit_stands_in_for_a_missing_request_as_the_api_server_defaults_it() -> None:
    spec = {"containers": [{"name": "a", "image": "x", "resources": {
        "limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"memory": "256Mi"}}}]}
    info = pod_info({"metadata": {"name": "p"}, "spec": spec})
    assert (info.requests.milli_cpu, info.requests.memory) == (500, 256 * MI)


def test_nodes_running_affinity_pods_are_indexed_and_unindexed() -> None:
    snapshot = cluster(simulated_node("n1"), simulated_node("n2"))
    spec = {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}}
    snapshot.set_pod(pod_dict("a", node="n2", spec=spec))
    assert snapshot.nodes_with_required_anti_affinity == {"n2"} == snapshot.nodes_with_affinity
    snapshot.remove_pod("default/a")
    assert not snapshot.nodes_with_required_anti_affinity and not snapshot.nodes_with_affinity


def test_label_and_namespace_indexes_follow_node_and_pod_changes() -> None:
    snapshot = cluster(simulated_node("n1", labels={"zone": "a"}),
                       simulated_node("n2", labels={"zone": "b"}),
                       pods=(pod_dict("x", namespace="team", node="n1"),))
    assert snapshot.label_values["zone"] == {"a": 1, "b": 1}
    assert [n.name for n in snapshot.nodes_in_namespace("team")] == ["n1"]
    snapshot.set_node(simulated_node("n2", labels={"zone": "a"}))  # relabelled
    assert (snapshot.label_values["zone"], snapshot.label_nodes["zone"]) == ({"a": 2}, 2)
    snapshot.delete_node("n1")
    assert snapshot.label_values["zone"] == {"a": 1}
    assert snapshot.nodes_in_namespace("team") == []
    snapshot.set_node(simulated_node("n1", labels={"zone": "c"}))  # back, with its pod
    assert [n.name for n in snapshot.nodes_in_namespace("team")] == ["n1"]
    snapshot.remove_pod("team/x")
    assert snapshot.nodes_in_namespace("team") == []
