"""Service links: the Docker-links-style variables every container gets for Services.

Upstream's kubelet gives each container, before its own env, variables for the `kubernetes`
Service of the default namespace (always: in-cluster clients find the API server through
KUBERNETES_SERVICE_HOST/PORT) and, when the pod's spec.enableServiceLinks is not false, for every
Service of the pod's namespace that has a cluster IP. For a Service `redis-primary` with cluster IP
10.0.0.11 and port 6379/TCP named `redis`:

    REDIS_PRIMARY_SERVICE_HOST=10.0.0.11          REDIS_PRIMARY_SERVICE_PORT=6379
    REDIS_PRIMARY_SERVICE_PORT_REDIS=6379         REDIS_PRIMARY_PORT=tcp://10.0.0.11:6379
    REDIS_PRIMARY_PORT_6379_TCP=tcp://10.0.0.11:6379
    REDIS_PRIMARY_PORT_6379_TCP_PROTO=tcp         REDIS_PRIMARY_PORT_6379_TCP_PORT=6379
    REDIS_PRIMARY_PORT_6379_TCP_ADDR=10.0.0.11
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

JSONObject = dict[str, Any]
API_SERVICE = ("default", "kubernetes")


def _env_name(text: str) -> str:
    return text.upper().replace("-", "_")


def service_variables(service: JSONObject) -> dict[str, str]:
    """The variables of one Service; none for a headless Service or one without a cluster IP."""
    spec = service.get("spec") or {}
    address = str(spec.get("clusterIP") or "")
    ports = spec.get("ports") or []
    if not address or address == "None" or not ports:
        return {}
    name = _env_name(str((service.get("metadata") or {}).get("name", "")))
    first = ports[0]
    variables = {f"{name}_SERVICE_HOST": address,
                 f"{name}_SERVICE_PORT": str(first.get("port", "")),
                 f"{name}_PORT": f"{str(first.get('protocol') or 'TCP').lower()}://"
                                 f"{address}:{first.get('port', '')}"}
    for port in ports:
        number = str(port.get("port", ""))
        protocol = str(port.get("protocol") or "TCP")
        if port.get("name"):
            variables[f"{name}_SERVICE_PORT_{_env_name(str(port['name']))}"] = number
        prefix = f"{name}_PORT_{number}_{protocol.upper()}"
        variables[prefix] = f"{protocol.lower()}://{address}:{number}"
        variables[f"{prefix}_PROTO"] = protocol.lower()
        variables[f"{prefix}_PORT"] = number
        variables[f"{prefix}_ADDR"] = address
    return variables


def service_environment(pod: JSONObject, services: Iterable[JSONObject]) -> dict[str, str]:
    """The service-link variables of `pod`, from the Services of its namespace and `default`."""
    meta = pod.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    links = (pod.get("spec") or {}).get("enableServiceLinks", True) is not False
    chosen: dict[str, JSONObject] = {}
    others: list[tuple[str, JSONObject]] = []
    for service in services:
        service_meta = service.get("metadata") or {}
        key = (str(service_meta.get("namespace") or ""), str(service_meta.get("name") or ""))
        if key == API_SERVICE:
            chosen[key[1]] = service  # always, and it wins its name over a namespace's own
        elif links and key[0] == namespace:
            others.append((key[1], service))
    for name, service in others:
        chosen.setdefault(name, service)
    variables: dict[str, str] = {}
    for service in chosen.values():
        variables.update(service_variables(service))
    return variables
