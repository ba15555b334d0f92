"""Pods on two machines talk to each other, to a Service and to cluster DNS, as init installs them.

One two-machine cluster for the module, made as a user makes it: `init` on cp1, the printed
join command on w1, the control-plane taint removed so both nodes run workloads. `init` applied
the kube-flannel DaemonSet (`kubeadmpy-flanneld`, VXLAN between the machines) and the kube-proxy
DaemonSet (`kubeadmpy-proxy`, nftables) and cluster DNS (`kubeadmpy-dns` behind kube-dns);
join only put flannel's CNI plugin and config on w1.
"""

from __future__ import annotations

import ipaddress
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from init_e2e import Node, running_phase, wait_for
from join_lab import JOIN_COMMAND, TwoNodeLab, two_node_lab_up

NODES = ("cp1", "w1")


@dataclass
class NetworkCluster:
    lab: TwoNodeLab
    busybox: str

    @property
    def cp(self) -> Node:
        return self.lab.cp

    def on(self, name: str) -> Node:
        return self.lab.cp if name == "cp1" else self.lab.worker


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetworkCluster]:
    if os.geteuid() != 0:
        pytest.skip("lab machines need root")
    with two_node_lab_up(tmp_path_factory.mktemp("pod-network-labs"), "podnet") as lab:
        cp, worker = lab.cp, lab.worker
        printed = JOIN_COMMAND.search(cp.init().stdout)
        assert printed, "init printed no join command"
        worker.kubeadmpy("join", printed["endpoint"], "--token", printed["token"],
                         "--discovery-token-ca-cert-hash", printed["hash"], check=True)
        cp.wait_node_ready()
        Node(cp.lab, worker.name, cp.host).wait_node_ready()
        cp.allow_workloads()
        busybox = cp.import_busybox()
        assert worker.import_busybox() == busybox
        yield NetworkCluster(lab, busybox)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:5]}"


def pinned_pod(name: str, node: str, image: str, command: str,
               labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": node},
                     "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "main", "image": image, "imagePullPolicy": "Never",
                                     "command": ["sh", "-c", command]}]}}


