"""The patches real kubectl computes (client-side apply, patch, label, server-side apply) give
the objects kubectl users expect when our patch machinery applies them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openapi_kubectl_harness import FakeDiscoveryServer, run_kubectl

VERSIONS = ("1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DEPLOYMENT_PATH = "/apis/apps/v1/namespaces/default/deployments/web"


def deployment_manifest(replicas: int, containers: list[tuple[str, str]]) -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                     "containers": [{"name": n, "image": i} for n, i in containers]}}}})


class Kubectl:
    """Runs one kubectl version against the test server with a private cache."""

    def __init__(self, version: str, kubeconfig: Path, tmp_path: Path) -> None:
        self.version, self.kubeconfig, self.tmp_path = version, kubeconfig, tmp_path

    async def __call__(self, *args: str) -> tuple[int, str, str]:
        return await run_kubectl(self.version, self.kubeconfig, self.tmp_path / "cache", *args)

    async def ok(self, *args: str) -> str:
        code, out, err = await self(*args)
        assert code == 0, err
        return out

    async def get(self, resource: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(await self.ok(
            "get", resource, "-n", "default", "-o", "json", "--show-managed-fields"))
        return loaded

    def manifest(self, name: str, text: str) -> str:
        path = self.tmp_path / name
        path.write_text(text)
        return str(path)


@pytest.fixture(params=VERSIONS, ids=lambda v: f"kubectl {v}")
def kubectl(request: pytest.FixtureRequest, discovery_server: FakeDiscoveryServer,
            kubeconfig_for: Callable[[str], Path], tmp_path: Path) -> Kubectl:
    return Kubectl(request.param, kubeconfig_for(discovery_server.url), tmp_path)


async def test_client_side_apply_updates_through_strategic_merge_patch(
        kubectl: Kubectl, discovery_server: FakeDiscoveryServer) -> None:
    first = kubectl.manifest("v1.json", deployment_manifest(1, [("web", "nginx:1"),
                                                                ("log", "busybox")]))
    assert "deployment.apps/web created" in await kubectl.ok("apply", "-f", first)
    second_text = deployment_manifest(3, [("web", "nginx:2")])
    second = kubectl.manifest("v2.json", second_text)
    assert "deployment.apps/web configured" in await kubectl.ok("apply", "-f", second)

    assert [(m, p) for m, p, _ in discovery_server.requests if m == "PATCH"] == [
        ("PATCH", DEPLOYMENT_PATH)]
    live = await kubectl.get("deployment/web")
    assert live["spec"]["replicas"] == 3
    assert live["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "nginx:2"}]
    last_applied = json.loads(live["metadata"]["annotations"][LAST_APPLIED])
    assert last_applied["spec"] == json.loads(second_text)["spec"]
    assert "unchanged" in await kubectl.ok("apply", "-f", second)


@pytest.mark.parametrize(
    ("patch_type", "patch", "expected"),
    [
        pytest.param("json", '[{"op":"add","path":"/data/extra","value":"1"}]',
                     {"mode": "fast", "extra": "1"}, id="json patch"),
        pytest.param("merge", '{"data":{"mode":null,"extra":"1"}}', {"extra": "1"},
                     id="merge patch"),
        pytest.param("strategic", '{"data":{"mode":"slow"}}', {"mode": "slow"},
                     id="strategic merge patch"),
    ],
)
async def test_kubectl_patch_types(kubectl: Kubectl, patch_type: str, patch: str,
                                   expected: dict[str, str]) -> None:
    manifest = kubectl.manifest("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                "  name: settings\n  namespace: default\ndata:\n  mode: fast\n")
    await kubectl.ok("create", "-f", manifest)
    await kubectl.ok("patch", "configmap", "settings", "-n", "default", "--type", patch_type,
                     "-p", patch)
    assert (await kubectl.get("configmap/settings"))["data"] == expected


async def test_label_and_annotate_use_merge_patches(kubectl: Kubectl) -> None:
    manifest = kubectl.manifest("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                "  name: settings\n  namespace: default\n")
    await kubectl.ok("create", "-f", manifest)
    await kubectl.ok("label", "configmap", "settings", "-n", "default", "tier=front")
    await kubectl.ok("annotate", "configmap", "settings", "-n", "default", "note=hi")
    metadata = (await kubectl.get("configmap/settings"))["metadata"]
    assert metadata["labels"] == {"tier": "front"}
    assert metadata["annotations"] == {"note": "hi"}


async def test_server_side_apply_conflicts_and_forced_takeover(kubectl: Kubectl) -> None:
    mine = kubectl.manifest("mine.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                            "  name: settings\n  namespace: default\ndata:\n  mode: fast\n")
    theirs = kubectl.manifest("theirs.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                              "  name: settings\n  namespace: default\ndata:\n  mode: slow\n")
    assert "configmap/settings serverside-applied" in await kubectl.ok(
        "apply", "--server-side", "-f", mine)
    managed = (await kubectl.get("configmap/settings"))["metadata"]["managedFields"]
    assert [(e["manager"], e["operation"], e["fieldsV1"]) for e in managed] == [
        ("kubectl", "Apply", {"f:data": {"f:mode": {}}})]

    code, _, err = await kubectl("apply", "--server-side", "--field-manager=ops", "-f", theirs)
    assert code == 1
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .data.mode' in err

    await kubectl.ok("apply", "--server-side", "--field-manager=ops", "--force-conflicts",
                     "-f", theirs)
    live = await kubectl.get("configmap/settings")
    assert live["data"] == {"mode": "slow"}
    assert [e["manager"] for e in live["metadata"]["managedFields"]] == ["ops"]


async def test_set_image_set_env_and_rollout_restart_patch_the_pod_template(
        kubectl: Kubectl) -> None:
    manifest = kubectl.manifest("d.json", deployment_manifest(
        2, [("web", "nginx:1"), ("log", "busybox")]))
    await kubectl.ok("create", "-f", manifest)
    await kubectl.ok("set", "image", "deployment/web", "-n", "default", "web=nginx:3")
    await kubectl.ok("set", "env", "deployment/web", "-n", "default", "-c", "web", "A=1", "B=2")
    await kubectl.ok("set", "env", "deployment/web", "-n", "default", "-c", "web", "A-")
    await kubectl.ok("rollout", "restart", "deployment/web", "-n", "default")
    template = (await kubectl.get("deployment/web"))["spec"]["template"]
    web, log = template["spec"]["containers"]
    assert (web["name"], web["image"], log["image"]) == ("web", "nginx:3", "busybox")
    assert web["env"] == [{"name": "B", "value": "2"}]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
