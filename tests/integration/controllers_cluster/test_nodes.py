"""Node IPAM and node lifecycle + taint eviction against the real API server, with simulated
nodes (Node objects and Leases written by the test standing in for kubelets)."""

from __future__ import annotations

import ipaddress

from cluster_controllers_harness import SimulatedNodes, eventually, running_controllers

from kubeadmpy.client import Client, errors
from kubeadmpy.controllers.cluster import nodeipam, nodelifecycle, tainteviction
from kubeadmpy.controllers.cluster.common import parse_time
from kubeadmpy.controllers.registry import ManagerOptions


async def test_node_ipam_gives_every_node_a_distinct_slash_24_of_the_cluster_cidr(
        admin: Client, nodes: SimulatedNodes) -> None:
    options = ManagerOptions(allocate_node_cidrs=True, cluster_cidr="10.244.0.0/16")
    await nodes.add("before-start")  # existing nodes are handled at start-up too
    async with running_controllers(admin, options, ("nodeipam", nodeipam.new_controller)):
        for index in range(4):
            await nodes.add(f"worker-{index}")

        async def all_allocated() -> list[str] | None:
            listed = (await admin.list("nodes")).items
            cidrs = [(n.get("spec") or {}).get("podCIDR") for n in listed]
            return cidrs if len(cidrs) == 5 and all(cidrs) else None
        cidrs = await eventually(all_allocated, "every node has a podCIDR")
    networks = [ipaddress.ip_network(c) for c in cidrs]
    assert len(set(networks)) == 5
    cluster = ipaddress.ip_network("10.244.0.0/16")
    assert all(n.prefixlen == 24 and n.subnet_of(cluster) for n in networks)  # type: ignore[arg-type]
    for node in (await admin.list("nodes")).items:
        assert node["spec"]["podCIDRs"] == [node["spec"]["podCIDR"]]


async def test_a_node_whose_lease_stops_being_renewed_becomes_unknown_tainted_and_evicted(
        admin: Client, nodes: SimulatedNodes) -> None:
    options = ManagerOptions(node_monitor_grace_period=2.0, node_startup_grace_period=2.0,
                             node_monitor_period=0.5)
    await nodes.add("healthy")
    await nodes.add("silent")
    # Without a toleration of its own DefaultTolerationSeconds would give it 300 s, as upstream.
    pods = {"intolerant": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                            "effect": "NoExecute", "tolerationSeconds": 0}],
            "tolerates-3s": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                              "effect": "NoExecute", "tolerationSeconds": 3}],
            "tolerates-forever": [{"key": "node.kubernetes.io/unreachable",
                                   "operator": "Exists", "effect": "NoExecute"}]}
    for name, tolerations in pods.items():
        await admin.create("pods", {"metadata": {"name": name}, "spec": {
            "nodeName": "silent", "tolerations": tolerations,
            "containers": [{"name": "c", "image": "x"}]}}, "default")
    await admin.create("pods", {"metadata": {"name": "on-healthy"}, "spec": {
        "nodeName": "healthy", "containers": [{"name": "c", "image": "x"}]}}, "default")
    await nodes.mark_pod_ready("default", "tolerates-forever", "10.244.1.5")
    async with running_controllers(
            admin, options, ("nodelifecycle", nodelifecycle.new_controller),
            ("tainteviction", tainteviction.new_controller)):
        nodes.stop_renewing("silent")

        async def unknown() -> dict | None:  # type: ignore[type-arg]
            node = await admin.get("nodes", "silent")
            ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
            return node if ready["status"] == "Unknown" else None
        node = await eventually(unknown, "the silent node's Ready condition is Unknown")
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["reason"] == "NodeStatusUnknown"
        assert ready["message"] == "Kubelet stopped posting node status."

        async def tainted() -> list | None:  # type: ignore[type-arg]
            taints = ((await admin.get("nodes", "silent")).get("spec") or {}).get("taints") or []
            return taints if len(taints) == 2 else None
        taints = await eventually(tainted, "the silent node carries the unreachable taints")
        assert {(t["key"], t["effect"]) for t in taints} == {
            ("node.kubernetes.io/unreachable", "NoSchedule"),
            ("node.kubernetes.io/unreachable", "NoExecute")}
        assert "timeAdded" in next(t for t in taints if t["effect"] == "NoExecute")

        async def gone(name: str) -> bool:
            """Deleted: bound pods then wait (Terminating) for their kubelet, which is the
            silent one here, so a deletionTimestamp is what eviction leaves visible."""
            try:
                pod = await admin.get("pods", name, "default")
            except errors.NotFound:
                return True
            return bool(pod["metadata"].get("deletionTimestamp"))
        await eventually(lambda: gone("intolerant"), "the intolerant pod is evicted", 30)
        evicted = await admin.get("pods", "intolerant", "default")
        assert {"type": "DisruptionTarget", "status": "True",
                "reason": "DeletionByTaintManager"}.items() <= next(
            c for c in evicted["status"]["conditions"] if c["type"] == "DisruptionTarget"
        ).items()
        await eventually(lambda: gone("tolerates-3s"), "the 3 s pod is evicted", 30)
        assert not await gone("tolerates-forever")
        assert not await gone("on-healthy")
        staying = await admin.get("pods", "tolerates-forever", "default")
        assert next(c for c in staying["status"]["conditions"]
                    if c["type"] == "Ready")["status"] == "False"  # its node is not Ready
        events = (await admin.list("events", "default")).items
        reasons = {(e["involvedObject"]["name"], e["reason"]) for e in events}
        assert ("silent", "NodeNotReady") in reasons
        assert ("intolerant", "TaintManagerEviction") in reasons
        assert ("tolerates-forever", "TaintManagerEviction") not in reasons
        # not before its tolerationSeconds: a lower bound, both stamps truncated to seconds
        added = parse_time(next(t for t in taints if t["effect"] == "NoExecute")["timeAdded"])
        evicted_at = parse_time(next(e["firstTimestamp"] for e in events if e["reason"] ==
                                     "TaintManagerEviction" and
                                     e["involvedObject"]["name"] == "tolerates-3s"))
        assert added is not None and evicted_at is not None
        assert (evicted_at - added).total_seconds() >= 2
        healthy = await admin.get("nodes", "healthy")
        assert not (healthy.get("spec") or {}).get("taints")
        assert next(c for c in healthy["status"]["conditions"]
                    if c["type"] == "Ready")["status"] == "True"


