"""`kubeadmpy token` against the real API server: create (with --print-join-command), list in
kubeadm's columns, delete; a token made this way is signed by the real bootstrap signer and
discovery trusts it."""

from __future__ import annotations

import asyncio
import os
import subprocess

from apiserver_harness import Cluster
from cluster_controllers_harness import eventually
from join_values import TOKEN

from kubeadmpy.client import Client
from kubeadmpy.phases import discovery
from kubeadmpy.phases.discovery import TokenDiscovery
from kubeadmpy.pki import ca_cert_hash

NEW_TOKEN = "qwerty.0123456789qwerty"


def token_cli(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubeadmpy", "token", *args, "--kubeconfig", str(cluster.kubeconfig)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env=dict(os.environ), check=False, timeout=60)


async def test_create_list_and_delete_a_token_that_discovery_then_trusts(
        joinable: Cluster, admin: Client) -> None:
    endpoint = joinable.apiserver.url.removeprefix("https://")
    ca_hash = ca_cert_hash((joinable.certs.dir / "ca.crt").read_bytes())
    created = await asyncio.to_thread(token_cli, joinable, "create", NEW_TOKEN,
                                      "--print-join-command", "--description", "for w2")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == (f"kubeadmpy join {endpoint} --token {NEW_TOKEN} "
                                      f"--discovery-token-ca-cert-hash {ca_hash}")

    listed = await asyncio.to_thread(token_cli, joinable, "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA",
                                "GROUPS"]
    mine = next(line for line in lines if line.startswith(NEW_TOKEN)).split()
    assert mine[1] in ("23h", "1d") and mine[3:] == [
        "authentication,signing", "for", "w2", "system:bootstrappers:kubeadm:default-node-token"]
    assert any(line.startswith(TOKEN) for line in lines)  # init's token is listed too

    async def signed() -> bool:
        data = (await admin.get("configmaps", "cluster-info", "kube-public"))["data"]
        return "jws-kubeconfig-qwerty" in data
    await eventually(signed, "cluster-info signed for the new token")
    found = await discovery.discover_with_token(
        TokenDiscovery(endpoint=endpoint, token=NEW_TOKEN, ca_cert_hashes=(ca_hash,),
                       unsafe_skip_ca_verification=False, timeout_seconds=10.0),
        lambda _: None)
    assert found.server == joinable.apiserver.url

    again = await asyncio.to_thread(token_cli, joinable, "create", NEW_TOKEN)
    assert again.returncode != 0 and 'a token with id "qwerty" already exists' in again.stderr
    deleted = await asyncio.to_thread(token_cli, joinable, "delete", "qwerty")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == 'bootstrap token "qwerty" deleted'
    gone = await asyncio.to_thread(token_cli, joinable, "delete", NEW_TOKEN)
    assert gone.returncode != 0 and "does not exist" in gone.stderr
