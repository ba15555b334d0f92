"""Benchmark RBAC authorization decisions with 1,000 roles and 1,000 bindings, in one run.

Prints:
  * decisions/s of the indexed RBAC store (evaluated, and repeated from its decision cache; on
    top of the full bootstrap policy) for an allowed
    namespaced request, a denied one, a cluster-scoped one and a service account's, and through
    the whole authorizer chain (privileged groups, Node, RBAC);
  * the same decisions by a reference evaluator that scans every binding (what the index saves);
  * the per-request cost of deriving attributes + authorizing, against the latency of a GET of
    a typical Pod from a minimal aiohttp server on loopback (a floor for any apiserver GET):
    the share RBAC would add to GET latency.

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
from kubeadmpy.security.authorizer import AuthorizerChain
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

    def uncached_request() -> None:
        rbac.clear_decision_cache()
        chain(request_attributes(dev, "GET", path))

    uncached = rate(uncached_request, args.seconds)
    get_latency = asyncio.run(http_get_latency(pod, args.seconds * 2))
    get_us = get_latency * 1e6
    for label, calls in (("cached", per_request), ("uncached", uncached)):
        rbac_us = 1e6 / calls
        print(f"per GET ({label}): attributes + authorization {rbac_us:.1f} us; GET of a Pod "
              f"from a minimal aiohttp server {get_us:.0f} us; RBAC would add "
              f"{rbac_us / get_us:.1%} (goal: under 10 %)")


async def http_get_latency(body: dict[str, Any], seconds: float) -> float:
    """Mean latency of sequential GETs of `body` from an in-process aiohttp server."""
    raw = json.dumps(body).encode()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=json.dumps(json.loads(raw)).encode(),
                            content_type="application/json")

    app = web.Application()
    app.router.add_get("/pod", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/pod"
            for _ in range(50):  # warm up the connection pool
                async with session.get(url) as response:
                    await response.read()
            count, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                async with session.get(url) as response:
                    await response.read()
                count += 1
            return (time.perf_counter() - start) / count
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    main()