async def _taints(admin: Client, name: str) -> set[tuple[str, str]]:
    node = await admin.get("nodes", name)
    return {(t["key"], t["effect"]) for t in (node.get("spec") or {}).get("taints") or []}


async def test_a_not_ready_node_is_tainted_and_a_recovered_node_is_untainted(
        admin: Client, nodes: SimulatedNodes) -> None:
    options = ManagerOptions(node_monitor_grace_period=2.0, node_startup_grace_period=2.0,
                             node_monitor_period=0.5, extra={"node_eviction_rate": 100.0})
    await nodes.add("steady")  # one healthy node: the zone is not fully disrupted
    await nodes.add("flaky")
    await nodes.add("sick", ready=False)  # its kubelet runs but reports NotReady
    await admin.patch("nodes", "flaky", {"spec": {"unschedulable": True}})  # cordoned
    async with running_controllers(admin, options,
                                   ("nodelifecycle", nodelifecycle.new_controller)):
        not_ready = {("node.kubernetes.io/not-ready", "NoSchedule"),
                     ("node.kubernetes.io/not-ready", "NoExecute")}

        async def sick_tainted() -> bool:
            return await _taints(admin, "sick") == not_ready
        await eventually(sick_tainted, "the NotReady node carries the not-ready taints")

        nodes.stop_renewing("flaky")
        unreachable = {("node.kubernetes.io/unreachable", "NoSchedule"),
                       ("node.kubernetes.io/unreachable", "NoExecute"),
                       ("node.kubernetes.io/unschedulable", "NoSchedule")}

        async def flaky_unreachable() -> bool:
            return await _taints(admin, "flaky") == unreachable
        await eventually(flaky_unreachable, "the silent, cordoned node is unreachable")

        # its kubelet comes back: renews the lease and posts Ready
        nodes.resume_renewing("flaky")
        await nodes.post_status("flaky", ready=True)
        await nodes.post_status("sick", ready=True)

        async def recovered() -> bool:
            return await _taints(admin, "flaky") == {
                ("node.kubernetes.io/unschedulable", "NoSchedule")} and \
                not await _taints(admin, "sick")
        await eventually(recovered, "recovered nodes lose the condition taints")


async def test_pods_get_the_default_300_second_tolerations(admin: Client) -> None:
    pod = await admin.create("pods", {"metadata": {"name": "plain"}, "spec": {
        "containers": [{"name": "c", "image": "x"}]}}, "default")
    tolerations = pod["spec"].get("tolerations") or []
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        assert {"key": key, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": 300} in tolerations


async def test_when_the_cluster_cidr_is_exhausted_a_node_waits_for_a_deleted_nodes_subnet(
        admin: Client, nodes: SimulatedNodes) -> None:
    options = ManagerOptions(allocate_node_cidrs=True, cluster_cidr="10.10.0.0/23")
    async with running_controllers(admin, options, ("nodeipam", nodeipam.new_controller)):
        for name in ("one", "two"):
            await nodes.add(name)

        async def cidr_of(name: str) -> str | None:
            return ((await admin.get("nodes", name)).get("spec") or {}).get("podCIDR")
        first = await eventually(lambda: cidr_of("one"), "node one gets a CIDR")
        await eventually(lambda: cidr_of("two"), "node two gets the other one")
        await nodes.add("three")

        async def not_available() -> bool:
            events = (await admin.list("events", "default")).items
            return any(e["reason"] == "CIDRNotAvailable" and
                       e["involvedObject"]["name"] == "three" for e in events)
        await eventually(not_available, "node three is told no CIDR is available")
        assert await cidr_of("three") is None

        await admin.delete("nodes", "one")
        assert await eventually(lambda: cidr_of("three"),
                                "node three gets the deleted node's subnet") == first


async def test_when_every_node_goes_silent_nothing_is_evicted(
        admin: Client, nodes: SimulatedNodes) -> None:
    """All nodes unreachable at once is more likely the control plane's own network: upstream
    enters master disruption mode and neither taints NoExecute nor evicts."""
    options = ManagerOptions(node_monitor_grace_period=2.0, node_startup_grace_period=2.0,
                             node_monitor_period=0.5)
    for name in ("a", "b"):
        await nodes.add(name)
        await admin.create("pods", {"metadata": {"name": f"on-{name}"}, "spec": {
            "nodeName": name, "containers": [{"name": "c", "image": "x"}]}}, "default")
    async with running_controllers(
            admin, options, ("nodelifecycle", nodelifecycle.new_controller),
            ("tainteviction", tainteviction.new_controller)):
        nodes.stop_renewing("a")
        nodes.stop_renewing("b")
        unreachable = {("node.kubernetes.io/unreachable", "NoSchedule")}

        async def both_unschedulable() -> bool:
            return await _taints(admin, "a") == unreachable == await _taints(admin, "b")
        await eventually(both_unschedulable, "both nodes get only the NoSchedule taint")
        for name in ("a", "b"):
            pod = await admin.get("pods", f"on-{name}", "default")
            assert not pod["metadata"].get("deletionTimestamp")
