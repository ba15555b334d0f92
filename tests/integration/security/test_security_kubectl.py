"""Real kubectl (1.27 and 1.33) against the security library behind a minimal HTTPS front end.

`kubectl auth whoami`, `auth can-i` and `auth can-i --list` print what they print against
kube-apiserver for the same identities and policy; refused credentials end in 401 with a
reason in the server's log, never a server error.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from security_server import HarnessServer

from kubeadmpy import pki

KUBECTL = {"1.27": "/usr/lib/google-cloud-sdk/bin/kubectl.1.27",
           "1.33": "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"}


def kubeconfig(cluster: tuple[HarnessServer, Path, pki.PKISettings], name: str,
               groups: list[str], token: str | None = None) -> Path:
    server, directory, settings = cluster
    path = directory / f"{name.replace(':', '_')}-{token or 'cert'}.conf"
    path.write_text(pki.kubeconfig_for_user(name, groups, settings, directory, token=token,
                                            server=server.url))
    return path


def kubectl(version: str, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home = config.parent / f"home-{version}"
    home.mkdir(exist_ok=True)
    return subprocess.run([KUBECTL[version], f"--kubeconfig={config}",
                           f"--cache-dir={home / 'cache'}", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "HOME": str(home)})


@pytest.mark.parametrize("version", list(KUBECTL))
def test_whoami_prints_the_certificate_identity(cluster: tuple[HarnessServer, Path,
                                                               pki.PKISettings],
                                                version: str) -> None:
    result = kubectl(version, kubeconfig(cluster, "carol", ["dev"]), "auth", "whoami")
    assert result.returncode == 0, result.stderr
    lines = [line.split(None, 1) for line in result.stdout.strip().splitlines()]
    assert lines[0] == ["ATTRIBUTE", "VALUE"]
    assert ["Username", "carol"] in lines
    assert ["Groups", "[dev system:authenticated]"] in lines


@pytest.mark.parametrize("version", list(KUBECTL))
def test_can_i_answers_per_namespace(cluster: tuple[HarnessServer, Path, pki.PKISettings],
                                     version: str) -> None:
    config = kubeconfig(cluster, "carol", ["dev"])
    yes = kubectl(version, config, "auth", "can-i", "create", "deployments", "-n", "team-a")
    assert (yes.returncode, yes.stdout.strip()) == (0, "yes"), yes.stderr
    no = kubectl(version, config, "auth", "can-i", "create", "deployments", "-n", "team-b")
    assert (no.returncode, no.stdout.strip()) == (1, "no"), no.stderr
    secrets = kubectl(version, config, "auth", "can-i", "get", "secrets", "-n", "team-a")
    assert secrets.stdout.strip() == "yes"
    nodes = kubectl(version, config, "auth", "can-i", "list", "nodes")
    assert nodes.stdout.strip().startswith("no")  # 1.33 may add a warning line


@pytest.mark.parametrize("version", list(KUBECTL))
def test_can_i_list_prints_the_rules(cluster: tuple[HarnessServer, Path, pki.PKISettings],
                                     version: str) -> None:
    config = kubeconfig(cluster, "carol", ["dev"])
    result = kubectl(version, config, "auth", "can-i", "--list", "-n", "team-a")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:] if line.strip()}
    assert result.stdout.splitlines()[0].split() == ["Resources", "Non-Resource", "URLs",
                                                     "Resource", "Names", "Verbs"]
    assert "create" in rows["deployments.apps"] and "delete" in rows["deployments.apps"]
    assert "selfsubjectaccessreviews.authorization.k8s.io" in rows
    print(result.stdout)  # shown with -s: the table kubectl prints
    elsewhere = kubectl(version, config, "auth", "can-i", "--list", "-n", "team-b")
    assert "deployments.apps" not in elsewhere.stdout


def test_a_bootstrap_token_is_its_bootstrap_user(cluster: tuple[HarnessServer, Path,
                                                                pki.PKISettings]) -> None:
    config = kubeconfig(cluster, "tls-bootstrap-token-user", [],
                        token="abcdef.0123456789abcdef")
    result = kubectl("1.33", config, "auth", "whoami")
    assert result.returncode == 0, result.stderr
    assert "system:bootstrap:abcdef" in result.stdout
    assert "[system:bootstrappers system:bootstrappers:kubeadm:default-node-token " \
           "system:authenticated]" in result.stdout


@pytest.mark.parametrize(("token", "reason"), [
    ("zzzzzz.0123456789abcdef", "expired"),
    ("abcdef.ffffffffffffffff", "does not match"),
    ("not-a-token", "not a token any authenticator recognises"),
    ("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMuY2x1c3Rlci5s"
     "b2NhbCJ9.c2lnbmF0dXJl", "signature does not verify"),
], ids=["an expired bootstrap token", "a wrong bootstrap secret", "a malformed token",
        "a JWT signed by no known key"])
def test_refused_tokens_are_401_with_a_logged_reason(
        cluster: tuple[HarnessServer, Path, pki.PKISettings], token: str, reason: str) -> None:
    server = cluster[0]
    config = kubeconfig(cluster, "someone", [], token=token)
    before = len(server.refusals)
    result = kubectl("1.33", config, "auth", "whoami")
    assert result.returncode != 0
    assert "Unauthorized" in result.stderr
    assert any(reason in line for line in server.refusals[before:])


@pytest.mark.parametrize("version", list(KUBECTL))
def test_an_admin_may_impersonate_and_a_developer_may_not(
        cluster: tuple[HarnessServer, Path, pki.PKISettings], version: str) -> None:
    admin = kubeconfig(cluster, "kubernetes-admin", ["system:masters"])
    whoami = kubectl(version, admin, "auth", "whoami", "--as", "carol", "--as-group", "dev")
    assert whoami.returncode == 0, whoami.stderr
    assert "carol" in whoami.stdout and "[dev system:authenticated]" in whoami.stdout
    can = kubectl(version, admin, "auth", "can-i", "create", "deployments", "-n", "team-a",
                  "--as", "carol", "--as-group", "dev")
    assert can.stdout.strip() == "yes", can.stderr
    cannot = kubectl(version, admin, "auth", "can-i", "create", "deployments", "-n", "team-b",
                     "--as", "carol", "--as-group", "dev")
    assert cannot.stdout.strip() == "no"
    developer = kubeconfig(cluster, "carol", ["dev"])
    refused = kubectl(version, developer, "auth", "can-i", "get", "pods", "--as",
                      "kubernetes-admin")
    assert refused.returncode != 0
    assert 'cannot impersonate resource "users"' in refused.stderr
