"""How fast a write can be checked: Pod validation, strategic merge patch and server-side apply,
and what building the OpenAPI documents costs once at server start.

Reference, measured in the same run: the generic `jsonschema` validator (Draft 2020-12, the
same bundled Kubernetes schemas, compiled once) validating the same Pod; for the OpenAPI
documents, parsing the bundled definitions file. Prints times and ratios.
Run: python benchmarks/schema_validation.py
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
import referencing

from kubeadmpy.machinery.patch import (
    apply_strategic_merge_patch,
    server_side_apply,
    update_managed_fields,
)
from kubeadmpy.machinery.schema import GVK, OpenAPIDocuments, inspect, load

POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-7d9c", "namespace": "default",
                 "labels": {"app": "web", "tier": "front"},
                 "annotations": {"example.com/owner": "team-a"}},
    "spec": {
        "containers": [{
            "name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
            "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}],
            "env": [{"name": f"VAR_{i}", "value": str(i)} for i in range(8)],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                          "limits": {"cpu": "500m", "memory": "128Mi"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5},
        }, {"name": "log", "image": "busybox", "args": ["tail", "-f", "/data/log"]}],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
        "tolerations": [{"key": "node-role.kubernetes.io/control-plane",
                         "effect": "NoSchedule"}],
    },
}


def per_call(function: Callable[[], object], seconds: float = 1.0) -> float:
    """Mean seconds per call over about `seconds` of repeated calls (after one warm-up)."""
    function()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            function()
        calls += 50
    return (time.perf_counter() - start) / calls


def jsonschema_validator() -> jsonschema.protocols.Validator:
    folder = resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", "v1.33.0-local")
    definitions = json.loads(folder.joinpath("_definitions.json").read_text())
    resource = referencing.Resource.from_contents(definitions)
    registry = referencing.Registry().with_resource("urn:k8s-definitions", resource)
    schema = {"$ref": "urn:k8s-definitions#/$defs/io.k8s.api.core.v1.Pod"}
    validator: jsonschema.protocols.Validator = jsonschema.Draft202012Validator(
        schema, registry=registry)
    return validator


def main() -> None:
    reference = jsonschema_validator()
    assert not list(reference.iter_errors(POD)) and not inspect(POD).causes
    reference_time = per_call(lambda: list(reference.iter_errors(POD)))
    ours = per_call(lambda: inspect(POD))
    print(f"Pod validation, jsonschema (reference): {reference_time * 1e6:8.1f} µs/call")
    print(f"Pod validation, kubeadmpy.schema:       {ours * 1e6:8.1f} µs/call "
          f"({reference_time / ours:.1f}x faster than the reference)")

    patch = {"metadata": {"labels": {"tier": None, "version": "2"}},
             "spec": {"$setElementOrder/containers": [{"name": "web"}, {"name": "log"}],
                      "containers": [{"name": "web", "image": "nginx:1.28"}]}}
    smp = per_call(lambda: apply_strategic_merge_patch(POD, patch, GVK("", "v1", "Pod")))
    print(f"strategic merge patch of that Pod:       {smp * 1e6:8.1f} µs/call "
          f"({smp / reference_time:.2f}x the reference validation)")

    created = copy.deepcopy(POD)
    created["metadata"]["managedFields"] = update_managed_fields(None, created, "kubectl")
    labelled = copy.deepcopy(created)
    labelled["metadata"]["labels"]["version"] = "2"
    update = per_call(lambda: update_managed_fields(created, labelled, "kubectl-label"))
    print(f"managedFields of an update (every write): {update * 1e6:7.1f} µs/call "
          f"({update / reference_time:.2f}x the reference validation)")

    live, _ = server_side_apply(None, POD, "kubectl")
    applied = copy.deepcopy(POD)
    applied["spec"]["containers"][0]["image"] = "nginx:1.28"
    ssa = per_call(lambda: server_side_apply(live, applied, "kubectl"))
    print(f"server-side apply of that Pod:           {ssa * 1e6:8.1f} µs/call "
          f"({ssa / reference_time:.2f}x the reference validation)")

    load()  # the definitions themselves are read once per process, outside the timing
    definitions_text = resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", "v1.33.0-local", "_definitions.json").read_text()
    parse = per_call(lambda: json.loads(definitions_text), seconds=2.0)
    served = [Served(g, v, kind, plural) for g, v, kind, plural in SERVED]

    def build_all() -> None:
        documents = OpenAPIDocuments(served)
        documents.v3_root()

    build = per_call(build_all, seconds=2.0)
    print(f"parse the bundled definitions (ref):     {parse * 1e3:8.1f} ms")
    print(f"build all OpenAPI v3 documents ({len(served)} kinds): {build * 1e3:6.1f} ms "
          f"({build / parse:.2f}x the parse)")


@dataclass(frozen=True)
class Served:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    verbs: tuple[str, ...] = ("create", "delete", "get", "list", "patch", "update", "watch")


SERVED = [("", "v1", k, k.lower() + "s") for k in (
    "Pod", "Service", "ConfigMap", "Secret", "Namespace", "Node", "Event", "ServiceAccount",
    "Endpoints", "PersistentVolume", "PersistentVolumeClaim")] + [
    ("apps", "v1", k, k.lower() + "s") for k in (
        "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")] + [
    ("batch", "v1", "Job", "jobs"), ("coordination.k8s.io", "v1", "Lease", "leases")]


if __name__ == "__main__":
    main()