def run_pods(cp: Node, pods: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Create `pods` and wait until each runs; name -> the running pod."""
    for pod in pods:
        cp.kubectl("apply", "-f", "-", stdin=json.dumps(pod))
    return {pod["metadata"]["name"]: wait_for(
        f"pod {pod['metadata']['name']} running",
        lambda n=pod["metadata"]["name"]: p if running_phase(p := cp.pod(n)) else None,
        timeout=120) for pod in pods}


def daemon_set_ready(cp: Node, namespace: str, name: str) -> bool:
    status = cp.get("daemonset", name, "-n", namespace).get("status") or {}
    return status.get("numberReady") == len(NODES) == status.get("desiredNumberScheduled")


def test_flannel_and_kube_proxy_run_on_both_nodes(cluster: NetworkCluster) -> None:
    cp = cluster.cp
    wait_for("kube-flannel-ds ready on both nodes",
             lambda: daemon_set_ready(cp, "kube-flannel", "kube-flannel-ds"), timeout=120)
    wait_for("kube-proxy ready on both nodes",
             lambda: daemon_set_ready(cp, "kube-system", "kube-proxy"), timeout=120)
    for name in NODES:
        node = cp.get("node", name)
        annotations = node["metadata"]["annotations"]
        assert annotations["flannel.alpha.coreos.com/public-ip"] == cluster.on(name).ip
        assert annotations["flannel.alpha.coreos.com/backend-type"] == "vxlan"
        env = cluster.on(name).sh("cat /run/flannel/subnet.env", check=True).stdout
        subnet = dict(line.split("=", 1) for line in env.split())["FLANNEL_SUBNET"]
        assert ipaddress.ip_interface(subnet).network == ipaddress.ip_network(
            node["spec"]["podCIDR"])
        # kube-proxy programmed this machine's nftables (kubeadmpy-proxy in the DaemonSet).
        table = cluster.on(name).sh("nft list table ip kube-proxy", check=True).stdout
        assert "service-ips" in table


def test_pods_on_the_two_nodes_ping_each_other_across_vxlan(cluster: NetworkCluster) -> None:
    cp, names = cluster.cp, {node: unique(f"ping-{node}") for node in NODES}
    try:
        running = run_pods(cp, [pinned_pod(names[node], node, cluster.busybox,
                                           "trap 'exit 0' TERM; sleep 3600 & wait")
                                for node in NODES])
        ips = {node: running[names[node]]["status"]["podIP"] for node in NODES}
        for node in NODES:
            cidr = ipaddress.ip_network(cp.get("node", node)["spec"]["podCIDR"])
            assert ipaddress.ip_address(ips[node]) in cidr
        for node, other in (NODES, NODES[::-1]):
            answer = cp.kubectl("exec", names[node], "--", "ping", "-c", "3", "-W", "2",
                                ips[other], check=False)
            assert answer.exit_code == 0, f"{node} -> {other}: {answer.stdout}{answer.stderr}"
            assert "3 packets received" in answer.stdout
    finally:
        for name in names.values():
            cp.kubectl("delete", "pod", name, "--now", "--ignore-not-found")


def spread_deployment(name: str, image: str) -> dict[str, Any]:
    """Two httpd replicas that must land on different nodes, each answering its pod name."""
    labels = {"app": name}
    serve = ("trap 'exit 0' TERM; mkdir -p /www; hostname > /www/index.html; "
             "httpd -f -p 8080 -h /www & wait")
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"terminationGracePeriodSeconds": 1,
                         "affinity": {"podAntiAffinity": {
                             "requiredDuringSchedulingIgnoredDuringExecution": [{
                                 "labelSelector": {"matchLabels": labels},
                                 "topologyKey": "kubernetes.io/hostname"}]}},
                         "containers": [{"name": "web", "image": image,
                                         "imagePullPolicy": "Never",
                                         "command": ["sh", "-c", serve]}]}}}}


def answered_by(cp: Node, client: str, cluster_ip: str,
                expected: set[str]) -> Callable[[], bool]:
    """A probe: one request from `client` to the ClusterIP; true once every backend in
    `expected` has answered."""
    seen: set[str] = set()

    def probe() -> bool:  # `timeout`, not wget -T: busybox 1.35 wget -T segfaults
        page = cp.kubectl("exec", client, "--", "timeout", "5", "wget", "-qO-",
                          f"http://{cluster_ip}:80", check=False)
        if page.exit_code == 0:
            seen.add(page.stdout.strip())
        return seen == expected

    return probe


def test_a_cluster_ip_answers_from_pods_on_both_nodes(cluster: NetworkCluster) -> None:
    cp, name = cluster.cp, unique("web")
    clients = {node: unique(f"client-{node}") for node in NODES}
    cp.kubectl("apply", "-f", "-", stdin=json.dumps(spread_deployment(name, cluster.busybox)))
    try:
        cp.kubectl("rollout", "status", f"deployment/{name}", "--timeout=120s")
        backends = {p["spec"]["nodeName"]: p["metadata"]["name"]
                    for p in cp.pods(f"app={name}")}
        assert sorted(backends) == list(NODES)
        cp.kubectl("expose", "deployment", name, "--port=80", "--target-port=8080")
        cluster_ip = cp.get("service", name)["spec"]["clusterIP"]
        run_pods(cp, [pinned_pod(clients[node], node, cluster.busybox,
                                 "trap 'exit 0' TERM; sleep 3600 & wait") for node in NODES])
        for node in NODES:
            # Random balancing: both backends, the one on the other node included, answer.
            wait_for(f"both backends through {cluster_ip} from {node}",
                     answered_by(cp, clients[node], cluster_ip, set(backends.values())),
                     timeout=60, interval=0.1)
    finally:
        for client in clients.values():
            cp.kubectl("delete", "pod", client, "--now", "--ignore-not-found")
        cp.kubectl("delete", "service", name, "--ignore-not-found")
        cp.kubectl("delete", "deployment", name, "--ignore-not-found")


def test_service_names_resolve_through_cluster_dns_from_pods_on_both_nodes(
        cluster: NetworkCluster) -> None:
    cp = cluster.cp
    cp.kubectl("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=120s")
    dns_ip = cp.get("service", "kube-dns", "-n", "kube-system")["spec"]["clusterIP"]
    api_ip = cp.get("service", "kubernetes")["spec"]["clusterIP"]
    clients = {node: unique(f"dns-{node}") for node in NODES}
    try:
        run_pods(cp, [pinned_pod(clients[node], node, cluster.busybox,
                                 "trap 'exit 0' TERM; sleep 3600 & wait") for node in NODES])
        for client in clients.values():
            assert f"nameserver {dns_ip}" in cp.kubectl(
                "exec", client, "--", "cat", "/etc/resolv.conf").stdout
            for name, ip in (("kubernetes.default.svc.cluster.local", api_ip),
                             ("kube-dns.kube-system.svc.cluster.local", dns_ip)):
                answer = cp.kubectl("exec", client, "--", "nslookup", name, check=False)
                assert answer.exit_code == 0, f"{client}: {answer.stdout}{answer.stderr}"
                assert f"Address: {ip}" in answer.stdout, answer.stdout
    finally:
        for client in clients.values():
            cp.kubectl("delete", "pod", client, "--now", "--ignore-not-found")
