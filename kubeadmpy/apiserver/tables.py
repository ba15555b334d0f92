"""Server-side `meta.k8s.io/v1 Table` output, what `kubectl get` prints.

Rows carry a PartialObjectMetadata (namespace + labels are what `-A`, `--show-labels` and `-L`
use) unless `includeObject` asks for the full object or none.
"""

from __future__ import annotations

import time
from typing import Any

from kubeadmpy.apiserver.resources.columns import DEFAULT_COLUMNS
from kubeadmpy.machinery import status
from kubeadmpy.machinery.registry import JSONObject, ResourceSpec

INCLUDE_OBJECT = ("Metadata", "Object", "None")


def check_include_object(value: str | None) -> str:
    value = value or "Metadata"
    if value not in INCLUDE_OBJECT:
        raise status.bad_request(f'includeObject: unsupported value "{value}", supported values: '
                                 '"Metadata", "Object", "None"')
    return value


def partial_metadata(obj: JSONObject) -> JSONObject:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {})}


def _row(spec: ResourceSpec, obj: JSONObject, include: str, now: float) -> JSONObject:
    columns = spec.columns or DEFAULT_COLUMNS
    cells: list[Any] = []
    for column in columns:
        try:
            cells.append(column.cell(obj, now))
        except (KeyError, TypeError, ValueError, AttributeError):
            cells.append("<unknown>")  # a malformed stored object must not break listing
    row: JSONObject = {"cells": cells}
    if include == "Metadata":
        row["object"] = partial_metadata(obj)
    elif include == "Object":
        row["object"] = obj
    return row


def to_table(spec: ResourceSpec, objects: list[JSONObject], *, include: str = "Metadata",
             list_meta: JSONObject | None = None, headers: bool = True) -> JSONObject:
    now = time.time()
    table: JSONObject = {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {},
        "rows": [_row(spec, obj, include, now) for obj in objects],
    }
    if headers:
        table["columnDefinitions"] = [c.definition() for c in spec.columns or DEFAULT_COLUMNS]
    else:
        table["columnDefinitions"] = []
    return table
