"""core/v1 services: defaults, validation, ClusterIP/NodePort allocation and their table."""

from __future__ import annotations

from typing import Any

from kubeadmpy.apiserver.resources.columns import AGE, NAME, dig, selector_text, text
from kubeadmpy.apiserver.resources.validation import immutable, one_of, required, string_map
from kubeadmpy.machinery import status
from kubeadmpy.machinery.registry import (
    STATUS_VERBS,
    JSONObject,
    ResourceSpec,
    Strategy,
    Subresource,
)
from kubeadmpy.machinery.status import Cause

STATUS = Subresource("status", STATUS_VERBS)

# --- services ---------------------------------------------------------------------------------


class ServiceStrategy(Strategy):
    has_status = True
    name_rule = "label"

    def default(self, obj: JSONObject) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])

    def initial_status(self, obj: JSONObject) -> None:
        obj["status"] = {"loadBalancer": {}}

    def validate(self, obj: JSONObject) -> list[Cause]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return required(None, "spec")
        causes = one_of(spec.get("type"), ("ClusterIP", "NodePort", "LoadBalancer",
                                           "ExternalName"), "spec.type")
        ports = spec.get("ports") or []
        if not ports and spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None":
            causes += required(None, "spec.ports")
        names: set[str] = set()
        for index, port in enumerate(ports):
            number = port.get("port") if isinstance(port, dict) else None
            if not isinstance(number, int) or not 0 < number < 65536:
                causes.append(Cause("FieldValueInvalid", f"Invalid value: {number}: must be "
                                    "between 1 and 65535, inclusive", f"spec.ports[{index}].port"))
            if isinstance(port, dict):
                causes += one_of(port.get("protocol"), ("TCP", "UDP", "SCTP"),
                                 f"spec.ports[{index}].protocol")
                if len(ports) > 1 and not port.get("name"):
                    causes += required(None, f"spec.ports[{index}].name")
                if port.get("name") in names:
                    causes.append(Cause("FieldValueDuplicate",
                                        f'Duplicate value: "{port["name"]}"',
                                        f"spec.ports[{index}].name"))
                names.add(str(port.get("name")))
        causes += string_map(spec.get("selector"), "spec.selector")
        return causes

    def prepare_for_update(self, new: JSONObject, old: JSONObject) -> None:
        super().prepare_for_update(new, old)
        spec, old_spec = new.get("spec"), old.get("spec") or {}
        if isinstance(spec, dict):
            for key in ("clusterIP", "clusterIPs"):
                if not spec.get(key) and old_spec.get(key):
                    spec[key] = old_spec[key]
            if spec.get("type") in ("NodePort", "LoadBalancer"):
                # A port the user did not give a nodePort keeps the one it had.
                previous = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                            for p in old_spec.get("ports") or [] if isinstance(p, dict)}
                for port in spec.get("ports") or []:
                    if isinstance(port, dict) and not port.get("nodePort"):
                        kept = previous.get((port.get("port"), port.get("protocol", "TCP")))
                        if kept:
                            port["nodePort"] = kept
            else:
                for port in spec.get("ports") or []:
                    if isinstance(port, dict):
                        port.pop("nodePort", None)

    def validate_update(self, new: JSONObject, old: JSONObject) -> list[Cause]:
        return self.validate(new) + immutable(dig(new, "spec", "clusterIP"),
                                              dig(old, "spec", "clusterIP"), "spec.clusterIP")

    async def before_create(self, obj: JSONObject, env: Any) -> None:
        spec = obj["spec"]
        if spec.get("type") == "ExternalName":
            return
        claimed_ports: list[int] = []
        try:
            if spec.get("type") in ("NodePort", "LoadBalancer"):
                for index, port in enumerate(spec.get("ports") or []):
                    claimed_ports.append(await env.allocate_node_port(
                        port.get("nodePort") or None, f"spec.ports[{index}].nodePort"))
                    port["nodePort"] = claimed_ports[-1]
            if spec.get("clusterIP") != "None":
                spec["clusterIP"] = await env.allocate_cluster_ip(spec.get("clusterIP") or None)
                spec["clusterIPs"] = [spec["clusterIP"]]
        except BaseException as exc:
            # Give back only what this request claimed, never a port someone else holds.
            for claimed in claimed_ports:
                await env.release_node_port(claimed)
            raise _naming(exc, obj) from None

    async def before_update(self, new: JSONObject, old: JSONObject, env: Any) -> list[Any]:
        """A Service that becomes NodePort/LoadBalancer (or gains ports) gets node ports."""
        spec = new.get("spec") or {}
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            return []
        held = _node_ports(old)
        claimed: list[Any] = []
        try:
            for index, port in enumerate(spec.get("ports") or []):
                wanted = port.get("nodePort")
                if wanted and wanted in held:
                    continue
                port["nodePort"] = await env.allocate_node_port(
                    wanted or None, f"spec.ports[{index}].nodePort")
                claimed.append(port["nodePort"])
        except BaseException as exc:
            await self.release_claims(claimed, env)
            raise _naming(exc, new) from None
        return claimed

    async def release_claims(self, claims: list[Any], env: Any) -> None:
        for port in claims:
            await env.release_node_port(int(port))

    async def after_update(self, new: JSONObject, old: JSONObject, env: Any) -> None:
        keep = _node_ports(new) if dig(new, "spec", "type") in ("NodePort",
                                                                 "LoadBalancer") else set()
        for port in _node_ports(old) - keep:
            await env.release_node_port(port)

    async def after_delete(self, obj: JSONObject, env: Any) -> None:
        """Release what `before_create` took (also when a create failed half-way)."""
        ip = dig(obj, "spec", "clusterIP")
        if ip and ip != "None":
            await env.release_cluster_ip(ip)
        for port in dig(obj, "spec", "ports", default=[]) or []:
            if isinstance(port, dict) and port.get("nodePort"):
                await env.release_node_port(int(port["nodePort"]))


