"""The generated table carries real traffic: a Service's ClusterIP reaches both of its pods from
another pod, from the node and from a pod to itself; NodePorts answer on the node's address;
Services without endpoints are refused; ClientIP affinity sticks; `--cleanup` removes the
table. All of it inside namespaces this test creates (see proxy_netns)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from proxy_netns import CLUSTER_CIDR, NODE_IP, MiniNode, sh

from kubeadmpy.proxy import nft, rules
from kubeadmpy.proxy.model import Endpoint, ServicePort

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces")

WEB_IP, EMPTY_IP = "10.96.0.10", "10.96.0.20"
POD_A, POD_B, CLIENT = "10.244.0.11", "10.244.0.12", "10.244.0.13"


@pytest.fixture
def mini() -> Iterator[MiniNode]:
    node = MiniNode()
    try:
        node.open()
        node.add_pod("pod-a", POD_A, serve_port=8080)
        node.add_pod("pod-b", POD_B, serve_port=8080)
        node.add_pod("client", CLIENT)
        yield node
    finally:
        node.close()


def web(*endpoints: str) -> ServicePort:
    return ServicePort("default", "web", "http", "TCP", WEB_IP, 80, node_port=30080,
                       endpoints=tuple(Endpoint(ip, 8080, "node1") for ip in endpoints))


def empty() -> ServicePort:
    return ServicePort("default", "empty", "", "TCP", EMPTY_IP, 80, node_port=30081)


def program(mini: MiniNode, *ports: ServicePort) -> None:
    text = rules.render(ports, rules.RuleSettings("node1", CLUSTER_CIDR))
    asyncio.run(nft.run_script(rules.replace_script(text),
                               ("ip", "netns", "exec", mini.node, "nft")))


def test_cluster_ip_reaches_both_pods_from_a_pod_the_node_and_the_pods_themselves(
        mini: MiniNode) -> None:
    program(mini, web(POD_A, POD_B), empty())
    assert mini.answers(mini.ns("client"), WEB_IP, 80) == {"pod-a", "pod-b"}
    assert mini.answers(mini.node, WEB_IP, 80) == {"pod-a", "pod-b"}
    assert mini.answers(mini.ns("pod-a"), WEB_IP, 80) == {"pod-a", "pod-b"}  # hairpin


def test_services_without_endpoints_and_unknown_ports_are_refused(mini: MiniNode) -> None:
    program(mini, web(POD_A, POD_B), empty())
    assert mini.connect(mini.ns("client"), EMPTY_IP, 80) == "refused"
    assert mini.connect(mini.node, EMPTY_IP, 80) == "refused"
    assert mini.connect(mini.ns("client"), WEB_IP, 81) == "refused"
    assert mini.connect(mini.outside, NODE_IP, 30081) == "refused"


def test_nodeport_answers_on_the_node_address_from_outside_and_from_the_node(
        mini: MiniNode) -> None:
    program(mini, web(POD_A, POD_B), empty())
    assert mini.answers(mini.outside, NODE_IP, 30080) == {"pod-a", "pod-b"}
    assert mini.answers(mini.node, NODE_IP, 30080) == {"pod-a", "pod-b"}


def test_a_new_sync_replaces_the_table_whole(mini: MiniNode) -> None:
    program(mini, web(POD_A, POD_B), empty())
    program(mini, web(POD_B))
    assert mini.answers(mini.ns("client"), WEB_IP, 80, tries=8) == {"pod-b"}
    listing = sh("ip", "netns", "exec", mini.node, "nft", "list", "table", "ip", "kube-proxy")
    assert "default/empty" not in listing and POD_A not in listing


def test_cleanup_removes_the_table_and_is_idempotent(mini: MiniNode) -> None:
    program(mini, web(POD_A, POD_B))
    command = ["ip", "netns", "exec", mini.node, sys.executable, "-m", "kubeadmpy.proxy.main",
               "--cleanup"]
    for _ in range(2):  # the second run finds nothing to remove and still succeeds
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert "removed table ip kube-proxy" in done.stdout
    listing = sh("ip", "netns", "exec", mini.node, "nft", "list", "tables")
    assert "kube-proxy" not in listing


def test_client_ip_affinity_keeps_a_client_on_one_pod(mini: MiniNode) -> None:
    sticky = ServicePort("default", "sticky", "", "TCP", "10.96.0.30", 80,
                         endpoints=(Endpoint(POD_A, 8080), Endpoint(POD_B, 8080)),
                         affinity_seconds=60)
    program(mini, sticky)
    answers = {mini.connect(mini.ns("client"), "10.96.0.30", 80) for _ in range(8)}
    assert len(answers) == 1 and answers <= {"pod-a", "pod-b"}


def test_udp_services_are_balanced_and_refused_without_endpoints(mini: MiniNode) -> None:
    dns = ServicePort("default", "dns", "dns", "UDP", "10.96.0.53", 53,
                      endpoints=(Endpoint(POD_A, 8080), Endpoint(POD_B, 8080)))
    gone = ServicePort("default", "gone", "", "UDP", "10.96.0.54", 53)
    program(mini, dns, gone)
    # Each client run is a new source port, so a new conntrack flow and a new pick.
    assert mini.answers(mini.ns("client"), "10.96.0.53", 53, proto="udp") == {"pod-a", "pod-b"}
    assert mini.connect(mini.ns("client"), "10.96.0.54", 53, "udp") == "refused"
