"""The OpenAPI documents kubectl reads: `/openapi/v3` (+ one per group-version) and `/openapi/v2`.

kubectl needs them for three things: `kubectl explain` renders `components.schemas` (found by
their `x-kubernetes-group-version-kind`), `apply`/`create -f` decide from the PATCH operation's
`fieldValidation` parameter that the server validates fields itself, and 1.27/1.28 insist on
downloading `/openapi/v2` as gnostic protobuf first. The schemas come from the same bundled
definitions as validation, converted to OpenAPI 3 conventions (`#/components/schemas/` refs,
single types, `allOf` around described refs). `/openapi/v2` carries the same definitions in
Swagger 2.0 form, encoded as gnostic protobuf by `openapi_v2.py` (an empty body would also
satisfy kubectl 1.27/1.28, see reference/apiserver.md §1.4, but then v2-only features such as
`explain --output=plaintext-openapiv2` find nothing). Documents are built once per served
resource list.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from kubeadmpy.machinery.schema import openapi_v2
from kubeadmpy.machinery.schema.definitions import DEFAULT_VERSION, GVK, Definitions, load

V3_CONTENT_TYPE = "application/json"
V2_PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
V2_JSON_CONTENT_TYPE = "application/json"

_REF = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json", "application/strategic-merge-patch+json")
# Definitions whose JSON schema is a oneOf; OpenAPI documents upstream describe them as strings.
_SCALAR_UNIONS = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string",
                                                        "format": "int-or-string"},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
}


class ServedResource(Protocol):
    """What the API server's registry says about one resource (ResourceSpec fits)."""

    @property
    def group(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def plural(self) -> str: ...
    @property
    def namespaced(self) -> bool: ...
    @property
    def verbs(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Document:
    body: bytes
    content_type: str


def group_version_path(group: str, version: str) -> str:
    """The key of a group-version in the v3 root: `api/v1` or `apis/apps/v1`."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _oas3(schema: Any, ref_prefix: str = _REF, wrap_refs: bool = True) -> Any:
    """One JSON-schema fragment in OpenAPI conventions: single types, refs under `ref_prefix`.

    OpenAPI 3 ignores siblings of `$ref`, so a described ref is wrapped in `allOf` (as upstream's
    v3 documents do); Swagger 2 documents keep the description next to the `$ref`.
    """
    if isinstance(schema, list):
        return [_oas3(item, ref_prefix, wrap_refs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            if kinds:
                out["type"] = kinds[0]
        elif key == "enum":
            continue  # only apiVersion/kind carry enums here; upstream documents have none
        elif key == "properties":
            out[key] = {name: _oas3(prop, ref_prefix, wrap_refs) for name, prop in value.items()}
        elif key != "$ref":
            out[key] = _oas3(value, ref_prefix, wrap_refs)
    ref = schema.get("$ref")
    if ref is not None:
        target = ref_prefix + ref.rsplit("/", 1)[-1]
        if out and wrap_refs:
            out["allOf"] = [{"$ref": target}]
        else:
            out["$ref"] = target
    return out


def _refs(schema: Any, found: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in schema.values():
            _refs(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _refs(value, found)


def _closure(definitions: Definitions, roots: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    todo = [name for name in roots if name in definitions.defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        refs: set[str] = set()
        _refs(definitions.defs[name], refs)
        todo.extend(ref for ref in refs if ref not in seen)
    return sorted(seen)


def _component(definitions: Definitions, name: str, ref_prefix: str = _REF,
               wrap_refs: bool = True) -> dict[str, Any]:
    if name in _SCALAR_UNIONS:
        raw = definitions.defs[name]
        return {"description": raw.get("description", ""), **_SCALAR_UNIONS[name]}
    converted: dict[str, Any] = _oas3(definitions.defs[name], ref_prefix, wrap_refs)
    return converted


def _query(name: str, description: str, schema_type: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": schema_type, "uniqueItems": True}}


_DRY_RUN = _query("dryRun", "When present, indicates that modifications should not be persisted. "
                  "Valid value: All")
_FIELD_MANAGER = _query("fieldManager", "A name associated with the actor making these changes.")
_FIELD_VALIDATION = _query(
    "fieldValidation", "How the server treats unknown or duplicate fields in the body: "
    "Ignore, Warn (default) or Strict.")
_FORCE = _query("force", "Force is going to \"force\" Apply requests.", "boolean")


def _response(ref: str) -> dict[str, Any]:
    return {"200": {"description": "OK", "content": {
        "application/json": {"schema": {"$ref": _REF + ref}}}}}


def _body(ref: str, content_types: Iterable[str] = ("*/*",)) -> dict[str, Any]:
    return {"required": True,
            "content": {ct: {"schema": {"$ref": _REF + ref}} for ct in content_types}}


class OpenAPIDocuments:
    """All OpenAPI documents for one list of served resources, built lazily and cached."""

    def __init__(self, resources: Iterable[ServedResource],
                 version: str = DEFAULT_VERSION) -> None:
        self.definitions = load(version)
        self.resources = [r for r in resources if "/" not in r.plural]
        self._documents: dict[str, Document] = {}

    @cached_property
    def group_versions(self) -> list[str]:
        paths: list[str] = []
        for resource in self.resources:
            path = group_version_path(resource.group, resource.version)
            if path not in paths:
                paths.append(path)
        return paths

    def v3_root(self) -> Document:
        """`GET /openapi/v3`: where each group-version document lives, with a content hash."""
        paths = {}
        for path in self.group_versions:
            document = self.v3_group_version(path)
            assert document is not None
            digest = hashlib.sha512(document.body).hexdigest().upper()
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
        return Document(json.dumps({"paths": paths}).encode(), V3_CONTENT_TYPE)

    def v3_group_version(self, path: str) -> Document | None:
        """`GET /openapi/v3/<path>` for `api/v1` or `apis/<group>/<version>`; None if unknown."""
        path = path.strip("/")
        if path not in self.group_versions:
            return None
        document = self._documents.get(path)
        if document is None:
            body = json.dumps(self._build_v3(path), separators=(",", ":")).encode()
            document = self._documents[path] = Document(body, V3_CONTENT_TYPE)
        return document

    def v2(self, accept: str = "") -> Document:
        """`GET /openapi/v2`: the Swagger 2.0 document with the served kinds' definitions, as
        gnostic protobuf (what kubectl asks for) or as JSON for clients that ask only JSON."""
        as_json = bool(accept) and "protobuf" not in accept and "json" in accept
        key = "v2.json" if as_json else "v2.pb"
        document = self._documents.get(key)
        if document is None:
            swagger = self._build_v2()
            if as_json:
                body = json.dumps(swagger, separators=(",", ":")).encode()
                document = Document(body, V2_JSON_CONTENT_TYPE)
            else:
                document = Document(openapi_v2.encode_document(swagger),
                                    V2_PROTOBUF_CONTENT_TYPE)
            self._documents[key] = document
        return document

    def _build_v2(self) -> dict[str, Any]:
        roots = [_META + n for n in ("Status", "DeleteOptions", "Patch", "WatchEvent")]
        for resource in self.resources:
            names = self._kind_definitions(resource)
            if names is not None:
                roots.extend(names)
        definitions = {name: _component(self.definitions, name, "#/definitions/", False)
                       for name in _closure(self.definitions, roots)}
        return {"swagger": "2.0",
                "info": {"title": "Kubernetes", "version": f"v{self.definitions.version}.0"},
                "paths": {}, "definitions": definitions}

    def _build_v3(self, gv_path: str) -> dict[str, Any]:
        served = [r for r in self.resources
                  if group_version_path(r.group, r.version) == gv_path]
        roots = [_META + n for n in ("Status", "DeleteOptions", "Patch", "WatchEvent")]
        paths: dict[str, Any] = {}
        for resource in served:
            names = self._kind_definitions(resource)
            if names is None:
                continue
            roots.extend(names)
            paths.update(self._paths(resource, names[0], names[1]))
        components = {name: _component(self.definitions, name)
                      for name in _closure(self.definitions, roots)}
        return {"openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": f"v{self.definitions.version}.0"},
                "paths": paths,
                "components": {"schemas": components}}

    def _kind_definitions(self, resource: ServedResource) -> tuple[str, str] | None:
        kind = self.definitions.definition_name(GVK(resource.group, resource.version,
                                                    resource.kind))
        if kind is None:
            return None
        listed = self.definitions.definition_name(
            GVK(resource.group, resource.version, resource.kind + "List"))
        return kind, listed or kind

    def _paths(self, resource: ServedResource, kind_ref: str,
               list_ref: str) -> dict[str, Any]:
        prefix = ("/apis/" + resource.group if resource.group else "/api") + \
            f"/{resource.version}"
        scope = f"{prefix}/namespaces/{{namespace}}" if resource.namespaced else prefix
        collection, item = f"{scope}/{resource.plural}", f"{scope}/{resource.plural}/{{name}}"
        gvk = {"group": resource.group, "version": resource.version, "kind": resource.kind}
        verbs = set(resource.verbs)
        title = resource.kind[:1].upper() + resource.kind[1:]
        where = "Namespaced" if resource.namespaced else ""

        def operation(action: str, verb: str, description: str, ref: str,
                      **extra: Any) -> dict[str, Any]:
            return {"operationId": f"{verb}{where}{title}", "description": description,
                    "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
                    "responses": _response(ref), **extra}

        path_params = [{"name": "name", "in": "path", "required": True,
                        "schema": {"type": "string", "uniqueItems": True}}]
        namespace_param = [{"name": "namespace", "in": "path", "required": True,
                            "schema": {"type": "string", "uniqueItems": True}}]
        scoped = namespace_param if resource.namespaced else []
        paths: dict[str, Any] = {}
        ops: dict[str, Any] = {"parameters": list(scoped)}
        if "list" in verbs:
            ops["get"] = operation("list", "list", f"list or watch objects of kind {title}",
                                   list_ref)
        if "create" in verbs:
            ops["post"] = operation("post", "create", f"create a {title}", kind_ref,
                                    parameters=[_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION],
                                    requestBody=_body(kind_ref))
        if "deletecollection" in verbs:
            ops["delete"] = operation("deletecollection", "deleteCollection",
                                      f"delete collection of {title}", _META + "Status")
        if len(ops) > 1:
            paths[collection] = ops
        ops = {"parameters": path_params + scoped}
        if "get" in verbs:
            ops["get"] = operation("get", "read", f"read the specified {title}", kind_ref)
        if "update" in verbs:
            ops["put"] = operation("put", "replace", f"replace the specified {title}", kind_ref,
                                   parameters=[_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION],
                                   requestBody=_body(kind_ref))
        if "patch" in verbs:
            ops["patch"] = operation(
                "patch", "patch", f"partially update the specified {title}", kind_ref,
                parameters=[_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION, _FORCE],
                requestBody=_body(_META + "Patch", _PATCH_TYPES))
        if "delete" in verbs:
            ops["delete"] = operation("delete", "delete", f"delete a {title}", _META + "Status")
        if len(ops) > 1:
            paths[item] = ops
        if resource.namespaced and "list" in verbs:
            paths[f"{prefix}/{resource.plural}"] = {"get": operation(
                "list", "list", f"list or watch objects of kind {title} in all namespaces",
                list_ref)}
            paths[f"{prefix}/{resource.plural}"]["get"]["operationId"] = \
                f"list{title}ForAllNamespaces"
        return paths
