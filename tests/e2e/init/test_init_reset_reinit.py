"""`kubeadmpy reset` undoes init in a lab machine; init works again; a broken init says why.

One private machine goes through init → reset → broken init → reset → init, so each step starts
from what the previous one left, as it would on a real server.
"""

from __future__ import annotations

import textwrap

from init_e2e import Node, running_phase, wait_for

# An API server that cannot start (unknown flag), and a short wait so init gives up quickly.
BROKEN_APISERVER_CONFIG = textwrap.dedent("""\
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: InitConfiguration
    timeouts:
      controlPlaneComponentHealthCheck: 15s
    ---
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: ClusterConfiguration
    networking:
      podSubnet: 10.244.0.0/16
    apiServer:
      extraArgs:
      - name: no-such-flag
        value: "1"
    """)


def containerd_state(node: Node) -> tuple[str, str]:
    containers = node.sh("ctr -n k8s.io containers ls -q", check=True).stdout.split()
    tasks = node.sh("ctr -n k8s.io tasks ls -q", check=True).stdout.split()
    return " ".join(containers), " ".join(tasks)


def wait_default_service_account(node: Node) -> None:
    """The controller-manager makes the namespace's default ServiceAccount moments after it
    starts; ServiceAccount admission refuses pods until then."""
    wait_for("the default ServiceAccount", lambda: node.kubectl(
        "get", "serviceaccount", "default", check=False).exit_code == 0, timeout=60)


def assert_reset_left_a_clean_machine(node: Node, out: str) -> None:
    assert "[reset] Stopped the kubelet (supervisor)" in out
    assert "Removed " in out and " pod sandboxes" in out
    assert containerd_state(node) == ("", "")
    leftovers = node.sh(
        "ls -A /etc/kubernetes/manifests /etc/kubernetes/pki /var/lib/kubelet /var/lib/etcd "
        "/var/lib/cni /etc/cni/net.d /var/log/pods; ls /etc/kubernetes/*.conf; ip link show cni0",
    )
    assert leftovers.stdout.split() == [
        "/etc/cni/net.d:", "/etc/kubernetes/manifests:", "/etc/kubernetes/pki:",
        "/var/lib/cni:", "/var/lib/etcd:", "/var/lib/kubelet:", "/var/log/pods:"], leftovers.stdout
    # The pod network and Services are gone from the kernel too (flannel, kube-proxy).
    kernel = node.sh("ip -o link show; nft list tables; ls /usr/lib/cni/flannel "
                     "/run/flannel/subnet.env 2>&1").stdout
    for left in ("flannel.1", "cni0", "kube-proxy", "kubeadmpy-flannel"):
        assert left not in kernel, kernel
    assert kernel.count("No such file") == 2, kernel
    # It says what it left on purpose.
    assert "iptables" in out and "$HOME/.kube/config" in out
    assert "containerd keeps running" in out


def test_reset_undoes_init_and_init_works_again_also_after_a_failed_init(
        fresh_machine: Node) -> None:
    node = fresh_machine
    node.init()
    node.wait_node_ready()
    node.allow_workloads()
    busybox = node.import_busybox()
    wait_default_service_account(node)
    node.kubectl("run", "before-reset", f"--image={busybox}", "--", "sleep", "3600")
    node.kubectl("wait", "--for=condition=Ready", "pod/before-reset", "--timeout=60s")

    reset = node.reset()
    assert_reset_left_a_clean_machine(node, reset.stdout)
    for removed in ("device flannel.1", "nftables table ip kubeadmpy-flannel",
                    "bridge cni0", "nftables table ip kube-proxy"):
        assert f"[reset] Deleted {removed}" in reset.stdout

    node.host.put(BROKEN_APISERVER_CONFIG, "/root/broken.yaml")
    broken = node.kubeadmpy("init", "--config", "/root/broken.yaml")
    assert broken.exit_code != 0
    out = broken.stdout
    assert "[wait-control-plane] the API server did not become healthy within 0:00:15" in out
    assert "kube-apiserver (pod kube-system/kube-apiserver-cp1): exited with code" in out
    assert "no-such-flag" in out.split("kube-apiserver (pod", 1)[1]  # its own log line
    assert "etcd (pod kube-system/etcd-cp1): running" in out
    assert "Traceback" not in out

    assert_reset_left_a_clean_machine(node, node.reset().stdout)

    again = node.init()
    assert "initialized successfully" in again.stdout
    assert "[containerd] Image kubeadmpy.local/control-plane" in again.stdout
    assert "cached" in again.stdout  # the image built by the first init is reused
    node.wait_node_ready()
    node.allow_workloads()
    wait_default_service_account(node)
    node.kubectl("run", "after-reset", f"--image={busybox}", "--", "sleep", "3600")
    node.kubectl("wait", "--for=condition=Ready", "pod/after-reset", "--timeout=60s")
    assert running_phase(node.pod("after-reset"))
    assert wait_for("the old pod to be gone for good",
                    lambda: "before-reset" not in node.kubectl("get", "pods").stdout)
