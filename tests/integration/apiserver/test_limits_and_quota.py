"""LimitRanger and ResourceQuota through the real server and real kubectl: defaults from a
LimitRange land on a bare pod, a pod over a maximum is refused in upstream's words, a quota of
two pods refuses the third and `kubectl describe quota` shows 2/2, and usage goes down again
when the resourcequota controller sees a pod deleted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

from apiserver_harness import Cluster

from kubeadmpy.client import Client, SharedInformerFactory, errors, load_kubeconfig
from kubeadmpy.controllers.cluster.resource_quota import ResourceQuotaController
from kubeadmpy.controllers.manager import ServiceAccountCredentials
from kubeadmpy.controllers.registry import BY_NAME, ControllerContext, ManagerOptions

BUSYBOX = "registry.k8s.io/e2e-test-images/busybox:1.36.1-1"


def pod_yaml(name: str, resources: dict[str, Any] | None = None) -> str:
    container: dict[str, Any] = {"name": "c", "image": BUSYBOX}
    if resources:
        container["resources"] = resources
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": [container]}})


def namespace(cluster: Cluster, version: str, prefix: str) -> str:
    name = f"{prefix}-{version.replace('.', '-')}"
    cluster.kubectl(version, "create", "namespace", name)
    return name


def wait_for(check: Any, what: str, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


LIMIT_RANGE = """
apiVersion: v1
kind: LimitRange
metadata: {name: bounds}
spec:
  limits:
  - type: Container
    max: {cpu: "1", memory: 512Mi}
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 250m, memory: 128Mi}
"""


def test_limitrange_defaults_a_bare_pod_and_refuses_one_over_max(cluster: Cluster,
                                                                 kubectl_version: str) -> None:
    v = kubectl_version
    ns = namespace(cluster, v, "limits")
    cluster.kubectl(v, "apply", "-n", ns, "-f", "-", stdin=LIMIT_RANGE)
    listed = cluster.kubectl(v, "get", "limitrange", "-n", ns, "-o", "json").stdout
    stored = json.loads(listed)["items"][0]["spec"]["limits"][0]
    assert stored["max"] == {"cpu": "1", "memory": "512Mi"}

    # admission reads LimitRanges from the watch cache: wait until a dry run shows it
    def defaulted() -> bool:
        out = cluster.kubectl(v, "create", "-n", ns, "--dry-run=server", "-o", "json", "-f", "-",
                              stdin=pod_yaml("bare")).stdout
        return "resources" in json.loads(out)["spec"]["containers"][0]
    wait_for(defaulted, "the LimitRange to reach admission")

    cluster.kubectl(v, "create", "-n", ns, "-f", "-", stdin=pod_yaml("bare"))
    resources = cluster.kubectl(v, "get", "pod", "bare", "-n", ns, "-o",
                                "jsonpath={.spec.containers[0].resources}").stdout
    assert json.loads(resources) == {"limits": {"cpu": "500m", "memory": "256Mi"},
                                     "requests": {"cpu": "250m", "memory": "128Mi"}}
    annotation = cluster.kubectl(v, "get", "pod", "bare", "-n", ns, "-o",
                                 r"jsonpath={.metadata.annotations.kubernetes\.io/limit-ranger}"
                                 ).stdout
    assert annotation == ("LimitRanger plugin set: cpu, memory request for container c; "
                          "cpu, memory limit for container c")
    # the QoS class is worked out from the admitted pod, as upstream's
    assert cluster.kubectl(v, "get", "pod", "bare", "-n", ns, "-o",
                           "jsonpath={.status.qosClass}").stdout == "Burstable"

    refused = cluster.kubectl(v, "create", "-n", ns, "-f", "-", check=False,
                              stdin=pod_yaml("big", {"limits": {"cpu": "2"}}))
    assert refused.returncode != 0
    assert 'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2' \
        in refused.stderr
    missing = cluster.kubectl(v, "get", "pod", "big", "-n", ns, check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr


@contextlib.asynccontextmanager
async def quota_controller(cluster: Cluster) -> AsyncIterator[Client]:
    """The resourcequota controller in-process as the controller-manager runs it: informers
    read as the admin, writes go as system:serviceaccount:kube-system:resourcequota-controller
    (a TokenRequest token, as --use-service-account-credentials); yields the admin client.
    Everything stops when the block ends, also when the test fails."""
    async with Client(load_kubeconfig(cluster.kubeconfig).with_overrides(qps=0)) as admin:
        config = await ServiceAccountCredentials(admin).config_for(
            BY_NAME["resourcequota-controller"].service_account)
        async with Client(config.with_overrides(qps=0)) as own:
            informers = SharedInformerFactory(admin)
            controller = ResourceQuotaController(ControllerContext(
                "resourcequota-controller", own, informers, ManagerOptions()))
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(informers.run()),
                         group.create_task(controller.run())]
                try:
                    await asyncio.wait_for(controller.controller.started.wait(), 30)
                    yield admin
                finally:
                    for task in tasks:
                        task.cancel()


async def kubectl(cluster: Cluster, version: str, *args: str, stdin: str | None = None,
                  check: bool = True) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(cluster.kubectl, version, *args, stdin=stdin, check=check)


async def used(cluster: Cluster, version: str, ns: str, resource: str) -> str:
    out = await kubectl(cluster, version, "get", "quota", "q", "-n", ns, "-o",
                        f"jsonpath={{.status.used.{resource}}}")
    return out.stdout


async def wait_used(cluster: Cluster, version: str, ns: str, resource: str, want: str) -> None:
    deadline = time.monotonic() + 30
    while (seen := await used(cluster, version, ns, resource)) != want:
        assert time.monotonic() < deadline, f"status.used.{resource} stayed {seen!r}, not {want}"
        await asyncio.sleep(0.1)


async def test_quota_refuses_the_third_pod_and_gives_usage_back_on_delete(
        cluster: Cluster, kubectl_version: str) -> None:
    v = kubectl_version
    ns = await asyncio.to_thread(namespace, cluster, v, "quota")
    async with quota_controller(cluster):
        await kubectl(cluster, v, "create", "quota", "q", "--hard=pods=2", "-n", ns)
        await wait_used(cluster, v, ns, "pods", "0")
        for name in ("p1", "p2"):
            await kubectl(cluster, v, "create", "-n", ns, "-f", "-", stdin=pod_yaml(name))
        refused = await kubectl(cluster, v, "create", "-n", ns, "-f", "-", check=False,
                                stdin=pod_yaml("p3"))
        assert refused.returncode != 0
        assert ('pods "p3" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, '
                "limited: pods=2") in refused.stderr
        described = (await kubectl(cluster, v, "describe", "quota", "q", "-n", ns)).stdout
        assert re.search(r"^pods\s+2\s+2\s*$", described, re.MULTILINE), described

        await kubectl(cluster, v, "delete", "pod", "p1", "-n", ns, "--grace-period=0",
                      "--force")
        await wait_used(cluster, v, ns, "pods", "1")
        await kubectl(cluster, v, "create", "-n", ns, "-f", "-", stdin=pod_yaml("p3"))
        assert await used(cluster, v, ns, "pods") == "2"


async def test_quota_on_compute_requires_requests_and_sums_them(cluster: Cluster) -> None:
    v = "1.33"
    ns = await asyncio.to_thread(namespace, cluster, v, "compute")
    async with quota_controller(cluster):
        await kubectl(cluster, v, "create", "quota", "q", "-n", ns,
                      "--hard=requests.cpu=1,requests.memory=1Gi,count/configmaps=1")
        await wait_used(cluster, v, ns, "requests\\.cpu", "0")
        bare = await kubectl(cluster, v, "create", "-n", ns, "-f", "-", check=False,
                             stdin=pod_yaml("bare"))
        assert ('pods "bare" is forbidden: failed quota: q: must specify requests.cpu for: c; '
                "requests.memory for: c") in bare.stderr
        sized = {"requests": {"cpu": "600m", "memory": "256Mi"}}
        await kubectl(cluster, v, "create", "-n", ns, "-f", "-", stdin=pod_yaml("a", sized))
        assert await used(cluster, v, ns, "requests\\.cpu") == "600m"
        assert await used(cluster, v, ns, "requests\\.memory") == "256Mi"
        again = await kubectl(cluster, v, "create", "-n", ns, "-f", "-", check=False,
                              stdin=pod_yaml("b", sized))
        assert ('pods "b" is forbidden: exceeded quota: q, requested: requests.cpu=600m, '
                "used: requests.cpu=600m, limited: requests.cpu=1") in again.stderr
        # a limit alone is also the request (upstream's pod defaults), so it satisfies the quota
        await kubectl(cluster, v, "delete", "pod", "a", "-n", ns, "--grace-period=0", "--force")
        await wait_used(cluster, v, ns, "requests\\.cpu", "0")
        await kubectl(cluster, v, "create", "-n", ns, "-f", "-", stdin=pod_yaml(
            "limited", {"limits": {"cpu": "500m", "memory": "128Mi"}}))
        assert await used(cluster, v, ns, "requests\\.cpu") == "500m"
        await kubectl(cluster, v, "create", "configmap", "one", "-n", ns)
        second = await kubectl(cluster, v, "create", "configmap", "two", "-n", ns, check=False)
        assert ('configmaps "two" is forbidden: exceeded quota: q, requested: '
                "count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1"
                ) in second.stderr


async def test_concurrent_creates_cannot_both_take_the_last_unit(cluster: Cluster) -> None:
    ns = await asyncio.to_thread(namespace, cluster, "1.33", "race")
    async with quota_controller(cluster) as client:
        await kubectl(cluster, "1.33", "create", "quota", "q", "--hard=secrets=3", "-n", ns)
        await wait_used(cluster, "1.33", ns, "secrets", "0")

        async def create(index: int) -> bool:
            try:
                await client.create("secrets", {"metadata": {"name": f"s{index}"}}, ns)
            except errors.Forbidden:
                return False
            return True
        results = await asyncio.gather(*(create(i) for i in range(12)))
        assert sum(results) == 3
        assert await used(cluster, "1.33", ns, "secrets") == "3"


def test_bad_limitranges_and_quotas_are_refused_naming_the_field(cluster: Cluster) -> None:
    v = "1.33"
    ns = namespace(cluster, v, "badlimits")
    upside_down = LIMIT_RANGE.replace('max: {cpu: "1", memory: 512Mi}',
                                      'max: {cpu: "1", memory: 512Mi}\n    min: {cpu: "2"}')
    refused = cluster.kubectl(v, "apply", "-n", ns, "-f", "-", stdin=upside_down, check=False)
    assert refused.returncode != 0
    assert "spec.limits[0].min[cpu]" in refused.stderr  # upstream's path: the min
    assert "min value 2 is greater than max value 1" in refused.stderr
    below_one = LIMIT_RANGE + "    maxLimitRequestRatio: {cpu: 500m}\n"
    refused = cluster.kubectl(v, "apply", "-n", ns, "-f", "-", stdin=below_one, check=False)
    assert refused.returncode != 0
    assert "spec.limits[0].maxLimitRequestRatio[cpu]" in refused.stderr
    assert "ratio 500m is less than 1" in refused.stderr
    quota = json.dumps({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
                        "spec": {"hard": {"pods": "lots"}}})
    refused = cluster.kubectl(v, "apply", "-n", ns, "-f", "-", stdin=quota, check=False)
    assert refused.returncode != 0 and "spec.hard[pods]" in refused.stderr


async def test_growing_a_claim_is_charged_and_refused_past_the_quota(cluster: Cluster) -> None:
    v = "1.33"
    ns = await asyncio.to_thread(namespace, cluster, v, "storage")
    claim = json.dumps({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": "data"}, "spec": {
                            "accessModes": ["ReadWriteOnce"], "storageClassName": "",
                            "resources": {"requests": {"storage": "1Gi"}}}})
    async with quota_controller(cluster):
        await kubectl(cluster, v, "create", "quota", "q", "-n", ns,
                      "--hard=requests.storage=3Gi,persistentvolumeclaims=1")
        await wait_used(cluster, v, ns, "requests\\.storage", "0")
        await kubectl(cluster, v, "create", "-n", ns, "-f", "-", stdin=claim)
        assert await used(cluster, v, ns, "requests\\.storage") == "1Gi"
        grow = '{"spec":{"resources":{"requests":{"storage":"%s"}}}}'
        await kubectl(cluster, v, "patch", "pvc", "data", "-n", ns, "-p", grow % "2Gi")
        assert await used(cluster, v, ns, "requests\\.storage") == "2Gi"
        refused = await kubectl(cluster, v, "patch", "pvc", "data", "-n", ns, "-p",
                                grow % "5Gi", check=False)
        assert ('persistentvolumeclaims "data" is forbidden: exceeded quota: q, requested: '
                "requests.storage=3Gi, used: requests.storage=2Gi, limited: "
                "requests.storage=3Gi") in refused.stderr
        second = await kubectl(cluster, v, "create", "-n", ns, "-f", "-", check=False,
                               stdin=claim.replace('"data"', '"more"'))
        assert "exceeded quota: q, requested: persistentvolumeclaims=1" in second.stderr


async def test_deleting_a_service_gives_its_quota_back_before_the_periodic_sync(
        cluster: Cluster) -> None:
    """Only pods used to trigger a recount: a deleted Service stayed charged for the 5-minute
    sync, so a namespace at its limit could not replace it."""
    v = "1.33"
    ns = await asyncio.to_thread(namespace, cluster, v, "quota-svc")
    async with quota_controller(cluster):
        await kubectl(cluster, v, "create", "quota", "q", "--hard=services=1", "-n", ns)
        await wait_used(cluster, v, ns, "services", "0")
        await kubectl(cluster, v, "create", "service", "clusterip", "a", "--tcp=80", "-n", ns)
        assert await used(cluster, v, ns, "services") == "1"
        await kubectl(cluster, v, "delete", "service", "a", "-n", ns)
        await wait_used(cluster, v, ns, "services", "0")
        await kubectl(cluster, v, "create", "service", "clusterip", "b", "--tcp=80", "-n", ns)
