"""The generated field tables: complete for the kinds the server serves, and in sync with the generator."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeadmpy.machinery.protobuf import tables
from kubeadmpy.machinery.protobuf.gen_tables import DEFAULT_KUBECTL, generate
from kubeadmpy.machinery.protobuf.schema import SCALAR_TYPES, message_for_kind

REQUIRED_KINDS = [
    ("v1", kind) for kind in (
        "Pod", "ConfigMap", "Secret", "Namespace", "Service", "ServiceAccount", "Event",
        "Endpoints", "Node", "PersistentVolume", "PersistentVolumeClaim", "Binding",
        "ResourceQuota", "LimitRange", "PodTemplate", "ReplicationController")
] + [
    ("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("apps/v1", "DaemonSet"),
    ("apps/v1", "StatefulSet"), ("apps/v1", "ControllerRevision"),
    ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("v1", "DeleteOptions"), ("v1", "Status"), ("policy/v1", "DeleteOptions"),
    ("authentication.k8s.io/v1", "TokenRequest"),
    ("authentication.k8s.io/v1", "SelfSubjectReview"),
    ("authentication.k8s.io/v1", "TokenReview"),
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"),
    ("authorization.k8s.io/v1", "SubjectAccessReview"),
    ("autoscaling/v1", "Scale"), ("autoscaling/v1", "HorizontalPodAutoscaler"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "Eviction"), ("policy/v1", "PodDisruptionBudget"),
    ("coordination.k8s.io/v1", "Lease"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("storage.k8s.io/v1", "StorageClass"), ("storage.k8s.io/v1", "CSIDriver"),
    ("storage.k8s.io/v1", "CSINode"), ("storage.k8s.io/v1", "VolumeAttachment"),
    ("certificates.k8s.io/v1", "CertificateSigningRequest"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    ("networking.k8s.io/v1", "Ingress"), ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "IngressClass"),
    ("scheduling.k8s.io/v1", "PriorityClass"), ("events.k8s.io/v1", "Event"),
]


@pytest.mark.parametrize(("api_version", "kind"), REQUIRED_KINDS,
                         ids=[f"{v} {k} has a schema" for v, k in REQUIRED_KINDS])
def test_every_kind_the_server_accepts_has_a_message(api_version: str, kind: str) -> None:
    name = message_for_kind(api_version, kind)
    assert name is not None
    assert name in tables.MESSAGES


def test_every_message_a_field_refers_to_is_in_the_tables() -> None:
    missing = {
        (name, row[2])
        for name, rows in tables.MESSAGES.items()
        for row in rows
        if row[2] not in SCALAR_TYPES and row[2] not in tables.MESSAGES
    }
    assert not missing


def test_every_volume_source_of_a_pod_is_covered() -> None:
    volume_source = {row[1] for row in tables.MESSAGES["k8s.io.api.core.v1.VolumeSource"]}
    assert {"hostPath", "emptyDir", "secret", "configMap", "persistentVolumeClaim", "projected",
            "downwardAPI", "csi", "ephemeral", "nfs", "image"} <= volume_source


@pytest.mark.skipif(not DEFAULT_KUBECTL.exists(), reason="kubectl 1.33 is not installed here")
def test_the_committed_tables_are_what_the_generator_produces() -> None:
    committed = Path(tables.__file__).read_text()
    assert generate(DEFAULT_KUBECTL) == committed


def _json_names(message: str) -> set[str]:
    """The JSON property names a message prints, with inlined structs flattened."""
    names: set[str] = set()
    for _, json_name, type_, flags in tables.MESSAGES[message]:
        if "x" in flags:
            continue
        names |= _json_names(type_) if "i" in flags else {json_name}
    return names


def _openapi_definitions() -> dict[str, dict[str, object]]:
    import json

    import kubernetes_validate

    path = (Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / "v1.33.0-local"
            / "_definitions.json")
    definitions: dict[str, dict[str, object]] = json.loads(path.read_text())["$defs"]
    return definitions


def test_json_names_agree_with_the_upstream_openapi_schema_of_1_33() -> None:
    """An independent upstream source (kubernetes-validate's v1.33 schema) for every JSON name."""
    definitions = _openapi_definitions()
    kinds = set(tables.KINDS.values())
    compared, disagreements = 0, []
    for message in tables.MESSAGES:
        definition = definitions.get("io.k8s." + message.removeprefix("k8s.io."))
        properties = definition.get("properties") if definition else None
        if not isinstance(properties, dict) or not properties:
            continue  # map entries, custom-JSON types, options kinds not in the schema
        expected = set(properties) - ({"apiVersion", "kind"} if message in kinds else set())
        compared += 1
        if _json_names(message) != expected:
            disagreements.append((message, _json_names(message) ^ expected))
    assert compared > 450
    assert disagreements == []
