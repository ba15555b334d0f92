"""Join's discovery and configuration read against the real API server and bootstrap signer:
the cluster-info that `init` stores and the controller signs is trusted with the right token and
pin and refused otherwise; `kubeadmpy join --root-dir` writes the worker's files from it, and
writes nothing when discovery fails."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from apiserver_harness import Cluster
from join_values import POD_CIDR, TOKEN

from kubeadmpy.client import Client
from kubeadmpy.phases import discovery, join_kubelet
from kubeadmpy.phases.discovery import DiscoveryError, TokenDiscovery
from kubeadmpy.pki import ca_cert_hash


def endpoint(cluster: Cluster) -> str:
    return cluster.apiserver.url.removeprefix("https://")


def ca_pem(cluster: Cluster) -> bytes:
    return (cluster.certs.dir / "ca.crt").read_bytes()


def settings(cluster: Cluster, token: str = TOKEN, pin: str | None = None) -> TokenDiscovery:
    return TokenDiscovery(endpoint=endpoint(cluster), token=token,
                          ca_cert_hashes=(pin or ca_cert_hash(ca_pem(cluster)),),
                          unsafe_skip_ca_verification=False, timeout_seconds=10.0,
                          retry_interval=0.1, signature_grace=0.5)


async def test_discovery_trusts_the_signed_cluster_info_and_reads_the_cluster_config(
        joinable: Cluster) -> None:
    found = await discovery.discover_with_token(settings(joinable), lambda _: None)
    assert found.server == joinable.apiserver.url
    assert found.ca_pem == ca_pem(joinable)
    read = await join_kubelet.read_cluster_settings(found, TOKEN)
    assert read.cluster.networking.pod_subnet == POD_CIDR
    assert read.kubelet["kind"] == "KubeletConfiguration"


@pytest.mark.parametrize(
    ("token", "pin", "message"),
    [
        ("abcdef.ffffffffffffffff", None, "failed to verify JWS signature"),
        ("zzzzzz.0123456789abcdef", None, 'This token id "zzzzzz" is invalid for this cluster'),
        (TOKEN, "sha256:" + "0" * 64, "none of the public keys"),
    ],
    ids=["a wrong token secret", "a token id the cluster does not know", "a wrong CA pin"],
)
async def test_discovery_refuses_what_the_cluster_did_not_sign_or_pin(
        joinable: Cluster, token: str, pin: str | None, message: str) -> None:
    with pytest.raises(DiscoveryError, match=message):
        await discovery.discover_with_token(settings(joinable, token, pin), lambda _: None)


async def test_a_ready_node_of_the_same_name_is_refused(joinable: Cluster, admin: Client) -> None:
    found = await discovery.discover_with_token(settings(joinable), lambda _: None)
    await join_kubelet.check_node_name_free(found, TOKEN, "w1")  # no such node: fine
    await admin.create("nodes", {"metadata": {"name": "w1"}})
    node = await admin.get("nodes", "w1")
    node["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    await admin.update_status("nodes", node)
    with pytest.raises(join_kubelet.JoinError, match='a Node with name "w1" and status "Ready"'):
        await join_kubelet.check_node_name_free(found, TOKEN, "w1")


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def kubeadmpy_join(cluster: Cluster, root: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubeadmpy", "join", endpoint(cluster), "--token", TOKEN, "--root-dir", str(root),
         "--node-name", "w1", "--ignore-preflight-errors", "all", "--skip-phases", "containerd",
         *flags],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env=dict(os.environ),
        check=False, timeout=120)


async def test_join_with_a_root_dir_writes_the_worker_files_from_the_cluster(
        joinable: Cluster, tmp_path: Path) -> None:
    tmp_path = tmp_path / "node"  # the cluster's own files are in tmp_path
    result = await asyncio.to_thread(
        kubeadmpy_join, joinable, tmp_path, "--discovery-token-ca-cert-hash",
        ca_cert_hash(ca_pem(joinable)))
    assert result.returncode == 0, result.stderr
    assert "This node has joined the cluster" not in result.stdout  # no kubelet ran here
    bootstrap = yaml.safe_load((tmp_path / "etc/kubernetes/bootstrap-kubelet.conf").read_text())
    assert bootstrap["users"][0]["user"] == {"token": TOKEN}
    assert bootstrap["clusters"][0]["cluster"]["server"] == joinable.apiserver.url
    assert (tmp_path / "etc/kubernetes/pki/ca.crt").read_bytes() == ca_pem(joinable)
    kubelet = yaml.safe_load((tmp_path / "var/lib/kubelet/config.yaml").read_text())
    assert kubelet["authentication"]["x509"]["clientCAFile"] == "/etc/kubernetes/pki/ca.crt"
    flags = (tmp_path / "var/lib/kubelet/kubeadm-flags.env").read_text()
    assert "--container-runtime-endpoint=" in flags


async def test_join_that_fails_discovery_writes_nothing(joinable: Cluster,
                                                        tmp_path: Path) -> None:
    tmp_path = tmp_path / "node"
    tmp_path.mkdir()
    result = await asyncio.to_thread(
        kubeadmpy_join, joinable, tmp_path, "--discovery-token-ca-cert-hash",
        "sha256:" + "1" * 64)
    assert result.returncode != 0
    assert "cluster CA found in cluster-info ConfigMap is invalid" in result.stderr
    assert "Traceback" not in result.stderr
    assert files_under(tmp_path) == []


async def test_dry_run_discovers_and_shows_the_files_without_writing_them(
        joinable: Cluster, tmp_path: Path) -> None:
    scratch = tmp_path / "dry"
    result = await asyncio.to_thread(subprocess.run, [
        "kubeadmpy", "join", endpoint(joinable), "--token", TOKEN, "--dry-run",
        "--discovery-token-ca-cert-hash", ca_cert_hash(ca_pem(joinable)), "--node-name", "w1",
        "--ignore-preflight-errors", "all"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
        env={**os.environ, "KUBEADMPY_JOIN_DRYRUN_DIR": str(scratch)}, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[dryrun] Would start the kubelet and wait for its TLS bootstrap" in out
    assert '[dryrun] Would write file "/var/lib/kubelet/config.yaml"' in out
    assert '"/etc/kubernetes/bootstrap-kubelet.conf" (mode 0600' in out
    assert TOKEN.partition(".")[2] not in out  # the token secret is not printed
    assert "This node has joined the cluster" not in out
