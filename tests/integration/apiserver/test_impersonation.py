"""`kubectl --as/--as-group` through the real server: the request runs as the impersonated user
when the real one may impersonate, and is refused with upstream's message when not."""

from __future__ import annotations

from pathlib import Path

from apiserver_harness import Cluster


def test_an_admin_acts_as_another_user_with_their_rights(cluster: Cluster,
                                                         kubectl_version: str) -> None:
    denied = cluster.kubectl(kubectl_version, "--as=bob", "get", "pods", "-n", "default",
                             check=False)
    assert denied.returncode != 0
    assert 'User "bob" cannot list resource "pods"' in denied.stderr
    allowed = cluster.kubectl(kubectl_version, "--as=bob", "--as-group=system:masters",
                              "get", "namespaces", "-o", "name")
    assert "namespace/default" in allowed.stdout
    can_i = cluster.kubectl(kubectl_version, "--as=bob", "auth", "can-i", "list", "pods",
                            check=False)
    assert can_i.stdout.strip() == "no"


def test_a_user_without_the_impersonate_verb_is_refused(cluster: Cluster, kubectl_version: str,
                                                        tmp_path: Path) -> None:
    kubeconfig = tmp_path / "carol.conf"
    kubeconfig.write_text(cluster.certs.kubeconfig(cluster.apiserver.url, "carol", ()))
    refused = cluster.kubectl(kubectl_version, f"--kubeconfig={kubeconfig}", "--as=admin",
                              "get", "pods", check=False)
    assert refused.returncode != 0
    assert 'User "carol" cannot impersonate resource "users"' in refused.stderr
