"""The client against real etcd + kubeadmpy-apiserver: CRUD, every patch type, deletes with
options, subresources, pagination, dryRun, discovery and typed errors."""

from __future__ import annotations

from typing import Any

import pytest
from apiserver_harness import Cluster

from kubeadmpy.client import Client, PatchType, Preconditions, errors, load_kubeconfig


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "web", "image": "nginx:1"},
                         {"name": "sidecar", "image": "busybox:1"}]}}}}


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def test_create_get_update_delete_round_trip(client: Client, namespace: str) -> None:
    created = await client.create("configmaps", configmap("cm", a="1"), namespace)
    assert created["metadata"]["uid"]
    fetched = await client.get("configmaps", "cm", namespace)
    assert fetched["data"] == {"a": "1"}
    fetched["data"]["b"] = "2"
    updated = await client.update("configmaps", fetched, namespace)
    assert updated["data"] == {"a": "1", "b": "2"}
    assert updated["metadata"]["resourceVersion"] != fetched["metadata"]["resourceVersion"]
    await client.delete("configmaps", "cm", namespace)
    with pytest.raises(errors.NotFound):
        await client.get("configmaps", "cm", namespace)


async def test_update_from_a_stale_copy_is_a_conflict(client: Client, namespace: str) -> None:
    stale = await client.create("configmaps", configmap("cm", a="1"), namespace)
    await client.update("configmaps", {**stale, "data": {"a": "2"}}, namespace)
    with pytest.raises(errors.Conflict) as caught:
        await client.update("configmaps", {**stale, "data": {"a": "3"}}, namespace)
    assert not caught.value.retryable


async def test_typed_errors_for_duplicates_invalid_objects_and_missing_namespaces(
        client: Client, namespace: str) -> None:
    await client.create("configmaps", configmap("dup"), namespace)
    with pytest.raises(errors.AlreadyExists):
        await client.create("configmaps", configmap("dup"), namespace)
    with pytest.raises(errors.Invalid) as invalid:
        await client.create("pods", {"metadata": {"name": "p"}, "spec": {}}, namespace)
    assert "spec.containers" in [cause.field for cause in invalid.value.causes]
    with pytest.raises(errors.NotFound):
        await client.create("configmaps", configmap("x"), "no-such-namespace")


async def test_user_agent_is_the_default_field_manager(client: Client, namespace: str) -> None:
    created = await client.create("configmaps", configmap("cm", a="1"), namespace)
    assert created["metadata"]["managedFields"][0]["manager"] == "kubeadmpy-client"


PATCHES = [
    ("merge patch replaces lists and deletes with null", PatchType.MERGE,
     {"metadata": {"labels": {"tier": "web"}}, "spec": {"replicas": 3}},
     lambda d: d["spec"]["replicas"] == 3 and d["metadata"]["labels"] == {"tier": "web"}),
    ("strategic merge patch merges containers by name", PatchType.STRATEGIC,
     {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}},
     lambda d: [(c["name"], c["image"]) for c in d["spec"]["template"]["spec"]["containers"]]
     == [("web", "nginx:2"), ("sidecar", "busybox:1")]),
    ("json patch applies RFC 6902 operations", PatchType.JSON,
     [{"op": "replace", "path": "/spec/replicas", "value": 4},
      {"op": "remove", "path": "/spec/template/spec/containers/1"}],
     lambda d: d["spec"]["replicas"] == 4 and
     len(d["spec"]["template"]["spec"]["containers"]) == 1),
]


@pytest.mark.parametrize(("patch_type", "patch", "check"), [p[1:] for p in PATCHES],
                         ids=[p[0] for p in PATCHES])
async def test_patch_types(client: Client, namespace: str, patch_type: PatchType, patch: Any,
                           check: Any) -> None:
    await client.create("deployments", deployment("web"), namespace)
    patched = await client.patch("deployments", "web", patch, namespace, patch_type=patch_type)
    assert check(patched)
    assert check(await client.get("deployments", "web", namespace))


async def test_server_side_apply_creates_then_reports_conflicts_unless_forced(
        client: Client, namespace: str) -> None:
    intent = configmap("applied", owner="a")
    created = await client.apply("configmaps", intent, namespace, field_manager="tool-a")
    assert created["data"] == {"owner": "a"}
    with pytest.raises(errors.Conflict) as caught:
        await client.apply("configmaps", configmap("applied", owner="b"), namespace,
                           field_manager="tool-b")
    assert [c.field for c in caught.value.causes] == [".data.owner"]
    forced = await client.apply("configmaps", configmap("applied", owner="b"), namespace,
                                field_manager="tool-b", force=True)
    assert forced["data"] == {"owner": "b"}
    managers = {m["manager"] for m in forced["metadata"]["managedFields"]}
    assert "tool-b" in managers


async def test_apply_without_a_field_manager_is_refused_before_sending(client: Client) -> None:
    with pytest.raises(errors.BadRequest, match="field manager"):
        await client.patch("configmaps", "x", {}, "default", patch_type=PatchType.APPLY)


async def test_dry_run_writes_nothing(client: Client, namespace: str) -> None:
    answer = await client.create("configmaps", configmap("dry"), namespace, dry_run=True)
    assert answer["metadata"]["name"] == "dry"
    with pytest.raises(errors.NotFound):
        await client.get("configmaps", "dry", namespace)
    await client.create("configmaps", configmap("real"), namespace)
    await client.delete("configmaps", "real", namespace, dry_run=True)
    assert await client.get("configmaps", "real", namespace)


