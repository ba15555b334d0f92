"""Benchmark RBAC authorization decisions with 1,000 roles and 1,000 bindings, in one run.

Prints:
  * decisions/s of the indexed RBAC store (evaluated, and repeated from its decision cache; on
    top of the full bootstrap policy) for an allowed
    namespaced request, a denied one, a cluster-scoped one and a service account's, and through
    the whole authorizer chain (privileged groups, Node, RBAC);
  * the same decisions by a reference evaluator that scans every binding (what the index saves);
  * GET latency of a Pod from an aiohttp server on loopback whose middleware authorizes every
    request, with authorization off (AlwaysAllow) and Node,RBAC (with and without the decision
    cache), rounds interleaved in one run: the ratio is what RBAC adds to a GET.

Usage: python benchmarks/bench_rbac.py [--roles 1000] [--bindings 1000] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from kubeadmpy.security import bootstrap_policy
from kubeadmpy.security.authorizer import AlwaysAllow, AuthorizerChain
from kubeadmpy.security.identity import Attributes, UserInfo, request_attributes
from kubeadmpy.security.node_authorizer import NodeAuthorizer
from kubeadmpy.security.rbac import RBACAuthorizer, user_keys
from kubeadmpy.security.rbac_rules import rules_from_api

VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
RESOURCES = ["pods", "services", "configmaps", "secrets", "deployments", "jobs", "leases"]


def synthetic_objects(roles: int, bindings: int, seed: int = 7) -> list[dict[str, Any]]:
    """`roles` Roles/ClusterRoles and `bindings` bindings over 200 users, 50 groups, 100 ns."""
    rng = random.Random(seed)
    objects: list[dict[str, Any]] = []
    for i in range(roles):
        rules = [{"apiGroups": [rng.choice(["", "apps", "batch"])],
                  "resources": rng.sample(RESOURCES, 3), "verbs": rng.sample(VERBS, 3)}
                 for _ in range(rng.randint(2, 6))]
        meta: dict[str, Any] = {"name": f"role-{i}"}
        kind = "ClusterRole"
        if i % 2:
            meta["namespace"], kind = f"ns-{i % 100}", "Role"
        objects.append({"kind": kind, "metadata": meta, "rules": rules})
    for i in range(bindings):
        role_index = rng.randrange(roles)
        role_kind = "Role" if role_index % 2 else "ClusterRole"
        namespace = f"ns-{role_index % 100}" if role_kind == "Role" else f"ns-{i % 100}"
        subjects = [rng.choice([{"kind": "User", "name": f"user-{rng.randrange(200)}"},
                                {"kind": "Group", "name": f"group-{rng.randrange(50)}"},
                                {"kind": "ServiceAccount", "name": f"sa-{rng.randrange(20)}",
                                 "namespace": namespace}])]
        kind = "RoleBinding"
        meta = {"name": f"binding-{i}", "namespace": namespace}
        if i % 10 == 0 and role_kind == "ClusterRole":
            kind, meta = "ClusterRoleBinding", {"name": f"binding-{i}"}
        objects.append({"kind": kind, "metadata": meta, "subjects": subjects,
                        "roleRef": {"kind": role_kind, "name": f"role-{role_index}",
                                    "apiGroup": "rbac.authorization.k8s.io"}})
    return objects


class ScanningRBAC:
    """Reference: the same semantics without an index (every binding looked at per decision)."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.roles = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]):
                      rules_from_api(o.get("rules")) for o in objects
                      if o["kind"] in ("Role", "ClusterRole")}
        self.bindings = [o for o in objects if o["kind"].endswith("Binding")]

    def authorize(self, attrs: Attributes) -> bool:
        keys = set(user_keys(attrs.user))
        for binding in self.bindings:
            namespace = binding["metadata"].get("namespace", "")
            if namespace and namespace != attrs.namespace:
                continue
            for subject in binding.get("subjects") or []:
                name = subject["name"]
                if subject["kind"] == "ServiceAccount":
                    name = f"{subject.get('namespace') or namespace}/{name}"
                if (subject["kind"], name) not in keys:
                    continue
                ref = binding["roleRef"]
                role_ns = namespace if ref["kind"] == "Role" else ""
                for rule in self.roles.get((ref["kind"], role_ns, ref["name"]), ()):
                    if rule.allows(attrs):
                        return True
        return False


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn`, measured for about `seconds`."""
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(200):
            fn()
        calls += 200
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--bindings", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()

    objects = [*bootstrap_policy.all_objects(), *synthetic_objects(args.roles, args.bindings)]
    start = time.perf_counter()
    rbac = RBACAuthorizer()
    rbac.load(objects)
    load_ms = (time.perf_counter() - start) * 1000
    scan = ScanningRBAC(objects)

    class NoPods:
        def pods_on_node(self, node: str) -> list[dict[str, Any]]:
            return []

        def get(self, resource: str, namespace: str, name: str) -> None:
            return None

    chain = AuthorizerChain([NodeAuthorizer(NoPods()), rbac])
    dev = UserInfo("user-17", groups=("group-3", "group-40", "system:authenticated"))
    sa = UserInfo("system:serviceaccount:ns-5:sa-3",
                  groups=("system:serviceaccounts", "system:serviceaccounts:ns-5",
                          "system:authenticated"))
    allowed = next(Attributes(dev, v, True, g, "v1", r, "", f"ns-{n}")
                   for n in range(100) for v in VERBS for r in RESOURCES for g in ("", "apps")
                   if rbac.authorize(Attributes(dev, v, True, g, "v1", r, "",
                                                f"ns-{n}")).allowed)
    cases = {
        "allowed (namespaced)": allowed,
        "denied (namespaced)": Attributes(dev, "escalate", True, "rbac.authorization.k8s.io",
                                          "v1", "roles", "", "ns-1"),
        "cluster-scoped discovery": Attributes(dev, "get", False, path="/apis/apps/v1"),
        "service account": Attributes(sa, "list", True, "", "v1", "pods", "", "ns-5"),
    }
    print(f"RBAC store: {len(objects)} objects ({args.roles} synthetic roles, {args.bindings} "
          f"synthetic bindings + the bootstrap policy), loaded in {load_ms:.0f} ms")
    print(f"{'decision':28} {'indexed/s':>12} {'cached/s':>12} {'scan/s':>10} "
          f"{'index speed-up':>15}")
    for label, attrs in cases.items():
        assert rbac.authorize(attrs).allowed == scan.authorize(attrs), label
        indexed = rate(functools.partial(rbac.evaluate, attrs), args.seconds)
        cached = rate(functools.partial(rbac.authorize, attrs), args.seconds)
        scanned = rate(functools.partial(scan.authorize, attrs), args.seconds / 4)
        print(f"{label:28} {indexed:12,.0f} {cached:12,.0f} {scanned:10,.0f} "
              f"{indexed / scanned:14.1f}x")
    chained = rate(lambda: chain(allowed), args.seconds)
    print(f"{'whole chain (Node, RBAC)':28} {chained:12,.0f}")

    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web-1", "namespace": "ns-1", "uid": "x" * 36,
                        "labels": {"app": "web"}, "resourceVersion": "12345"},
           "spec": {"nodeName": "n1", "containers": [{"name": "web", "image": "nginx:1.27",
                                                      "ports": [{"containerPort": 80}]}]},
           "status": {"phase": "Running", "podIP": "10.244.1.5"}}
    path = f"/api/v1/namespaces/{allowed.namespace}/{allowed.resource}"
    per_request = rate(lambda: chain(request_attributes(dev, "GET", path)), args.seconds)
    print(f"attributes + authorization of one GET: {1e6 / per_request:.1f} us")
    readable = next(Attributes(dev, "get", True, g, "v1", r, "", f"ns-{n}", "web-1")
                    for n in range(100) for r in RESOURCES for g in ("", "apps")
                    if rbac.authorize(Attributes(dev, "get", True, g, "v1", r, "", f"ns-{n}",
                                                 "web-1")).allowed)
    prefix = f"/apis/{readable.api_group}/v1" if readable.api_group else "/api/v1"
    pod_path = f"{prefix}/namespaces/{readable.namespace}/{readable.resource}/web-1"

    def uncached_chain(attrs: Attributes) -> Any:
        rbac.clear_decision_cache()
        return chain(attrs)

    modes: dict[str, Callable[[Attributes], Any]] = {
        "off (AlwaysAllow)": AuthorizerChain([AlwaysAllow()]),
        "Node,RBAC": chain, "Node,RBAC, no decision cache": uncached_chain}
    latencies = asyncio.run(http_get_latencies(pod, dev, pod_path, modes, args.seconds * 3))
    off = latencies["off (AlwaysAllow)"]
    print(f"GET {pod_path} (an object the user may read through RoleBindings) over loopback "
          "HTTP, authorization in an aiohttp middleware:")
    for label, latency in latencies.items():
        print(f"  {label:30} {latency * 1e6:7.0f} us   ratio to off {latency / off:5.3f}")
    print("  goal: RBAC adds under 10 % to GET latency")


async def http_get_latencies(body: dict[str, Any], who: UserInfo, path: str,
                             modes: dict[str, Callable[[Attributes], Any]],
                             seconds: float) -> dict[str, float]:
    """Mean latency of sequential GETs of `body` per authorization mode, rounds interleaved so
    machine noise hits every mode alike."""
    raw = json.dumps(body).encode()
    current: dict[str, Callable[[Attributes], Any]] = {}

    @web.middleware
    async def authorize(request: web.Request, handler: Any) -> web.StreamResponse:
        verdict = current["mode"](request_attributes(who, request.method, request.path,
                                                     request.query_string))
        if not verdict.allowed:
            return web.Response(status=403)
        response: web.StreamResponse = await handler(request)
        return response

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=json.dumps(json.loads(raw)).encode(),
                            content_type="application/json")

    app = web.Application(middlewares=[authorize])
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}{path}"
    totals = {label: [0.0, 0] for label in modes}
    try:
        async with aiohttp.ClientSession() as session:
            for round_ in range(6):
                for label, mode in modes.items():
                    current["mode"] = mode
                    for _ in range(20):  # warm-up, not counted
                        async with session.get(url) as response:
                            await response.read()
                    start = time.perf_counter()
                    while time.perf_counter() - start < seconds / 6 / len(modes):
                        async with session.get(url) as response:
                            assert response.status == 200, (label, round_, response.status)
                            await response.read()
                        totals[label][1] += 1
                    totals[label][0] += time.perf_counter() - start
    finally:
        await runner.cleanup()
    return {label: elapsed / count for label, (elapsed, count) in totals.items()}


if __name__ == "__main__":
    main()