def _node_ports(svc: JSONObject) -> set[int]:
    return {int(p["nodePort"]) for p in dig(svc, "spec", "ports", default=[]) or []
            if isinstance(p, dict) and p.get("nodePort")}


def _service_ports(svc: JSONObject) -> str:
    parts = []
    for port in dig(svc, "spec", "ports", default=[]) or []:
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        parts.append(f"{port.get('port')}{node}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _external_ip(svc: JSONObject) -> str:
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return str(spec.get("externalName", "<none>"))
    ingress = [i.get("ip") or i.get("hostname")
               for i in dig(svc, "status", "loadBalancer", "ingress", default=[]) or []]
    ips = list(spec.get("externalIPs") or []) + ingress
    if ips:
        return ",".join(ips)
    return "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"


SERVICES = ResourceSpec(
    "", "v1", "Service", "services", "service", True, short_names=("svc",), categories=("all",),
    subresources=(STATUS, Subresource("proxy", ("create", "delete", "get", "patch", "update"),
                                      kind="ServiceProxyOptions")),
    columns=(NAME, text("Type", lambda o, _: dig(o, "spec", "type", default="")),
             text("Cluster-IP", lambda o, _: dig(o, "spec", "clusterIP", default="<none>")),
             text("External-IP", lambda o, _: _external_ip(o)),
             text("Port(s)", lambda o, _: _service_ports(o)), AGE,
             text("Selector", lambda o, _: selector_text(dig(o, "spec", "selector")), 1)),
    strategy=ServiceStrategy())


def _naming(error: BaseException, service: JSONObject) -> BaseException:
    """The allocators do not know whose address they refused: put the Service's name in."""
    if not isinstance(error, status.APIStatusError) or error.code != 422 \
            or error.details is None or error.details.name:
        return error
    name = str((service.get("metadata") or {}).get("name") or "")
    return status.invalid("Service", "", name, list(error.details.causes or []))
