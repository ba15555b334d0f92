"""A container's environment: env and envFrom resolved against the API and the pod, with
upstream's ``$(VAR)`` expansion in values, command and args.

Sources are what upstream supports: literal values, configMapKeyRef / secretKeyRef (optional or
not), envFrom configMapRef / secretRef with a prefix, fieldRef (metadata.name, namespace, uid,
labels['k'], annotations['k'], spec.nodeName, spec.serviceAccountName, status.podIP,
status.hostIP, status.podIPs) and resourceFieldRef (limits/requests with a divisor). A missing
non-optional source raises `EnvError` with upstream's wording; the worker reports it as
CreateContainerConfigError.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable
from decimal import ROUND_CEILING, Decimal
from typing import Any

from kubeadmpy.scheduler.quantities import parse_quantity

JSONObject = dict[str, Any]
# (kind "configmaps"|"secrets", namespace, name) → the object, or None if it does not exist
ObjectGetter = Callable[[str, str, str], Awaitable[JSONObject | None]]

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class EnvError(Exception):
    """A value the container needs is missing (reported as CreateContainerConfigError)."""


def expand(text: str, variables: dict[str, str]) -> str:
    """``$(NAME)`` → its value when defined (left as is otherwise); ``$$`` → ``$``."""
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return variables.get(name, match.group(0))
    return _REFERENCE.sub(replace, text)


def field_value(pod: JSONObject, path: str, pod_ip: str, host_ip: str) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": pod_ip, "status.podIPs": pod_ip, "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path] or "")
    if path in ("metadata.labels", "metadata.annotations"):
        values = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{key}="{values[key]}"' for key in sorted(values))
    subscript = _SUBSCRIPT.match(path)
    if subscript:
        return str((meta.get(subscript.group(1)) or {}).get(subscript.group(2), ""))
    raise EnvError(f"unsupported fieldPath: {path}")


def resource_value(pod: JSONObject, container_name: str, ref: JSONObject,
                   node_allocatable: dict[str, str]) -> str:
    """limits.cpu etc. of a container, divided by the divisor and rounded up (upstream)."""
    name = ref.get("containerName") or container_name
    container = next((c for c in (pod.get("spec") or {}).get("containers") or []
                      if c.get("name") == name), None)
    if container is None:
        raise EnvError(f"container {name!r} not found for resourceFieldRef")
    kind, _, resource = str(ref.get("resource", "")).partition(".")
    value = ((container.get("resources") or {}).get(kind) or {}).get(resource)
    if value is None and kind == "limits":
        value = node_allocatable.get(resource, "0")  # no limit → the node's allocatable
    if value is None:
        value = "0"
    divisor = parse_quantity(str(ref.get("divisor") or "1"))
    if divisor == 0:
        divisor = Decimal(1)
    result = (parse_quantity(str(value)) / divisor).to_integral_value(rounding=ROUND_CEILING)
    return str(int(result))


async def _data(getter: ObjectGetter, kind: str, namespace: str, name: str,
                optional: bool) -> dict[str, str] | None:
    obj = await getter(kind, namespace, name)
    if obj is None:
        if optional:
            return None
        what = "configmap" if kind == "configmaps" else "secret"
        raise EnvError(f'{what} "{name}" not found')
    data = dict(obj.get("data") or {})
    if kind == "secrets":
        return {key: base64.b64decode(value).decode(errors="replace")
                for key, value in data.items()}
    return {key: str(value) for key, value in data.items()}


async def container_env(pod: JSONObject, container: JSONObject, getter: ObjectGetter, *,
                        pod_ip: str, host_ip: str, node_allocatable: dict[str, str],
                        service_links: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The container's environment in upstream's order: the service links (see service_env),
    then envFrom, then env (which wins and may refer to all of them)."""
    namespace = str((pod.get("metadata") or {}).get("namespace", "default"))
    result: dict[str, str] = dict(service_links or {})
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        for key, kind in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
            ref = source.get(key)
            if ref:
                data = await _data(getter, kind, namespace, str(ref.get("name", "")),
                                   bool(ref.get("optional")))
                for name, value in (data or {}).items():
                    result[prefix + name] = value
    for entry in container.get("env") or []:
        name = str(entry.get("name", ""))
        if "value" in entry or not entry.get("valueFrom"):
            result[name] = expand(str(entry.get("value") or ""), result)
            continue
        source = entry["valueFrom"]
        resolved = await _value_from(pod, container, source, getter, namespace, pod_ip,
                                     host_ip, node_allocatable)
        if resolved is not None:
            result[name] = resolved
    return list(result.items())


async def _value_from(pod: JSONObject, container: JSONObject, source: JSONObject,
                      getter: ObjectGetter, namespace: str, pod_ip: str, host_ip: str,
                      node_allocatable: dict[str, str]) -> str | None:
    for key, kind in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
        ref = source.get(key)
        if not ref:
            continue
        optional = bool(ref.get("optional"))
        name, item = str(ref.get("name", "")), str(ref.get("key", ""))
        data = await _data(getter, kind, namespace, name, optional)
        if data is None:
            return None
        if item not in data:
            if optional:
                return None
            what = "ConfigMap" if kind == "configmaps" else "Secret"
            raise EnvError(f"couldn't find key {item} in {what} {namespace}/{name}")
        return data[item]
    if source.get("fieldRef"):
        return field_value(pod, str(source["fieldRef"].get("fieldPath", "")), pod_ip, host_ip)
    if source.get("resourceFieldRef"):
        return resource_value(pod, str(container.get("name", "")), source["resourceFieldRef"],
                              node_allocatable)
    return None
