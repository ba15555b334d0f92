"""Which pods back a Service and how v1 Endpoints and EndpointSlices describe them."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.controllers.cluster import backends, endpoints
from kubeadmpy.controllers.cluster.endpoints import build_subsets
from kubeadmpy.controllers.cluster.endpointslice import MAX_ENDPOINTS_PER_SLICE, desired_slices


def pod(name: str, ip: str = "10.0.0.1", ready: bool = True, *, terminating: bool = False,
        phase: str = "Running", ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                            "labels": {"app": "web"}}
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta,
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": ports or [
                {"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": phase, "podIP": ip, "podIPs": [{"ip": ip}] if ip else [],
                       "conditions": [{"type": "Ready",
                                       "status": "True" if ready else "False"}]}}


SERVICE = {"metadata": {"name": "web", "namespace": "ns", "labels": {"a": "b"}},
           "spec": {"selector": {"app": "web"},
                    "ports": [{"name": "web", "port": 80, "targetPort": "http"}]}}


@pytest.mark.parametrize(("service_port", "expected"), [
    ({"port": 80}, 80),
    ({"port": 80, "targetPort": 9000}, 9000),
    ({"port": 80, "targetPort": "http"}, 8080),
    ({"port": 80, "targetPort": "missing"}, None),
    ({"port": 80, "targetPort": "http", "protocol": "UDP"}, None),
], ids=["no target: the service port", "a number", "a name found in the pod",
        "a name the pod lacks", "a name with another protocol"])
def test_target_port_resolution(service_port: dict[str, Any], expected: int | None) -> None:
    assert backends.resolve_target_port(service_port, pod("p")) == expected


def test_services_without_a_selector_or_of_type_external_name_are_not_managed() -> None:
    assert backends.selector_of({"spec": {"ports": []}}) is None
    assert backends.selector_of({"spec": {"type": "ExternalName", "selector": {"a": "b"}}}) \
        is None


def test_endpoints_split_ready_and_not_ready_and_skip_terminating_and_finished_pods() -> None:
    pods = [pod("b", "10.0.0.2"), pod("a", "10.0.0.1"), pod("w", "10.0.0.3", ready=False),
            pod("t", "10.0.0.4", terminating=True), pod("f", "10.0.0.5", phase="Succeeded"),
            pod("noip", "")]
    (subset,) = build_subsets(SERVICE, pods)
    assert [a["ip"] for a in subset["addresses"]] == ["10.0.0.1", "10.0.0.2"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.0.0.3"]
    assert subset["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    assert subset["addresses"][0]["targetRef"] == {"kind": "Pod", "namespace": "ns",
                                                   "name": "a", "uid": "uid-a"}


def test_pods_serving_different_ports_get_their_own_subsets() -> None:
    other = pod("o", "10.0.0.9", ports=[{"name": "http", "containerPort": 9090}])
    subsets = build_subsets(SERVICE, [pod("a"), other])
    assert sorted(s["ports"][0]["port"] for s in subsets) == [8080, 9090]


def test_publish_not_ready_addresses_lists_every_pod_as_ready() -> None:
    service = {**SERVICE, "spec": {**SERVICE["spec"], "publishNotReadyAddresses": True}}
    (subset,) = build_subsets(service, [pod("w", ready=False)])
    assert "notReadyAddresses" not in subset and len(subset["addresses"]) == 1


def test_slices_carry_ready_serving_terminating_conditions() -> None:
    ((key, endpoints),) = desired_slices(SERVICE, [
        pod("a", "10.0.0.1"), pod("t", "10.0.0.2", terminating=True),
        pod("w", "10.0.0.3", ready=False)])
    assert key[0] == "IPv4"
    conditions = {e["addresses"][0]: e["conditions"] for e in endpoints}
    assert conditions == {
        "10.0.0.1": {"ready": True, "serving": True, "terminating": False},
        "10.0.0.2": {"ready": False, "serving": True, "terminating": True},
        "10.0.0.3": {"ready": False, "serving": False, "terminating": False}}


def test_a_service_without_backends_keeps_one_empty_slice() -> None:
    assert desired_slices(SERVICE, []) == [(("IPv4", ()), [])]


def test_slices_hold_at_most_100_endpoints_and_ipv6_goes_apart() -> None:
    pods = [pod(f"p{i}", f"10.0.{i // 250}.{i % 250}") for i in range(150)]
    pods.append(pod("v6", "fd00::1"))
    slices = desired_slices(SERVICE, pods)
    assert [(key[0], len(eps)) for key, eps in slices] == [
        ("IPv4", MAX_ENDPOINTS_PER_SLICE), ("IPv4", 50), ("IPv6", 1)]


def test_headless_services_are_labelled() -> None:
    headless = {**SERVICE, "spec": {**SERVICE["spec"], "clusterIP": "None"}}
    assert backends.managed_labels(headless) == {"a": "b",
                                                 "service.kubernetes.io/headless": ""}


def dual_stack_pod() -> dict[str, Any]:
    dual = pod("d", "10.0.0.7")
    dual["status"]["podIPs"] = [{"ip": "10.0.0.7"}, {"ip": "fd00::7"}]
    return dual


@pytest.mark.parametrize(("families", "slice_types", "endpoints_ip"), [
    (["IPv4"], ["IPv4"], "10.0.0.7"),
    (["IPv6"], ["IPv6"], "fd00::7"),
    (["IPv6", "IPv4"], ["IPv4", "IPv6"], "fd00::7"),
], ids=["IPv4 service", "IPv6 service", "dual stack, IPv6 primary"])
def test_a_dual_stack_pod_is_published_in_the_services_families(
        families: list[str], slice_types: list[str], endpoints_ip: str) -> None:
    service = {**SERVICE, "spec": {**SERVICE["spec"], "ipFamilies": families}}
    assert [key[0] for key, _ in desired_slices(service, [dual_stack_pod()])] == slice_types
    (subset,) = build_subsets(service, [dual_stack_pod()])
    assert [a["ip"] for a in subset["addresses"]] == [endpoints_ip]


def test_endpoints_past_1000_addresses_are_truncated_ready_first() -> None:
    pods = [pod(f"p{i}", f"10.0.{i // 250}.{i % 250}", ready=i % 2 == 0) for i in range(1500)]
    subsets, truncated = endpoints.truncate(build_subsets(SERVICE, pods))
    assert truncated
    (subset,) = subsets
    assert len(subset["addresses"]) == 750 and len(subset["notReadyAddresses"]) == 250
    assert endpoints.truncate(build_subsets(SERVICE, pods[:10])) == (
        build_subsets(SERVICE, pods[:10]), False)
