"""The real `kubeadmpy-proxy` process against the real apiserver: Services and EndpointSlices made
with kubectl become rules, changes follow, a table deleted by hand comes back (level-triggered),
/healthz and /metrics answer, SIGTERM leaves the rules in place.

The apiserver listens on loopback, which a network namespace cannot reach, so the proxy runs in
this namespace and only its `nft` is redirected into a namespace the test creates (an `nft` on
PATH that is `ip netns exec <ns> nft`): the host's own ruleset is never touched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from apiserver_harness import Cluster, free_port, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None,
                                reason="needs root and nft for a network namespace")
NFT = shutil.which("nft") or "nft"


@dataclass
class RunningProxy:
    process: subprocess.Popen[str]
    netns: str
    healthz: int
    metrics: int
    log: Path

    def table(self) -> str:
        result = subprocess.run(["ip", "netns", "exec", self.netns, NFT, "list", "table", "ip",
                                 "kube-proxy"], capture_output=True, text=True, check=False)
        return result.stdout if result.returncode == 0 else ""

    def wait_for(self, pattern: str, what: str, present: bool = True) -> str:
        def check() -> bool:
            return bool(re.search(pattern, self.table())) == present
        try:
            wait_until(check, what, 30)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{self.table()}\n{self.log.read_text()}") from exc
        return self.table()


@pytest.fixture
def proxy(own_cluster: Cluster, tmp_path: Path) -> Iterator[RunningProxy]:
    netns = f"kpyproxy-it-{uuid.uuid4().hex[:6]}"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "nft"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {netns} {NFT} "$@"\n')
    wrapper.chmod(0o755)
    config = tmp_path / "kube-proxy.conf"
    config.write_text("apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
                      "kind: KubeProxyConfiguration\nmode: nftables\nclusterCIDR: 10.244.0.0/16\n"
                      "nftables:\n  syncPeriod: 1s\n  minSyncPeriod: 100ms\n")
    healthz, metrics = free_port(), free_port()
    log = tmp_path / "proxy.log"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    process = None
    try:
        with log.open("w") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "kubeadmpy.proxy.main", f"--config={config}",
                 f"--kubeconfig={own_cluster.kubeconfig}", "--hostname-override=node1",
                 f"--healthz-bind-address=127.0.0.1:{healthz}",
                 f"--metrics-bind-address=127.0.0.1:{metrics}"],
                stdout=sink, stderr=subprocess.STDOUT, text=True,
                env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
        yield RunningProxy(process, netns, healthz, metrics, log)
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        subprocess.run(["ip", "netns", "del", netns], check=False)


def slice_yaml(name: str, service: str, *endpoints: tuple[str, bool]) -> str:
    body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": "default",
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready},
                           "nodeName": "node1"} for ip, ready in endpoints]}
    return json.dumps(body)


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_kubectl_objects_become_rules_and_follow_changes(own_cluster: Cluster,
                                                         proxy: RunningProxy) -> None:
    kubectl = own_cluster.kubectl
    kubectl("1.33", "create", "deployment", "web", "--image=registry.k8s.io/pause:3.10",
            "--port=8080")
    kubectl("1.33", "expose", "deployment", "web", "--port=80", "--target-port=8080")
    kubectl("1.33", "create", "service", "nodeport", "np", "--tcp=80:8080",
            "--node-port=30080")
    kubectl("1.33", "create", "service", "clusterip", "db", "--clusterip=None")
    web_ip = kubectl("1.33", "get", "service", "web", "-o",
                     "jsonpath={.spec.clusterIP}").stdout.strip()
    key = re.escape(f"{web_ip} . tcp . 80")

    table = proxy.wait_for(rf"{key} : goto reject-chain", "web without endpoints rejected")
    assert "tcp . 30080 : goto reject-chain" in table  # the NodePort, no endpoints either
    assert "default/db" not in table  # headless

    kubectl("1.33", "apply", "-f", "-", stdin=slice_yaml(
        "web-1", "web", ("10.244.1.2", True), ("10.244.2.3", True), ("10.244.3.4", False)))
    table = proxy.wait_for(rf"{key} : goto service-", "web balanced over its endpoints")
    assert "numgen random mod 2 vmap" in table
    assert "dnat to 10.244.1.2:8080" in table and "dnat to 10.244.2.3:8080" in table
    assert "10.244.3.4" not in table  # not ready

    kubectl("1.33", "apply", "-f", "-", stdin=slice_yaml(
        "web-1", "web", ("10.244.1.2", False), ("10.244.2.3", True)))
    table = proxy.wait_for(r"numgen random mod 1 vmap", "one endpoint left")
    assert "dnat to 10.244.1.2:8080" not in table

    kubectl("1.33", "delete", "service", "web")
    proxy.wait_for(re.escape(web_ip), "web's rules gone", present=False)


def test_health_metrics_and_convergence_after_the_table_is_deleted_by_hand(
        own_cluster: Cluster, proxy: RunningProxy) -> None:
    own_cluster.kubectl("1.27", "create", "service", "clusterip", "api", "--tcp=443:6443")
    proxy.wait_for(r"\. tcp \. 443 : goto reject-chain", "api service programmed")
    wait_until(lambda: get(proxy.healthz, "/healthz")[0] == 200, "healthz 200")
    status, body = get(proxy.healthz, "/healthz")
    assert status == 200 and json.loads(body)["nodeName"] == "node1" and json.loads(body)["lastUpdated"]
    _, metrics = get(proxy.metrics, "/metrics")
    count = re.search(r"kubeproxy_sync_proxy_rules_duration_seconds_count (\d+)", metrics)
    assert count and int(count.group(1)) >= 1

    subprocess.run(["ip", "netns", "exec", proxy.netns, NFT, "delete", "table", "ip",
                    "kube-proxy"], check=True)
    proxy.wait_for(r"\. tcp \. 443 : goto reject-chain", "the table restored by resync")

    proxy.process.send_signal(signal.SIGTERM)
    assert proxy.process.wait(timeout=15) == 0
    assert "tcp . 443" in proxy.table()  # rules stay, as upstream's on shutdown
