"""Table column builders shared by the resource tables (Name, Age, Created At, …)."""

from __future__ import annotations

from typing import Any

from kubeadmpy.machinery.objects import age
from kubeadmpy.machinery.registry import Column, JSONObject


def dig(obj: Any, *path: str | int, default: Any = None) -> Any:
    """obj[path[0]][path[1]]… or `default` when any step is missing."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or len(obj) <= step:
                return default
        elif not isinstance(obj, dict) or step not in obj:
            return default
        obj = obj[step]
    return obj


NAME = Column("Name", "string", lambda o, _: o["metadata"]["name"], format="name",
              description="Name must be unique within a namespace.")
AGE = Column("Age", "string", lambda o, now: age(o, now),
             description="CreationTimestamp is a timestamp representing the server time when this "
                         "object was created.")
CREATED_AT = Column("Created At", "date",
                    lambda o, _: o["metadata"].get("creationTimestamp", ""),
                    description="Object creation timestamp.")
DEFAULT_COLUMNS = (NAME, CREATED_AT)


def text(name: str, cell: Any, priority: int = 0, type_: str = "string") -> Column:
    return Column(name, type_, cell, priority=priority)


def joined(values: Any, empty: str = "<none>") -> str:
    items = [str(v) for v in values or [] if v not in (None, "")]
    return ",".join(items) if items else empty


def selector_text(selector: Any) -> str:
    if not selector:
        return "<none>"
    if isinstance(selector, dict) and ("matchLabels" in selector or "matchExpressions" in selector):
        from kubeadmpy.machinery.selectors import format_label_selector
        return format_label_selector(selector) or "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>"


def containers_cells(template_spec: JSONObject) -> tuple[str, str]:
    containers = dig(template_spec, "containers", default=[]) or []
    return (joined(c.get("name") for c in containers), joined(c.get("image") for c in containers))
