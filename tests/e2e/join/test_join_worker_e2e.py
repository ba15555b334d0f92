"""A worker joins a real cluster with the command `init` printed, runs pods, and resets.

One scenario in a two-machine lab, in the order a user meets it: `init` on cp1; on w1, a join
with a wrong CA hash and one with a wrong token secret fail with kubeadm's messages and change
nothing; the printed join command makes w1 a Ready node; a pod pinned to w1 runs, and
`kubectl logs` / `kubectl exec` reach it (API server → w1's kubelet); `reset` on w1 removes
what join wrote, and joining again under the name of a still-Ready node is refused.
"""

from __future__ import annotations

import json

from init_e2e import Node, running_phase, wait_for
from join_lab import JOIN_COMMAND, TwoNodeLab

# What join writes on a worker; none of it may exist after a failed join or a reset.
JOIN_FILES = ("/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/kubelet.conf",
              "/etc/kubernetes/pki/ca.crt", "/var/lib/kubelet/config.yaml",
              "/var/lib/kubelet/kubeadm-flags.env", "/etc/cni/net.d/10-flannel.conflist",
              "/usr/lib/cni/flannel")


def existing(node: Node, paths: tuple[str, ...]) -> list[str]:
    listing = node.sh("ls -d " + " ".join(paths) + " 2>/dev/null").stdout
    return listing.split()


def test_a_worker_joins_with_the_printed_command_runs_pods_and_resets(
        two_node_lab: TwoNodeLab) -> None:
    cp, worker = two_node_lab.cp, two_node_lab.worker
    printed = JOIN_COMMAND.search(cp.init().stdout)
    assert printed, "init printed no join command"
    endpoint, token, ca_hash = printed["endpoint"], printed["token"], printed["hash"]
    assert endpoint == f"{cp.ip}:6443"

    # Discovery refuses an unpinned CA and a token whose secret the cluster did not sign with.
    wrong_hash = "sha256:" + "0" * 64
    refused = worker.kubeadmpy("join", endpoint, "--token", token,
                               "--discovery-token-ca-cert-hash", wrong_hash)
    assert refused.exit_code != 0
    assert (f'cluster CA found in cluster-info ConfigMap is invalid: none of the public keys '
            f'"{ca_hash}" are pinned') in refused.stdout
    wrong_secret = token.partition(".")[0] + ".0000000000000000"
    refused = worker.kubeadmpy("join", endpoint, "--token", wrong_secret,
                               "--discovery-token-ca-cert-hash", ca_hash)
    assert refused.exit_code != 0
    assert ("failed to verify JWS signature of received cluster info object, can't trust this "
            "API Server") in refused.stdout
    assert "Traceback" not in refused.stdout
    assert existing(worker, JOIN_FILES) == []
    assert existing(worker, ("/run/kubeadmpy/kubelet.pid",)) == []  # no kubelet was started

    joined = worker.kubeadmpy("join", endpoint, "--token", token,
                              "--discovery-token-ca-cert-hash", ca_hash)
    assert joined.exit_code == 0, joined.stdout
    assert "This node has joined the cluster:" in joined.stdout
    assert "Run 'kubectl get nodes' on the control-plane to see this node join the cluster." \
        in joined.stdout
    # TLS bootstrap done: the kubelet runs on its own certificate, the token file is gone.
    assert existing(worker, ("/etc/kubernetes/bootstrap-kubelet.conf",)) == []
    assert "kubelet-client-current.pem" in worker.sh(
        "cat /etc/kubernetes/kubelet.conf", check=True).stdout

    w1_seen_from_cp = Node(cp.lab, worker.name, cp.host)
    w1_seen_from_cp.wait_node_ready(60)
    nodes = cp.get("nodes")["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["cp1", "w1"]
    assert w1_seen_from_cp.get("node", "w1")["spec"]["podCIDR"] != \
        cp.get("node", "cp1")["spec"]["podCIDR"]

    busybox = worker.import_busybox()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "on-w1"}, "spec": {
        "nodeSelector": {"kubernetes.io/hostname": "w1"},
        "containers": [{"name": "main", "image": busybox, "imagePullPolicy": "Never",
                        "command": ["sh", "-c", "echo hello from w1; sleep 3600"]}]}}
    cp.kubectl("apply", "-f", "-", stdin=json.dumps(pod))
    running = wait_for("pod on-w1 running", lambda: (
        p if running_phase(p := cp.pod("on-w1")) else None), timeout=60)
    assert running["spec"]["nodeName"] == "w1"
    assert running["status"]["hostIP"] == worker.ip
    assert wait_for("the pod's log", lambda: "hello from w1" in cp.kubectl(
        "logs", "on-w1", check=False).stdout, timeout=20)
    assert cp.kubectl("exec", "on-w1", "--", "cat", "/etc/hostname").stdout.strip() == "on-w1"

    reset = worker.reset()
    assert "[reset] Deleting files:" in reset.stdout
    assert existing(worker, JOIN_FILES) == []
    # The API still shows w1 Ready for a while: kubeadm refuses to join over it.
    again = worker.kubeadmpy("join", endpoint, "--token", token,
                             "--discovery-token-ca-cert-hash", ca_hash)
    assert again.exit_code != 0
    assert 'a Node with name "w1" and status "Ready" already exists in the cluster' \
        in again.stdout
    assert existing(worker, JOIN_FILES) == []
