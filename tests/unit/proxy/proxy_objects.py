"""Builders for the API objects the proxy reads (Service, EndpointSlice) and for reading the
generated table back by meaning (a chain's rules, a map's elements)."""

from __future__ import annotations

import re
from typing import Any

JSONObject = dict[str, Any]


def service(name: str, cluster_ip: str, *ports: JSONObject, namespace: str = "default",
            **spec: Any) -> JSONObject:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                     "ports": list(ports), **spec}}


def port(number: int, name: str = "", protocol: str = "TCP", node_port: int = 0) -> JSONObject:
    out: JSONObject = {"port": number, "protocol": protocol}
    if name:
        out["name"] = name
    if node_port:
        out["nodePort"] = node_port
    return out


def endpoint_slice(service_name: str, *endpoints: JSONObject, ports: list[JSONObject],
                   namespace: str = "default", suffix: str = "a",
                   address_type: str = "IPv4") -> JSONObject:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{service_name}-{suffix}", "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": address_type, "endpoints": list(endpoints), "ports": ports}


def endpoint(ip: str, node: str = "node1", ready: bool | None = True) -> JSONObject:
    out: JSONObject = {"addresses": [ip], "nodeName": node}
    if ready is not None:
        out["conditions"] = {"ready": ready}
    return out


def chain_rules(table: str, name: str) -> list[str]:
    """The rules of chain `name`, or of the one per-object chain (`service-`, `endpoint-`,
    `external-` + hash) whose name starts with `name`."""
    found = dict(re.findall(r"\tchain (\S+) \{\n(.*?)\n\t\}", table, re.S))
    bodies = [found[name]] if name in found else [
        body for chain, body in found.items()
        if chain.startswith(name) and re.match(r"[a-z]+-[A-Z2-7]{8}-", chain)]
    assert len(bodies) == 1, f"{len(bodies)} chains named {name}*"
    return [line.strip() for line in bodies[0].splitlines()]


def chain_names(table: str) -> list[str]:
    return re.findall(r"\tchain (\S+) \{", table)


def elements(table: str, name: str) -> dict[str, str]:
    """A map's elements as key → verdict (a set's as key → "")."""
    match = re.search(rf"\t(?:map|set) {re.escape(name)} \{{\n(.*?)\n\t\}}", table, re.S)
    assert match, f"no map or set {name}"
    inner = re.search(r"elements = \{(.*)\}", match.group(1), re.S)
    if not inner:
        return {}
    result = {}
    for item in inner.group(1).split(","):
        key, _, verdict = item.strip().partition(" : ")
        result[key] = verdict
    return result
