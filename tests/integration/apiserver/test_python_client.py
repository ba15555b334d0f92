"""The official Python `kubernetes` client against kubeadmpy-apiserver: discovery helpers with
trailing slashes, list, watch (kubernetes.watch.Watch), create, patch (strategic, merge, JSON),
replace, delete, pagination, selectors, and the 409/410/404 errors it raises."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator

import pytest
from apiserver_harness import Cluster
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

_names = itertools.count()


@pytest.fixture
def api(cluster: Cluster) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    config.load_kube_config(str(cluster.kubeconfig), client_configuration=configuration)
    with client.ApiClient(configuration) as api_client:
        yield api_client


@pytest.fixture
def namespace(api: client.ApiClient) -> str:
    name = f"py{next(_names)}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def configmap(name: str, **labels: str) -> dict[str, object]:
    return {"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}


def test_discovery_helpers_with_trailing_slashes(api: client.ApiClient) -> None:
    assert client.VersionApi(api).get_code().major == "1"
    assert "v1" in client.CoreApi(api).get_api_versions().versions
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"apps", "batch", "rbac.authorization.k8s.io"} <= groups
    assert client.AppsApi(api).get_api_group().preferred_version.group_version == "apps/v1"
    names = {r.name for r in client.AppsV1Api(api).get_api_resources().resources}
    assert {"deployments", "deployments/scale", "deployments/status"} <= names


def test_dynamic_client_discovers_and_lists(api: client.ApiClient, namespace: str) -> None:
    dyn = dynamic.DynamicClient(api)
    pods = dyn.resources.get(api_version="v1", kind="Pod")
    assert pods.namespaced
    assert dyn.resources.get(api_version="apps/v1", kind="Deployment").name == "deployments"
    assert pods.get(namespace=namespace).items == []


def test_create_read_replace_patch_delete(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map(namespace, configmap("a", app="x"))
    assert created.metadata.uid and created.metadata.creation_timestamp
    read = core.read_namespaced_config_map("a", namespace)
    read.data["k"] = "changed"
    replaced = core.replace_namespaced_config_map("a", namespace, read)
    assert replaced.data == {"k": "changed"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    patched = core.patch_namespaced_config_map("a", namespace, {"data": {"n": "1"}})
    assert patched.data == {"k": "changed", "n": "1"}
    patched = core.patch_namespaced_config_map(
        "a", namespace, [{"op": "remove", "path": "/data/n"}])
    assert patched.data == {"k": "changed"}
    core.delete_namespaced_config_map("a", namespace)
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("a", namespace)
    assert missing.value.status == 404


def test_replace_with_a_stale_resource_version_is_a_conflict(api: client.ApiClient,
                                                            namespace: str) -> None:
    core = client.CoreV1Api(api)
    first = core.create_namespaced_config_map(namespace, configmap("c"))
    core.patch_namespaced_config_map("c", namespace, {"data": {"k": "newer"}})
    first.data = {"k": "stale"}
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("c", namespace, first)
    assert conflict.value.status == 409
    assert "the object has been modified" in conflict.value.body


def test_list_with_selectors_and_pages(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    for index in range(7):
        core.create_namespaced_config_map(namespace, configmap(f"p{index}",
                                                               parity=str(index % 2)))
    page = core.list_namespaced_config_map(namespace, limit=3)
    names = [i.metadata.name for i in page.items]
    while page.metadata._continue:
        page = core.list_namespaced_config_map(namespace, limit=3,
                                               _continue=page.metadata._continue)
        names += [i.metadata.name for i in page.items]
    assert names == [f"p{i}" for i in range(7)]
    odd = core.list_namespaced_config_map(namespace, label_selector="parity=1")
    assert [i.metadata.name for i in odd.items] == ["p1", "p3", "p5"]
    one = core.list_namespaced_config_map(namespace, field_selector="metadata.name=p4")
    assert [i.metadata.name for i in one.items] == ["p4"]
    with pytest.raises(ApiException) as bad:
        core.list_namespaced_config_map(namespace, field_selector="data.k=v")
    assert bad.value.status == 400 and "field label not supported" in bad.value.body


def test_watch_streams_added_modified_deleted_in_order(api: client.ApiClient,
                                                       namespace: str) -> None:
    core = client.CoreV1Api(api)
    listed = core.list_namespaced_config_map(namespace)
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def consume() -> None:
        stream = watch.Watch()
        for event in stream.stream(core.list_namespaced_config_map, namespace,
                                   resource_version=listed.metadata.resource_version,
                                   timeout_seconds=20):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                stream.stop()
        done.set()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    time.sleep(0.5)
    core.create_namespaced_config_map(namespace, configmap("w"))
    core.patch_namespaced_config_map("w", namespace, {"data": {"k": "2"}})
    core.delete_namespaced_config_map("w", namespace)
    assert done.wait(30)
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_watch_from_a_version_in_the_future_is_an_error(api: client.ApiClient,
                                                        namespace: str) -> None:
    core = client.CoreV1Api(api)
    with pytest.raises(ApiException) as future:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, namespace,
                                      resource_version="999999999", timeout_seconds=5):
            pass
    assert future.value.status == 504 and "Too large resource version" in str(future.value)


def test_deployment_scale_and_status_subresources(api: client.ApiClient, namespace: str) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(namespace, {
        "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    scale = apps.patch_namespaced_deployment_scale("d", namespace, {"spec": {"replicas": 4}})
    assert scale.spec.replicas == 4 and scale.status.selector == "app=d"
    status = apps.patch_namespaced_deployment_status("d", namespace,
                                                     {"status": {"replicas": 4,
                                                                 "observedGeneration": 2}})
    assert status.status.replicas == 4 and status.spec.replicas == 4
    main = apps.patch_namespaced_deployment("d", namespace, {"status": {"replicas": 0}})
    assert main.status.replicas == 4  # the main resource ignores status
    assert main.metadata.generation == 2


def test_delete_with_propagation_policy_body(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(namespace, configmap("f"))
    core.delete_namespaced_config_map("f", namespace, body=client.V1DeleteOptions(
        propagation_policy="Foreground", grace_period_seconds=0))
    pending = core.read_namespaced_config_map("f", namespace)
    assert pending.metadata.deletion_timestamp is not None
    assert pending.metadata.finalizers == ["foregroundDeletion"]
    core.patch_namespaced_config_map("f", namespace, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("f", namespace)
    assert gone.value.status == 404


def test_services_get_distinct_cluster_ips(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    ips = set()
    for index in range(5):
        svc = core.create_namespaced_service(namespace, {
            "metadata": {"name": f"s{index}"},
            "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}})
        ips.add(svc.spec.cluster_ip)
    assert len(ips) == 5
    with pytest.raises(ApiException) as taken:
        core.create_namespaced_service(namespace, {
            "metadata": {"name": "dup"},
            "spec": {"clusterIP": next(iter(ips)), "ports": [{"port": 80}]}})
    assert taken.value.status == 422 and "already allocated" in taken.value.body
    assert json.loads(taken.value.body)["message"].startswith(
        f'Service "dup" is invalid: spec.clusterIP: Invalid value: "{next(iter(ips))}"')


def test_node_port_services_get_ports_from_the_range_and_give_them_back(
        api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    svc = core.create_namespaced_service(namespace, {
        "metadata": {"name": "np"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}})
    assert svc.spec.ports[0].node_port == 30080
    with pytest.raises(ApiException) as taken:
        core.create_namespaced_service(namespace, {
            "metadata": {"name": "np2"},
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}})
    assert taken.value.status == 422 and "already allocated" in taken.value.body
    assert json.loads(taken.value.body)["message"].startswith('Service "np2" is invalid')
    auto = core.create_namespaced_service(namespace, {
        "metadata": {"name": "np3"}, "spec": {"type": "NodePort", "ports": [{"port": 81}]}})
    assert 30000 <= auto.spec.ports[0].node_port <= 32767
    core.delete_namespaced_service("np", namespace)
    again = core.create_namespaced_service(namespace, {
        "metadata": {"name": "np4"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}})
    assert again.spec.ports[0].node_port == 30080


def test_changing_a_service_type_allocates_and_releases_node_ports(api: client.ApiClient,
                                                                   namespace: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_service(namespace, {
        "metadata": {"name": "flip"}, "spec": {"ports": [{"port": 80}]}})
    node_port = core.patch_namespaced_service("flip", namespace, {"spec": {
        "type": "NodePort"}}).spec.ports[0].node_port
    assert 30000 <= node_port <= 32767
    relabelled = core.patch_namespaced_service("flip", namespace,
                                               {"metadata": {"labels": {"x": "y"}}})
    assert relabelled.spec.ports[0].node_port == node_port  # kept across updates
    back = core.patch_namespaced_service("flip", namespace, {"spec": {"type": "ClusterIP"}})
    assert back.spec.ports[0].node_port is None
    reuse = core.create_namespaced_service(namespace, {
        "metadata": {"name": "reuse"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": node_port}]}})
    assert reuse.spec.ports[0].node_port == node_port  # it was given back
