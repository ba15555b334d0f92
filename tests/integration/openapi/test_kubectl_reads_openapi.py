"""Every real kubectl from 1.27 to 1.33 reads our OpenAPI documents.

`kubectl explain` must print the upstream field descriptions from our `/openapi/v3` documents,
and `create -f` / `apply -f` must decide from them that the server validates fields itself
(`fieldValidation=Strict` on the write), without failing on `/openapi/v2` in 1.27/1.28.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from openapi_kubectl_harness import FakeDiscoveryServer, run_kubectl

EXPLAIN_VERSIONS = ("1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33")
APPLY_VERSIONS = ("1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33")


@pytest.mark.parametrize("version", EXPLAIN_VERSIONS, ids=lambda v: f"kubectl {v}")
async def test_explain_prints_upstream_descriptions_of_pod_containers(
        version: str, discovery_server: FakeDiscoveryServer,
        kubeconfig_for: Callable[[str], Path], tmp_path: Path) -> None:
    code, out, err = await run_kubectl(
        version, kubeconfig_for(discovery_server.url), tmp_path / "cache",
        "explain", "pods.spec.containers", "--api-version=v1")
    assert code == 0, err
    assert "KIND:       Pod" in out
    assert "FIELD: containers <[]Container>" in out
    assert "List of containers belonging to the pod." in out
    assert "image\t<string>" in out
    assert "Container image name." in out
    assert "ports\t<[]ContainerPort>" in out


@pytest.mark.parametrize("version", EXPLAIN_VERSIONS, ids=lambda v: f"kubectl {v}")
async def test_explain_follows_references_in_another_group(
        version: str, discovery_server: FakeDiscoveryServer,
        kubeconfig_for: Callable[[str], Path], tmp_path: Path) -> None:
    code, out, err = await run_kubectl(
        version, kubeconfig_for(discovery_server.url), tmp_path / "cache",
        "explain", "deployments.spec.strategy", "--api-version=apps/v1")
    assert code == 0, err
    assert "GROUP:      apps" in out
    assert "rollingUpdate\t<RollingUpdateDeployment>" in out
    assert "The deployment strategy to use to replace existing pods with new ones." in out


@pytest.mark.parametrize("version", APPLY_VERSIONS, ids=lambda v: f"kubectl {v}")
@pytest.mark.parametrize("command", ["create", "apply"])
async def test_writes_from_files_ask_for_server_side_strict_validation(
        version: str, command: str, discovery_server: FakeDiscoveryServer,
        kubeconfig_for: Callable[[str], Path], tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"
                        "  namespace: default\ndata:\n  mode: fast\n")
    code, out, err = await run_kubectl(
        version, kubeconfig_for(discovery_server.url), tmp_path / "cache",
        command, "-f", str(manifest))
    assert code == 0, err
    assert "configmap/settings created" in out
    writes = [(method, path, query) for method, path, query in discovery_server.requests
              if method != "GET"]
    assert len(writes) == 1
    method, path, query = writes[0]
    assert (method, path) == ("POST", "/api/v1/namespaces/default/configmaps")
    assert "fieldValidation=Strict" in query.split("&")


@pytest.mark.parametrize("version", EXPLAIN_VERSIONS, ids=lambda v: f"kubectl {v}")
async def test_explain_from_the_protobuf_openapi_v2_document(
        version: str, discovery_server: FakeDiscoveryServer,
        kubeconfig_for: Callable[[str], Path], tmp_path: Path) -> None:
    code, out, err = await run_kubectl(
        version, kubeconfig_for(discovery_server.url), tmp_path / "cache",
        "explain", "pods.spec.containers.ports", "--api-version=v1",
        "--output=plaintext-openapiv2")
    assert code == 0, err
    assert "RESOURCE: ports <[]Object>" in out
    assert "containerPort\t<integer> -required-" in out
    assert "Number of port to expose on the pod's IP address." in out
