"""Kubernetes type schemas: lookup, validation and the OpenAPI documents kubectl reads.

    from kubeadmpy.machinery import schema
    schema.validate(pod)                      # → [Cause(...)]
    schema.check_body(pod, "Strict")          # raises 400/422, returns Warning texts
    schema.patch_meta_at(GVK("", "v1", "Pod"), ["spec", "containers"]).merge_key  # "name"
"""

from kubeadmpy.machinery.schema.definitions import (
    DEFAULT_VERSION,
    GVK,
    Definitions,
    PatchMeta,
    SchemaNode,
    load,
    patch_meta_at,
    schema_for,
)
from kubeadmpy.machinery.schema.openapi import (
    Document,
    OpenAPIDocuments,
    ServedResource,
    group_version_path,
)
from kubeadmpy.machinery.schema.validation import (
    FIELD_VALIDATION_MODES,
    Findings,
    check_body,
    find_unknown_fields,
    inspect,
    strict_decoding_error,
    validate,
)

__all__ = [
    "DEFAULT_VERSION",
    "FIELD_VALIDATION_MODES",
    "GVK",
    "Definitions",
    "Document",
    "Findings",
    "OpenAPIDocuments",
    "PatchMeta",
    "SchemaNode",
    "ServedResource",
    "check_body",
    "find_unknown_fields",
    "group_version_path",
    "inspect",
    "load",
    "patch_meta_at",
    "schema_for",
    "strict_decoding_error",
    "validate",
]
