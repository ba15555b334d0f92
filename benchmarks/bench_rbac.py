"""Benchmark RBAC authorization decisions with 1,000 roles and 1,000 bindings, in one run.

Prints:
  * decisions/s of the indexed RBAC store (evaluated, and repeated from its decision cache; on
    top of the full bootstrap policy) for an allowed
    namespaced request, a denied one, a cluster-scoped one and a service account's, and through
    the whole authorizer chain (privileged groups, Node, RBAC);
  * the same decisions by a reference evaluator that scans every binding (what the index saves);
  * GET latency of a Pod from an aiohttp server on loopback whose middleware authorizes every
    request, with authorization off (AlwaysAllow) and Node,RBAC (with and without the decision
    cache), rounds interleaved in one run: the ratio is what RBAC adds to a GET;
  * the same ratio through the real kubeadmpy-apiserver: two servers on one etcd, one with
    --authorization-mode=AlwaysAllow and one with Node,RBAC, the synthetic roles and bindings
    stored through the API, a client-certificate user GETting a ConfigMap over HTTPS
    (skip with --no-apiserver).

Usage: python benchmarks/bench_rbac.py [--roles 1000] [--bindings 1000] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from kubeadmpy import pki
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
    parser.add_argument("--no-apiserver", action="store_true",
                        help="skip the measurement through the real kubeadmpy-apiserver")
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
    if not args.no_apiserver:
        with tempfile.TemporaryDirectory(prefix="bench-rbac-") as tmp:
            asyncio.run(real_apiserver_ratio(Path(tmp), args.roles, args.bindings,
                                             args.seconds * 6))


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)


async def _wait_ready(session: aiohttp.ClientSession, url: str, proc: subprocess.Popen[bytes],
                      log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited; see {log}")
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} not ready after 60 s; see {log}")


def _client_context(directory: Path, settings: Any, name: str, groups: list[str]) -> ssl.SSLContext:
    config = yaml.safe_load(pki.kubeconfig_for_user(name, groups, settings, directory,
                                                    server="https://127.0.0.1"))
    user = config["users"][0]["user"]
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
    key.write_bytes(base64.b64decode(user["client-key-data"]))
    context = ssl.create_default_context(cafile=str(directory / "ca.crt"))
    context.load_cert_chain(cert, key)
    return context


async def real_apiserver_ratio(directory: Path, roles: int, bindings: int,
                               seconds: float) -> None:
    """GET latency through kubeadmpy-apiserver with authorization off and Node,RBAC."""
    settings = pki.PKISettings(node_name="bench", advertise_address="127.0.0.1")
    pki.ensure_certs(settings, directory)
    client_port, peer_port = _free_port(), _free_port()
    etcd_url = f"http://127.0.0.1:{client_port}"
    procs = [_start(["etcd", "--name", "bench", "--data-dir", str(directory / "etcd"),
                     "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                     "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                     "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                     "--initial-cluster", f"bench=http://127.0.0.1:{peer_port}"],
                    directory / "etcd.log")]
    urls: dict[str, str] = {}
    try:
        async with aiohttp.ClientSession() as plain:
            await _wait_ready(plain, f"{etcd_url}/health", procs[0], directory / "etcd.log")
        for mode in ("AlwaysAllow", "Node,RBAC"):
            port = _free_port()
            log = directory / f"apiserver-{port}.log"
            procs.append(_start([
                sys.executable, "-m", "kubeadmpy.apiserver.main", f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1", f"--secure-port={port}",
                "--advertise-address=127.0.0.1", f"--tls-cert-file={directory / 'apiserver.crt'}",
                f"--tls-private-key-file={directory / 'apiserver.key'}",
                f"--client-ca-file={directory / 'ca.crt'}", f"--authorization-mode={mode}",
                "--service-cluster-ip-range=10.96.0.0/12"], log))
            urls[mode] = f"https://127.0.0.1:{port}"
            ready = ssl.create_default_context(cafile=str(directory / "ca.crt"))
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ready)) as s:
                await _wait_ready(s, f"{urls[mode]}/readyz", procs[-1], log)
        admin = _client_context(directory, settings, "bench-admin", ["system:masters"])
        user = _client_context(directory, settings, "user-17",
                               ["group-3", "group-40"])
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=admin)) as session:
            base = urls["AlwaysAllow"]
            gate = asyncio.Semaphore(16)

            async def post(path: str, body: dict[str, Any]) -> None:
                async with gate, session.post(base + path, json=body) as response:
                    assert response.status in (201, 409), (path, await response.text())

            namespaces = {f"ns-{i}" for i in range(100)}
            await asyncio.gather(*(post("/api/v1/namespaces", {
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}})
                for n in namespaces))
            rbac_objects = synthetic_objects(roles, bindings)
            rbac_objects.append({"kind": "RoleBinding",
                                 "metadata": {"name": "bench-read", "namespace": "ns-7"},
                                 "subjects": [{"kind": "User", "name": "user-17"}],
                                 "roleRef": {"kind": "ClusterRole", "name": "view",
                                             "apiGroup": "rbac.authorization.k8s.io"}})
            started = time.perf_counter()
            await asyncio.gather(*(post(_collection(o), {
                **o, "apiVersion": "rbac.authorization.k8s.io/v1",
                "subjects": [{**sub, "apiGroup": "rbac.authorization.k8s.io"}
                             if sub["kind"] != "ServiceAccount" else sub
                             for sub in o.get("subjects", [])]} if "Binding" in o["kind"]
                else {**o, "apiVersion": "rbac.authorization.k8s.io/v1"})
                for o in rbac_objects))
            stored_s = time.perf_counter() - started
            await post("/api/v1/namespaces/ns-7/configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "ns-7"}, "data": {"a": "b"}})
        print(f"real kubeadmpy-apiserver: stored {len(rbac_objects)} RBAC objects through the "
              f"API in {stored_s:.1f} s")
        path = "/api/v1/namespaces/ns-7/configmaps/settings"
        totals = {mode: [0.0, 0] for mode in urls}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=user)) as session:
            for url in urls.values():  # wait until the binding reached the authorizer
                for _ in range(100):
                    async with session.get(url + path) as response:
                        if response.status == 200:
                            break
                    await asyncio.sleep(0.1)
            for _ in range(6):
                for mode, url in urls.items():
                    start = time.perf_counter()
                    while time.perf_counter() - start < seconds / 12:
                        async with session.get(url + path) as response:
                            assert response.status == 200, (mode, response.status)
                            await response.read()
                        totals[mode][1] += 1
                    totals[mode][0] += time.perf_counter() - start
        off = totals["AlwaysAllow"][0] / totals["AlwaysAllow"][1]
        print(f"GET {path} over HTTPS as a client-certificate user, rounds interleaved:")
        for mode, (elapsed, count) in totals.items():
            latency = elapsed / count
            print(f"  --authorization-mode={mode:12} {latency * 1e6:7.0f} us   ratio to "
                  f"AlwaysAllow {latency / off:5.3f}")
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _collection(obj: dict[str, Any]) -> str:
    plural = {"Role": "roles", "ClusterRole": "clusterroles", "RoleBinding": "rolebindings",
              "ClusterRoleBinding": "clusterrolebindings"}[obj["kind"]]
    namespace = obj["metadata"].get("namespace")
    scope = f"/namespaces/{namespace}" if namespace else ""
    return f"/apis/rbac.authorization.k8s.io/v1{scope}/{plural}"


if __name__ == "__main__":
    main()
