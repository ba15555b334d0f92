"""The OpenAPI documents have the shape kubectl relies on (see reference/apiserver.md §1.4)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from kubeadmpy.machinery.schema import OpenAPIDocuments

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Served:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = ALL_VERBS


SERVED = [Served("", "v1", "Pod", "pods", True), Served("", "v1", "Node", "nodes", False),
          Served("apps", "v1", "Deployment", "deployments", True),
          Served("example.com", "v1", "Widget", "widgets", True)]


@pytest.fixture(scope="module")
def documents() -> OpenAPIDocuments:
    return OpenAPIDocuments(SERVED)


def document(documents: OpenAPIDocuments, path: str) -> dict[str, Any]:
    found = documents.v3_group_version(path)
    assert found is not None
    loaded: dict[str, Any] = json.loads(found.body)
    return loaded


def test_the_root_lists_every_group_version_with_a_content_hash(
        documents: OpenAPIDocuments) -> None:
    root = json.loads(documents.v3_root().body)
    assert set(root["paths"]) == {"api/v1", "apis/apps/v1", "apis/example.com/v1"}
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    assert len(url.split("hash=")[1]) == 128


def test_the_hash_changes_when_the_document_changes() -> None:
    fewer = OpenAPIDocuments(SERVED[:1])
    more = OpenAPIDocuments(SERVED[:2])
    assert (json.loads(fewer.v3_root().body)["paths"]["api/v1"]
            != json.loads(more.v3_root().body)["paths"]["api/v1"])


def test_patch_operations_carry_field_validation_and_their_kind(
        documents: OpenAPIDocuments) -> None:
    paths = document(documents, "api/v1")["paths"]
    patch = paths["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert {"name": "fieldValidation", "in": "query"}.items() <= patch["parameters"][2].items()
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "version": "v1",
                                                       "kind": "Pod"}
    assert set(patch["requestBody"]["content"]) == {
        "application/apply-patch+yaml", "application/json-patch+json",
        "application/merge-patch+json", "application/strategic-merge-patch+json"}
    assert "/api/v1/nodes/{name}" in paths, "cluster-scoped kinds have no namespace segment"
    assert "/api/v1/pods" in paths, "namespaced kinds can be listed across namespaces"


def test_schemas_are_found_by_their_group_version_kind(documents: OpenAPIDocuments) -> None:
    schemas = document(documents, "apis/apps/v1")["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert deployment["type"] == "object"
    assert deployment["properties"]["spec"] == {
        "allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}],
        "description": deployment["properties"]["spec"]["description"]}


def test_every_reference_resolves_inside_its_document(documents: OpenAPIDocuments) -> None:
    for path in ("api/v1", "apis/apps/v1"):
        doc = document(documents, path)
        text = json.dumps(doc)
        refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
        assert refs <= set(doc["components"]["schemas"]), path


def test_schemas_use_openapi_3_types(documents: OpenAPIDocuments) -> None:
    schemas = document(documents, "api/v1")["components"]["schemas"]
    container = schemas["io.k8s.api.core.v1.Container"]
    assert container["properties"]["image"]["type"] == "string"
    assert container["properties"]["ports"]["x-kubernetes-patch-merge-key"] == "containerPort"
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == \
        "int-or-string"


def test_kinds_without_a_schema_get_no_paths(documents: OpenAPIDocuments) -> None:
    assert document(documents, "apis/example.com/v1")["paths"] == {}


def test_unknown_group_versions_have_no_document(documents: OpenAPIDocuments) -> None:
    assert documents.v3_group_version("apis/batch/v1") is None


def test_openapi_v2_for_kubectl_is_protobuf_with_a_parsable_content_type(
        documents: OpenAPIDocuments) -> None:
    v2 = documents.v2("application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    assert v2.body.startswith(b"\x0a\x032.0"), "field 1: swagger version"
    assert b"io.k8s.api.core.v1.Pod" in v2.body
    # ".v1.0", not "@v1.0": Go's mime parser rejects "@" in the reply's media type.
    assert v2.content_type == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def test_openapi_v2_as_json_carries_swagger_definitions(documents: OpenAPIDocuments) -> None:
    v2 = json.loads(documents.v2("application/json").body)
    assert v2["swagger"] == "2.0"
    pod = v2["definitions"]["io.k8s.api.core.v1.Pod"]
    assert pod["properties"]["spec"]["$ref"] == "#/definitions/io.k8s.api.core.v1.PodSpec"
    text = json.dumps(v2)
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/definitions/')[1:]}
    assert refs <= set(v2["definitions"])