async def test_delete_preconditions_protect_a_recreated_object(client: Client,
                                                               namespace: str) -> None:
    first = await client.create("configmaps", configmap("cm"), namespace)
    await client.delete("configmaps", "cm", namespace)
    await client.create("configmaps", configmap("cm"), namespace)
    with pytest.raises(errors.Conflict):
        await client.delete("configmaps", "cm", namespace,
                            preconditions=Preconditions(uid=first["metadata"]["uid"]))
    assert await client.get("configmaps", "cm", namespace)


async def test_foreground_deletion_leaves_the_owner_with_a_finalizer(client: Client,
                                                                     namespace: str) -> None:
    await client.create("deployments", deployment("owner"), namespace)
    answer = await client.delete("deployments", "owner", namespace,
                                 propagation_policy="Foreground")
    assert answer["metadata"]["deletionTimestamp"]
    assert "foregroundDeletion" in answer["metadata"]["finalizers"]


async def test_graceful_pod_deletion_keeps_a_bound_pod_until_the_grace_period(
        client: Client, namespace: str) -> None:
    await client.create("pods", pod("bound"), namespace)
    await client.bind(namespace, "bound", "node-1")
    answer = await client.delete("pods", "bound", namespace, grace_period_seconds=30)
    assert answer["metadata"]["deletionGracePeriodSeconds"] == 30
    await client.delete("pods", "bound", namespace, grace_period_seconds=0)
    with pytest.raises(errors.NotFound):
        await client.get("pods", "bound", namespace)


async def test_unknown_propagation_policy_is_refused(client: Client) -> None:
    with pytest.raises(errors.BadRequest, match="propagationPolicy"):
        await client.delete("configmaps", "x", "default", propagation_policy="Eventually")


async def test_status_scale_binding_and_eviction_subresources(client: Client,
                                                              namespace: str) -> None:
    created = await client.create("deployments", deployment("web"), namespace)
    created["status"] = {"replicas": 1, "observedGeneration": 1}
    created["spec"]["replicas"] = 9  # ignored by the status subresource
    after = await client.update_status("deployments", created, namespace)
    assert after["status"]["observedGeneration"] == 1 and after["spec"]["replicas"] == 1

    scale = await client.scale("deployments", "web", 5, namespace)
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 5
    assert (await client.get("deployments", "web", namespace))["spec"]["replicas"] == 5
    assert (await client.get("deployments", "web", namespace, subresource="scale")
            )["status"]["selector"] == "app=web"

    await client.create("pods", pod("p"), namespace)
    await client.bind(namespace, "p", "node-1")
    assert (await client.get("pods", "p", namespace))["spec"]["nodeName"] == "node-1"
    with pytest.raises(errors.Conflict):
        await client.bind(namespace, "p", "node-2")

    await client.evict(namespace, "p", grace_period_seconds=0)
    with pytest.raises(errors.NotFound):
        await client.get("pods", "p", namespace)


async def test_pagination_with_limit_and_continue(client: Client, namespace: str) -> None:
    for i in range(7):
        await client.create("configmaps", {**configmap(f"page-{i}"),
                                           "metadata": {"name": f"page-{i}",
                                                        "labels": {"set": "paged"}}},
                            namespace)
    first = await client.list("configmaps", namespace, label_selector="set=paged", limit=3)
    assert len(first.items) == 3 and first.continue_token
    pages = [page async for page in client.pages("configmaps", namespace,
                                                  label_selector="set=paged", page_size=3)]
    assert [len(p.items) for p in pages] == [3, 3, 1]
    everything = await client.list_all("configmaps", namespace, label_selector="set=paged",
                                       page_size=3)
    assert sorted(i["metadata"]["name"] for i in everything.items) == [
        f"page-{i}" for i in range(7)]
    assert all(i["kind"] == "ConfigMap" for i in everything.items)


async def test_label_and_field_selectors(client: Client, namespace: str) -> None:
    for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        await client.create("configmaps", {"metadata": {"name": name, "labels": {"tier": tier}}},
                            namespace)
    web = await client.list("configmaps", namespace, label_selector="tier in (web)")
    assert sorted(i["metadata"]["name"] for i in web.items) == ["a", "c"]
    one = await client.list("configmaps", namespace, field_selector="metadata.name=b")
    assert [i["metadata"]["name"] for i in one.items] == ["b"]


async def test_discovery_resolves_kinds_outside_the_static_table(client: Client) -> None:
    info = await client.resolve("csidrivers.storage.k8s.io")
    assert (info.group, info.kind, info.namespaced) == ("storage.k8s.io", "CSIDriver", False)
    assert client.discovery.aggregated is True
    with pytest.raises(errors.NotFound, match="widgets"):
        await client.resolve("widgets.example.com")


async def test_a_client_without_credentials_is_refused(cluster: Cluster) -> None:
    config = load_kubeconfig(cluster.kubeconfig).with_overrides(
        client_cert_pem=b"", client_key_pem=b"", qps=0)
    async with Client(config) as anonymous:
        with pytest.raises((errors.Unauthorized, errors.Forbidden)):
            await anonymous.list("secrets", "kube-system")


async def test_update_without_a_name_is_refused_before_sending(client: Client) -> None:
    with pytest.raises(errors.BadRequest, match=r"metadata\.name"):
        await client.update("configmaps", {"metadata": {}, "data": {}}, "default")


async def test_legacy_and_aggregated_discovery_agree(client: Client) -> None:
    aggregated = {(r.api_version, r.plural, r.kind, r.namespaced)
                  for r in await client.discovery.resources(refresh=True)}
    assert client.discovery.aggregated is True
    client.discovery.ask_aggregated = False
    legacy = {(r.api_version, r.plural, r.kind, r.namespaced)
              for r in await client.discovery.resources(refresh=True)}
    assert client.discovery.aggregated is False
    assert legacy == aggregated
    assert ("v1", "pods", "Pod", True) in legacy
