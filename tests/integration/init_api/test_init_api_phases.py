"""The API phases of `kubeadmpy init` against a real control plane, judged by the real kubectl.

The control plane is etcd + kubeadmpy-apiserver started by the test on the PKI that
`init phase certs/kubeconfig` wrote (no kubelet runs static pods yet). Then `kubeadmpy init`
runs its API phases and the test checks what kubeadm users rely on: the kubeadm-config and
kubelet-config ConfigMaps, cluster-info readable anonymously, a bootstrap token that may post
CSRs and read nodes, the encrypted kubeadm-certs Secret, and the control-plane label and taint.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.request

import yaml
from conftest import NODE, InitNode

from kubeadmpy import pki

TOKEN = "abcdef.0123456789abcdef"
FILE_PHASES = "preflight,certs,kubeconfig,etcd,control-plane,kubelet-start,mark-control-plane"


def run_api_phases(node: InitNode, key: str) -> str:
    result = node.kubeadmpy(
        "init",
        *node.flags(),
        "--skip-phases",
        FILE_PHASES,
        "--token",
        TOKEN,
        "--upload-certs",
        "--certificate-key",
        key,
        "--pod-network-cidr",
        "10.244.0.0/16",
    )
    return result.stdout


def test_init_uploads_its_configuration_for_joining_nodes(init_node: InitNode) -> None:
    out = run_api_phases(init_node, pki.certificate_key())
    assert "[api-check] The API server is healthy" in out
    stored = init_node.kubectl(
        "get", "configmap", "kubeadm-config", "-n", "kube-system", "-o", "json"
    )
    cluster = yaml.safe_load(json.loads(stored.stdout)["data"]["ClusterConfiguration"])
    assert cluster["kind"] == "ClusterConfiguration"
    assert cluster["networking"]["podSubnet"] == "10.244.0.0/16"
    kubelet = init_node.kubectl(
        "get", "configmap", "kubelet-config", "-n", "kube-system", "-o", "json"
    )
    assert yaml.safe_load(json.loads(kubelet.stdout)["data"]["kubelet"])["clusterDNS"] == [
        "10.96.0.10"
    ]
    # A joining node (bootstrap token) may read kubeadm-config, as kubeadm's Role allows.
    as_token = init_node.kubectl(
        "auth",
        "can-i",
        "get",
        "configmap/kubeadm-config",
        "-n",
        "kube-system",
        check=False,
        kubeconfig=init_node.token_kubeconfig(TOKEN),
    )
    assert as_token.stdout.strip() == "yes", as_token.stderr


def test_cluster_info_is_readable_without_credentials(init_node: InitNode) -> None:
    run_api_phases(init_node, pki.certificate_key())
    context = ssl.create_default_context(cafile=str(init_node.pki / "ca.crt"))
    url = (
        f"https://127.0.0.1:{init_node.port}/api/v1/namespaces/kube-public/configmaps/cluster-info"
    )
    with urllib.request.urlopen(url, context=context, timeout=10) as response:
        body = json.loads(response.read())
    kubeconfig = yaml.safe_load(body["data"]["kubeconfig"])
    cluster = kubeconfig["clusters"][0]["cluster"]
    assert cluster["server"] == f"https://127.0.0.1:{init_node.port}"
    assert (
        base64.b64decode(cluster["certificate-authority-data"])
        == (init_node.pki / "ca.crt").read_bytes()
    )


def test_the_bootstrap_token_authenticates_and_may_post_csrs_and_read_nodes(
    init_node: InitNode,
) -> None:
    run_api_phases(init_node, pki.certificate_key())
    secret = init_node.kubectl(
        "get", "secret", "bootstrap-token-abcdef", "-n", "kube-system", "-o", "json"
    )
    data = {k: base64.b64decode(v).decode() for k, v in json.loads(secret.stdout)["data"].items()}
    assert data["token-secret"] == "0123456789abcdef"
    assert data["usage-bootstrap-authentication"] == "true"
    assert "expiration" in data
    token = init_node.token_kubeconfig(TOKEN)
    whoami = init_node.kubectl("auth", "whoami", "-o", "json", kubeconfig=token)
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == "system:bootstrap:abcdef"
    for verb, resource in (("create", "certificatesigningrequests"), ("get", "nodes")):
        answer = init_node.kubectl("auth", "can-i", verb, resource, check=False, kubeconfig=token)
        assert answer.stdout.strip() == "yes", (verb, resource, answer.stderr)
    denied = init_node.kubectl(
        "auth", "can-i", "list", "secrets", "-A", check=False, kubeconfig=token
    )
    assert denied.stdout.strip() == "no"


def test_upload_certs_stores_the_shared_keys_encrypted_with_the_certificate_key(
    init_node: InitNode,
) -> None:
    key = pki.certificate_key()
    out = run_api_phases(init_node, key)
    assert key in out
    secret = init_node.kubectl("get", "secret", "kubeadm-certs", "-n", "kube-system", "-o", "json")
    stored = json.loads(secret.stdout)
    sealed = base64.b64decode(stored["data"]["ca.key"])
    assert b"PRIVATE KEY" not in sealed
    assert pki.decrypt_with_certificate_key(sealed, key) == (init_node.pki / "ca.key").read_bytes()
    assert stored["metadata"]["ownerReferences"][0]["kind"] == "Secret"


def test_mark_control_plane_labels_and_taints_the_node(init_node: InitNode) -> None:
    run_api_phases(init_node, pki.certificate_key())
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}}
    path = init_node.root / "node.json"
    path.write_text(json.dumps(node))
    init_node.kubectl("create", "-f", str(path))
    init_node.kubeadmpy("init", "phase", "mark-control-plane", *init_node.flags())
    got = json.loads(init_node.kubectl("get", "node", NODE, "-o", "json").stdout)
    assert "node-role.kubernetes.io/control-plane" in got["metadata"]["labels"]
    assert {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"} in got["spec"][
        "taints"
    ]


def test_rerunning_the_api_phases_is_idempotent(init_node: InitNode) -> None:
    key = pki.certificate_key()
    run_api_phases(init_node, key)
    run_api_phases(init_node, key)
    roles = init_node.kubectl(
        "get", "rolebindings", "-n", "kube-system", "-o", "name"
    ).stdout.split()
    assert roles.count("rolebinding.rbac.authorization.k8s.io/kubeadm:nodes-kubeadm-config") == 1
