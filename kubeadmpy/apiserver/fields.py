"""Field-level request rules: schema validation with fieldValidation (Strict/Warn/Ignore),
field managers, and managedFields bookkeeping — thin glue over kubeadmpy.machinery.schema and
kubeadmpy.machinery.patch, applied the same way by every write handler.
"""

from __future__ import annotations

from typing import Any

from kubeadmpy.machinery import schema, status
from kubeadmpy.machinery.patch import update_managed_fields
from kubeadmpy.machinery.registry import JSONObject, ResourceSpec

MAX_MANAGER_LENGTH = 128


def field_manager(query: Any, user_agent: str) -> str:
    """`?fieldManager=` or, like upstream, the User-Agent's product token (`kubectl`, …)."""
    manager = query.get("fieldManager")
    if manager is not None:
        if not manager or len(manager) > MAX_MANAGER_LENGTH:
            raise status.bad_request("fieldManager: Invalid value: must be 1-128 characters")
        return str(manager)
    product = (user_agent or "unknown").split("/", 1)[0].strip()
    return product[:MAX_MANAGER_LENGTH] or "unknown"


def field_validation(query: Any) -> str:
    mode = query.get("fieldValidation") or "Warn"
    if mode not in schema.FIELD_VALIDATION_MODES:
        raise status.bad_request(f'fieldValidation: Unsupported value: "{mode}": supported '
                                 'values: "Ignore", "Strict", "Warn"')
    return str(mode)


def check_schema(spec: ResourceSpec, obj: JSONObject, mode: str, kind: str = "") -> list[str]:
    """Validate `obj` against its type's schema; unknown fields are dropped (warned/refused)."""
    gvk = schema.GVK(spec.group, spec.version, kind or spec.kind)
    if schema.schema_for(gvk) is None:
        return []
    return schema.check_body(obj, mode, gvk=gvk)


def track(old: JSONObject | None, new: JSONObject, manager: str, subresource: str = "") -> None:
    """Record in new.metadata.managedFields that `manager` wrote what changed."""
    new["metadata"]["managedFields"] = update_managed_fields(
        old, new, manager, subresource=subresource)


def warning_header(warnings: list[str]) -> dict[str, str]:
    if not warnings:
        return {}
    texts = ", ".join('299 - "' + _header_text(w).replace("\\", "\\\\").replace('"', '\\"')
                      + '"' for w in warnings)
    return {"Warning": texts}


def _header_text(text: str) -> str:
    """A warning names fields from the body, which may hold control characters or text that
    is not UTF-8; a header cannot carry either (aiohttp refuses to send it and drops the
    connection), so each becomes a space or U+FFFD."""
    return "".join(" " if ch < " " or ch == "\x7f" else "\ufffd" if "\ud800" <= ch <= "\udfff"
                   else ch for ch in text)
