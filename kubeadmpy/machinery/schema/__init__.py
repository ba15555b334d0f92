"""Kubernetes type schemas: lookup, validation and the OpenAPI documents kubectl reads.

    from kubeadmpy.machinery import schema
    schema.validate(pod)                      # → [Cause(...)]
    schema.check_body(pod, "Strict")          # raises 400/422, returns Warning texts
    schema.patch_meta_at(GVK("", "v1", "Pod"), ["spec", "containers"]).merge_key  # "name"
"""

from kubeadmpy.machinery.schema.body import (
    FIELD_VALIDATION_MODES,
    check_body,
    decode_json_body,
    strict_decoding_error,
)
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
    Findings,
    find_unknown_fields,
    inspect,
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
    "decode_json_body",
    "find_unknown_fields",
    "group_version_path",
    "inspect",
    "load",
    "patch_meta_at",
    "schema_for",
    "strict_decoding_error",
    "validate",
]
